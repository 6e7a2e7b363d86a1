#!/usr/bin/env bash
# `make bench`: CPU per frame of decoding alone against Vigil's paths, adaptive decoding on a quiet scene and
# on the fixture suites, then the daemon serving 4, 8 and 16 live RTSP cameras in real time, for a quiet and a
# busy scene, with and without adaptive decoding, then the idle daemon. About 6 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
vigil=${1:-.build/release/vigil}
dir=.build/bench
seconds=${BENCH_SECONDS:-15}
mkdir -p "$dir"
x264=(-c:v libx264 -preset veryfast -g 50 -bf 0 -pix_fmt yuv420p -threads 1)
[ -f "$dir/bench-1080p.mp4" ] && [ -f "$dir/bench-1080p.json" ] || /usr/bin/python3 fixtures/generate.py --bench "$dir/bench-1080p.mp4" >/dev/null
# Busy: the bench street (people crossing 12 of 20 s) at 720p15, 2 Mbit/s.
[ -f "$dir/busy-720p.mp4" ] || ffmpeg -v error -i "$dir/bench-1080p.mp4" -vf scale=1280:720 "${x264[@]}" \
    -b:v 2M -maxrate 2M -bufsize 4M "$dir/busy-720p.mp4"
# Busy at 360p15, 0.5 Mbit/s: a camera's detection sub-stream.
[ -f "$dir/busy-360p.mp4" ] || ffmpeg -v error -i "$dir/bench-1080p.mp4" -vf scale=640:360 "${x264[@]}" \
    -b:v 500k -maxrate 500k -bufsize 1M "$dir/busy-360p.mp4"
# Quiet: the first picture of the street held for 20 s with fresh sensor noise on every frame.
[ -f "$dir/quiet-720p.mp4" ] || ffmpeg -v error -i "$dir/bench-1080p.mp4" \
    -vf "trim=end_frame=1,loop=loop=299:size=1:start=0,setpts=N/15/TB,noise=alls=3:allf=t,scale=1280:720" \
    -r 15 "${x264[@]}" -b:v 2M -maxrate 2M -bufsize 4M "$dir/quiet-720p.mp4"

# Quiet at 1080p15, 4 Mbit/s: the first picture held for 20 s with fresh sensor noise, looped to 60 s (a camera
# runs for hours: the first seconds, decoded in full while adaptive decoding learns the quiet, weigh less).
[ -f "$dir/quiet-1080p.mp4" ] || { ffmpeg -v error -i "$dir/bench-1080p.mp4" \
    -vf "trim=end_frame=1,loop=loop=299:size=1:start=0,setpts=N/15/TB,noise=alls=3:allf=t" \
    -r 15 "${x264[@]}" -b:v 4M -maxrate 4M -bufsize 8M "$dir/quiet-20s.mp4" &&
    ffmpeg -v error -stream_loop 2 -i "$dir/quiet-20s.mp4" -c copy "$dir/quiet-1080p.mp4" && rm "$dir/quiet-20s.mp4"; }
# The fixture suite after 15 s of quiet street, with a camera-like GOP of 50 (3.3 s): adaptive decoding engages.
[ -f "$dir/lead-in/one_crossing.json" ] || /usr/bin/python3 fixtures/generate.py --lead-in 15 --gop 50 --out "$dir/lead-in"

echo "== CPU per frame, 1080p15 H.264 at 4 Mbit/s, GOP 50, no B-frames (one thread)"
"$vigil" bench "$dir/bench-1080p.mp4" --quiet "$dir/quiet-1080p.mp4" --suite fixtures --suite "$dir/lead-in"
/usr/bin/python3 bench/daemon_bench.py "$vigil" "$dir/quiet-720p.mp4" "$dir/busy-720p.mp4" "$dir/bench-1080p.json" \
    --cameras 4,8,16 --adaptive-cameras 16 --seconds "$seconds" --label "720p15 H.264 at 2 Mbit/s, GOP 50" \
    --sizing "$dir/bench-1080p.mp4" "$dir/busy-360p.mp4" --sizing-cameras 4
echo
echo "== The daemon when nothing happens (no camera), and raise->log with one file camera, 30 s each"
/usr/bin/python3 bench/idle_bench.py "$vigil" --seconds 30
