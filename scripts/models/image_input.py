#!/usr/bin/python3
"""Turn a photo into a network input .npy (float32, batch 1).

Usage: image_input.py IMAGE OUT.npy --size N [--layout nhwc|nchw] [--rgb]
         [--scale S] [--offset O] [--letterbox]
Pixel p (0..255) becomes p * S + O. --letterbox pads the image to a square
with black borders (centred) before resizing, as MediaPipe does for
BlazeFace, so faces keep their aspect ratio. Resizing uses OpenCV's
INTER_AREA. The same file is given to camnet and to the references.
"""
import argparse
import sys

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('image')
    ap.add_argument('out')
    ap.add_argument('--size', type=int, required=True)
    ap.add_argument('--layout', choices=('nhwc', 'nchw'), default='nchw')
    ap.add_argument('--rgb', action='store_true')
    ap.add_argument('--scale', type=float, default=1.0)
    ap.add_argument('--offset', type=float, default=0.0)
    ap.add_argument('--letterbox', action='store_true')
    args = ap.parse_args()
    import cv2
    img = cv2.imread(args.image, cv2.IMREAD_COLOR)
    if img is None:
        print('image_input.py: %s: cannot read the image' % args.image,
              file=sys.stderr)
        return 1
    if args.letterbox:
        h, w = img.shape[:2]
        side = max(h, w)
        sq = np.zeros((side, side, 3), img.dtype)
        y, x = (side - h) // 2, (side - w) // 2
        sq[y:y + h, x:x + w] = img
        img = sq
    img = cv2.resize(img, (args.size, args.size), interpolation=cv2.INTER_AREA)
    if args.rgb:
        img = img[:, :, ::-1]
    x = img.astype(np.float32) * np.float32(args.scale) + np.float32(args.offset)
    if args.layout == 'nchw':
        x = x.transpose(2, 0, 1)
    np.save(args.out, np.ascontiguousarray(x[None], dtype=np.float32))
    return 0


if __name__ == '__main__':
    sys.exit(main())
