#!/usr/bin/python3
"""Measures `vigil run` serving N live RTSP cameras in real time (part of `make bench`).

For each scene (quiet: a static street with sensor noise; busy: people crossing most of the time)
and each camera count N, the project's RTSP server serves the clip N times on 127.0.0.1, N cameras
are registered in a fresh state directory, and the daemon runs for a fixed window after a warm-up.
Printed per run: CPU % of one core per camera (from /proc, the daemon process only), RSS per
camera, frames decoded against frames expected at 15 fps while connected (a shortfall is frames
dropped; the server may send a short burst at connection, so a few more than expected is normal), and two alert
latencies: raise->log, the median time from an alert being raised (its `time`) to its line appearing in the alert log,
and screen->log, the median/max time from motion appearing on screen to its `motion_started` line appearing in the log.

For screen->log the server announces when each stream starts sending each loop iteration of its clip
(`--announce-loops`); a motion interval of the ground truth BUSY.json (seconds from the clip start, the same for every
busy clip) begins on screen at that time plus its start. Each alert is timed from the latest onset on its camera's
detection stream before its line appeared; an alert with no onset in the 10 s before it is not timed but counted
("unmatched"). The quiet scene has no motion ("-"). screen->log includes the detector's confirmation delay (an event
must last a few frames): `vigil replay BUSY.mp4` gives it alone (`confirmed` minus the true start), printed once.

The last column is the share of the video packets received that were decoded: 100% unless adaptive decoding
(`daemon.adaptive_decoding`) left some undecoded. With `--adaptive-cameras 4,16`, those camera counts run again
for each scene with adaptive decoding on, after a 10 s warm-up (it engages after 5 s of quiet).

With `--sizing MAIN.mp4 SUB.mp4`, it then runs N cameras whose main stream is MAIN (1080p) and whose
detection sub-stream (`--detect-url`) is SUB (360p): only the sub-stream is decoded.

Usage: bench/daemon_bench.py VIGIL QUIET.mp4 BUSY.mp4 BUSY.json [--cameras 4,8,16] [--seconds 30]
                             [--adaptive-cameras 4,16] [--sizing MAIN.mp4 SUB.mp4 --sizing-cameras 4]
Only Debian packages are needed: python3 and the GStreamer RTSP server packages of `make deps`.
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
FPS = 15
WARMUP_SECONDS = 6
# Adaptive decoding drops to keyframes after 5 s of quiet and two keyframes (GOP 50: 3.3 s apart).
ADAPTIVE_WARMUP_SECONDS = 10
# The daemon's summary of a camera when it stops.
STOP_LINE = re.compile(r"stopped watching camera: (?P<frames>\d+) frames decoded.*?(?P<packets>\d+) packets received, "
                       r"(?P<undecoded>\d+) left undecoded")
ONSET_WINDOW = 10  # seconds: an alert later than this after its camera's last motion onset is unmatched


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def start_server(clip: Path, cameras: int, sub_clip: Path | None = None) -> tuple[subprocess.Popen, int]:
    """The project's RTSP server with one mount per camera looping `clip` (and one looping `sub_clip`),
    announcing its loops on stdout after the READY line."""
    media = [arg for index in range(cameras) for arg in ("--media", f"cam{index}={clip}")]
    if sub_clip:
        media += [arg for index in range(cameras) for arg in ("--media", f"sub{index}={sub_clip}")]
    server = subprocess.Popen(["/usr/bin/python3", str(ROOT / "scripts/rtsp_server.py"), "--port", "0",
                               "--announce-loops", *media],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = server.stdout.readline().split()
    if len(line) != 2 or line[0] != "READY":
        server.kill()
        raise SystemExit(f"the RTSP server did not start for {clip}")
    return server, int(line[1])


def read_loops(stdout: IO[str], loops: dict[str, list[float]]) -> None:
    """Collects the server's "LOOP <mount> <epoch seconds>" lines into `loops` until it exits."""
    for line in stdout:
        mount, sent = line.split()[1:]
        loops.setdefault(mount, []).append(float(sent))


def register(vigil: str, state: str, port: int, cameras: int, sub_streams: bool) -> None:
    for index in range(cameras):
        detect = ["--detect-url", f"rtsp://127.0.0.1:{port}/sub{index}"] if sub_streams else []
        subprocess.run([vigil, "camera", "add", f"cam{index}", "--url", f"rtsp://127.0.0.1:{port}/cam{index}", *detect,
                        "--name", f"Bench {index}", "--lat", "50.85", "--lon", "4.35", "--municipality", "Bench",
                        "--operator", "Bench", "--purpose", "benchmark", "--private", "--state-dir", state],
                       check=True, stdout=subprocess.DEVNULL)


