#!/usr/bin/env bash
# Every test, three ways: a -Werror build, again under AddressSanitizer +
# UndefinedBehaviorSanitizer, and the threaded tests under ThreadSanitizer.
#
# Skips are counted and listed with their reasons (the harness appends one
# line per skip to $CN_TEST_SKIP_LOG; CTest reports such an executable as
# skipped, not passed). With CI=true a skip whose reason is something
# missing that scripts/install-deps.sh or scripts/fetch-models.sh provides
# ("SKIP: missing ...") fails the check.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
skips=$(mktemp)
trap 'rm -f "$skips"' EXIT
# ctest in build dir $1 with the remaining arguments; its skips are added
# to $skips as "DIR: EXE: SKIP: ..." and listed even when a test fails.
run_ctest() {
  local log="$skips.$1" rc=0
  : >"$log"
  (cd "$1" && CN_TEST_SKIP_LOG="$log" ctest "${@:2}") || rc=$?
  sed "s|^|$1: |" "$log" >>"$skips"
  rm -f "$log"
  [ $rc -eq 0 ] || { report_skips || true; }
  return $rc
}
report_skips() {
  echo "== $(wc -l <"$skips") skipped" >&2
  sed 's/^/   /' "$skips" >&2
  if [ "${CI:-}" = true ] && grep -q ': SKIP: missing ' "$skips"; then
    echo "check: CI=true and tests skipped for want of something" \
      "scripts/install-deps.sh or scripts/fetch-models.sh provides" >&2
    return 1
  fi
}
configure() { # dir, extra cmake args
  cmake -S . -B "$1" -DCN_WERROR=ON "${@:2}" >/dev/null
  cmake --build "$1" -j"$jobs"
}
if [ -x scripts/fetch-models.sh ]; then bash scripts/fetch-models.sh; fi

echo "== clang-format (make format rewrites what this lists)" >&2
find src tests tools examples include -name '*.[ch]' -print0 | xargs -0 clang-format --dry-run --Werror

echo "== every script and tool the docs name for a figure exists" >&2
for f in $(grep -ohE '(scripts|tools)/[A-Za-z0-9_./-]+\.(sh|c|py)' README.md docs/*.md | sort -u); do
  [ -e "$f" ] || { echo "check: README/docs name $f, which does not exist" >&2; exit 1; }
done

echo "== house rules: function and header lengths" >&2
bash scripts/check-house.sh

echo "== build (-Werror) and test" >&2
configure build
run_ctest build --output-on-failure -j2 --timeout 300

echo "== AddressSanitizer + UndefinedBehaviorSanitizer" >&2
configure build-asan -DCN_SANITIZE=address,undefined -DCMAKE_BUILD_TYPE=RelWithDebInfo
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp" \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_ctest build-asan --output-on-failure -j2 --timeout 600

# ignore_noninstrumented_modules: memcpy and friends called from libraries
# built without TSan (oneDNN, libgomp, GLib) are not checked; otherwise
# TSan spends minutes symbolising and suppressing their reports.
echo "== ThreadSanitizer (threaded tests)" >&2
configure build-tsan -DCN_SANITIZE=thread -DCMAKE_BUILD_TYPE=RelWithDebInfo
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ignore_noninstrumented_modules=1 suppressions=$PWD/tests/tsan.supp" \
  run_ctest build-tsan --output-on-failure -j2 --timeout 600 -L threaded
report_skips
echo "== all tests passed" >&2
