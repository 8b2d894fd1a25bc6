#!/usr/bin/env bash
# Makes the demo's sample clip: a real photo (scikit-image's astronaut,
# from Debian's python3-skimage) panned and zoomed like a handheld camera,
# 1280x720 H.264 at 30 fps, 10 s. Output: samples/astronaut.mp4.
set -euo pipefail
cd "$(dirname "$0")/.."
out=samples/astronaut.mp4
photo=/usr/lib/python3/dist-packages/skimage/data/astronaut.png
[ -s "$out" ] && exit 0
[ -r "$photo" ] || { echo "make-sample: $photo missing (apt-get install python3-skimage)" >&2; exit 1; }
mkdir -p samples
# Scale the 512x512 photo up, then a slow zoom and pan across it.
ffmpeg -nostdin -loglevel error -y -loop 1 -i "$photo" \
  -vf "scale=2048:2048,zoompan=z='1.3+0.3*sin(on/60)':x='iw/2-(iw/zoom/2)+200*sin(on/45)':y='max(0,ih*0.32-(ih/zoom/2)+80*cos(on/70))':d=1:s=1280x720:fps=30,format=yuv420p" \
  -frames:v 300 -r 30 -c:v libx264 -preset veryfast -g 30 -movflags +faststart "$out.tmp.mp4"
mv "$out.tmp.mp4" "$out"
echo "make-sample: wrote $out" >&2
