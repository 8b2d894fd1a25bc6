#!/usr/bin/env bash
# The house rules a newcomer relies on, checked (make check runs this):
#  - no function longer than 80 lines in src/, tools/ or examples/, except
#    those listed in scripts/house-exceptions.txt with their reason;
#  - no public or internal header longer than 150 lines (the aim is ~120),
#    except those listed there.
# Function extents come from universal-ctags (start and end lines).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v ctags >/dev/null ||
  { echo "check-house: ctags missing (apt-get install universal-ctags)" >&2; exit 1; }
exceptions=scripts/house-exceptions.txt
listed() { grep -qE "^$1 " "$exceptions"; }
status=0
while read -r start end name file; do
  n=$((end - start + 1))
  if [ "$n" -gt 80 ] && ! listed "$file:$name"; then
    echo "check-house: $file:$start: $name is $n lines (80 at most, or list it with a reason in $exceptions)" >&2
    status=1
  fi
done < <(find src tools examples -name '*.c' -print0 |
  xargs -0 ctags -x --_xformat="%n %e %N %F" --kinds-C=f -o -)
while read -r n file; do
  if [ "$n" -gt 150 ] && ! listed "$file"; then
    echo "check-house: $file is $n lines (150 at most, or list it with a reason in $exceptions)" >&2
    status=1
  fi
done < <(find src include -name '*.h' -print0 | xargs -0 wc -l | grep -v ' total$')
# An exception that no longer applies is removed, so the list stays true.
while read -r key _; do
  case $key in '#'*|'') continue ;; esac
  file=${key%%:*}
  if [ ! -f "$file" ]; then
    echo "check-house: $exceptions lists $key, which no longer exists" >&2
    status=1
  fi
done < "$exceptions"
[ $status -eq 0 ] && echo "check-house: functions <= 80 lines, headers <= 150 lines (exceptions: $(grep -cvE '^(#|$)' "$exceptions"))"
exit $status
