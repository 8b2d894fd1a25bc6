#!/usr/bin/env bash
# The standing fuzz campaign (`make fuzz`): every libFuzzer target in turn
# for FUZZ_MINUTES minutes each (default 2), under ASan+UBSan, starting from
# the committed corpus. New interesting inputs are kept in build-fuzz/new/
# (not committed); a crash, leak or timeout is copied into the target's
# corpus as regress_<hash> and fails the run: give it its expected outcome
# in tests/fuzz/expected/TARGET.txt once fixed (build/tests/fuzz_TARGET
# -outcomes DIR prints it).
#
#   FUZZ_TARGETS="onnx labels" FUZZ_MINUTES=10 make fuzz
#   FUZZ_RUNS=10000 FUZZ_TARGETS=onnx make fuzz   # a fixed number of inputs
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${FUZZ_MINUTES:-2}
dir=${BUILD_FUZZ:-build-fuzz}
CC=clang cmake -S . -B "$dir" -DCN_FUZZ=ON -DCN_SANITIZE=address,undefined \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$dir" -j"$(nproc)" >/dev/null
targets=${FUZZ_TARGETS:-$(ls tests/fuzz/corpus)}
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp"
failed=0
for t in $targets; do
  bin="$dir/tests/fuzz_$t"
  [ -x "$bin" ] || { echo "fuzz: no target $t" >&2; exit 2; }
  new="$dir/new/$t" art="$dir/artifacts/$t/"
  mkdir -p "$new" "$art"
  limit=(-max_total_time=$((minutes * 60)))
  [ -n "${FUZZ_RUNS:-}" ] && limit=(-runs="$FUZZ_RUNS")
  log="$dir/fuzz_$t.log"
  rc=0
  "$bin" "${limit[@]}" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
    -artifact_prefix="$art" "$new" "tests/fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  crashes=0
  for a in "$art"*; do
    [ -e "$a" ] || continue
    h=$(sha1sum "$a" | cut -c1-12)
    cp "$a" "tests/fuzz/corpus/$t/regress_$h"
    echo "fuzz: $t: $(basename "$a") -> tests/fuzz/corpus/$t/regress_$h" >&2
    rm -f "$a"
    crashes=$((crashes + 1))
  done
  echo "fuzz: $t: ${runs:-?} inputs, $(ls "$new" | wc -l) kept in $new, $crashes crashes (log $log)"
  if [ "$crashes" -gt 0 ] || [ "$rc" -ne 0 ]; then failed=1; fi
done
exit $failed
