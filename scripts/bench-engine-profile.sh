#!/usr/bin/env bash
# Where an engine's load and run time go, from oneDNN's own verbose log
# (DNNL_VERBOSE=2: every primitive created, with the time it took and
# whether oneDNN's primitive cache had it, and every primitive executed):
#
#   scripts/bench-engine-profile.sh MODEL [THREADS]
#
# runs `camnet bench MODEL --threads THREADS --warmup 1 --runs RUNS
# --reloads 1` once and prints, in ms:
#   load     primitive creation (JIT, first time in the process) and the
#            weight reorders into oneDNN's layouts;
#   run      per run, by primitive kind (convolution, concat, ...);
#   reload   the same model loaded again after freeing it: creation from
#            the primitive cache, reorders.
# docs/benchmarks.md (Engine: goals and notes) quotes it for ResNet-50's
# load and GoogLeNet's concats. Environment: BUILD (default build), RUNS
# (default 10).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
RUNS=${RUNS:-10}
model=${1:?usage: scripts/bench-engine-profile.sh MODEL [THREADS]}
threads=${2:-2}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
DNNL_VERBOSE=2 ONEDNN_VERBOSE=2 "$BUILD/camnet" bench "$model" \
  --threads "$threads" --warmup 1 --runs "$RUNS" --reloads 1 >"$log" 2>&1
/usr/bin/python3 - "$log" "$((RUNS + 1))" <<'PY'
import collections, re, sys
# camnet bench's own line, with the verbose lines printed in its middle
# taken out.
text = open(sys.argv[1]).read()
print(re.sub(r'(onednn|dnnl)_verbose[^\n]*\n', '', text).strip())
# Phases, in the order camnet bench goes through them: the load (creates
# and the weight reorders, before any other primitive runs), the runs,
# then the reload (from its first create on).
phase, runs = 'load', int(sys.argv[2])
t = collections.defaultdict(float)
for line in open(sys.argv[1]):
    f = line.strip().split(',')
    if len(f) < 4 or f[0] not in ('onednn_verbose', 'dnnl_verbose'):
        continue
    try:
        ms = float(f[-1])
    except ValueError:
        continue
    what, kind = f[1], f[3]
    if what.startswith('create') and phase == 'run':
        phase = 'reload'
    if what == 'exec' and kind != 'reorder' and phase == 'load':
        phase = 'run'
    t[(phase, what, kind)] += ms
def total(phase, what):
    return sum(v for (p, w, k), v in t.items() if p == phase and w.startswith(what))
print('load: primitive creation %.1f ms (%.1f of it not in the cache), '
      'weight reorders %.1f ms' % (total('load', 'create'),
                                   total('load', 'create:cache_miss'),
                                   total('load', 'exec')))
print('run (per run, %d runs with the warm-up):' % runs)
for (p, w, k), v in sorted(t.items(), key=lambda kv: -kv[1]):
    if p == 'run' and w == 'exec':
        print('  %-16s %.3f ms' % (k, v / runs))
print('reload: primitive creation %.1f ms, reorders %.1f ms'
      % (total('reload', 'create'), total('reload', 'exec')))
PY
