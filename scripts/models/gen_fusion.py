#!/usr/bin/python3
"""Write the models the optimizer's folds and fusions are tested on
(tests/engine/test_fuse.c) and measured with (docs/benchmarks.md).

Hand-built ONNX graphs, one per pattern, seeded random weights:
  conv_mul_add      Conv -> Mul [1,C,1,1] -> Add [1,C,1,1] -> Relu
  conv_sub_div      Conv -> Sub scalar -> Div [C,1,1] -> Sub(const, x)
  conv_bn_mul       Conv (no bias) -> BatchNormalization -> Mul [1,C,1,1]
  gemm_affine       Flatten -> Gemm -> Mul [N] -> Add [N]; MatMul -> Sub
  deconv_affine     ConvTranspose (2 groups) -> Mul -> Add
  affine_before     Mul -> padded Conv; Add -> 1x1 Conv; Mul -> depthwise
                    Conv; Add -> padded Conv (not exact: must stay)
  gates             Conv -> x*HardSigmoid(x) (HardSwish), Conv ->
                    x*Sigmoid(x) (SiLU), x*HardSigmoid_0.2(x) (stays)
  se_320            1x3x640x640 -> Conv s2 -> 1x24x320x320, Mul/Add by
                    constants, HardSwish, depthwise, squeeze-excitation
                    (GlobalAveragePool, Conv, Relu, Conv, HardSigmoid, Mul),
                    ConvTranspose -> Relu -> 1x16x640x640 (blocked), Mul
                    and Add by [1,16,1,1] constants (not foldable: after
                    the Relu)
  ref_softmax       Softmax over axis 2 of NCHW, which oneDNN 2.6 runs on
                    ref:any: the known reference step the load-time
                    warning and bench --profile must name
and with --torch torchvision's mobilenet_v3_small and mobilenet_v3_large
(random weights, BatchNorm statistics calibrated on random inputs so that
activations keep their scale), exported by torch.onnx at opset 13, where
HardSwish is written as x*HardSigmoid(x).

Usage: gen_fusion.py OUTDIR [--torch] [--size N (torch models, default 224)]
"""
import argparse
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(7)


def const(inits, name, arr):
    inits.append(numpy_helper.from_array(np.asarray(arr, np.float32), name))
    return name


def save(path, nodes, inits, shape):
    g = helper.make_graph(
        nodes, os.path.basename(path),
        [helper.make_tensor_value_info('x', TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info('y', TensorProto.FLOAT, None)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)])
    m.ir_version = 7
    onnx.save(m, path)


def w(*shape, scale=0.3):
    return rng.standard_normal(shape) * scale


def N(op, ins, out, **kw):
    return helper.make_node(op, ins, [out], **kw)


