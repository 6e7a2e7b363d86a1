#!/usr/bin/env bash
# Replays every fixture, plus inputs that fail to open, through an AddressSanitizer build of vigil
# with LeakSanitizer on, and fails on any leak or memory error. (valgrind 3.19 cannot read the
# DWARF 5 that Swift's clang emits, so ASan/LSan is the leak checker here.)
# Usage: make leak-check
set -euo pipefail
cd "$(dirname "$0")/.."
vigil=${1:-.build-asan/debug/vigil}
export ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp:print_suppressions=0"
not_video=$(mktemp --suffix=.mp4); echo "not a video" > "$not_video"; trap 'rm -f "$not_video"' EXIT
status=0
for input in fixtures/*.mp4 fixtures/*.ts /nonexistent/clip.mp4 "$not_video" rtsp://127.0.0.1:9/none; do
    report=$("$vigil" replay "$input" 2>&1 >/dev/null || true)
    if grep -qE "LeakSanitizer|AddressSanitizer" <<<"$report"; then
        echo "FAIL $input"; echo "$report" | head -40; status=1
    else
        echo "ok   $input: no leak"
    fi
done
exit $status
