#!/usr/bin/env bash
# The shared libraries' ABI against the baseline kept in abi/ (libabigail).
#   scripts/abi.sh check  BUILD_DIR   abidiff each library with its baseline;
#                                     any difference fails, with the report
#   scripts/abi.sh update BUILD_DIR   write the baselines anew (commit them
#                                     with the change, and say so in
#                                     docs/api.md's ABI section)
# Only what include/camnet declares counts (--headers-dir): the insides of
# opaque types (struct cn_model behind cn_model_t) are private
# (--drop-private-types), so engine work does not change the ABI.
set -euo pipefail
mode=${1:?check or update} build=${2:?build dir}
root=$(cd "$(dirname "$0")/.." && pwd)
command -v abidw >/dev/null || { echo "abi: abidw missing (apt-get install abigail-tools)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
for so in "$build"/src/libcamnet*.so; do
  name=$(basename "$so" .so)
  abidw --headers-dir "$root/include/camnet" --drop-private-types \
    --no-corpus-path --no-show-locs \
    --no-comp-dir-path "$so" >"$tmp/$name.abi"
  case $mode in
  update)
    cp "$tmp/$name.abi" "$root/abi/$name.abi"
    echo "abi: wrote abi/$name.abi" ;;
  check)
    if [ ! -f "$root/abi/$name.abi" ]; then
      echo "abi: no baseline abi/$name.abi (scripts/abi.sh update)" >&2
      status=1
    elif ! abidiff "$root/abi/$name.abi" "$tmp/$name.abi" >"$tmp/report"; then
      echo "abi: $name differs from abi/$name.abi:" >&2
      cat "$tmp/report" >&2
      status=1
    else
      echo "abi: $name matches its baseline"
    fi ;;
  *) echo "abi: unknown mode $mode" >&2; exit 2 ;;
  esac
done
exit $status
