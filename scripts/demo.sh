#!/usr/bin/env bash
# `make run`: the real daemon on an embedded default. State lives in ./var (SQLite registry and
# queue, alert log); the project's RTSP server serves a fixture clip as a demo camera on 127.0.0.1,
# a second camera plays a local file in real time; alerts appear below as motion happens.
# Ctrl-C stops everything (the daemon closes its open events and exits cleanly).
set -euo pipefail
cd "$(dirname "$0")/.."
vigil=${1:-.build/release/vigil}
state=${VIGIL_DEMO_STATE:-$PWD/var}
mkdir -p "$state"
export VIGIL_STATE_DIR=$state

cleanup() {
    trap - EXIT INT TERM
    [ -n "${daemon:-}" ] && kill -TERM "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null || true
    [ -n "${server:-}" ] && kill -TERM "$server" 2>/dev/null || true
    echo "demo stopped; state and logs are in $state"
}
trap cleanup EXIT INT TERM

# The demo camera: the project's RTSP test server, looping a street with people crossing.
fifo=$(mktemp -u); mkfifo "$fifo"
/usr/bin/python3 scripts/rtsp_server.py --port 0 --media street=fixtures/two_crossings.mp4 \
    >"$fifo" 2>"$state/rtsp-server.log" &
server=$!
read -r _ port <"$fifo"; rm -f "$fifo"

# Register (or re-point) the demo cameras.
register() {
    local id=$1 url=$2 name=$3
    if "$vigil" camera show "$id" >/dev/null 2>&1; then
        "$vigil" camera update "$id" --url "$url" >/dev/null
    else
        "$vigil" camera add "$id" --url "$url" --name "$name" --lat 50.8467 --lon 4.3525 \
            --municipality Demo --operator "Vigil demo" --purpose "demonstration" --public >/dev/null
    fi
}
register demo-street "rtsp://127.0.0.1:$port/street" "Demo street (RTSP)"
register demo-rain "$PWD/fixtures/rain_walker.mp4" "Demo rain walker (file)"

http=${VIGIL_DEMO_HTTP:-127.0.0.1:8080}
"$vigil" run --log-level notice --http "$http" 2>"$state/vigil.log" &
daemon=$!
echo "Vigil is running (log: $state/vigil.log)."
echo "Status page: http://$http/  (public register: http://$http/register, metrics: http://$http/metrics)"
echo "Cameras:"
"$vigil" camera list
echo "Alerts as they happen (Ctrl-C to stop):"
"$vigil" alerts tail -f
