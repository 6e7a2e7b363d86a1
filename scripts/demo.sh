#!/usr/bin/env bash
# The `make run` demo: replays some bundled fixture clips through Vigil and prints each event
# (motion, or camera health such as a covered lens) as it finishes, then a one-line summary per clip.
set -euo pipefail
vigil=${1:-.build/release/vigil}
cd "$(dirname "$0")/.."
for clip in fixtures/one_crossing.mp4 fixtures/two_crossings.mp4 fixtures/light_step.mp4 fixtures/static_noise.mp4 \
    fixtures/rain_walker.mp4 fixtures/cloud_walker.mp4 fixtures/covered.mp4; do
    echo "== $clip"
    "$vigil" replay --summary "$clip"
done
