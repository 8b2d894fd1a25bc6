#!/usr/bin/env bash
# oneDNN's OpenMP wait policy (docs/benchmarks.md, "OpenMP wait policy"):
# `camnet bench MODEL --threads 2` with OMP_WAIT_POLICY=PASSIVE (what the
# camnet program sets for itself) against spinning workers
# (GOMP_SPINCOUNT=20000), ROUNDS interleaved runs of each (default 4),
# optionally against BUSY busy processes (default 0: a quiet machine).
# Prints each run's median ms.
#
#   scripts/bench-omp.sh [MODEL]   (default the ResNet-50 ONNX)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
ROUNDS=${ROUNDS:-4}
BUSY=${BUSY:-0}
model=${1:-models/onnx-resnet50/model.onnx}
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
for _ in $(seq "$BUSY"); do
  (while :; do :; done) &
  pids+=($!)
done
run() { # env assignment: prints the median ms
  env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT "$1" "$BUILD/camnet" bench "$model" \
    --threads 2 --runs 30 --reloads 0 | sed -n 's/.*median \([0-9.]*\) ms.*/\1/p'
}
echo "$model, 2 threads, $BUSY busy processes; median ms of 30 runs:"
for r in $(seq "$ROUNDS"); do
  echo "round $r: passive $(run OMP_WAIT_POLICY=PASSIVE), spinning $(run GOMP_SPINCOUNT=20000)"
done
