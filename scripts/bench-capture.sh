#!/bin/bash
# Capture benchmark (`make bench`): camnet's network sources against a plain
# libav decode loop on loopback servers. Prints a Markdown table; see the
# "Capture" section of docs/benchmarks.md. BUILD selects the build tree.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
exec "$BUILD/tools/bench_capture" "$@"
