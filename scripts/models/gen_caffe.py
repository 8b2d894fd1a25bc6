#!/usr/bin/python3
"""Write the Caffe test models: deploy.prototxt + .caffemodel, random weights.

  caffe-googlenet    BVLC GoogLeNet: current `layer {}` form, an Input layer,
                     LRN, ceil-rounded pooling, 9 inceptions, Softmax "prob".
  caffe-caffenet     BVLC reference CaffeNet: the old V1 `layers {}` form with
                     enum types, `input:`/`input_dim:`, grouped convolutions,
                     LRN after pooling, fc6/fc7/fc8; its caffemodel is V1 too,
                     with the legacy 4-D blob dims (num/channels/height/width)
                     that old Caffe wrote, FC weights as 1x1xOxI.
  caffe-mobilenet-ssd  MobileNet-SSD (the structure of chuanqi305's deploy
                     prototxt, written here from the architecture): depthwise
                     convolutions, BatchNorm + Scale after every conv,
                     `input:` + `input_shape`, 6 heads with Permute/Flatten/
                     PriorBox, Concat, Reshape, Softmax, DetectionOutput.

The .caffemodel is encoded by hand in protobuf's wire format (no caffe, no
protoc needed): NetParameter with, per layer, its name, type, bottoms, tops
and blobs, which is what a reader takes from the binary file; the structure
comes from the prototxt. Field numbers are BVLC caffe.proto's.

Weights are He-scaled and BatchNorm statistics plausible (see gen_onnx.py),
BatchNorm blobs carry Caffe's moving-average factor as the third blob. An
input.npy (NCHW float32, in the scale each net expects) is written beside
each model. Deterministic: a fixed seed per model.

Usage: gen_caffe.py [--out DIR] [NAME...]   (default DIR: models/)
"""
import argparse
import os
import struct
import sys

import numpy as np


# --- protobuf wire format -------------------------------------------------

def varint(n):
    if n < 0:
        n += 1 << 64  # int64 negatives are 10-byte varints
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def key(field, wire):
    return varint((field << 3) | wire)


def f_varint(field, n):
    return key(field, 0) + varint(n)


def f_bytes(field, data):
    if isinstance(data, str):
        data = data.encode()
    return key(field, 2) + varint(len(data)) + data


def f_packed_floats(field, arr):
    return f_bytes(field, np.ascontiguousarray(arr, dtype='<f4').tobytes())


def f_packed_int64(field, vals):
    return f_bytes(field, b''.join(varint(int(v)) for v in vals))


def blob_proto(arr, legacy):
    """BlobProto: shape (7) + packed data (5); legacy: num/channels/
    height/width (1-4), the shape padded on the left with 1s to 4-D."""
    if legacy:
        dims = [1] * (4 - arr.ndim) + list(arr.shape)
        head = b''.join(f_varint(i + 1, d) for i, d in enumerate(dims))
    else:
        head = f_bytes(7, f_packed_int64(1, arr.shape))
    return head + f_packed_floats(5, arr.ravel())


# V1LayerParameter.LayerType values used here (caffe.proto).
V1_TYPES = {'Convolution': 4, 'Dropout': 6, 'InnerProduct': 14, 'LRN': 15,
            'Pooling': 17, 'ReLU': 18, 'Softmax': 20, 'Concat': 3}
V1_ENUMS = {v: k for k, v in (
    ('CONVOLUTION', 'Convolution'), ('DROPOUT', 'Dropout'),
    ('INNER_PRODUCT', 'InnerProduct'), ('LRN', 'LRN'),
    ('POOLING', 'Pooling'), ('RELU', 'ReLU'), ('SOFTMAX', 'Softmax'),
    ('CONCAT', 'Concat'))}


def layer_proto(layer, v1):
    name, ltype, bottoms, tops, _, blobs = layer
    if v1:
        # V1LayerParameter: bottom 2, top 3, name 4, type 5 (enum), blobs 6
        out = b''.join(f_bytes(2, b) for b in bottoms)
        out += b''.join(f_bytes(3, t) for t in tops)
        out += f_bytes(4, name) + f_varint(5, V1_TYPES[ltype])
        out += b''.join(f_bytes(6, blob_proto(b, True)) for b in blobs)
    else:
        # LayerParameter: name 1, type 2, bottom 3, top 4, blobs 7
        out = f_bytes(1, name) + f_bytes(2, ltype)
        out += b''.join(f_bytes(3, b) for b in bottoms)
        out += b''.join(f_bytes(4, t) for t in tops)
        out += b''.join(f_bytes(7, blob_proto(b, False)) for b in blobs)
    return out


