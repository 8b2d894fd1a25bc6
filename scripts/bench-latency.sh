#!/usr/bin/env bash
# Latency benchmark (`make bench-latency`, docs/benchmarks.md): a paced
# 1280x720 H.264 RTSP server on loopback (tools/cn_rtsp_server: every
# frame carries its number in the pixels and its push time in the
# server's log) at 30 and 60 fps; scripts/bench/latency_harness.py runs
# each program against it, stamps its output lines on arrival and prints
# one row per program:
#   decode floor   camnet without a model (every frame decoded, no network)
#   camnet         the program, --threads auto
#   grabber/camnet the ancestor's grabber-thread design on camnet's library
#                  (examples/grabber.c: one global image)
#   grabber/OpenCV the same design in Python + OpenCV DNN
#                  (scripts/bench/grabber_peer.py), the ancestor's engine
# Also writes short traces and their timelines (camnet, grabber peer) into
# $OUT_DIR (default out/latency).
#
# Environment: SECONDS_PER_RUN (default 20), FPS_LIST (default "30 60"),
# MODELS (default "googlenet resnet50 mobilenetv2 blazeface"), BUILD.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SECS=${SECONDS_PER_RUN:-20}
FPS_LIST=${FPS_LIST:-30 60}
MODELS=${MODELS:-googlenet resnet50 mobilenetv2 blazeface}
OUT_DIR=${OUT_DIR:-out/latency}
PY=/usr/bin/python3
H=scripts/bench/latency_harness.py
tmp=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$tmp"' EXIT
mkdir -p "$OUT_DIR"

# camnet flags | OpenCV peer flags, per model.
model_args() {
  case $1 in
  googlenet)
    CN=(--prototxt models/caffe-googlenet/deploy.prototxt
      --model models/caffe-googlenet/model.caffemodel --mean 104,117,123)
    EX=(models/caffe-googlenet/deploy.prototxt
      models/caffe-googlenet/model.caffemodel)
    CV=(models/caffe-googlenet/model.caffemodel
      --prototxt models/caffe-googlenet/deploy.prototxt --size 224
      --mean 104,117,123) ;;
  resnet50)
    CN=(--model models/onnx-resnet50/model.onnx)
    EX=(models/onnx-resnet50/model.onnx "")
    CV=(models/onnx-resnet50/model.onnx --size 224) ;;
  mobilenetv2)
    CN=(--model models/onnx-mobilenetv2/model.onnx)
    EX=(models/onnx-mobilenetv2/model.onnx "")
    CV=(models/onnx-mobilenetv2/model.onnx --size 224) ;;
  blazeface)
    CN=(--model models/blazeface/face_detection_front_128x128_barracuda.onnx)
    EX=(models/blazeface/face_detection_front_128x128_barracuda.onnx "")
    CV=(models/blazeface/face_detection_front_128x128_barracuda.onnx
      --size 128 --rgb --scale 0.0078431 --mean 127.5,127.5,127.5) ;;
  *) echo "bench-latency: unknown model $1" >&2; exit 2 ;;
  esac
}

start_server() { # fps
  local port
  port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$BUILD/tools/cn_rtsp_server" --port "$port" --size 1280x720 --fps "$1" \
    --codec h264 --log "$tmp/push.log" >"$tmp/server.err" 2>&1 &
  server=$!
  for _ in $(seq 100); do
    grep -q ready "$tmp/server.err" 2>/dev/null && break
    sleep 0.1
  done
  URL=rtsp://127.0.0.1:$port/cam
}

stop_server() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  server=
}

# One row: a fresh server (frame numbers from 1) per program.
row() { # fps name program args...
  local fps=$1 name=$2
  shift 2
  start_server "$fps"
  local cmd=()
  for w in "$@"; do
    [ "$w" = "{URL}" ] && w=$URL
    cmd+=("$w")
  done
  $PY $H --log "$tmp/push.log" --fps "$fps" --seconds "$SECS" --name "$name" \
    -- "${cmd[@]}" || true
  stop_server
}

echo "bench-latency: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), load $(cut -d' ' -f1 /proc/loadavg)"
for fps in $FPS_LIST; do
  echo
  echo "## 1280x720 H.264 RTSP/TCP at $fps fps, $SECS s per row"
  echo
  echo "| program | results/s | frames inferred | repeats | latency p50 / p99 ms (frame intervals) | result interval p50 / p99 ms | frame age at inference start p50 / p99 ms | CPU ms per result |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  row "$fps" "decode floor (camnet, no model)" "$BUILD/camnet" --headless --json - "{URL}"
  for m in $MODELS; do
    model_args "$m"
    row "$fps" "$m: camnet" "$BUILD/camnet" --headless --json - "${CN[@]}" "{URL}"
    row "$fps" "$m: grabber design, camnet engine" "$BUILD/tools/example_grabber" "{URL}" "${EX[@]}" "$((SECS + 120))"
    row "$fps" "$m: grabber design, OpenCV DNN" $PY scripts/bench/grabber_peer.py "{URL}" "${CV[@]}" "$((SECS + 120))"
  done
done
