#!/usr/bin/env bash
# Replays every fixture (every frame decoded, then adaptively), plus inputs that fail to open, through
# an AddressSanitizer build of vigil with LeakSanitizer on, and fails on any leak or memory error.
# (valgrind 3.19 cannot read the DWARF 5 that Swift's clang emits, so ASan/LSan is the leak checker here.)
# Usage: make leak-check
set -euo pipefail
cd "$(dirname "$0")/.."
vigil=${1:-.build-asan/debug/vigil}
export ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp:print_suppressions=0"
not_video=$(mktemp --suffix=.mp4); echo "not a video" > "$not_video"; trap 'rm -f "$not_video"' EXIT
status=0
# Each input decoded every frame, then adaptively (keyframes only after 1 s of quiet, GOP catch-ups).
for input in fixtures/*.mp4 fixtures/*.ts /nonexistent/clip.mp4 "$not_video" rtsp://127.0.0.1:9/none; do
    for mode in "" --adaptive; do
        report=$("$vigil" replay ${mode:+"$mode" --adaptive-quiet-seconds 1} "$input" 2>&1 >/dev/null || true)
        if grep -qE "LeakSanitizer|AddressSanitizer" <<<"$report"; then
            echo "FAIL $input $mode"; echo "$report" | head -40; status=1
        else
            echo "ok   $input ${mode:-(every frame)}: no leak"
        fi
    done
done
exit $status
