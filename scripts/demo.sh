#!/usr/bin/env bash
# camnet's main job on its built-in default: the sample clip, played like a
# camera (paced at its frame rate), every delivered frame written as JSON
# Lines, and the summary at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
bash scripts/make-sample.sh
mkdir -p out
"$BUILD/camnet" --json out/demo.jsonl samples/astronaut.mp4 "$@"
echo "demo: $(wc -l < out/demo.jsonl) records in out/demo.jsonl; first:" >&2
head -n 1 out/demo.jsonl >&2
