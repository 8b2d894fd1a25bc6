#!/usr/bin/python3
"""Run a model in OpenCV DNN on an input .npy and save each output as .npy.

The independent reference the engine's whole-model tests compare against:
same weights, same input, a different implementation (OpenCV 4.6's own
CPU backend, python3-opencv).

Usage:
  opencv_ref.py MODEL.onnx --input in.npy --out DIR
  opencv_ref.py deploy.prototxt --weights w.caffemodel --input in.npy --out DIR
Options:
  --output NAME   save only this output (repeatable; default: the graph's
                  unconnected outputs, as OpenCV names them)
  --threads N     OpenCV thread count (default 1)
  --stats         print mean/std/absmax of every layer's first output, to
                  check that random weights keep activations sane
  --time N        also run N timed forwards and print the median in ms

Writes DIR/<name>.npy for each output, where <name> is the output name with
every character outside [A-Za-z0-9_.-] replaced by '_', and prints one line
per output: "<name>\t<file>\t<shape>". The input is given to the network's
single input; NCHW float32 for ONNX and Caffe alike (BlazeFace's NHWC input
is passed as stored: OpenCV reads the declared layout from the model).
Exit status: 0 on success, 1 with a one-line message on stderr otherwise.
"""
import argparse
import os
import re
import sys
import time

import numpy as np


def safe(name):
    return re.sub(r'[^A-Za-z0-9_.-]', '_', name)


def load(args, cv2):
    if args.model.endswith('.prototxt'):
        if not args.weights:
            raise ValueError('%s: a Caffe model needs --weights' % args.model)
        net = cv2.dnn.readNetFromCaffe(args.model, args.weights)
    elif args.model.endswith('.onnx'):
        net = cv2.dnn.readNetFromONNX(args.model)
    else:
        raise ValueError('%s: expected .onnx or .prototxt' % args.model)
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    return net


def stats(net, blob):
    names = net.getLayerNames()
    outs = net.forward(list(names))
    for name, out in zip(names, outs):
        a = np.asarray(out, dtype=np.float64)
        print('%-40s %-22s mean %10.4g std %10.4g absmax %10.4g' % (
            name, 'x'.join(map(str, a.shape)), a.mean(), a.std(),
            np.abs(a).max()))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('model')
    ap.add_argument('--weights')
    ap.add_argument('--input', required=True)
    ap.add_argument('--out')
    ap.add_argument('--output', action='append', default=[])
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--stats', action='store_true')
    ap.add_argument('--time', type=int, default=0)
    args = ap.parse_args()
    try:
        import cv2
    except ImportError:
        print('opencv_ref.py: python3-opencv is missing (apt-get install '
              'python3-opencv; run with /usr/bin/python3)', file=sys.stderr)
        return 1
    try:
        cv2.setNumThreads(args.threads)
        blob = np.load(args.input)
        if blob.dtype != np.float32:
            blob = blob.astype(np.float32)
        net = load(args, cv2)
        net.setInput(blob)
        if args.stats:
            stats(net, blob)
            net.setInput(blob)
        names = args.output or list(net.getUnconnectedOutLayersNames())
        outs = net.forward(names)
        if args.out:
            os.makedirs(args.out, exist_ok=True)
        for name, out in zip(names, outs):
            out = np.ascontiguousarray(out, dtype=np.float32)
            path = ''
            if args.out:
                path = os.path.join(args.out, safe(name) + '.npy')
                np.save(path, out)
            print('%s\t%s\t%s' % (name, path, 'x'.join(map(str, out.shape))))
        if args.time:
            ts = []
            for _ in range(args.time):
                t0 = time.perf_counter()
                net.setInput(blob)
                net.forward(names)
                ts.append((time.perf_counter() - t0) * 1e3)
            print('median_ms\t%.3f' % float(np.median(ts)))
    except (cv2.error, ValueError, OSError) as e:
        msg = ' '.join(str(e).split())
        print('opencv_ref.py: %s: %s' % (args.model, msg[:400]),
              file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
