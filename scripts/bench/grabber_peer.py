#!/usr/bin/env python3
"""The ancestor script's design, re-implemented faithfully for the latency
benchmark: a grabber thread reads frames with OpenCV (FFmpeg) and
overwrites ONE global image; the main loop runs OpenCV DNN on whatever the
global image holds when it gets round to it (the same picture again if no
new one came: a repeat).

Usage: grabber_peer.py URL MODEL SECONDS [--prototxt P] [--size N]
       [--mean B,G,R] [--scale S] [--rgb] [--trace FILE]
Prints one JSON line per inference: frame (the grabber's count of frames
read, 1, 2, ...), t_capture and t_out (CLOCK_MONOTONIC seconds), infer_ms.
--trace writes the threads' spans as Chrome trace-event JSON (camnet
timeline draws it).
"""
import argparse
import json
import signal
import sys
import threading
import time

import cv2
import numpy as np


def now():
    return time.clock_gettime(time.CLOCK_MONOTONIC)


class Trace:
    def __init__(self, path):
        self.path, self.events, self.lock = path, [], threading.Lock()
        self.names = {}

    def thread(self, name):
        self.names[threading.get_native_id()] = name

    def span(self, name, t0, t1, frame):
        if self.path:
            with self.lock:
                self.events.append(("X", name, threading.get_native_id(), t0, t1, frame))

    def flow(self, t_grab, tid_grab, t_use, frame, k):
        if self.path:
            with self.lock:
                self.events.append(("F", tid_grab, t_grab, threading.get_native_id(), t_use, frame, k))

    def write(self):
        if not self.path:
            return
        pid, ev = 1, []
        t0 = min((e[3] for e in self.events if e[0] == "X"), default=0)
        us = lambda t: round((t - t0) * 1e6, 3)
        for e in self.events:
            if e[0] == "X":
                _, name, tid, a, b, fr = e
                ev.append({"ph": "X", "name": name, "pid": pid, "tid": tid, "ts": us(a),
                           "dur": us(b) - us(a), "args": {"source": 0, "frame": fr}})
            else:
                _, tg, a, tu, b, fr, k = e
                ev.append({"ph": "s", "cat": "frame", "name": "frame", "id": k, "pid": pid,
                           "tid": tg, "ts": us(a) - 1, "args": {"frame": fr}})
                ev.append({"ph": "f", "bp": "e", "cat": "frame", "name": "frame", "id": k,
                           "pid": pid, "tid": tu, "ts": us(b), "args": {"frame": fr}})
        for i, (tid, name) in enumerate(sorted(self.names.items())):
            ev.append({"ph": "M", "name": "thread_name", "pid": pid, "tid": tid,
                       "args": {"name": name}})
        with open(self.path, "w") as f:
            json.dump({"traceEvents": ev}, f)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("model")
    ap.add_argument("seconds", type=float)
    ap.add_argument("--prototxt")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--mean", default="0,0,0")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--rgb", action="store_true")
    ap.add_argument("--trace")
    a = ap.parse_args()
    tr = Trace(a.trace)
    net = cv2.dnn.readNet(a.model, a.prototxt) if a.prototxt else cv2.dnn.readNet(a.model)
    cap = cv2.VideoCapture(a.url, cv2.CAP_FFMPEG)
    if not cap.isOpened():
        sys.exit(f"grabber_peer: {a.url}: cannot open")
    mean = tuple(float(v) for v in a.mean.split(","))
    state = {"img": None, "n": 0, "t": 0.0, "tid": 0, "run": True}
    lock = threading.Lock()

    def grabber():  # the ancestor's thread: read, overwrite the global image
        tr.thread("grabber")
        while state["run"]:
            t0 = now()
            ok, img = cap.read()
            t1 = now()
            if not ok:
                continue
            with lock:
                state["n"] += 1
                state["img"], state["t"] = img, t1
                state["tid"] = threading.get_native_id()
                tr.span("grab", t0, t1, state["n"])

    th = threading.Thread(target=grabber, daemon=True)
    th.start()
    tr.thread("main")
    end, k = now() + a.seconds, 0
    stopped = []
    signal.signal(signal.SIGINT, lambda *_: stopped.append(1))
    while now() < end and not stopped:
        with lock:
            img, n, t_cap, tid = state["img"], state["n"], state["t"], state["tid"]
        if img is None:
            time.sleep(0.005)
            continue
        t0 = now()
        blob = cv2.dnn.blobFromImage(img, a.scale, (a.size, a.size), mean, swapRB=a.rgb)
        net.setInput(blob)
        net.forward()
        t1 = now()
        k += 1
        tr.span("inference", t0, t1, n)
        tr.flow(t_cap, tid, t0, n, k)
        print(json.dumps({"frame": n, "t_capture": t_cap, "t_out": t1,
                          "infer_ms": (t1 - t0) * 1e3}), flush=True)
    state["run"] = False
    th.join(timeout=5)  # a thread left inside cap.read() aborts at exit
    cap.release()
    tr.write()


if __name__ == "__main__":
    main()