def conv_mul_add(d):
    i = []
    n = [N('Conv', ['x', const(i, 'w', w(24, 3, 3, 3)), const(i, 'b', w(24))],
           'c', kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
         N('Mul', ['c', const(i, 's', rng.uniform(.5, 1.5, (1, 24, 1, 1)))], 'm'),
         N('Add', [const(i, 'a', w(1, 24, 1, 1)), 'm'], 'a0'),
         N('Relu', ['a0'], 'y')]
    save(d + '/conv_mul_add.onnx', n, i, [1, 3, 32, 32])


def conv_sub_div(d):
    i = []
    n = [N('Conv', ['x', const(i, 'w', w(16, 8, 1, 1))], 'c', kernel_shape=[1, 1]),
         N('Sub', ['c', const(i, 's', [0.25])], 'm'),
         N('Div', ['m', const(i, 'v', rng.uniform(.5, 2, (16, 1, 1)))], 'q'),
         N('Sub', [const(i, 'k', w(16, 1, 1)), 'q'], 'y')]
    save(d + '/conv_sub_div.onnx', n, i, [1, 8, 20, 20])


def conv_bn_mul(d):
    i = []
    n = [N('Conv', ['x', const(i, 'w', w(32, 16, 3, 3, scale=.1))], 'c',
           kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
         N('BatchNormalization', ['c', const(i, 'g', rng.uniform(.5, 1.5, 32)),
                                  const(i, 'be', w(32)), const(i, 'mu', w(32)),
                                  const(i, 'va', rng.uniform(.5, 2, 32))], 'bn'),
         N('Mul', ['bn', const(i, 's', rng.uniform(.5, 1.5, (1, 32, 1, 1)))], 'y')]
    save(d + '/conv_bn_mul.onnx', n, i, [1, 16, 24, 24])


def gemm_affine(d):
    i = []
    n = [N('Flatten', ['x'], 'f'),
         N('Gemm', ['f', const(i, 'w', w(10, 48, scale=.2)), const(i, 'b', w(10))],
           'g', transB=1),
         N('Mul', ['g', const(i, 's', rng.uniform(.5, 1.5, 10))], 'm'),
         N('Add', ['m', const(i, 'a', w(1, 10))], 'a0'),
         N('MatMul', ['a0', const(i, 'w2', w(10, 6))], 'mm'),
         N('Sub', ['mm', const(i, 'k', w(6))], 'y')]
    save(d + '/gemm_affine.onnx', n, i, [1, 3, 4, 4])


def deconv_affine(d):
    i = []
    n = [N('ConvTranspose', ['x', const(i, 'w', w(8, 6, 3, 3)), const(i, 'b', w(12))],
           'c', kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
           output_padding=[1, 1], group=2),
         N('Mul', ['c', const(i, 's', rng.uniform(.5, 1.5, (1, 12, 1, 1)))], 'm'),
         N('Add', ['m', const(i, 'a', w(1, 12, 1, 1))], 'y')]
    save(d + '/deconv_affine.onnx', n, i, [1, 8, 10, 10])


def affine_before(d):
    i = []
    n = [N('Mul', ['x', const(i, 's0', rng.uniform(.5, 1.5, (1, 4, 1, 1)))], 'm0'),
         N('Conv', ['m0', const(i, 'w0', w(8, 4, 3, 3))], 'c0',
           kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
         N('Add', ['c0', const(i, 'a1', w(1, 8, 1, 1))], 'q1'),
         N('Relu', ['q1'], 'r1'),
         N('Add', ['r1', const(i, 'a2', w(8, 1, 1))], 'p2'),
         N('Conv', ['p2', const(i, 'w2', w(8, 8, 1, 1)), const(i, 'b2', w(8))],
           'c2', kernel_shape=[1, 1]),
         N('Relu', ['c2'], 'r2'),
         N('Mul', ['r2', const(i, 's3', rng.uniform(.5, 1.5, (1, 8, 1, 1)))], 'm3'),
         N('Conv', ['m3', const(i, 'w3', w(8, 1, 3, 3))], 'c3',
           kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=8),
         N('Relu', ['c3'], 'r3'),
         N('Add', ['r3', const(i, 'a4', w(1, 8, 1, 1))], 'p4'),
         N('Conv', ['p4', const(i, 'w4', w(4, 8, 3, 3))], 'y',
           kernel_shape=[3, 3], pads=[1, 1, 1, 1])]
    save(d + '/affine_before.onnx', n, i, [1, 4, 12, 12])


def gates(d):
    i = []
    n = [N('Conv', ['x', const(i, 'w0', w(16, 8, 3, 3))], 'c0',
           kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
         N('HardSigmoid', ['c0'], 'h0', alpha=1 / 6, beta=0.5),
         N('Mul', ['c0', 'h0'], 'hs'),
         N('Conv', ['hs', const(i, 'w1', w(16, 16, 1, 1))], 'c1', kernel_shape=[1, 1]),
         N('Sigmoid', ['c1'], 's1'),
         N('Mul', ['s1', 'c1'], 'silu'),
         N('Conv', ['silu', const(i, 'w2', w(16, 16, 1, 1))], 'c2', kernel_shape=[1, 1]),
         N('HardSigmoid', ['c2'], 'h2', alpha=0.2, beta=0.5),
         N('Mul', ['c2', 'h2'], 'y')]
    save(d + '/gates.onnx', n, i, [1, 8, 16, 16])


def se_320(d):
    i = []
    n = [N('Conv', ['x', const(i, 'w0', w(24, 3, 3, 3)), const(i, 'b0', w(24, scale=.1))],
           'c0', kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
         N('Mul', ['c0', const(i, 's', rng.uniform(.5, 1.5, (1, 24, 1, 1)))], 'm0'),
         N('Add', ['m0', const(i, 'a', w(1, 24, 1, 1))], 'a0'),
         N('HardSigmoid', ['a0'], 'h0', alpha=1 / 6, beta=0.5),
         N('Mul', ['a0', 'h0'], 'hs0'),
         N('Conv', ['hs0', const(i, 'wd', w(24, 1, 3, 3))], 'd0',
           kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=24),
         N('GlobalAveragePool', ['d0'], 'g0'),
         N('Conv', ['g0', const(i, 'w1', w(8, 24, 1, 1))], 'f1', kernel_shape=[1, 1]),
         N('Relu', ['f1'], 'r1'),
         N('Conv', ['r1', const(i, 'w2', w(24, 8, 1, 1))], 'f2', kernel_shape=[1, 1]),
         N('HardSigmoid', ['f2'], 'h2', alpha=1 / 6, beta=0.5),
         N('Mul', ['d0', 'h2'], 'se'),
         N('ConvTranspose', ['se', const(i, 'wt', w(24, 16, 2, 2))], 'up',
           kernel_shape=[2, 2], strides=[2, 2]),
         N('Relu', ['up'], 'ur'),
         N('Mul', ['ur', const(i, 's2', rng.uniform(.5, 1.5, (1, 16, 1, 1)))], 'm2'),
         N('Add', ['m2', const(i, 'a2', w(16, 1, 1))], 'y')]
    save(d + '/se_320.onnx', n, i, [1, 3, 640, 640])


def ref_softmax(d):
    i = []
    n = [N('Conv', ['x', const(i, 'w', w(16, 8, 3, 3))], 'c',
           kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
         N('Softmax', ['c'], 'y', axis=2)]
    save(d + '/ref_softmax.onnx', n, i, [1, 8, 64, 64])


def torch_models(d, size):
    import torch
    import torchvision
    torch.manual_seed(0)
    for name in ('mobilenet_v3_small', 'mobilenet_v3_large'):
        m = getattr(torchvision.models, name)(weights=None)
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.momentum = None  # cumulative average over the batches
                torch.nn.init.uniform_(mod.weight, 0.5, 1.5)
                torch.nn.init.uniform_(mod.bias, -0.2, 0.2)
        m.train()
        with torch.no_grad():
            for _ in range(4):
                m(torch.randn(4, 3, size, size))
        m.eval()
        x = torch.randn(1, 3, size, size)
        torch.onnx.export(m, x, '%s/%s_%d.onnx' % (d, name, size),
                          opset_version=13, input_names=['x'],
                          output_names=['y'])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('outdir')
    ap.add_argument('--torch', action='store_true')
    ap.add_argument('--size', type=int, default=224)
    a = ap.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    for f in (conv_mul_add, conv_sub_div, conv_bn_mul, gemm_affine,
              deconv_affine, affine_before, gates, se_320, ref_softmax):
        f(a.outdir)
    if a.torch:
        torch_models(a.outdir, a.size)


if __name__ == '__main__':
    main()
