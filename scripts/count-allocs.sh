#!/usr/bin/env bash
# Heap allocations per frame of the whole camnet process (every library's),
# as docs/benchmarks.md ("Allocations per frame") quotes them: camnet runs
# --every-frame on the sample clip (scripts/make-sample.sh) for 30 and for
# 120 frames under an LD_PRELOAD counter (scripts/bench/malloc_count.c,
# built here), and the difference over 90 frames is what a frame costs in
# steady state. That
# camnet's own code allocates nothing per frame is what the tests check
# (test_dnnl, test_preprocess and test_decode wrap malloc).
#
#   scripts/count-allocs.sh   (the BlazeFace ONNX and the Caffe GoogLeNet)
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
CLIP=${CLIP:-samples/astronaut.mp4}
[ -s "$CLIP" ] || { echo "count-allocs: $CLIP missing (scripts/make-sample.sh)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -O2 -shared -fPIC -o "$tmp/malloc_count.so" scripts/bench/malloc_count.c
count() { # frames, camnet model arguments...: allocations of the run
  local n=$1
  shift
  CN_ALLOC_COUNT_FILE=$tmp/count LD_PRELOAD=$tmp/malloc_count.so \
    "$BUILD/camnet" --headless --quiet --every-frame --frames "$n" \
    --json /dev/null "$@" "$CLIP" >/dev/null
  cat "$tmp/count"
}
per_frame() { # label, model arguments...
  local label=$1 a b
  shift
  a=$(count 30 "$@")
  b=$(count 120 "$@")
  echo "$label: $a allocations for 30 frames, $b for 120: $(((b - a) / 90)) per frame"
}
per_frame "no model (capture, develop, JSON)"
per_frame "BlazeFace (ONNX)" \
  --model models/blazeface/face_detection_front_128x128_barracuda.onnx
per_frame "GoogLeNet (Caffe)" --prototxt models/caffe-googlenet/deploy.prototxt \
  --model models/caffe-googlenet/model.caffemodel
