#!/usr/bin/python3
"""Write the ONNX test models with seeded random weights.

GoogLeNet (Inception v1 with LRN, as BVLC's), ResNet-50 (torchvision's
layout, BatchNormalization kept as nodes), MobileNetV2 (ReLU6 as Clip,
depthwise as grouped Conv) and SqueezeNet 1.1, all 1x3x224x224 -> 1x1000
logits, plus an input.npy next to each model.

The weights are random but scaled so the network behaves like a trained one
numerically: He initialisation keeps the activation scale roughly constant
through 50 layers, and the BatchNormalization statistics are close to what
the preceding convolution really produces, so nothing explodes or vanishes
and the logits have a clear top-5.

What OpenCV 4.6 DNN (the reference) can read decides some choices:
  - MobileNetV2 is opset 10: Clip there takes min/max as attributes; OpenCV
    cannot import opset >= 11 Clip, whose min/max are inputs.
  - Classifiers are Flatten + Gemm with transB=1, alpha=beta=1: OpenCV
    refuses transB=0 and ignores alpha/beta.
  - No Squeeze (opset 13 takes axes as an input, which OpenCV cannot read).
  - Conv always carries kernel_shape.
The other models use opsets 11, 12 and 13 so the importer sees several.

Usage: gen_onnx.py [--out DIR] [NAME...]   (default DIR: models/, all models)
Deterministic: the same seed gives byte-identical files.
"""
import argparse
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


