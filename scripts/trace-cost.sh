#!/usr/bin/env bash
# The cost of the --trace hooks when compiled in and off, in instructions
# (valgrind's callgrind), which a busy machine does not disturb.
#
# Builds the program twice, with the hooks (CN_TRACE=ON, the default) and
# without them (CN_TRACE=OFF: compiled out), runs each on the same work
# (a 720p H.264 clip, every frame, MobileNetV2, JSON records, one engine
# thread), and compares the instructions executed in camnet's own code:
# the stages around the libraries (capture loop, slot, develop call,
# preprocess, stage, decoders, JSON), excluding FFmpeg, oneDNN, libc. The
# budget is 0.5 %. Also prints the cost with --trace on, for information.
#
# Environment: FRAMES (default 30), MODEL (default MobileNetV2),
# COST_DIR (build directories, default build-trace-cost).
set -euo pipefail
cd "$(dirname "$0")/.."
FRAMES=${FRAMES:-30}
MODEL=${MODEL:-models/onnx-mobilenetv2/model.onnx}
DIR=${COST_DIR:-build-trace-cost}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
command -v valgrind >/dev/null || {
  echo "trace-cost: valgrind missing (bash scripts/install-deps.sh)" >&2
  exit 1
}
[ -s "$MODEL" ] || bash scripts/fetch-models.sh

for t in ON OFF; do
  cmake -S . -B "$DIR/$t" -DCN_TRACE=$t >"$OUT/cmake.log" 2>&1 &&
    cmake --build "$DIR/$t" --target camnet-bin -j2 >>"$OUT/cmake.log" 2>&1 || {
    cat "$OUT/cmake.log" >&2
    exit 1
  }
done
# See the file: libhwy's load-time RDTSCP stops valgrind otherwise.
cc -shared -fPIC -O2 -o "$OUT/valgrind_hwy.so" scripts/bench/valgrind_hwy.c

photo=/usr/lib/python3/dist-packages/skimage/data/astronaut.png
ffmpeg -nostdin -loglevel error -y -loop 1 -i "$photo" \
  -vf "scale=2048:2048,zoompan=z='1.3+0.3*sin(on/20)':d=1:s=1280x720:fps=30,format=yuv420p" \
  -frames:v "$FRAMES" -c:v libx264 -preset veryfast -g 30 "$OUT/clip.mp4"

# camnet re-executes itself to set the OpenMP wait policy; set it here so
# valgrind keeps the same process.
export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1
export LD_PRELOAD=$OUT/valgrind_hwy.so
run() { # build-dir name extra-args...
  local bin=$1/camnet name=$2
  shift 2
  valgrind --tool=callgrind --callgrind-out-file="$OUT/$name.cg" \
    "$bin" --headless --every-frame --threads 1 --model "$MODEL" \
    --json "$OUT/$name.jsonl" "$@" "$OUT/clip.mp4" 2>"$OUT/$name.log" \
    || {
    cat "$OUT/$name.log" >&2
    exit 1
  }
  /usr/bin/python3 scripts/bench/callgrind_self.py "$OUT/$name.cg" "$bin"
}
off=$(run "$DIR/OFF" off)
in=$(run "$DIR/ON" in)
on=$(run "$DIR/ON" on --trace "$OUT/t.json")
/usr/bin/python3 - "$off" "$in" "$on" "$FRAMES" <<'PY'
import sys
off, cin, on, frames = (int(x) for x in sys.argv[1:])
d = 100.0 * (cin - off) / off
print(f"camnet's own instructions, {frames} frames of 720p, MobileNetV2:")
print(f"  hooks compiled out   {off:>14,d}  ({off / frames:,.0f} per frame)")
print(f"  compiled in, off     {cin:>14,d}  {d:+.3f} %  (budget 0.5 %)")
print(f"  --trace on           {on:>14,d}  {100.0 * (on - off) / off:+.3f} %")
sys.exit(0 if d <= 0.5 else 1)
PY