# --- prototxt text ----------------------------------------------------------

class Enum(str):
    """A value printed bare (MAX, CENTER_SIZE), not quoted."""


def fmt_value(v):
    if isinstance(v, bool):
        return 'true' if v else 'false'
    if isinstance(v, Enum):
        return str(v)
    if isinstance(v, str):
        return '"%s"' % v
    if isinstance(v, float):
        return repr(v)
    return str(v)


def fmt_fields(fields, indent):
    """fields: list of (name, value); value a list of pairs is a message."""
    pad = '  ' * indent
    out = []
    for k, v in fields:
        if isinstance(v, list):
            out.append('%s%s {\n%s%s}\n' % (pad, k, fmt_fields(v, indent + 1),
                                           pad))
        else:
            out.append('%s%s: %s\n' % (pad, k, fmt_value(v)))
    return ''.join(out)


# --- network builder --------------------------------------------------------

class Net:
    def __init__(self, name, seed):
        self.name = name
        self.rng = np.random.default_rng(seed)
        self.layers = []  # (name, type, bottoms, tops, params, blobs)

    def add(self, name, ltype, bottoms, tops=None, params=(), blobs=()):
        tops = tops or [name]
        self.layers.append((name, ltype, list(bottoms), list(tops),
                            list(params), [np.asarray(b, np.float32)
                                           for b in blobs]))
        return tops[0]

    def conv(self, x, name, cin, cout, k, stride=1, pad=0, group=1,
             bias=True, gain=2.0, top=None):
        w = self.rng.normal(0.0, np.sqrt(gain / (cin // group * k * k)),
                            (cout, cin // group, k, k))
        blobs = [w]
        p = [('num_output', cout)]
        if not bias:
            p.append(('bias_term', False))
        else:
            blobs.append(self.rng.normal(0.0, 0.05, cout))
        if pad:
            p.append(('pad', pad))
        p.append(('kernel_size', k))
        if stride != 1:
            p.append(('stride', stride))
        if group != 1:
            p.append(('group', group))
        return self.add(name, 'Convolution', [x], [top or name],
                        [('convolution_param', p)], blobs)

    def relu(self, x, name):
        return self.add(name, 'ReLU', [x], [x])  # in place, as Caffe nets do

    def pool(self, x, name, method, k=None, stride=1, pad=0, glob=False):
        p = [('pool', Enum(method))]
        if glob:
            p.append(('global_pooling', True))
        else:
            p.append(('kernel_size', k))
            p.append(('stride', stride))
            if pad:
                p.append(('pad', pad))
        return self.add(name, 'Pooling', [x], params=[('pooling_param', p)])

    def lrn(self, x, name):
        return self.add(name, 'LRN', [x], params=[('lrn_param', [
            ('local_size', 5), ('alpha', 0.0001), ('beta', 0.75)])])

    def fc(self, x, name, cin, cout, gain=2.0):
        w = self.rng.normal(0.0, np.sqrt(gain / cin), (cout, cin))
        b = self.rng.normal(0.0, 0.05, cout)
        return self.add(name, 'InnerProduct', [x],
                        params=[('inner_product_param',
                                 [('num_output', cout)])], blobs=[w, b])

    def bn_scale(self, x, name, c):
        """Caffe's BatchNorm (mean*f, var*f, [f]) + Scale (gamma, beta),
        in place like MobileNet-SSD's; f is the moving-average factor that
        a reader must divide by."""
        f = 999.982
        mean = self.rng.normal(0.0, 0.2, c)
        var = self.rng.uniform(0.5, 1.5, c)
        self.add(name + '/bn', 'BatchNorm', [x], [x],
                 [('batch_norm_param', [('use_global_stats', True),
                                        ('eps', 1e-5)])],
                 [mean * f, var * f, [f]])
        gamma = self.rng.uniform(0.6, 1.4, c)
        beta = self.rng.normal(0.0, 0.2, c)
        return self.add(name + '/scale', 'Scale', [x], [x],
                        [('scale_param', [('bias_term', True)])],
                        [gamma, beta])

    def prototxt(self, header, v1=False):
        out = ['name: "%s"\n' % self.name, header]
        for name, ltype, bottoms, tops, params, _ in self.layers:
            if v1:
                fields = [('name', name), ('type', Enum(V1_ENUMS[ltype]))]
            else:
                fields = [('name', name), ('type', ltype)]
            fields += [('bottom', b) for b in bottoms]
            fields += [('top', t) for t in tops]
            fields += params
            out.append(fmt_fields([('layers' if v1 else 'layer', fields)], 0))
        return ''.join(out)

    def caffemodel(self, v1=False):
        out = f_bytes(1, self.name)
        for layer in self.layers:
            if layer[1] == 'Input':
                continue
            out += f_bytes(2 if v1 else 100, layer_proto(layer, v1))
        return out


# --- the models -------------------------------------------------------------

def googlenet(seed):
    n = Net('GoogleNet', seed)
    n.add('data', 'Input', [], params=[('input_param', [('shape', [
        ('dim', 1), ('dim', 3), ('dim', 224), ('dim', 224)])])])
    t = n.relu(n.conv('data', 'conv1/7x7_s2', 3, 64, 7, 2, 3),
               'conv1/relu_7x7')
    t = n.pool(t, 'pool1/3x3_s2', 'MAX', 3, 2)
    t = n.lrn(t, 'pool1/norm1')
    t = n.relu(n.conv(t, 'conv2/3x3_reduce', 64, 64, 1),
               'conv2/relu_3x3_reduce')
    t = n.relu(n.conv(t, 'conv2/3x3', 64, 192, 3, 1, 1), 'conv2/relu_3x3')
    t = n.lrn(t, 'conv2/norm2')
    t = n.pool(t, 'pool2/3x3_s2', 'MAX', 3, 2)

    def inception(t, p, cin, c1, c3r, c3, c5r, c5, cp):
        def cr(x, suffix, ci, co, k, pad=0):
            return n.relu(n.conv(x, p + '/' + suffix, ci, co, k, 1, pad),
                          p + '/relu_' + suffix)
        a = cr(t, '1x1', cin, c1, 1)
        m = cr(cr(t, '3x3_reduce', cin, c3r, 1), '3x3', c3r, c3, 3, 1)
        f = cr(cr(t, '5x5_reduce', cin, c5r, 1), '5x5', c5r, c5, 5, 2)
        q = n.pool(t, p + '/pool', 'MAX', 3, 1, 1)
        q = cr(q, 'pool_proj', cin, cp, 1)
        return n.add(p + '/output', 'Concat', [a, m, f, q]), \
            c1 + c3 + c5 + cp

    t, c = inception(t, 'inception_3a', 192, 64, 96, 128, 16, 32, 32)
    t, c = inception(t, 'inception_3b', c, 128, 128, 192, 32, 96, 64)
    t = n.pool(t, 'pool3/3x3_s2', 'MAX', 3, 2)
    for name, cfg in (('4a', (192, 96, 208, 16, 48, 64)),
                      ('4b', (160, 112, 224, 24, 64, 64)),
                      ('4c', (128, 128, 256, 24, 64, 64)),
                      ('4d', (112, 144, 288, 32, 64, 64)),
                      ('4e', (256, 160, 320, 32, 128, 128))):
        t, c = inception(t, 'inception_' + name, c, *cfg)
    t = n.pool(t, 'pool4/3x3_s2', 'MAX', 3, 2)
    t, c = inception(t, 'inception_5a', c, 256, 160, 320, 32, 128, 128)
    t, c = inception(t, 'inception_5b', c, 384, 192, 384, 48, 128, 128)
    t = n.pool(t, 'pool5/7x7_s1', 'AVE', 7, 1)
    t = n.add('pool5/drop_7x7_s1', 'Dropout', [t], [t],
              [('dropout_param', [('dropout_ratio', 0.4)])])
    # gain 1/30: logits of a few units, so the softmax stays informative
    # at this input scale (about 60) instead of saturating to one-hot.
    t = n.fc(t, 'loss3/classifier', c, 1000, gain=1.0 / 30**2)
    n.add('prob', 'Softmax', [t])
    return n, '', False, (1, 3, 224, 224), 60.0


def caffenet(seed):
    n = Net('CaffeNet', seed)
    t = n.relu(n.conv('data', 'conv1', 3, 96, 11, 4), 'relu1')
    t = n.lrn(n.pool(t, 'pool1', 'MAX', 3, 2), 'norm1')
    t = n.relu(n.conv(t, 'conv2', 96, 256, 5, 1, 2, group=2), 'relu2')
    t = n.lrn(n.pool(t, 'pool2', 'MAX', 3, 2), 'norm2')
    t = n.relu(n.conv(t, 'conv3', 256, 384, 3, 1, 1), 'relu3')
    t = n.relu(n.conv(t, 'conv4', 384, 384, 3, 1, 1, group=2), 'relu4')
    t = n.relu(n.conv(t, 'conv5', 384, 256, 3, 1, 1, group=2), 'relu5')
    t = n.pool(t, 'pool5', 'MAX', 3, 2)
    for i, cin in ((6, 256 * 6 * 6), (7, 4096)):
        t = n.relu(n.fc(t, 'fc%d' % i, cin, 4096), 'relu%d' % i)
        t = n.add('drop%d' % i, 'Dropout', [t], [t],
                  [('dropout_param', [('dropout_ratio', 0.5)])])
    t = n.fc(t, 'fc8', 4096, 1000, gain=1.0 / 30**2)
    n.add('prob', 'Softmax', [t])
    header = 'input: "data"\n' + ''.join('input_dim: %d\n' % d
                                         for d in (1, 3, 227, 227))
    return n, header, True, (1, 3, 227, 227), 60.0


def mobilenet_ssd(seed):
    n = Net('MobileNet-SSD', seed)

    def cbr(x, name, cin, cout, k, stride=1, group=1):
        t = n.conv(x, name, cin, cout, k, stride, k // 2, group, bias=False)
        n.bn_scale(t, name, cout)
        return n.relu(t, name + '/relu')

    t = cbr('data', 'conv0', 3, 32, 3, 2)
    cin = 32
    for i, (cout, s) in enumerate(((64, 1), (128, 2), (128, 1), (256, 2),
                                   (256, 1), (512, 2), (512, 1), (512, 1),
                                   (512, 1), (512, 1), (512, 1), (1024, 2),
                                   (1024, 1)), 1):
        t = cbr(t, 'conv%d/dw' % i, cin, cin, 3, s, group=cin)
        t = cbr(t, 'conv%d' % i, cin, cout, 1)
        cin = cout
        if i == 11:
            conv11 = t
    conv13 = t
    extras = []
    for i, (mid, cout) in zip(range(14, 18), ((256, 512), (128, 256),
                                              (128, 256), (64, 128))):
        t = cbr(t, 'conv%d_1' % i, cin, mid, 1)
        t = cbr(t, 'conv%d_2' % i, mid, cout, 3, 2)
        extras.append((t, cout))
        cin = cout

    classes = 21
    heads = [(conv11, 512, 60.0, None, [2.0]),
             (conv13, 1024, 105.0, 150.0, [2.0, 3.0]),
             (extras[0][0], 512, 150.0, 195.0, [2.0, 3.0]),
             (extras[1][0], 256, 195.0, 240.0, [2.0, 3.0]),
             (extras[2][0], 256, 240.0, 285.0, [2.0, 3.0]),
             (extras[3][0], 128, 285.0, 300.0, [2.0, 3.0])]
    locs, confs, priors = [], [], []
    for feat, c, min_size, max_size, ars in heads:
        k = 1 + (1 if max_size else 0) + 2 * len(ars)  # flip doubles ratios
        for kind, per in (('loc', 4), ('conf', classes)):
            # The features' rms is about 4: location offsets of about +-1
            # (decoded with variances 0.1, 0.2) and class logits of about
            # +-1.5, so only some priors pass the 0.25 confidence threshold
            # and the detections stay below keep_top_k.
            h = n.conv(feat, '%s_mbox_%s' % (feat, kind), c, k * per, 1,
                       gain=0.06 if kind == 'loc' else 0.14)
            if kind == 'conf':
                # Background (class 0 of each prior) wins most priors, as
                # in a trained detector.
                n.layers[-1][5][1][0::classes] += 3.0
            h = n.add(h + '_perm', 'Permute', [h], params=[(
                'permute_param', [('order', o) for o in (0, 2, 3, 1)])])
            h = n.add(h + '_flat', 'Flatten', [h],
                      params=[('flatten_param', [('axis', 1)])])
            (locs if kind == 'loc' else confs).append(h)
        p = [('min_size', min_size)]
        if max_size:
            p.append(('max_size', max_size))
        p += [('aspect_ratio', a) for a in ars]
        p += [('flip', True), ('clip', False)]
        p += [('variance', v) for v in (0.1, 0.1, 0.2, 0.2)]
        p.append(('offset', 0.5))
        priors.append(n.add(feat + '_mbox_priorbox', 'PriorBox',
                            [feat, 'data'],
                            params=[('prior_box_param', p)]))
    loc = n.add('mbox_loc', 'Concat', locs,
                params=[('concat_param', [('axis', 1)])])
    conf = n.add('mbox_conf', 'Concat', confs,
                 params=[('concat_param', [('axis', 1)])])
    prior = n.add('mbox_priorbox', 'Concat', priors,
                  params=[('concat_param', [('axis', 2)])])
    conf = n.add('mbox_conf_reshape', 'Reshape', [conf], params=[(
        'reshape_param', [('shape', [('dim', 0), ('dim', -1),
                                     ('dim', classes)])])])
    conf = n.add('mbox_conf_softmax', 'Softmax', [conf],
                 params=[('softmax_param', [('axis', 2)])])
    conf = n.add('mbox_conf_flatten', 'Flatten', [conf],
                 params=[('flatten_param', [('axis', 1)])])
    n.add('detection_out', 'DetectionOutput', [loc, conf, prior], params=[(
        'detection_output_param', [
            ('num_classes', classes), ('share_location', True),
            ('background_label_id', 0),
            ('nms_param', [('nms_threshold', 0.45), ('top_k', 100)]),
            ('code_type', Enum('CENTER_SIZE')), ('keep_top_k', 100),
            ('confidence_threshold', 0.25)])])
    header = 'input: "data"\ninput_shape {\n' + ''.join(
        '  dim: %d\n' % d for d in (1, 3, 300, 300)) + '}\n'
    return n, header, False, (1, 3, 300, 300), 0.5


MODELS = {
    'googlenet': (googlenet, 201),
    'caffenet': (caffenet, 202),
    'mobilenet-ssd': (mobilenet_ssd, 203),
}


def write(path, data):
    tmp = path + '.tmp'
    with open(tmp, 'wb') as f:
        f.write(data)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', default='models')
    ap.add_argument('names', nargs='*', metavar='NAME',
                    help=', '.join(sorted(MODELS)))
    args = ap.parse_args()
    for name in args.names:
        if name not in MODELS:
            ap.error('unknown model %r (have: %s)' % (
                name, ', '.join(sorted(MODELS))))
    for name in args.names or sorted(MODELS):
        fn, seed = MODELS[name]
        net, header, v1, in_shape, in_scale = fn(seed)
        d = os.path.join(args.out, 'caffe-' + name)
        os.makedirs(d, exist_ok=True)
        write(os.path.join(d, 'deploy.prototxt'),
              net.prototxt(header, v1).encode())
        write(os.path.join(d, 'model.caffemodel'), net.caffemodel(v1))
        rng = np.random.default_rng(seed + 1000)
        inp = rng.normal(0.0, in_scale, in_shape)
        if name == 'mobilenet-ssd':  # (pixel - 127.5) * 0.007843
            inp = np.clip(inp, -1.0, 1.0)
        np.save(os.path.join(d, 'input.npy'), inp.astype(np.float32))
        print('wrote %s (%d layers, %.1f MB)' % (
            d, len(net.layers),
            os.path.getsize(os.path.join(d, 'model.caffemodel')) / 1e6))
    return 0


if __name__ == '__main__':
    sys.exit(main())
