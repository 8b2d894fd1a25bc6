#!/usr/bin/python3
"""Hand-built ONNX graphs for test_open_shapes: open input dimensions,
integer constant subgraphs, float16 weights, metadata, refusals. Writes
each model to OUTDIR with, where it runs, an input and the expected output
computed here with numpy (an independent reference: plain loops and numpy
arithmetic, not the engine's kernels).

Usage: /usr/bin/python3 onnx_shape_models.py OUTDIR
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = sys.argv[1]
RNG = np.random.default_rng(7)


def save(name, nodes, inputs, outputs, inits=(), opset=13, meta=None):
    g = helper.make_graph(nodes, name, inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    for k, v in (meta or {}).items():
        e = m.metadata_props.add()
        e.key, e.value = k, v
    onnx.save(m, os.path.join(OUT, name + ".onnx"))


def i64(name, vals):
    return numpy_helper.from_array(np.array(vals, dtype=np.int64), name)


def conv3x3(x, w, b):
    """NCHW convolution, 3x3, stride 1, pad 1 (numpy reference)."""
    n, c, h, wd = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    y = np.zeros((n, w.shape[0], h, wd), np.float64)
    for ky in range(3):
        for kx in range(3):
            patch = xp[:, :, ky:ky + h, kx:kx + wd]
            y += np.einsum("nchw,oc->nohw", patch, w[:, :, ky, kx])
    return (y + b[None, :, None, None]).astype(np.float32)


def open_nchw():
    """[batch,3,height,width] -> Conv -> a shape chain that rebuilds the
    conv output's shape from Shape/Slice/Concat (what PyTorch writes for
    x.view(n, c, h * w)) -> Reshape -> Relu."""
    w = RNG.standard_normal((4, 3, 3, 3)).astype(np.float32)
    b = RNG.standard_normal(4).astype(np.float32)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                      ["batch", 3, "height", "width"])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Shape", ["c"], ["s"]),
        helper.make_node("Slice", ["s", "st0", "en2"], ["nc"]),
        helper.make_node("Slice", ["s", "st2", "en4"], ["hw"]),
        helper.make_node("ReduceProd", ["hw"], ["hw1"], keepdims=1),
        helper.make_node("Concat", ["nc", "hw1"], ["shape"], axis=0),
        helper.make_node("Reshape", ["c", "shape"], ["r"]),
        helper.make_node("Relu", ["r"], ["y"]),
    ]
    inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b"),
             i64("st0", [0]), i64("en2", [2]), i64("st2", [2]),
             i64("en4", [4])]
    save("open_nchw", nodes, [x], [y], inits)
    xi = RNG.standard_normal((1, 3, 5, 7)).astype(np.float32)
    c = conv3x3(xi.astype(np.float64), w, b)
    np.save(os.path.join(OUT, "open_nchw_in.npy"), xi)
    np.save(os.path.join(OUT, "open_nchw_out.npy"),
            np.maximum(c.reshape(1, 4, 35), 0))


def tf_split():
    """TF-style folding: Split over an int64 constant, Mul/Add/Cast/Equal/
    Where/Not/Range/ConstantOfShape on the pieces, feeding Reshape and
    Tile-free Expand."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 6, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    nodes = [
        helper.make_node("Split", ["packed"], ["a", "b", "c"], axis=0),
        helper.make_node("Mul", ["b", "c"], ["bc"]),          # 24
        helper.make_node("Cast", ["bc"], ["bc32"], to=TensorProto.INT32),
        helper.make_node("Cast", ["bc32"], ["bc64"], to=TensorProto.INT64),
        helper.make_node("Equal", ["a", "zero"], ["isz"]),    # [True]
        helper.make_node("Not", ["isz"], ["nz"]),             # [False]
        helper.make_node("Where", ["nz", "a", "bc64"], ["n"]),  # [24]
        helper.make_node("Sub", ["n", "one"], ["n1"]),        # [23]
        helper.make_node("Add", ["n1", "one"], ["n2"]),       # [24]
        helper.make_node("Concat", ["one", "n2"], ["shape"], axis=0),
        helper.make_node("Reshape", ["x", "shape"], ["r"]),   # [1,24]
        helper.make_node("Range", ["s0", "lim", "one_s"], ["rg"]),  # 0..23
        helper.make_node("Cast", ["rg"], ["rgf"], to=TensorProto.FLOAT),
        helper.make_node("Add", ["r", "rgf"], ["y"]),
    ]
    inits = [i64("packed", [0, 4, 6]), i64("zero", [0]), i64("one", [1]),
             numpy_helper.from_array(np.array(0, np.int64), "s0"),
             numpy_helper.from_array(np.array(24, np.int64), "lim"),
             numpy_helper.from_array(np.array(1, np.int64), "one_s")]
    save("tf_split", nodes, [x], [y], inits)
    xi = RNG.standard_normal((1, 6, 4)).astype(np.float32)
    np.save(os.path.join(OUT, "tf_split_in.npy"), xi)
    np.save(os.path.join(OUT, "tf_split_out.npy"),
            xi.reshape(1, 24) + np.arange(24, dtype=np.float32))


