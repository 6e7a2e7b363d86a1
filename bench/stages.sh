#!/usr/bin/env bash
# The per-stage account of one live camera and the scaling curve (bench/stage_bench.py) on the 60 s 1080p15
# constant-bit-rate street with one crossing a minute and its 360p sub-stream, generated once into .build/bench.
# Usage: bench/stages.sh VIGIL [--duty SHARE] [--rate-control cbr|crf] [stage_bench.py options]
# --duty and --rate-control pick another stream of the same street (fixtures/generate.py --bench-duty): e.g.
# --duty 0.32 (three crossings a minute) or --rate-control crf (constant quality, about the same mean rate).
set -euo pipefail
cd "$(dirname "$0")/.."
vigil=${1:-.build/release/vigil}
shift || true
duty=0.1 rate=cbr
while [ $# -gt 0 ]; do
    case $1 in
        --duty) duty=$2; shift 2 ;;
        --rate-control) rate=$2; shift 2 ;;
        *) break ;;
    esac
done
dir=.build/bench
mkdir -p "$dir"
name=duty
[ "$duty-$rate" = 0.1-cbr ] || name="duty-$duty-$rate"
[ -f "$dir/$name-1080p.mp4" ] && [ -f "$dir/$name-1080p.json" ] ||
    /usr/bin/python3 fixtures/generate.py --bench-duty "$dir/$name-1080p.mp4" --duty "$duty" \
        --rate-control "$rate" >/dev/null
# The detection sub-stream: the same street at 360p15, GOP 50, a constant 0.5 Mbit/s (or the main stream's CRF).
sub_rate=(-b:v 500k -minrate 500k -maxrate 500k -bufsize 500k -x264-params nal-hrd=cbr)
[ "$rate" = cbr ] || sub_rate=(-crf 24)
[ -f "$dir/$name-360p.mp4" ] || ffmpeg -v error -i "$dir/$name-1080p.mp4" -vf scale=640:360 -c:v libx264 \
    -preset veryfast -g 50 -bf 0 -pix_fmt yuv420p -threads 1 -fflags +bitexact -flags:v +bitexact \
    "${sub_rate[@]}" "$dir/$name-360p.mp4"
/usr/bin/python3 bench/stage_bench.py "$vigil" "$dir/$name-1080p.mp4" "$dir/$name-1080p.json" "$dir/$name-360p.mp4" "$@"