class Builder:
    """Accumulates nodes and initializers; tracks nothing but names."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes = []
        self.inits = []
        self.count = {}

    def name(self, base):
        n = self.count.get(base, 0)
        self.count[base] = n + 1
        return base if n == 0 else '%s_%d' % (base, n)

    def const(self, name, arr):
        self.inits.append(numpy_helper.from_array(
            np.ascontiguousarray(arr, dtype=np.float32), name))
        return name

    def node(self, op, inputs, name, **attrs):
        self.nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        return name

    def conv(self, x, name, cin, cout, k, stride=1, pad=0, group=1,
             bias=True, gain=2.0):
        """Conv with He-scaled weights; gain 2 suits a following ReLU,
        gain 1 a linear output (projections, the classifier)."""
        kh, kw = (k, k) if isinstance(k, int) else k
        pads = [pad] * 4 if isinstance(pad, int) else list(pad)
        fan_in = cin // group * kh * kw
        w = self.rng.normal(0.0, np.sqrt(gain / fan_in),
                            (cout, cin // group, kh, kw))
        inputs = [x, self.const(name + '_w', w)]
        if bias:
            inputs.append(self.const(name + '_b',
                                     self.rng.normal(0.0, 0.05, cout)))
        attrs = dict(kernel_shape=[kh, kw], strides=[stride, stride],
                     pads=pads)
        if group != 1:
            attrs['group'] = group
        return self.node('Conv', inputs, name, **attrs)

    def bn(self, x, name, c):
        """BatchNormalization whose statistics roughly match a He-scaled
        conv output (mean near 0, variance near 1) but are not exact, so
        the fold into the conv changes every weight."""
        gamma = self.rng.uniform(0.6, 1.4, c)
        beta = self.rng.normal(0.0, 0.2, c)
        mean = self.rng.normal(0.0, 0.2, c)
        var = self.rng.uniform(0.5, 1.5, c)
        ins = [x] + [self.const(name + s, a) for s, a in
                     (('_scale', gamma), ('_bias', beta), ('_mean', mean),
                      ('_var', var))]
        return self.node('BatchNormalization', ins, name, epsilon=1e-5)

    def relu(self, x):
        return self.node('Relu', [x], self.name(x + '_relu'))

    def relu6(self, x):
        return self.node('Clip', [x], self.name(x + '_relu6'),
                         min=0.0, max=6.0)

    def maxpool(self, x, name, k, stride, pad=0, ceil=False):
        attrs = dict(kernel_shape=[k, k], strides=[stride, stride],
                     pads=[pad] * 4)
        if ceil:
            attrs['ceil_mode'] = 1
        return self.node('MaxPool', [x], name, **attrs)

    def classifier(self, x, name, cin, cout):
        """Flatten + Gemm(transB=1): the form every reader agrees on."""
        f = self.node('Flatten', [x], name + '_flatten', axis=1)
        w = self.rng.normal(0.0, np.sqrt(1.0 / cin), (cout, cin))
        b = self.rng.normal(0.0, 0.05, cout)
        return self.node('Gemm', [f, self.const(name + '_w', w),
                                  self.const(name + '_b', b)],
                         name, transB=1, alpha=1.0, beta=1.0)

    def model(self, graph_name, x, y, opset, in_shape, out_shape):
        graph = helper.make_graph(
            self.nodes, graph_name,
            [helper.make_tensor_value_info(x, TensorProto.FLOAT, in_shape)],
            [helper.make_tensor_value_info(y, TensorProto.FLOAT, out_shape)],
            self.inits)
        m = helper.make_model(graph, producer_name='camnet gen_onnx.py',
                              opset_imports=[helper.make_opsetid('', opset)])
        m.ir_version = {10: 5, 11: 6}.get(opset, 7)
        onnx.checker.check_model(m)
        return m


def googlenet(seed):
    """BVLC GoogLeNet: LRN, Caffe's ceil-rounded pooling, 9 inceptions.
    Its input is Caffe-scaled (BGR minus mean, about +-128), which is the
    scale where LRN (alpha 1e-4) actually normalises."""
    b = Builder(seed)
    x = 'data'
    t = b.relu(b.conv(x, 'conv1_7x7_s2', 3, 64, 7, 2, 3))
    t = b.maxpool(t, 'pool1_3x3_s2', 3, 2, ceil=True)
    t = b.node('LRN', [t], 'pool1_norm1', size=5, alpha=1e-4, beta=0.75,
               bias=1.0)
    t = b.relu(b.conv(t, 'conv2_3x3_reduce', 64, 64, 1))
    t = b.relu(b.conv(t, 'conv2_3x3', 64, 192, 3, 1, 1))
    t = b.node('LRN', [t], 'conv2_norm2', size=5, alpha=1e-4, beta=0.75,
               bias=1.0)
    t = b.maxpool(t, 'pool2_3x3_s2', 3, 2, ceil=True)

    def inception(t, name, cin, c1, c3r, c3, c5r, c5, cp):
        p = name + '_'
        a = b.relu(b.conv(t, p + '1x1', cin, c1, 1))
        r = b.relu(b.conv(t, p + '3x3_reduce', cin, c3r, 1))
        m = b.relu(b.conv(r, p + '3x3', c3r, c3, 3, 1, 1))
        r = b.relu(b.conv(t, p + '5x5_reduce', cin, c5r, 1))
        f = b.relu(b.conv(r, p + '5x5', c5r, c5, 5, 1, 2))
        q = b.maxpool(t, p + 'pool', 3, 1, 1)
        q = b.relu(b.conv(q, p + 'pool_proj', cin, cp, 1))
        return b.node('Concat', [a, m, f, q], p + 'output', axis=1), \
            c1 + c3 + c5 + cp

    t, c = inception(t, 'inception_3a', 192, 64, 96, 128, 16, 32, 32)
    t, c = inception(t, 'inception_3b', c, 128, 128, 192, 32, 96, 64)
    t = b.maxpool(t, 'pool3_3x3_s2', 3, 2, ceil=True)
    for name, cfg in (('4a', (192, 96, 208, 16, 48, 64)),
                      ('4b', (160, 112, 224, 24, 64, 64)),
                      ('4c', (128, 128, 256, 24, 64, 64)),
                      ('4d', (112, 144, 288, 32, 64, 64)),
                      ('4e', (256, 160, 320, 32, 128, 128))):
        t, c = inception(t, 'inception_' + name, c, *cfg)
    t = b.maxpool(t, 'pool4_3x3_s2', 3, 2, ceil=True)
    t, c = inception(t, 'inception_5a', c, 256, 160, 320, 32, 128, 128)
    t, c = inception(t, 'inception_5b', c, 384, 192, 384, 48, 128, 128)
    t = b.node('AveragePool', [t], 'pool5_7x7_s1', kernel_shape=[7, 7],
               strides=[1, 1])
    t = b.node('Dropout', [t], 'pool5_drop', ratio=0.4)
    y = b.classifier(t, 'loss3_classifier', c, 1000)
    return b.model('googlenet', x, y, 11, [1, 3, 224, 224], [1, 1000]), 60.0


def resnet50(seed):
    """ResNet-50 in torchvision's layout (stride on the 3x3 conv), every
    conv followed by a BatchNormalization node for the optimizer to fold.
    The last BN of each residual branch has a small gamma, as trained
    ResNets do, so the sum of 16 residual additions stays bounded."""
    b = Builder(seed)
    x = 'data'
    t = b.relu(b.bn(b.conv(x, 'conv1', 3, 64, 7, 2, 3, bias=False),
                    'bn1', 64))
    t = b.maxpool(t, 'pool1', 3, 2, 1)
    cin = 64
    for stage, (width, blocks, stride) in enumerate(
            ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)), 1):
        for i in range(blocks):
            p = 'layer%d_%d_' % (stage, i)
            s = stride if i == 0 else 1
            u = b.relu(b.bn(b.conv(t, p + 'conv1', cin, width, 1,
                                   bias=False), p + 'bn1', width))
            u = b.relu(b.bn(b.conv(u, p + 'conv2', width, width, 3, s, 1,
                                   bias=False), p + 'bn2', width))
            u = b.conv(u, p + 'conv3', width, width * 4, 1, bias=False,
                       gain=1.0)
            u = b.bn(u, p + 'bn3', width * 4)
            if i == 0:
                sc = b.conv(t, p + 'downsample_conv', cin, width * 4, 1, s,
                            bias=False, gain=1.0)
                sc = b.bn(sc, p + 'downsample_bn', width * 4)
            else:
                sc = t
            t = b.relu(b.node('Add', [u, sc], p + 'add'))
            cin = width * 4
    # Scaled after creation so the random stream, and thus every other
    # weight, does not depend on this choice.
    for init in b.inits:
        if init.name.endswith('bn3_scale'):
            arr = numpy_helper.to_array(init) * 0.3
            init.CopyFrom(numpy_helper.from_array(arr.astype(np.float32),
                                                  init.name))
    t = b.node('GlobalAveragePool', [t], 'pool5')
    y = b.classifier(t, 'fc', 2048, 1000)
    return b.model('resnet50', x, y, 13, [1, 3, 224, 224], [1, 1000]), 1.0


def mobilenetv2(seed):
    """MobileNetV2 1.0 (torchvision layout): ReLU6 as opset-10 Clip,
    depthwise 3x3 as Conv with group = channels, linear bottlenecks,
    residual Add when stride 1 and channels match."""
    b = Builder(seed)
    x = 'data'

    def cbr(t, name, cin, cout, k, s, group=1):
        t = b.conv(t, name, cin, cout, k, s, k // 2, group, bias=False)
        return b.relu6(b.bn(t, name + '_bn', cout))

    t = cbr(x, 'features_0', 3, 32, 3, 2)
    cin, idx = 32, 1
    for expand, cout, n, stride in ((1, 16, 1, 1), (6, 24, 2, 2),
                                    (6, 32, 3, 2), (6, 64, 4, 2),
                                    (6, 96, 3, 1), (6, 160, 3, 2),
                                    (6, 320, 1, 1)):
        for i in range(n):
            p = 'features_%d_' % idx
            s = stride if i == 0 else 1
            hidden = cin * expand
            u = t
            if expand != 1:
                u = cbr(u, p + 'expand', cin, hidden, 1, 1)
            u = cbr(u, p + 'dw', hidden, hidden, 3, s, group=hidden)
            u = b.conv(u, p + 'project', hidden, cout, 1, bias=False,
                       gain=1.0)
            u = b.bn(u, p + 'project_bn', cout)
            if s == 1 and cin == cout:
                u = b.node('Add', [t, u], p + 'add')
            t, cin, idx = u, cout, idx + 1
    t = cbr(t, 'features_18', 320, 1280, 1, 1)
    t = b.node('GlobalAveragePool', [t], 'pool')
    y = b.classifier(t, 'classifier', 1280, 1000)
    return b.model('mobilenetv2', x, y, 10, [1, 3, 224, 224], [1, 1000]), 1.0


def squeezenet(seed):
    """SqueezeNet 1.1: fire modules (squeeze 1x1, expand 1x1 + 3x3,
    concat), ceil-mode max pooling, Dropout, a conv classifier and a
    global average pool."""
    b = Builder(seed)
    x = 'data'
    t = b.relu(b.conv(x, 'conv1', 3, 64, 3, 2))
    t = b.maxpool(t, 'pool1', 3, 2, ceil=True)

    def fire(t, name, cin, sq, e1, e3):
        s = b.relu(b.conv(t, name + '_squeeze1x1', cin, sq, 1))
        a = b.relu(b.conv(s, name + '_expand1x1', sq, e1, 1))
        c = b.relu(b.conv(s, name + '_expand3x3', sq, e3, 3, 1, 1))
        return b.node('Concat', [a, c], name + '_concat', axis=1)

    t = fire(t, 'fire2', 64, 16, 64, 64)
    t = fire(t, 'fire3', 128, 16, 64, 64)
    t = b.maxpool(t, 'pool3', 3, 2, ceil=True)
    t = fire(t, 'fire4', 128, 32, 128, 128)
    t = fire(t, 'fire5', 256, 32, 128, 128)
    t = b.maxpool(t, 'pool5', 3, 2, ceil=True)
    t = fire(t, 'fire6', 256, 48, 192, 192)
    t = fire(t, 'fire7', 384, 48, 192, 192)
    t = fire(t, 'fire8', 384, 64, 256, 256)
    t = fire(t, 'fire9', 512, 64, 256, 256)
    t = b.node('Dropout', [t], 'drop9')  # opset 12: ratio is an input
    t = b.relu(b.conv(t, 'conv10', 512, 1000, 1, gain=2.0))
    t = b.node('GlobalAveragePool', [t], 'pool10')
    y = b.node('Flatten', [t], 'flatten', axis=1)
    return b.model('squeezenet', x, y, 12, [1, 3, 224, 224], [1, 1000]), 1.0


MODELS = {
    'googlenet': (googlenet, 101),
    'resnet50': (resnet50, 102),
    'mobilenetv2': (mobilenetv2, 103),
    'squeezenet': (squeezenet, 104),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', default='models')
    ap.add_argument('names', nargs='*', metavar='NAME',
                    help=', '.join(sorted(MODELS)))
    args = ap.parse_args()
    for name in args.names:
        if name not in MODELS:
            ap.error('unknown model %r (have: %s)' % (name, ', '.join(sorted(MODELS))))
    for name in args.names or sorted(MODELS):
        fn, seed = MODELS[name]
        model, in_scale = fn(seed)
        d = os.path.join(args.out, 'onnx-' + name)
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, 'model.onnx')
        tmp = path + '.tmp'
        with open(tmp, 'wb') as f:
            f.write(model.SerializeToString())
        os.replace(tmp, path)
        # A fixed input in the model's own scale; a separate stream, so a
        # change of the net never changes its input.
        rng = np.random.default_rng(seed + 1000)
        inp = rng.normal(0.0, in_scale, (1, 3, 224, 224)).astype(np.float32)
        np.save(os.path.join(d, 'input.npy'), inp)
        print('wrote %s (%d nodes, %.1f MB)' % (
            path, len(model.graph.node), os.path.getsize(path) / 1e6))
    return 0


if __name__ == '__main__':
    sys.exit(main())
