#!/usr/bin/python3
"""Time a model in OpenCV DNN (python3-opencv) for the engine benchmark.

Usage: opencv_bench.py MODEL.onnx|deploy.prototxt [--weights W.caffemodel]
         --input in.npy [--threads N] [--runs N] [--warmup N] [--flops]
Prints one JSON line: {"model", "threads", "load_ms", "median_ms", "p90_ms",
"runs"} and, with --flops, "gflop": the model's convolution and fully
connected work counted as 2 x multiply-adds from the real weight and output
shapes (OpenCV's own getFLOPS() counts depthwise convolutions as dense).
"""
import argparse
import json
import sys
import time

import numpy as np


def count_gflop(net, blob):
    """2 * MACs of Convolution and InnerProduct layers. The weight blob of a
    (grouped) conv is (OC, IC/group, KH, KW): every output element costs
    prod(shape[1:]) MACs; an FC output element costs shape[1]."""
    names = list(net.getLayerNames())
    net.setInput(blob)
    outs = net.forward(names)
    total = 0
    for name, out in zip(names, outs):
        layer = net.getLayer(name)
        if layer.type not in ('Convolution', 'InnerProduct'):
            continue
        blobs = layer.blobs
        if not blobs:
            continue
        w = blobs[0]
        per_out = int(np.prod(w.shape[1:]))
        total += 2 * int(np.asarray(out).size) * per_out
    return total / 1e9


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('model')
    ap.add_argument('--weights')
    ap.add_argument('--input', required=True)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--runs', type=int, default=30)
    ap.add_argument('--warmup', type=int, default=5)
    ap.add_argument('--flops', action='store_true')
    args = ap.parse_args()
    import cv2
    cv2.setNumThreads(args.threads)
    blob = np.load(args.input).astype(np.float32)
    t0 = time.perf_counter()
    if args.model.endswith('.prototxt'):
        net = cv2.dnn.readNetFromCaffe(args.model, args.weights)
    else:
        net = cv2.dnn.readNetFromONNX(args.model)
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    names = list(net.getUnconnectedOutLayersNames())
    # OpenCV builds its layers on the first forward: that is part of load.
    net.setInput(blob)
    net.forward(names)
    load_ms = (time.perf_counter() - t0) * 1e3
    for _ in range(args.warmup):
        net.setInput(blob)
        net.forward(names)
    ts = []
    for _ in range(args.runs):
        t = time.perf_counter()
        net.setInput(blob)
        net.forward(names)
        ts.append((time.perf_counter() - t) * 1e3)
    ts.sort()
    res = dict(model=args.model, threads=args.threads,
               load_ms=round(load_ms, 2),
               median_ms=round(float(np.median(ts)), 3),
               p90_ms=round(ts[min(len(ts) - 1, int(0.9 * len(ts)))], 3),
               runs=args.runs)
    if args.flops:
        res['gflop'] = round(count_gflop(net, blob), 4)
    print(json.dumps(res))
    return 0


if __name__ == '__main__':
    sys.exit(main())
