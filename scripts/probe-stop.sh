#!/usr/bin/env bash
# How fast a signal stops camnet at each stage of a run (issue 13: "signals
# win everywhere"; not part of make check). For each stage, RUNS times:
# start camnet, wait until it is in that stage, send SIGTERM, time until it
# has exited. Prints the median and the worst stop time, and the exit
# statuses seen (0 and "stopped by SIGTERM" wanted).
#   connect  an RTSP server that accepts and never answers, --timeout 30000
#            (in the connect once the connection sits in the backlog)
#   load     CaffeNet (244 MB) loading (once its caffemodel is mapped)
#   run      GoogLeNet inferring on a 30 fps test source (after 2 s)
#
# Environment: BUILD (default build), RUNS (default 10).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
RUNS=${RUNS:-10}
for f in models/caffe-caffenet/model.caffemodel \
  models/caffe-googlenet/model.caffemodel; do
  [ -r "$f" ] || { echo "probe-stop: $f missing: run scripts/fetch-models.sh" >&2; exit 1; }
done
exec /usr/bin/python3 - "$BUILD/camnet" "$RUNS" <<'EOF'
import os, signal, socket, statistics, subprocess, sys, time

camnet, runs = sys.argv[1], int(sys.argv[2])
M = "models"

def mapped(pid, suffix):
    try:
        with open(f"/proc/{pid}/maps") as f:
            return any(l.rstrip().endswith(suffix) for l in f)
    except OSError:
        return False

def wait_for(cond, limit=60.0):
    t = time.monotonic()
    while not cond():
        if time.monotonic() - t > limit:
            raise SystemExit("probe-stop: the stage never came")
        time.sleep(0.001)

def one(stage):
    lsock = None
    if stage == "connect":
        lsock = socket.socket()
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(8)  # the kernel accepts; nobody answers
        args = ["--timeout", "30000", "--headless",
                f"rtsp://127.0.0.1:{lsock.getsockname()[1]}/cam"]
    elif stage == "load":
        args = ["--prototxt", f"{M}/caffe-caffenet/deploy.prototxt",
                "--model", f"{M}/caffe-caffenet/model.caffemodel",
                "--headless", "test:320x240"]
    else:
        args = ["--prototxt", f"{M}/caffe-googlenet/deploy.prototxt",
                "--model", f"{M}/caffe-googlenet/model.caffemodel",
                "--headless", "test:640x480@30"]
    p = subprocess.Popen([camnet] + args, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    if stage == "connect":
        import select
        select.select([lsock], [], [], 60)
        time.sleep(0.3)
    elif stage == "load":
        wait_for(lambda: mapped(p.pid, "/model.caffemodel"))
    else:
        time.sleep(2.0)
    t0 = time.monotonic()
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate()
    took = (time.monotonic() - t0) * 1000
    if lsock:
        lsock.close()
    said = "stopped by SIGTERM" in err
    return took, p.returncode, said

print(f"probe-stop: {runs} runs per stage, SIGTERM to exit, ms")
print(f"{'stage':8} {'median':>8} {'worst':>8}  exit statuses, 'stopped by SIGTERM' said")
for stage in ("connect", "load", "run"):
    rs = [one(stage) for _ in range(runs)]
    ms = [r[0] for r in rs]
    codes = sorted(set(r[1] for r in rs))
    said = sum(r[2] for r in rs)
    print(f"{stage:8} {statistics.median(ms):8.1f} {max(ms):8.1f}  "
          f"{codes}, {said}/{runs}")
EOF