def follow_alerts(log: Path, seen: dict[str, float]) -> None:
    """Records when each alert line is first seen in the log (wall clock)."""
    if not log.exists():
        return
    now = time.time()
    for line in log.read_text().splitlines():
        try:
            alert = json.loads(line)
        except json.JSONDecodeError:
            continue
        seen.setdefault(alert["id"], now)


def middle(values: list[float]) -> float:
    """The median (the upper one of an even count)."""
    return sorted(values)[len(values) // 2]


def since_onset(moment: float, loops: list[float], intervals: list[list[float]]) -> float | None:
    """Seconds from the latest motion onset (a loop start + an interval's start) before `moment` to `moment`;
    None when there is none in the ONSET_WINDOW before it."""
    onsets = [loop + start for loop in loops for start, _ in intervals if loop + start <= moment]
    if onsets and moment - max(onsets) <= ONSET_WINDOW:
        return moment - max(onsets)
    return None


def detector_delays(vigil: str, clip: Path, intervals: list[list[float]]) -> list[float]:
    """`confirmed` minus the true start (the latest before it) of each motion event `vigil replay` finds in `clip`,
    decoded as the daemon does (without the loop filter)."""
    replay = subprocess.run([vigil, "replay", str(clip), "--skip-loop-filter"],
                            check=True, capture_output=True, text=True)
    events = [json.loads(line) for line in replay.stdout.splitlines()]
    # A replay plays the clip once, from media time 0.
    delays = [since_onset(event["confirmed"], [0.0], intervals) for event in events if event["kind"] == "motion"]
    return [delay for delay in delays if delay is not None]


def run_once(vigil: str, clip: Path, cameras: int, seconds: float, intervals: list[list[float]],
             sub_clip: Path | None = None, adaptive: bool = False) -> dict:
    """One window of the daemon on `cameras` cameras of `clip`, whose motion is `intervals` (seconds from its start).
    With `adaptive`, the daemon decodes only keyframes while a scene is quiet (`daemon.adaptive_decoding`); the
    warm-up is longer so that the window starts after its first quiet seconds."""
    warmup = ADAPTIVE_WARMUP_SECONDS if adaptive else WARMUP_SECONDS
    server, port = start_server(clip, cameras, sub_clip)
    loops: dict[str, list[float]] = {}
    reader = threading.Thread(target=read_loops, args=(server.stdout, loops))
    reader.start()
    with tempfile.TemporaryDirectory(prefix="vigil-bench-") as state:
        register(vigil, state, port, cameras, sub_clip is not None)
        config = Path(state) / "bench.yaml"
        config.write_text(f"daemon:\n  queue_durability: full\n  adaptive_decoding: {str(adaptive).lower()}\n")
        daemon = subprocess.Popen([vigil, "run", "--state-dir", state, "--config", str(config)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        log = Path(state) / "alerts.jsonl"
        seen: dict[str, float] = {}
        warmup_end = time.monotonic() + warmup
        while time.monotonic() < warmup_end:  # alerts raised while warming up are timed too
            follow_alerts(log, seen)
            time.sleep(0.01)
        cpu_start, wall_start = cpu_seconds(daemon.pid), time.monotonic()
        while time.monotonic() - wall_start < seconds:
            follow_alerts(log, seen)
            time.sleep(0.01)
        cpu = cpu_seconds(daemon.pid) - cpu_start
        window = time.monotonic() - wall_start
        rss = rss_kib(daemon.pid)
        uptime = warmup + window
        daemon.send_signal(signal.SIGTERM)
        _, stderr = daemon.communicate(timeout=20)
        server.terminate()
        server.wait()
        reader.join()
        stops = [STOP_LINE.search(line) for line in stderr.splitlines()]
        stops = [stop for stop in stops if stop]
        decoded = sum(int(stop["frames"]) for stop in stops)
        packets = sum(int(stop["packets"]) for stop in stops)
        undecoded = sum(int(stop["undecoded"]) for stop in stops)
        alerts = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        started = [alert for alert in alerts if alert["kind"] == "motion_started"]
        latencies, screen, unmatched = [], [], 0
        for alert in started:
            if alert["id"] not in seen:
                continue
            raised = datetime.fromisoformat(alert["time"].replace("Z", "+00:00")).timestamp()
            latencies.append(seen[alert["id"]] - raised)
            # The camera decodes its detection stream: /subN with a sub-stream, else /camN.
            mount = "/" + alert["camera"].replace("cam", "sub" if sub_clip else "cam")
            latency = since_onset(seen[alert["id"]], loops.get(mount, []), intervals)
            if latency is None:
                unmatched += 1
            else:
                screen.append(latency)
    return {
        "cpu_per_camera": 100 * cpu / window / cameras,
        "rss_per_camera_mib": rss / 1024 / cameras,
        "rss_mib": rss / 1024,
        # Each camera connects within about a second of the start; frames before that were never sent.
        "expected": int(cameras * FPS * (uptime - 1)),
        "decoded": decoded,
        "decoded_share": 1 - undecoded / packets if packets else None,
        "events": len(started),
        "latency_ms": 1000 * middle(latencies) if latencies else None,
        "screen_ms": (1000 * middle(screen), 1000 * max(screen)) if screen else None,
        "unmatched": unmatched,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("vigil")
    parser.add_argument("quiet", type=Path)
    parser.add_argument("busy", type=Path)
    parser.add_argument("truth", type=Path, help="ground truth of the busy clips (`motion` intervals)")
    parser.add_argument("--cameras", default="4,8,16")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--label", default="")
    parser.add_argument("--sizing", nargs=2, type=Path, metavar=("MAIN", "SUB"))
    parser.add_argument("--sizing-cameras", type=int, default=4)
    parser.add_argument("--adaptive-cameras", default="",
                        help="camera counts to run again with adaptive decoding, e.g. 4,16")
    args = parser.parse_args()
    counts = [int(value) for value in args.cameras.split(",")]
    intervals = json.loads(args.truth.read_text())["motion"]
    delays = detector_delays(args.vigil, args.busy, intervals)
    print(f"\ndaemon: N cameras over RTSP on 127.0.0.1, {args.label}, {args.seconds:.0f} s after a "
          f"{WARMUP_SECONDS} s warm-up each")
    print(f"screen->log: median/max from motion appearing on screen to its alert in the log; of that, the detector "
          f"confirms {1000 * middle(delays):.0f}/{1000 * max(delays):.0f} ms after motion appears "
          f"(vigil replay {args.busy.name}, {len(delays)} events)")
    header = (f"{'cameras':>7} {'CPU %/camera':>13} {'cameras/core':>13} {'RSS MiB/camera':>15} "
              f"{'RSS MiB':>8} {'decoded/expected':>17} {'events':>7} {'raise->log ms':>14} {'screen->log ms':>15}"
              f" {'packets decoded':>16}")
    print(f"{'scene':15} {header}")
    adaptive_counts = [int(value) for value in args.adaptive_cameras.split(",") if value]
    for scene, clip, motion in (("quiet", args.quiet, []), ("busy", args.busy, intervals)):
        for cameras in counts:
            print(f"{scene:15} {row(cameras, run_once(args.vigil, clip, cameras, args.seconds, motion))}", flush=True)
        for cameras in adaptive_counts:
            result = run_once(args.vigil, clip, cameras, args.seconds, motion, adaptive=True)
            print(f"{scene + ', adaptive':15} {row(cameras, result)}", flush=True)
    if args.sizing:
        main_clip, sub_clip = args.sizing
        cameras = args.sizing_cameras
        print(f"\nsizing, busy scene: the stream the daemon decodes for detection")
        print(f"{'detection stream':34} {header}")
        for label, clip, sub in ((f"main stream {main_clip.stem}", main_clip, None),
                                 (f"main {main_clip.stem} + sub {sub_clip.stem}", main_clip, sub_clip)):
            result = run_once(args.vigil, clip, cameras, args.seconds, intervals, sub)
            print(f"{label:34} {row(cameras, result)}", flush=True)
    return 0


def row(cameras: int, result: dict) -> str:
    per_core = 100 / result["cpu_per_camera"] if result["cpu_per_camera"] > 0 else float("inf")
    latency = f"{result['latency_ms']:.0f}" if result["latency_ms"] is not None else "-"
    screen = "{:.0f}/{:.0f}".format(*result["screen_ms"]) if result["screen_ms"] else "-"
    unmatched = f"  ({result['unmatched']} unmatched)" if result["unmatched"] else ""
    decoded_share = f"{100 * result['decoded_share']:.0f}%" if result["decoded_share"] is not None else "-"
    return (f"{cameras:>7} {result['cpu_per_camera']:>13.2f} {per_core:>13.1f} "
            f"{result['rss_per_camera_mib']:>15.1f} {result['rss_mib']:>8.1f} "
            f"{result['decoded']:>8}/{result['expected']:<8} {result['events']:>7} {latency:>14} "
            f"{screen:>15} {decoded_share:>16}{unmatched}")


if __name__ == "__main__":
    sys.exit(main())
