"""Graphs as TensorFlow converters leave them (scripts/make-zoo.py): written
with python3-onnx, because PyTorch never emits them this way.

tf2onnx after TF's constant folding keeps shape arithmetic in integer
tensors: a Split over an int64 constant, Shape -> Gather -> Concat feeding
a Reshape target, Cast between int64 and float, Range, ConstantOfShape,
and runtime Pad/Resize inputs computed from those. Every integer value here
is known once the input's shape is, so a runtime that folds constants at
load runs these graphs on float kernels only. Inputs are NHWC with a
Transpose first, as tf2onnx writes them.
"""
import numpy as np
from onnx import TensorProto, helper, numpy_helper


def _const(name, arr):
    return helper.make_node('Constant', [], [name],
                            value=numpy_helper.from_array(arr, name + '_v'))


def _nhwc_input(name):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT,
                                         ['batch', 'height', 'width', 3])


def reshape_chain(rng):
    """opset 13: conv, then the output reshaped to [N, 8, H*W] with the
    target built from Shape/Gather/Unsqueeze/Concat and a Split of an int64
    constant; a position bias from Range over H*W; softmax over positions."""
    w = rng.standard_normal((8, 3, 3, 3)).astype(np.float32) * 0.3
    b = rng.standard_normal(8).astype(np.float32) * 0.1
    nodes = [
        helper.make_node('Transpose', ['input:0'], ['nchw'],
                         perm=[0, 3, 1, 2]),
        _const('w', w), _const('b', b),
        helper.make_node('Conv', ['nchw', 'w', 'b'], ['conv'],
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node('Relu', ['conv'], ['relu']),
        helper.make_node('Shape', ['relu'], ['shape']),
        _const('i0', np.array(0, np.int64)),
        helper.make_node('Gather', ['shape', 'i0'], ['n'], axis=0),
        _const('ax0', np.array([0], np.int64)),
        helper.make_node('Unsqueeze', ['n', 'ax0'], ['n1']),
        # TF folded [8, -1, 2, 3] once; the graph splits it back apart.
        _const('packed', np.array([8, -1, 2, 3], np.int64)),
        _const('halves', np.array([2, 2], np.int64)),
        helper.make_node('Split', ['packed', 'halves'], ['c_hw', 'unused'],
                         axis=0),
        helper.make_node('Concat', ['n1', 'c_hw'], ['target'], axis=0),
        helper.make_node('Reshape', ['relu', 'target'], ['flat']),
        # Position bias: Range(0, H*W) as float, scaled, broadcast.
        _const('i2', np.array([2, 3], np.int64)),
        helper.make_node('Gather', ['shape', 'i2'], ['hw'], axis=0),
        helper.make_node('ReduceProd', ['hw'], ['hw_n'], keepdims=0),
        _const('zero', np.array(0, np.int64)),
        _const('one', np.array(1, np.int64)),
        helper.make_node('Range', ['zero', 'hw_n', 'one'], ['pos_i']),
        helper.make_node('Cast', ['pos_i'], ['pos_f'], to=TensorProto.FLOAT),
        _const('k', np.array(0.01, np.float32)),
        helper.make_node('Mul', ['pos_f', 'k'], ['pos']),
        helper.make_node('Add', ['flat', 'pos'], ['biased']),
        helper.make_node('Softmax', ['biased'], ['output:0'], axis=2),
    ]
    g = helper.make_graph(
        nodes, 'tf_reshape_chain', [_nhwc_input('input:0')],
        [helper.make_tensor_value_info('output:0', TensorProto.FLOAT,
                                       ['batch', 8, 'hw'])])
    return helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)],
                             producer_name='tf2onnx-style (camnet zoo)')


def pad_resize(rng):
    """opset 11: reflect Pad whose pads come from a Split of an int64
    constant, a valid conv, then a nearest Resize to twice the size with
    `sizes` computed from Shape/Slice/Mul/Concat, ConstantOfShape as an
    additive zero bias; NHWC out as tf2onnx ends."""
    w = rng.standard_normal((6, 3, 3, 3)).astype(np.float32) * 0.3
    b = rng.standard_normal(6).astype(np.float32) * 0.1
    nodes = [
        helper.make_node('Transpose', ['input:0'], ['nchw'],
                         perm=[0, 3, 1, 2]),
        _const('pads_packed', np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64)),
        helper.make_node('Split', ['pads_packed'], ['p_begin', 'p_end'],
                         axis=0, split=[4, 4]),
        helper.make_node('Concat', ['p_begin', 'p_end'], ['pads'], axis=0),
        helper.make_node('Pad', ['nchw', 'pads'], ['padded'],
                         mode='reflect'),
        _const('w', w), _const('b', b),
        helper.make_node('Conv', ['padded', 'w', 'b'], ['conv'],
                         kernel_shape=[3, 3]),
        helper.make_node('Sigmoid', ['conv'], ['sig']),
        helper.make_node('Shape', ['sig'], ['shape']),
        _const('s0', np.array([0], np.int64)),
        _const('s2', np.array([2], np.int64)),
        _const('s4', np.array([4], np.int64)),
        helper.make_node('Slice', ['shape', 's0', 's2'], ['nc']),
        helper.make_node('Slice', ['shape', 's2', 's4'], ['hw']),
        _const('two', np.array([2], np.int64)),
        helper.make_node('Mul', ['hw', 'two'], ['hw2']),
        helper.make_node('Concat', ['nc', 'hw2'], ['sizes'], axis=0),
        _const('roi', np.zeros(0, np.float32)),
        _const('scales', np.zeros(0, np.float32)),
        helper.make_node('Resize', ['sig', 'roi', 'scales', 'sizes'],
                         ['up'], mode='nearest',
                         coordinate_transformation_mode='asymmetric',
                         nearest_mode='floor'),
        helper.make_node('ConstantOfShape', ['sizes'], ['zeros'],
                         value=numpy_helper.from_array(
                             np.array([0.0], np.float32), 'z')),
        helper.make_node('Add', ['up', 'zeros'], ['up0']),
        helper.make_node('Transpose', ['up0'], ['output:0'],
                         perm=[0, 2, 3, 1]),
    ]
    g = helper.make_graph(
        nodes, 'tf_pad_resize', [_nhwc_input('input:0')],
        [helper.make_tensor_value_info('output:0', TensorProto.FLOAT,
                                       ['batch', 'h2', 'w2', 6])])
    return helper.make_model(g, opset_imports=[helper.make_opsetid('', 11)],
                             producer_name='tf2onnx-style (camnet zoo)')


GRAPHS = {'tf-reshape-chain': (reshape_chain, 13),
          'tf-pad-resize': (pad_resize, 11)}
