#!/usr/bin/env python3
"""Outside harness of the latency benchmark (scripts/bench-latency.sh).

Usage: latency_harness.py --log SERVER_LOG --fps F --seconds S --name NAME
                          -- PROGRAM ARGS...
Starts the program, stamps every stdout line on arrival (CLOCK_MONOTONIC,
the clock of the server's log "N t_push_ns"), samples the program's CPU
time from /proc every 0.25 s, stops it with SIGINT after S seconds, maps
each line to its source frame and prints one Markdown table row:
results/s, % of the frames pushed meanwhile that were inferred, repeats
(lines for a frame already seen), latency p50/p99 (arrival - push) in ms
and in frame intervals, result intervals p50/p99, frame age at inference
start p50/p99 (t_out - infer_ms - push), CPU ms per result.

Mapping: each line's "frame" is the program's count of frames it received
(1, 2, ...). The server numbered the same frames N = frame + A. A is the
largest offset that breaks no causality (no frame received before the
server pushed it); the first frame a client receives is the first the
server sent after the client started playing, so A is the number of
frames pushed before that.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time


def q(v, p):
    if not v:
        return float("nan")
    v = sorted(v)
    return v[min(len(v) - 1, int(p * (len(v) - 1) + 0.5))]


def cpu_seconds(pid):
    try:
        f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError):
        return None


def run(cmd, seconds):
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines, cpu = [], [0.0]
    err = []
    threading.Thread(target=lambda: err.extend(p.stderr), daemon=True).start()

    def sample():
        while p.poll() is None:
            c = cpu_seconds(p.pid)
            if c is not None:
                cpu[0] = c
            time.sleep(0.25)

    threading.Thread(target=sample, daemon=True).start()
    # The window starts at the first line (loading a model is not the
    # run); a program that never prints is stopped after a minute.
    stop = lambda: p.poll() is None and p.send_signal(signal.SIGINT)
    timer = threading.Timer(seconds + 60, stop)
    timer.start()
    for line in p.stdout:
        if not lines:
            timer.cancel()
            timer = threading.Timer(seconds, stop)
            timer.start()
        lines.append((time.clock_gettime_ns(time.CLOCK_MONOTONIC), line))
    p.wait()
    timer.cancel()
    return lines, cpu[0], "".join(err)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", required=True)
    ap.add_argument("--fps", type=float, required=True)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    lines, cpu, err = run(cmd, a.seconds)
    push = {}
    for l in open(a.log):
        n, t = l.split()
        push[int(n)] = int(t)
    recs = []
    for t_arr, line in lines:
        try:
            r = json.loads(line)
        except ValueError:
            continue
        if "frame" in r and "t_capture" in r:
            recs.append((t_arr, r))
    if not recs or not push:
        print(f"| {a.name} | no results | | | | | | |")
        sys.stderr.write(err[-2000:])
        return 1
    # The largest offset that keeps every capture after its push.
    lo, hi = min(push), max(push)
    best = None
    for off in range(lo - 1, hi):
        ok = all(int(r["t_capture"] * 1e9) >= push.get(r["frame"] + off, 1 << 62)
                 for _, r in recs)
        if ok:
            best = off
    if best is None:
        print(f"| {a.name} | frames do not map to the server's log | | | | | | |")
        return 1
    iv = 1000.0 / a.fps
    frames = [r["frame"] + best for _, r in recs]
    lat = [(t - push[n]) / 1e6 for (t, _), n in zip(recs, frames)]
    age = [((r["t_out"] - r.get("infer_ms", 0) / 1e3) * 1e9 - push[n]) / 1e6
           for (_, r), n in zip(recs, frames)]
    arr = [t for t, _ in recs]
    gaps = [(b - a2) / 1e6 for a2, b in zip(arr, arr[1:])]
    span_s = (arr[-1] - arr[0]) / 1e9 if len(arr) > 1 else float("nan")
    pushed = [n for n in push if min(frames) <= n <= max(frames)]
    uniq = set(frames)
    print(f"| {a.name} | {len(recs) / span_s:.1f} | {100.0 * len(uniq) / max(1, len(pushed)):.1f} % "
          f"| {len(recs) - len(uniq)} | {q(lat, .5):.0f} / {q(lat, .99):.0f} "
          f"({q(lat, .5) / iv:.2f} / {q(lat, .99) / iv:.2f}) | {q(gaps, .5):.0f} / {q(gaps, .99):.0f} "
          f"| {q(age, .5):.0f} / {q(age, .99):.0f} | {1000.0 * cpu / len(recs):.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
