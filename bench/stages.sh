#!/usr/bin/env bash
# The per-stage account of one live camera and the scaling curve (bench/stage_bench.py) on the 60 s 1080p15
# constant-bit-rate street with one crossing a minute and its 360p sub-stream, generated once into .build/bench.
# Usage: bench/stages.sh VIGIL [stage_bench.py options]
set -euo pipefail
cd "$(dirname "$0")/.."
vigil=${1:-.build/release/vigil}
shift || true
dir=.build/bench
mkdir -p "$dir"
[ -f "$dir/duty-1080p.mp4" ] && [ -f "$dir/duty-1080p.json" ] ||
    /usr/bin/python3 fixtures/generate.py --bench-duty "$dir/duty-1080p.mp4" >/dev/null
# The detection sub-stream: the same street at 360p15, a constant 0.5 Mbit/s, GOP 50.
[ -f "$dir/duty-360p.mp4" ] || ffmpeg -v error -i "$dir/duty-1080p.mp4" -vf scale=640:360 -c:v libx264 \
    -preset veryfast -g 50 -bf 0 -pix_fmt yuv420p -threads 1 -fflags +bitexact -flags:v +bitexact \
    -b:v 500k -minrate 500k -maxrate 500k -bufsize 500k -x264-params nal-hrd=cbr "$dir/duty-360p.mp4"
/usr/bin/python3 bench/stage_bench.py "$vigil" "$dir/duty-1080p.mp4" "$dir/duty-1080p.json" "$dir/duty-360p.mp4" "$@"
