#!/usr/bin/python3
"""Opset-18 forms that exporters already write, as hand-built ONNX graphs
with reference outputs from ONNX Runtime 1.30 (npm onnxruntime-node, see
scripts/bench/ort_run.js), in the node-test layout that
tests/engine/test_onnx_node.c reads (CASE/model.onnx,
CASE/test_data_set_0/{input,output}_N.pb).

usage: /usr/bin/python3 scripts/onnx18-cases.py [OUTDIR]
(default tests/engine/onnx18; needs node and .cache/ort/node_modules)
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def i64(name, vals):
    return numpy_helper.from_array(np.array(vals, dtype=np.int64), name)


def f32(name, vals):
    return numpy_helper.from_array(np.array(vals, dtype=np.float32), name)


def case(name, node, inits, xshape, yrank):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, xshape)
    outs = [helper.make_tensor_value_info(o, TensorProto.FLOAT, [None] * yrank)
            for o in node.output]
    g = helper.make_graph([node], name, [x], outs, initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)])
    m.ir_version = 8
    # onnx 1.12 (Debian 12) has no opset-18 schemas: ONNX Runtime checks
    return name, m, xshape


def cases():
    mk = helper.make_node
    yield case("test18_reduce_mean_axes_input",
               mk("ReduceMean", ["x", "axes"], ["y"], keepdims=1),
               [i64("axes", [1])], [1, 6, 5, 4], 4)
    yield case("test18_reduce_sum_square_axes_input_no_keepdims",
               mk("ReduceSumSquare", ["x", "axes"], ["y"], keepdims=0),
               [i64("axes", [-1])], [2, 3, 7], 2)
    yield case("test18_reduce_max_axes_input_hw",
               mk("ReduceMax", ["x", "axes"], ["y"], keepdims=1),
               [i64("axes", [2, 3])], [1, 4, 6, 6], 4)
    yield case("test18_reduce_l2_axes_input",
               mk("ReduceL2", ["x", "axes"], ["y"], keepdims=1),
               [i64("axes", [1])], [1, 8, 3, 3], 4)
    yield case("test18_reduce_log_sum_exp_axes_input",
               mk("ReduceLogSumExp", ["x", "axes"], ["y"], keepdims=0),
               [i64("axes", [0, 2])], [3, 4, 5], 1)
    yield case("test18_pad_axes_constant",
               mk("Pad", ["x", "pads", "cv", "axes"], ["y"], mode="constant"),
               [i64("pads", [1, 2, 0, 3]), f32("cv", [0.5]), i64("axes", [2, 3])],
               [1, 2, 4, 5], 4)
    yield case("test18_pad_axes_reflect_negative",
               mk("Pad", ["x", "pads", "", "axes"], ["y"], mode="reflect"),
               [i64("pads", [2, 1]), i64("axes", [-1])], [1, 2, 4, 5], 4)
    yield case("test18_pad_axes_edge",
               mk("Pad", ["x", "pads", "", "axes"], ["y"], mode="edge"),
               [i64("pads", [1, 1, 2, 0]), i64("axes", [1, 3])], [1, 2, 3, 4], 4)
    yield case("test18_split_num_outputs_even",
               mk("Split", ["x"], ["y0", "y1", "y2"], axis=1, num_outputs=3),
               [], [1, 6, 2, 2], 4)
    yield case("test18_split_num_outputs_uneven",
               mk("Split", ["x"], ["y0", "y1", "y2"], axis=-1, num_outputs=3),
               [], [2, 3, 7], 3)
    yield case("test18_resize_axes_scales_nearest",
               mk("Resize", ["x", "", "scales"], ["y"], mode="nearest",
                  axes=[2, 3], coordinate_transformation_mode="asymmetric",
                  nearest_mode="floor"),
               [f32("scales", [2.0, 2.0])], [1, 3, 4, 5], 4)
    yield case("test18_resize_axes_sizes_linear",
               mk("Resize", ["x", "", "", "sizes"], ["y"], mode="linear",
                  axes=[3, 2], coordinate_transformation_mode="half_pixel"),
               [i64("sizes", [9, 7])], [1, 3, 4, 5], 4)
    yield case("test18_resize_axes_cubic_align_corners",
               mk("Resize", ["x", "", "scales"], ["y"], mode="cubic",
                  axes=[-1], coordinate_transformation_mode="align_corners"),
               [f32("scales", [1.6])], [1, 2, 3, 5], 4)
    yield case("test18_resize_keep_aspect_not_larger",
               mk("Resize", ["x", "", "", "sizes"], ["y"], mode="linear",
                  axes=[2, 3], keep_aspect_ratio_policy="not_larger"),
               [i64("sizes", [8, 8])], [1, 2, 4, 6], 4)
    yield case("test18_resize_keep_aspect_not_smaller",
               mk("Resize", ["x", "", "", "sizes"], ["y"], mode="nearest",
                  keep_aspect_ratio_policy="not_smaller", axes=[2, 3]),
               [i64("sizes", [8, 8])], [1, 2, 4, 6], 4)


def gelu_case():
    """The erf GELU as torch.onnx writes it (the optimizer fuses it)."""
    mk = helper.make_node
    nodes = [mk("Div", ["x", "sqrt2"], ["d"]), mk("Erf", ["d"], ["e"]),
             mk("Add", ["e", "one"], ["a"]), mk("Mul", ["x", "a"], ["m"]),
             mk("Mul", ["m", "half"], ["y"])]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 5, 6])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 5, 6])
    inits = [f32("sqrt2", 1.4142135381698608), f32("one", 1.0), f32("half", 0.5)]
    g = helper.make_graph(nodes, "gelu", [x], [y], initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)])
    m.ir_version = 8
    return "test18_gelu_erf_pattern", m, [1, 4, 5, 6]


def write_case(outdir, name, model, xshape, rng):
    d = os.path.join(outdir, name)
    ds = os.path.join(d, "test_data_set_0")
    os.makedirs(ds, exist_ok=True)
    onnx.save(model, os.path.join(d, "model.onnx"))
    x = rng.standard_normal(xshape).astype(np.float32)
    with open(os.path.join(ds, "input_0.pb"), "wb") as f:
        f.write(numpy_helper.from_array(x, "x").SerializeToString())
    with tempfile.TemporaryDirectory() as tmp:
        xf = os.path.join(tmp, "x.bin")
        x.tofile(xf)
        dims = "x".join(str(v) for v in xshape)
        r = subprocess.run(["node", os.path.join(ROOT, "scripts/bench/ort_run.js"),
                            os.path.join(d, "model.onnx"), tmp, f"x={dims}:{xf}"],
                           capture_output=True, text=True, check=True)
        for i, line in enumerate(r.stdout.splitlines()):
            info = json.loads(line)
            y = np.fromfile(os.path.join(tmp, f"out_{i}.bin"), dtype=np.float32)
            y = y.reshape(info["dims"])
            with open(os.path.join(ds, f"output_{i}.pb"), "wb") as f:
                f.write(numpy_helper.from_array(y, info["name"]).SerializeToString())


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "tests/engine/onnx18")
    rng = np.random.default_rng(18)
    n = 0
    for name, model, xshape in list(cases()) + [gelu_case()]:
        write_case(outdir, name, model, xshape, rng)
        n += 1
    print(f"{n} cases in {outdir} (outputs from ONNX Runtime)")


if __name__ == "__main__":
    main()
