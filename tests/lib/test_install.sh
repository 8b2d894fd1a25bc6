#!/usr/bin/env bash
# Installs camnet with DESTDIR into a temporary tree and checks it the way
# an embedder meets it:
#  1. every declaration in the installed headers is exported by the shared
#     libraries, and nothing else is;
#  2. every exported declaration has a comment that documents it;
#  3. the examples build against the installed tree with pkg-config alone
#     (no source tree on the include path) and run with real models;
#  4. the model-only example links no SDL2 or cairo (ldd).
# Usage: test_install.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

DESTDIR=$tmp/root cmake --install "$build" --prefix /opt/camnet >/dev/null
prefix=$tmp/root/opt/camnet
so=$(find "$prefix" -name libcamnet.so -print -quit)
[ -n "$so" ] || fail "no libcamnet.so installed"
lib=$(dirname "$so")
[ -f "$prefix/share/man/man1/camnet.1" ] || fail "no camnet(1) installed"
grep -q '^\.SH OPTIONS' "$prefix/share/man/man1/camnet.1" ||
  fail "camnet.1 has no OPTIONS section"

# 1. Declared (CN_API) == exported (dynamic symbol table, text and data).
declared=$(cat "$prefix"/include/camnet/*.h | tr '\n' ' ' |
  grep -oE 'CN_API [^;{(]*\(' | grep -oE '\bcn_[a-z0-9_]+ *\($' |
  tr -d ' (' | sort -u)
exported=$(for so in "$lib"/libcamnet*.so; do
  nm -D --defined-only "$so" | awk '$2 ~ /^[TDBR]$/ && $3 !~ /^_/ {print $3}'
done | sort -u)
extra=$(comm -13 <(echo "$declared") <(echo "$exported"))
missing=$(comm -23 <(echo "$declared") <(echo "$exported"))
[ -z "$extra" ] || fail "exported but not declared in include/camnet: $extra"
[ -z "$missing" ] || fail "declared but not exported: $missing"
echo "exports: $(echo "$declared" | wc -l) functions, all declared"

# 2. Each CN_API declaration is preceded by a comment or carries one (a
#    run of declarations under one comment counts as documented).
undocumented=$(awk '
  /^CN_API/ { if (!(prev ~ /\*\/[ \t]*$/) && !($0 ~ /\/\*/) && !grouped)
                print FILENAME ": " $0
              grouped = 1; next }
  /^[ \t]*$/ { grouped = 0 }
  { prev = $0; if ($0 !~ /^[ \t]/) grouped = 0 }
  ' "$prefix"/include/camnet/*.h)
[ -z "$undocumented" ] || fail "undocumented declarations:
$undocumented"

# 3. The examples, from the installed tree only.
export PKG_CONFIG_PATH=$lib/pkgconfig
export LD_LIBRARY_PATH=$lib
cp -r "$src/examples" "$tmp/examples"
make -s -C "$tmp/examples" >/dev/null
models=$src/models
out=$("$tmp/examples/model_only" "$models/onnx-mobilenetv2/model.onnx")
echo "$out"
grep -q "input .*: 150528 values, output .*: 1000 values" <<<"$out" ||
  fail "model_only: unexpected description"
if "$tmp/examples/model_only" /nonexistent.onnx 2>"$tmp/err"; then
  fail "model_only: a missing model gave no error"
fi
grep -q "/nonexistent.onnx" "$tmp/err" || fail "error does not name the file"

# camera: a test: source (frames carry their number) through a real
# classifier, ten JSON records in the program's schema, frames in order.
"$tmp/examples/camera" test:320x240@30 "$models/onnx-mobilenetv2/model.onnx" 10 \
  >"$tmp/camera.jsonl"
/usr/bin/python3 - "$tmp/camera.jsonl" <<'PY' || fail "camera: bad records"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert len(recs) == 10, len(recs)
frames = [r["frame"] for r in recs]
assert frames == sorted(set(frames)), frames
for r in recs:
    assert r["type"] == "frame" and r["source"] == 0, r
    assert len(r["top"]) == 3 and r["infer_ms"] > 0, r
    assert r["top"][0]["prob"] >= r["top"][1]["prob"] >= r["top"][2]["prob"]
print("camera: 10 records, frames", frames[0], "..", frames[-1])
PY

# pixels: a real photo (scikit-image's astronaut, one face) as the
# caller's own RGB buffer, through the real BlazeFace.
ffmpeg -v error -i "$src/samples/astronaut.png" -pix_fmt rgb24 "$tmp/astro.ppm"
out=$("$tmp/examples/pixels" \
  "$models/blazeface/face_detection_front_128x128_barracuda.onnx" \
  "$tmp/astro.ppm")
echo "$out"
[ "$(grep -c '^face ' <<<"$out")" = 1 ] || fail "pixels: expected one face"
# The face is in the upper middle of the 512x512 photo.
read -r _ score x y w h <<<"$(sed 's/ at / /; s/,/ /; s/x/ /' <<<"$out")"
awk -v s="$score" -v x="$x" -v y="$y" -v w="$w" -v h="$h" 'BEGIN {
  exit !(s > 0.9 && x > 150 && x < 300 && y > 50 && y < 200 && w > 60 && w < 200) }' ||
  fail "pixels: the face is not where it is in the photo: $out"

# 4. A model-only program does not drag in the window or the overlay.
if ldd "$tmp/examples/model_only" | grep -Ei 'libSDL2|libcairo'; then
  fail "model_only links SDL2 or cairo"
fi
# A headless program on the core library never loads SDL2 (libavdevice,
# which brings it, is opened only for V4L2 devices).
if ldd "$tmp/examples/camera" | grep -i 'libSDL2'; then
  fail "camera links SDL2"
fi
echo "test_install: passed"
