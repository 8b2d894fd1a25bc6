#!/usr/bin/env bash
# Every test, three ways: a -Werror build, again under AddressSanitizer +
# UndefinedBehaviorSanitizer, and the threaded tests under ThreadSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
configure() { # dir, extra cmake args
  cmake -S . -B "$1" -DCN_WERROR=ON "${@:2}" >/dev/null
  cmake --build "$1" -j"$jobs"
}
if [ -x scripts/fetch-models.sh ]; then bash scripts/fetch-models.sh; fi

echo "== clang-format (make format rewrites what this lists)" >&2
find src tests tools examples include -name '*.[ch]' -print0 | xargs -0 clang-format --dry-run --Werror

echo "== build (-Werror) and test" >&2
configure build
(cd build && ctest --output-on-failure -j2 --timeout 300)

echo "== AddressSanitizer + UndefinedBehaviorSanitizer" >&2
configure build-asan -DCN_SANITIZE=address,undefined -DCMAKE_BUILD_TYPE=RelWithDebInfo
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  LSAN_OPTIONS="suppressions=$PWD/../tests/lsan.supp" \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --output-on-failure -j2 --timeout 600)

# ignore_noninstrumented_modules: memcpy and friends called from libraries
# built without TSan (oneDNN, libgomp, GLib) are not checked; otherwise
# TSan spends minutes symbolising and suppressing their reports.
echo "== ThreadSanitizer (threaded tests)" >&2
configure build-tsan -DCN_SANITIZE=thread -DCMAKE_BUILD_TYPE=RelWithDebInfo
(cd build-tsan && TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ignore_noninstrumented_modules=1 suppressions=$PWD/../tests/tsan.supp" \
  ctest --output-on-failure -j2 --timeout 600 -L threaded)
echo "== all tests passed" >&2
