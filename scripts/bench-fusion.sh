#!/usr/bin/env bash
# The optimizer's folds and fusions measured (docs/benchmarks.md, "No
# cliffs"): torchvision's MobileNetV3-Large (squeeze-excitation,
# HardSwish written as x*HardSigmoid(x)) at 224 and 640, and se_320 (a
# 1x24x320x320 map with per-channel constants, SE and ConvTranspose), from
# scripts/models/gen_fusion.py, on camnet and ONNX Runtime 1.30, and on an
# older camnet binary when BEFORE=path/to/camnet is given.
#
#   scripts/bench-fusion.sh            BUILD, THREADS (2), RUNS (20),
#                                      ROUNDS (3), BEFORE (optional)
#
# The runners take turns for ROUNDS rounds, each keeps its best median (a
# burst of someone else's load then costs every runner alike). Prints a
# Markdown table: medians in ms and ratios (ORT / camnet: > 1 means camnet
# is faster).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BUILD=${BUILD:-build}
THREADS=${THREADS:-2}
RUNS=${RUNS:-20}
ROUNDS=${ROUNDS:-3}
BEFORE=${BEFORE:-}
DIR=$ROOT/.cache/fusion
ORT_DIR=$ROOT/.cache/ort
export OMP_NUM_THREADS=$THREADS

if [[ ! -f $DIR/mobilenet_v3_large_640.onnx ]]; then
    mkdir -p "$DIR/640"
    /usr/bin/python3 scripts/models/gen_fusion.py "$DIR" --torch >&2
    /usr/bin/python3 scripts/models/gen_fusion.py "$DIR/640" --torch \
        --size 640 >&2
    mv "$DIR/640/mobilenet_v3_large_640.onnx" "$DIR/"
    rm -rf "$DIR/640"
fi
if [[ ! -d $ORT_DIR/node_modules/onnxruntime-node ]]; then
    mkdir -p "$ORT_DIR"
    npm install --silent --ignore-scripts --no-audit --no-fund \
        --prefix "$ORT_DIR" onnxruntime-node@1.30.0 >&2
fi
models="mobilenet_v3_large_224 mobilenet_v3_large_640 se_320"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
median() { sed -n 's/.*median \([0-9.]*\) ms.*/\1/p'; }
for m in $models; do
    /usr/bin/python3 -c "
import numpy as np, onnx, sys
m = onnx.load('$DIR/$m.onnx')
d = [x.dim_value for x in m.graph.input[0].type.tensor_type.shape.dim]
np.save('$out/$m.npy', np.random.default_rng(0).standard_normal(d).astype(np.float32))"
done
for r in $(seq "$ROUNDS"); do
    for m in $models; do
        f=$DIR/$m.onnx
        "$BUILD/camnet" bench "$f" --input "$out/$m.npy" --threads "$THREADS" \
            --runs "$RUNS" --reloads 0 2>/dev/null | median >>"$out/$m.camnet"
        if [[ -n $BEFORE ]]; then
            "$BEFORE" bench "$f" --input "$out/$m.npy" --threads "$THREADS" \
                --runs "$RUNS" --reloads 0 2>/dev/null | median >>"$out/$m.before"
        fi
        ORT_NODE_MODULES=$ORT_DIR/node_modules node scripts/bench/ort_bench.js \
            "$f" --input "$out/$m.npy" --threads "$THREADS" --runs "$RUNS" |
            sed -n 's/.*"median_ms":\([0-9.]*\).*/\1/p' >>"$out/$m.ort"
    done
done
best() { [[ -s $1 ]] && sort -g "$1" | head -1 || echo; }
echo "CPU: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)," \
     "$THREADS threads, best of $ROUNDS rounds of $RUNS runs, $(date -u +%F)"
echo
echo "| model | camnet before (ms) | camnet (ms) | ONNX Runtime (ms) | ORT / camnet | before / camnet |"
echo "|---|---:|---:|---:|---:|---:|"
for m in $models; do
    c=$(best "$out/$m.camnet") b=$(best "$out/$m.before") o=$(best "$out/$m.ort")
    ratio() { [[ -n $1 && -n $2 ]] && awk "BEGIN{printf \"%.2f\", $1/$2}" || echo -; }
    echo "| $m | ${b:--} | ${c:--} | ${o:--} | $(ratio "$o" "$c") | $(ratio "$b" "$c") |"
done
