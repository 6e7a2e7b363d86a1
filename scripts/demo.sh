#!/usr/bin/env bash
# The `make run` demo: replays the bundled fixture clips through Vigil and prints each motion
# event as it is found, then a one-line summary per clip.
set -euo pipefail
vigil=${1:-.build/release/vigil}
cd "$(dirname "$0")/.."
for clip in fixtures/one_crossing.mp4 fixtures/two_crossings.mp4 fixtures/light_step.mp4 fixtures/static_noise.mp4; do
    echo "== $clip"
    "$vigil" replay --summary "$clip"
done
