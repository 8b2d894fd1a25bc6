#!/usr/bin/python3
"""Reference BlazeFace detector for camnet's vision tests.

An implementation independent of camnet's: OpenCV reads and letterboxes
the photo (cv2.resize, INTER_AREA), OpenCV DNN runs the model, and numpy
decodes as MediaPipe does (896 anchors, sigmoid scores clipped at +-100,
box and keypoint offsets in input pixels, weighted NMS at IoU 0.3).

Usage: blazeface_ref.py MODEL.onnx IMAGE [--threshold T] [--backend ref]
Prints one line per face, best first:
    score x y w h kx0 ky0 ... kx5 ky5      (source-image pixels)
Exit status 0, or 1 with a one-line message on stderr.
"""
import argparse
import sys

import numpy as np


def anchor_centres():
    cells = []
    for grid, per_cell in ((16, 2), (8, 6)):
        ys, xs = np.meshgrid(np.arange(grid), np.arange(grid), indexing='ij')
        c = np.stack([(xs + 0.5) / grid, (ys + 0.5) / grid], -1).reshape(-1, 2)
        cells.append(np.repeat(c, per_cell, axis=0))
    return np.concatenate(cells).astype(np.float64)


def split_outputs(outs):
    """Scores and regressors, each in anchor order (bigger part first)."""
    scores = sorted((o for o in outs if o.shape[-1] == 1),
                    key=lambda o: -o.size)
    regs = sorted((o for o in outs if o.shape[-1] == 16),
                  key=lambda o: -o.size)
    s = np.concatenate([o.reshape(-1) for o in scores])
    r = np.concatenate([o.reshape(-1, 16) for o in regs])
    if s.shape[0] != 896 or r.shape[0] != 896:
        raise ValueError('unexpected outputs %s' % [o.shape for o in outs])
    return s.astype(np.float64), r.astype(np.float64)


def iou(box, boxes):
    x0 = np.maximum(box[0], boxes[:, 0])
    y0 = np.maximum(box[1], boxes[:, 1])
    x1 = np.minimum(box[2], boxes[:, 2])
    y1 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    return inter / (area(box) + area(boxes) - inter)


def weighted_nms(corners, kps, scores, thr):
    left = list(np.argsort(-scores, kind='stable'))
    faces = []
    while left:
        ious = iou(corners[left[0]], corners[left])
        cluster = [i for i, v in zip(left, ious) if v > thr]
        if left[0] not in cluster:
            cluster.insert(0, left[0])
        w = scores[cluster][:, None]
        box = (corners[cluster] * w).sum(0) / w.sum()
        kp = (kps[cluster] * w).sum(0) / w.sum()
        faces.append((scores[left[0]], box, kp))
        left = [i for i in left if i not in cluster]
    return faces


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('model')
    ap.add_argument('image')
    ap.add_argument('--threshold', type=float, default=0.5)
    args = ap.parse_args()
    import cv2
    img = cv2.imread(args.image, cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError('%s: cannot read the image' % args.image)
    h, w = img.shape[:2]
    side = max(h, w)
    px, py = (side - w) // 2, (side - h) // 2
    sq = np.zeros((side, side, 3), np.uint8)
    sq[py:py + h, px:px + w] = img
    n = 128
    x = cv2.resize(sq, (n, n), interpolation=cv2.INTER_AREA)
    x = x[:, :, ::-1].astype(np.float32) / 127.5 - 1.0
    net = cv2.dnn.readNetFromONNX(args.model)
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setInput(np.ascontiguousarray(x[None]))
    outs = net.forward(list(net.getUnconnectedOutLayersNames()))
    raw, reg = split_outputs(outs)
    scores = 1.0 / (1.0 + np.exp(-np.clip(raw, -100, 100)))
    a = anchor_centres() * n
    centre = a + reg[:, 0:2]
    size = reg[:, 2:4]
    corners = np.concatenate([centre - size / 2, centre + size / 2], 1)
    kps = (a[:, None, :] + reg[:, 4:16].reshape(-1, 6, 2)).reshape(-1, 12)
    keep = scores >= args.threshold
    faces = weighted_nms(corners[keep], kps[keep], scores[keep], 0.3)
    k = side / n  # input pixel -> source pixel, then undo the padding
    for score, box, kp in faces:
        x0, y0 = box[0] * k - px, box[1] * k - py
        x1, y1 = box[2] * k - px, box[3] * k - py
        x0, x1 = np.clip([x0, x1], 0, w)
        y0, y1 = np.clip([y0, y1], 0, h)
        pts = kp.reshape(6, 2) * k - [px, py]
        print(' '.join('%.4f' % v for v in
                       [score, x0, y0, x1 - x0, y1 - y0] +
                       list(pts.reshape(-1))))
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except Exception as e:  # one line for the test's failure message
        print('blazeface_ref.py: %s' % ' '.join(str(e).split()),
              file=sys.stderr)
        sys.exit(1)
