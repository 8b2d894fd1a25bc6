#!/usr/bin/env bash
# Program benchmark (`make bench-program`), two parts on the 720p30 H.264
# sample clip and the Caffe GoogLeNet:
#
# 1. Stage costs: tools/bench_program runs every frame through develop,
#    preprocess, network, JSON, overlay and recorder push in one thread and
#    prints each stage's median against the network's (the reference
#    measured in the same run).
# 2. Live: camnet itself on the clip paced like a 30 fps camera, headless,
#    with JSON and recording, then the same without a model (capture and
#    delivery only) as the reference. Prints frames captured, inferred and
#    dropped, inferences per captured frame (1.00: every frame inferred) and
#    the capture -> result age, against the pass-through age and the frame
#    interval.
#
# Environment: BUILD (default build), RUNS (live runs per mode, default 3;
# the median run by inferred frames is reported).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
RUNS=${RUNS:-3}
CLIP=samples/astronaut.mp4
PROTO=models/caffe-googlenet/deploy.prototxt
WEIGHTS=models/caffe-googlenet/model.caffemodel
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
# camnet sets this for itself; the stage bench is a plain program.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}

echo "bench-program: load average $(cut -d' ' -f1 /proc/loadavg) at the start" >&2
echo "## Stage costs ($BUILD/tools/bench_program $CLIP $PROTO $WEIGHTS)"
"$BUILD/tools/bench_program" "$CLIP" "$PROTO" "$WEIGHTS"

# One summary line per run: captured delivered dropped inferences age_p50 age_p99
live() {
  local log=$OUT/live.log
  "$BUILD/camnet" "$CLIP" --headless "$@" >/dev/null 2>"$log" || {
    cat "$log" >&2
    return 1
  }
  /usr/bin/python3 - "$log" <<'EOF'
import re, sys
t = open(sys.argv[1]).read()
src = re.search(r'(\d+) captured, (\d+) delivered, (\d+) dropped.*?'
                r'age p50 ([0-9.]+) ms, p99 ([0-9.]+) ms', t)
inf = re.search(r'(\d+) inferences', t)
print(*src.groups()[:3], inf.group(1) if inf else 0, *src.groups()[3:])
EOF
}

for i in $(seq "$RUNS"); do
  live --prototxt "$PROTO" --model "$WEIGHTS" --json "$OUT/g.jsonl" \
    --record "$OUT/g.mp4" >>"$OUT/model"
  live --json "$OUT/p.jsonl" >>"$OUT/pass"
done

echo
echo "## Live: 1280x720 H.264 at 30 fps, paced like a camera, headless, JSON + recording"
/usr/bin/python3 - "$OUT/model" "$OUT/pass" "$RUNS" <<'EOF'
import sys
def runs(p):
    rows = [list(map(float, l.split())) for l in open(p) if l.strip()]
    rows.sort(key=lambda r: r[3])
    return rows
m, p = runs(sys.argv[1]), runs(sys.argv[2])
mid = m[len(m) // 2]
ref = sorted(p, key=lambda r: r[4])[len(p) // 2]
print('| run | captured | inferred | dropped | inferred / captured | age p50 ms | age p99 ms |')
print('|---|---:|---:|---:|---:|---:|---:|')
print('| GoogLeNet (median of %s runs by frames inferred) | %d | %d | %d | %.2f | %.1f | %.1f |'
      % (sys.argv[3], mid[0], mid[3], mid[2], mid[3] / mid[0], mid[4], mid[5]))
print('| pass-through, no model (reference) | %d | %d | %d | — | %.1f | %.1f |'
      % (ref[0], ref[1], ref[2], ref[4], ref[5]))
print()
print('Every run, GoogLeNet: ' + '; '.join('%d/%d inferred' % (r[3], r[0]) for r in m))
print('Result age p50 over the 33.3 ms frame interval: %.2f (below 1: each result is out '
      'before the next frame arrives)' % (mid[4] / (1000.0 / 30)))
EOF
echo "bench-program: load average $(cut -d' ' -f1 /proc/loadavg) at the end" >&2
