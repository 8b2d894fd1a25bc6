#!/usr/bin/env bash
# What a model load pays for memory on this machine (docs/benchmarks.md,
# "Load time"): reading a ~100 MB model file from the page cache with
# read() against touching a mapping of it, and the first touch of 100 MB
# of fresh memory with huge pages and with 4 KiB pages. Each measurement
# is a fresh process (scripts/bench/first_touch.c, built here); REPS of
# each (default 5), printed as min / median / max ms.
#
#   scripts/bench-memory.sh [MODEL_FILE]   (default the ResNet-50 ONNX)
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${REPS:-5}
file=${1:-models/onnx-resnet50/model.onnx}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -O2 -o "$tmp/first_touch" scripts/bench/first_touch.c
cat "$file" >/dev/null # into the page cache
stats() { # label, command...: min / median / max of REPS runs
  local label=$1
  shift
  for _ in $(seq "$REPS"); do "$@"; done | sort -n |
    awk -v l="$label" '{v[NR]=$1} END {printf "%-44s %7.1f / %7.1f / %7.1f ms\n", l, v[1], v[int((NR+1)/2)], v[NR]}'
}
echo "$file: $(($(stat -c %s "$file") >> 20)) MB; min / median / max of $REPS fresh processes"
stats "read() the file (page cache)" "$tmp/first_touch" read "$file"
stats "touch a mapping of the file" "$tmp/first_touch" map "$file"
stats "memset 100 MB fresh memory, huge pages" "$tmp/first_touch" touch 100 huge
stats "memset 100 MB fresh memory, 4 KiB pages" "$tmp/first_touch" touch 100 small
