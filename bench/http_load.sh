#!/usr/bin/env bash
# Does serving HTTP slow the cameras? 8 cameras (15 fps, 640x360) stream from the project's RTSP server
# into `vigil run --http`. For SECONDS seconds without load, then with wrk (Debian `wrk`, in the
# Makefile's APT_PACKAGES) paced to 200 requests/s on /metrics and 50 SSE clients on the alert stream,
# it prints per window: the camera threads' CPU (vigil-cam-*, % of one core per camera), the whole
# daemon's CPU, frames per second per camera, and the mean thread CPU per frame to decode and to detect
# (from the vigil_decode_seconds / vigil_detect_seconds histograms); then wrk's own figures.
#   bench/http_load.sh [path to vigil] [seconds]     (make bench-http: a release build, 30 s windows)
set -euo pipefail
cd "$(dirname "$0")/.."
vigil=${1:-.build/debug/vigil}
seconds=${2:-20}
rate=200
command -v wrk >/dev/null || { echo "http_load.sh: wrk is missing: apt-get install wrk (make deps)" >&2; exit 1; }
state=$(mktemp -d)
cleanup() {
    [ -n "${daemon:-}" ] && kill -TERM "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null || true
    [ -n "${server:-}" ] && kill -TERM "$server" 2>/dev/null || true
    for pid in ${clients:-}; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$state"
}
trap cleanup EXIT
fifo=$state/fifo; mkfifo "$fifo"
media=(); for i in 1 2 3 4 5 6 7 8; do media+=(--media "cam$i=fixtures/two_crossings.mp4"); done
/usr/bin/python3 scripts/rtsp_server.py --port 0 "${media[@]}" >"$fifo" 2>/dev/null &
server=$!
read -r _ port <"$fifo"
for i in 1 2 3 4 5 6 7 8; do
    "$vigil" camera add "cam$i" --url "rtsp://127.0.0.1:$port/cam$i" --name "Camera $i" --lat 50.8 --lon 4.3 \
        --municipality Bench --operator Bench --purpose bench --public --state-dir "$state" >/dev/null
done
"$vigil" run --state-dir "$state" --http 127.0.0.1:18099 --log-level warning 2>"$state/log" &
daemon=$!
until curl -sf http://127.0.0.1:18099/readyz >/dev/null; do sleep 0.5; done
sleep 5
# Clock ticks of the whole daemon, and of its camera threads.
cpu() { awk '{print $14 + $15}' "/proc/$daemon/stat"; }
camera_cpu() {
    local total=0 task
    for task in /proc/$daemon/task/*; do
        if grep -q '^vigil-cam-' "$task/comm" 2>/dev/null; then
            total=$((total + $(awk '{print $14 + $15}' "$task/stat" 2>/dev/null || echo 0)))
        fi
    done
    echo "$total"
}
# Frames decoded (all cameras), and the sums and counts of the decode and detect histograms.
figures() {
    local frames metrics
    frames=$(curl -s http://127.0.0.1:18099/api/v1/cameras \
        | python3 -c 'import json,sys; print(sum(c["frames"] for c in json.load(sys.stdin)["cameras"]))')
    metrics=$(curl -s http://127.0.0.1:18099/metrics \
        | awk '/^vigil_(decode|detect)_seconds_(sum|count) /{v[$1] = $2}
               END {printf "%s %s %s %s", v["vigil_decode_seconds_sum"], v["vigil_decode_seconds_count"],
                                         v["vigil_detect_seconds_sum"], v["vigil_detect_seconds_count"]}')
    echo "$frames $metrics"
}
window() {
    local c0 k0 f0 c1 k1 f1
    c0=$(cpu); k0=$(camera_cpu); f0=$(figures); sleep "$seconds"; c1=$(cpu); k1=$(camera_cpu); f1=$(figures)
    python3 - "$seconds" "$(getconf CLK_TCK)" "$c0" "$c1" "$k0" "$k1" "$f0" "$f1" <<'PY'
import sys
t, hz = float(sys.argv[1]), float(sys.argv[2])
c0, c1, k0, k1 = map(float, sys.argv[3:7])
f0, f1 = [list(map(float, s.split())) for s in sys.argv[7:9]]
# frames, decode sum, decode count, detect sum, detect count
d = [b - a for a, b in zip(f0, f1)]
decode = d[1] / d[2] * 1000 if d[2] else float("nan")
detect = d[3] / d[4] * 1000 if d[4] else float("nan")
print(f"camera threads {(k1 - k0) / hz / t * 100 / 8:.2f}% of a core per camera, daemon {(c1 - c0) / hz / t * 100:.1f}%, "
      f"{d[0] / t / 8:.2f} frames/s per camera, per frame {decode:.2f} ms decode + {detect:.3f} ms detect CPU")
PY
}
echo "without load: $(window)"
clients=""
for i in $(seq 50); do curl -sN http://127.0.0.1:18099/api/v1/alerts/stream >/dev/null & clients="$clients $!"; done
# wrk has no rate option: 8 connections each wait after every answer for 8 * 1000 / rate ms less the
# time a scrape takes (measured here), so that together they ask about `rate` times a second.
scrape_ms=$(for i in 1 2 3 4 5; do curl -s -o /dev/null -w '%{time_total}\n' http://127.0.0.1:18099/metrics; done \
    | sort -n | awk 'NR == 3 {printf "%d", $1 * 1000}')
cat >"$state/pace.lua" <<LUA
function delay() return $((8 * 1000 / rate - scrape_ms > 0 ? 8 * 1000 / rate - scrape_ms : 0)) end
LUA
wrk -t 2 -c 8 -d "$((seconds + 6))s" --latency -s "$state/pace.lua" http://127.0.0.1:18099/metrics >"$state/wrk" &
loader=$!
sleep 3
echo "with wrk on /metrics and 50 SSE clients: $(window)"
wait "$loader"
echo "wrk paced at $rate requests/s (a scrape took $scrape_ms ms without load):"
awk '/Requests\/sec|50%|99%|Non-2xx|Socket errors/' "$state/wrk" | sed 's/^ */wrk: /'
echo "alert stream clients still connected at the end: $(ss -Htn state established '( sport = :18099 )' | wc -l)"
