#!/usr/bin/env bash
# Does serving HTTP slow the cameras? 8 cameras stream from the project's RTSP server into `vigil run
# --http`; for SECONDS seconds without load, then with 200 requests/s on /metrics and 50 SSE clients,
# it prints the daemon's CPU (all threads, % of one core) and each window's frames per second per camera.
#   bench/http_load.sh [path to vigil] [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
vigil=${1:-.build/debug/vigil}
seconds=${2:-20}
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
cpu() { awk '{print $14 + $15}' "/proc/$daemon/stat"; }
frames() { curl -s http://127.0.0.1:18099/api/v1/cameras | python3 -c 'import json,sys; print(sum(c["frames"] for c in json.load(sys.stdin)["cameras"]))'; }
window() {
    local c0 f0 c1 f1
    c0=$(cpu); f0=$(frames); sleep "$seconds"; c1=$(cpu); f1=$(frames)
    python3 -c "t=$seconds; hz=$(getconf CLK_TCK); print(f'daemon CPU {($c1-$c0)/hz/t*100:.1f}% of a core, {($f1-$f0)/t/8:.2f} frames/s per camera')"
}
echo "without load: $(window)"
clients=""
for i in $(seq 50); do curl -sN http://127.0.0.1:18099/api/v1/alerts/stream >/dev/null & clients="$clients $!"; done
python3 - "$seconds" >"$state/rate" <<'PY' &
import http.client, sys, time
end = time.time() + float(sys.argv[1]) + 10
connection = http.client.HTTPConnection("127.0.0.1", 18099)
count, start = 0, time.time()
while time.time() < end:
    connection.request("GET", "/metrics"); connection.getresponse().read(); count += 1
    time.sleep(max(0, start + count / 200 - time.time()))
print(f"{count / (time.time() - start):.0f} requests/s on /metrics")
PY
loader=$!
sleep 3
echo "with 200 req/s on /metrics and 50 SSE clients: $(window)"
wait "$loader"; cat "$state/rate"
echo "SSE clients connected at the end: $(ls /proc/$daemon/fd | wc -l) descriptors open in the daemon"