def fp16():
    """float16 weights with a Cast to float (an fp16 export keeping float
    inputs), and a float16 constant cast and used as a scale."""
    w = RNG.standard_normal((4, 3, 3, 3)).astype(np.float16)
    b = RNG.standard_normal(4).astype(np.float16)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 6, 6])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    nodes = [
        helper.make_node("Cast", ["w16"], ["w"], to=TensorProto.FLOAT),
        helper.make_node("Cast", ["b16"], ["b"], to=TensorProto.FLOAT),
        helper.make_node("Conv", ["x", "w", "b"], ["y"], pads=[1, 1, 1, 1]),
    ]
    inits = [numpy_helper.from_array(w, "w16"),
             numpy_helper.from_array(b, "b16")]
    save("fp16", nodes, [x], [y], inits)
    xi = RNG.standard_normal((1, 3, 6, 6)).astype(np.float32)
    np.save(os.path.join(OUT, "fp16_in.npy"), xi)
    np.save(os.path.join(OUT, "fp16_out.npy"),
            conv3x3(xi.astype(np.float64), w.astype(np.float64),
                    b.astype(np.float64)))


def meta():
    """Ultralytics' metadata: imgsz sizes the open input, names are the
    labels."""
    x = helper.make_tensor_value_info("images", TensorProto.FLOAT,
                                      [1, 3, "height", "width"])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    nodes = [helper.make_node("Relu", ["images"], ["y"])]
    save("meta", nodes, [x], [y],
         meta={"imgsz": "[48, 64]", "stride": "32",
               "names": "{0: 'person', 1: \"bicycle\", 2: 'traffic light',"
                        " 3: 'it\\'s'}"})


def refusals():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    # Several unsupported ops: all named in one message.
    nodes = [helper.make_node("NonZero", ["x"], ["nz"]),
             helper.make_node("Relu", ["x"], ["r"]),
             helper.make_node("FancyOp", ["r"], ["f"]),
             helper.make_node("NonZero", ["r"], ["nz2"]),
             helper.make_node("Det", ["f"], ["y"], domain="com.example")]
    g = helper.make_graph(nodes, "unsupported", [x], [y])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    onnx.save(m, os.path.join(OUT, "unsupported.onnx"))
    # Opset 19.
    save("opset19", [helper.make_node("Relu", ["x"], ["y"])], [x], [y],
         opset=19)
    # A reshape target computed from the data: needs runtime shapes.
    nodes = [helper.make_node("Cast", ["x"], ["xi"], to=TensorProto.INT64),
             helper.make_node("Reshape", ["x", "xi"], ["y"])]
    save("runtime_shape", nodes, [x], [y])


os.makedirs(OUT, exist_ok=True)
open_nchw()
tf_split()
fp16()
meta()
refusals()
