#!/usr/bin/env bash
# HTTP live view benchmark (not part of make check; a busy machine gives
# noisy figures). camnet on a 720p30 H.264 RTSP stream (tools/cn_rtsp_server)
# with the Caffe GoogLeNet, serving --http, under six loads:
#   none x3   no client (three runs: the noise between identical runs)
#   1         one MJPEG client reading as fast as it can
#   16        sixteen such clients
#   4stalled  four clients that send a request and never read
# Per run it prints: frames captured and inferred, inferred/captured (the
# issue wants >= 0.99 with every load), the worst gap between consecutive
# results in frame intervals (< 2 wanted), frame age p50/p99 from /state
# (p99 up by at most one encode time with clients), JPEG encodes per
# second (identical with 1 and 16 clients: encoded once per picture, not
# per client) and encoder CPU per picture.
#
# Environment: BUILD (default build), SECONDS_PER_RUN (default 30),
# SIZE (default 1280x720), FPS (default 30).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
DUR=${SECONDS_PER_RUN:-30}
SIZE=${SIZE:-1280x720}
FPS=${FPS:-30}
PROTO=models/caffe-googlenet/deploy.prototxt
WEIGHTS=models/caffe-googlenet/model.caffemodel
OUT=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$OUT"
}
trap cleanup EXIT
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_port() {
  for _ in $(seq 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "bench-http: nothing listens on $1" >&2
  return 1
}

RPORT=$(free_port)
"$BUILD/tools/cn_rtsp_server" --port "$RPORT" --size "$SIZE" --fps "$FPS" \
  --codec h264 >"$OUT/server.log" 2>&1 &
pids+=($!)
wait_port "$RPORT"

# One run: load name; prints one table row.
run() {
  local load=$1 hport cam clients=()
  hport=$(free_port)
  "$BUILD/camnet" --headless --quiet --http "127.0.0.1:$hport" \
    --json "$OUT/o.jsonl" --prototxt "$PROTO" --model "$WEIGHTS" \
    "rtsp://127.0.0.1:$RPORT/cam" 2>"$OUT/camnet.log" &
  cam=$!
  pids+=("$cam")
  wait_port "$hport"
  sleep 2 # the model is open and frames flow before the clock starts
  local n=0 stalled=0
  case $load in
  1) n=1 ;;
  16) n=16 ;;
  4stalled) n=4 stalled=1 ;;
  esac
  for _ in $(seq "$n"); do
    if [ "$stalled" = 1 ]; then
      /usr/bin/python3 -c 'import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
time.sleep(3600)' "$hport" &
    else
      curl -s -N -o /dev/null "http://127.0.0.1:$hport/stream" &
    fi
    clients+=($!)
    pids+=($!)
  done
  curl -s "http://127.0.0.1:$hport/state" >"$OUT/s0.json"
  local lines0
  lines0=$(wc -l <"$OUT/o.jsonl")
  sleep "$DUR"
  curl -s "http://127.0.0.1:$hport/state" >"$OUT/s1.json"
  for c in "${clients[@]}"; do kill "$c" 2>/dev/null || true; done
  kill -TERM "$cam"
  wait "$cam" || true
  tail -n +"$((lines0 + 1))" "$OUT/o.jsonl" >"$OUT/run.jsonl"
  /usr/bin/python3 - "$load" "$OUT/s0.json" "$OUT/s1.json" "$OUT/run.jsonl" \
    "$DUR" "$FPS" <<'PY'
import json, sys
load, s0, s1, recs, dur, fps = sys.argv[1:7]
a, b = json.load(open(s0)), json.load(open(s1))
sa, sb = a["sources"][0], b["sources"][0]
cap = sb["captured"] - sa["captured"]
inf = sb["inferred"] - sa["inferred"]
frames = [json.loads(l)["frame"] for l in open(recs) if '"type":"frame"' in l]
gap = max((y - x for x, y in zip(frames, frames[1:])), default=0)
enc = b["http"]["jpeg_encodes"] - a["http"]["jpeg_encodes"]
cpu = b["http"]["jpeg_cpu_ms"] - a["http"]["jpeg_cpu_ms"]
print(f"| {load:9} | {cap:6} | {inf:6} | {inf / max(cap, 1):5.3f} | {gap:3} | "
      f"{sb['age_p50_ms']:6.1f} | {sb['age_p99_ms']:6.1f} | "
      f"{enc / float(dur):6.1f} | {cpu / max(enc, 1):6.2f} |")
PY
}

echo "bench-http: $SIZE@$FPS H.264 RTSP, GoogLeNet, ${DUR} s per run;" \
  "load average $(cut -d' ' -f1 /proc/loadavg); $(nproc) cores;" \
  "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
echo "| load      | captured | inferred | inf/cap | worst gap (frames) | age p50 ms | age p99 ms | encodes/s | encode CPU ms |"
echo "|-----------|--------|--------|-------|-----|--------|--------|--------|--------|"
for load in none none none 1 16 4stalled; do
  run "$load"
done
