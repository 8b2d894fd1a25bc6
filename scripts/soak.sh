#!/usr/bin/env bash
# `make soak`: camnet on one source (and model) for SOAK_MINUTES (default
# 10), sampling its resident memory, open file descriptors and threads from
# /proc every SOAK_EVERY seconds (default 10). Fails when, after the first
# two minutes (warm-up: pools, caches and the JIT settle), RSS grows by more
# than SOAK_RSS_KB (default 1024) or the fd or thread count changes.
#
#   SOAK_MINUTES=60 make soak
#   SOAK_SOURCE=rtsp://127.0.0.1:8554/cam SOAK_ARGS="--model m.onnx" make soak
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
minutes=${SOAK_MINUTES:-10}
every=${SOAK_EVERY:-10}
source=${SOAK_SOURCE:-test:1280x720@30}
args=${SOAK_ARGS:---model models/blazeface/face_detection_front_128x128_barracuda.onnx}
limit=${SOAK_RSS_KB:-1024}
warm=$((minutes > 2 ? 120 : 0))
log=$(mktemp)
# shellcheck disable=SC2086
"$BUILD/camnet" --headless --json /dev/null $args "$source" 2>"$log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$log"' EXIT
sample() { # rss_kb fds threads
  echo "$(awk '/^VmRSS/{print $2}' /proc/$pid/status) $(ls /proc/$pid/fd | wc -l) $(ls /proc/$pid/task | wc -l)"
}
start=$(date +%s)
base=""
echo "soak: $source $args for $minutes min, pid $pid"
echo "  t(s)   RSS(kB)  fds  threads"
while :; do
  sleep "$every"
  kill -0 $pid 2>/dev/null || { echo "soak: camnet ended early:" >&2; cat "$log" >&2; exit 1; }
  t=$(($(date +%s) - start))
  read -r rss fds thr < <(sample)
  printf '%6d %9d %4d %8d\n' "$t" "$rss" "$fds" "$thr"
  if [ "$t" -ge "$warm" ] && [ -z "$base" ]; then base="$rss $fds $thr"; fi
  [ "$t" -ge $((minutes * 60)) ] && break
done
read -r rss0 fds0 thr0 <<<"$base"
kill -INT $pid
wait $pid || true
tail -3 "$log"
growth=$((rss - rss0))
echo "soak: after warm-up RSS $rss0 -> $rss kB ($growth kB), fds $fds0 -> $fds, threads $thr0 -> $thr"
if [ "$growth" -gt "$limit" ] || [ "$fds" -ne "$fds0" ] || [ "$thr" -ne "$thr0" ]; then
  echo "soak: FAILED (RSS growth limit $limit kB; fds and threads must stay constant)" >&2
  exit 1
fi
echo "soak: passed"
