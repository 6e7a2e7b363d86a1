#!/usr/bin/python3
"""Measures `vigil run` serving N live RTSP cameras in real time (part of `make bench`).

For each scene (quiet: a static street with sensor noise; busy: people crossing most of the time)
and each camera count N, the project's RTSP server serves the clip N times on 127.0.0.1, N cameras
are registered in a fresh state directory, and the daemon runs for a fixed window after a warm-up.
Printed per run: CPU % of one core per camera (from /proc, the daemon process only), RSS per
camera, frames decoded against frames expected at 15 fps while connected (a shortfall is frames
dropped; the server may send a short burst at connection, so a few more than expected is normal), and the alert latency from
an alert being raised (its `time`) to its line appearing in the alert log.

With `--sizing MAIN.mp4 SUB.mp4`, it then runs N cameras whose main stream is MAIN (1080p) and whose
detection sub-stream (`--detect-url`) is SUB (360p): only the sub-stream is decoded.

Usage: bench/daemon_bench.py VIGIL QUIET.mp4 BUSY.mp4 [--cameras 4,8,16] [--seconds 30]
                             [--sizing MAIN.mp4 SUB.mp4 --sizing-cameras 4]
Only Debian packages are needed: python3 and the GStreamer RTSP server packages of `make deps`.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
FPS = 15
WARMUP_SECONDS = 6


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
    """The project's RTSP server with one mount per camera looping `clip` (and one looping `sub_clip`)."""
    media = [arg for index in range(cameras) for arg in ("--media", f"cam{index}={clip}")]
    if sub_clip:
        media += [arg for index in range(cameras) for arg in ("--media", f"sub{index}={sub_clip}")]
    server = subprocess.Popen(["/usr/bin/python3", str(ROOT / "scripts/rtsp_server.py"), "--port", "0", *media],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = server.stdout.readline().split()
    if len(line) != 2 or line[0] != "READY":
        server.kill()
        raise SystemExit(f"the RTSP server did not start for {clip}")
    return server, int(line[1])


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


def run_once(vigil: str, clip: Path, cameras: int, seconds: float, sub_clip: Path | None = None) -> dict:
    server, port = start_server(clip, cameras, sub_clip)
    with tempfile.TemporaryDirectory(prefix="vigil-bench-") as state:
        register(vigil, state, port, cameras, sub_clip is not None)
        config = Path(state) / "bench.yaml"
        config.write_text("daemon:\n  queue_durability: full\n")
        daemon = subprocess.Popen([vigil, "run", "--state-dir", state, "--config", str(config)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        log = Path(state) / "alerts.jsonl"
        seen: dict[str, float] = {}
        warmup_end = time.monotonic() + WARMUP_SECONDS
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
        uptime = WARMUP_SECONDS + window
        daemon.send_signal(signal.SIGTERM)
        _, stderr = daemon.communicate(timeout=20)
        server.terminate()
        server.wait()
        decoded = sum(int(line.split("camera: ")[1].split(" frames")[0])
                      for line in stderr.splitlines() if "stopped watching camera: " in line)
        latencies = []
        if log.exists():
            for line in log.read_text().splitlines():
                alert = json.loads(line)
                if alert["kind"] == "motion_started" and alert["id"] in seen:
                    raised = datetime.fromisoformat(alert["time"].replace("Z", "+00:00")).timestamp()
                    latencies.append(seen[alert["id"]] - raised)
        motion = sum(1 for line in log.read_text().splitlines() if '"motion_started"' in line) if log.exists() else 0
    return {
        "cpu_per_camera": 100 * cpu / window / cameras,
        "rss_per_camera_mib": rss / 1024 / cameras,
        "rss_mib": rss / 1024,
        # Each camera connects within about a second of the start; frames before that were never sent.
        "expected": int(cameras * FPS * (uptime - 1)),
        "decoded": decoded,
        "events": motion,
        "latency_ms": 1000 * sorted(latencies)[len(latencies) // 2] if latencies else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("vigil")
    parser.add_argument("quiet", type=Path)
    parser.add_argument("busy", type=Path)
    parser.add_argument("--cameras", default="4,8,16")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--label", default="")
    parser.add_argument("--sizing", nargs=2, type=Path, metavar=("MAIN", "SUB"))
    parser.add_argument("--sizing-cameras", type=int, default=4)
    args = parser.parse_args()
    counts = [int(value) for value in args.cameras.split(",")]
    print(f"\ndaemon: N cameras over RTSP on 127.0.0.1, {args.label}, {args.seconds:.0f} s after a "
          f"{WARMUP_SECONDS} s warm-up each")
    header = (f"{'cameras':>7} {'CPU %/camera':>13} {'cameras/core':>13} {'RSS MiB/camera':>15} "
              f"{'RSS MiB':>8} {'decoded/expected':>17} {'events':>7} {'raise->log ms':>14}")
    print(f"{'scene':6} {header}")
    for scene, clip in (("quiet", args.quiet), ("busy", args.busy)):
        for cameras in counts:
            print(f"{scene:6} {row(cameras, run_once(args.vigil, clip, cameras, args.seconds))}", flush=True)
    if args.sizing:
        main_clip, sub_clip = args.sizing
        cameras = args.sizing_cameras
        print(f"\nsizing, busy scene: the stream the daemon decodes for detection")
        print(f"{'detection stream':34} {header}")
        for label, clip, sub in ((f"main stream {main_clip.stem}", main_clip, None),
                                 (f"main {main_clip.stem} + sub {sub_clip.stem}", main_clip, sub_clip)):
            print(f"{label:34} {row(cameras, run_once(args.vigil, clip, cameras, args.seconds, sub))}", flush=True)
    return 0


def row(cameras: int, result: dict) -> str:
    per_core = 100 / result["cpu_per_camera"] if result["cpu_per_camera"] > 0 else float("inf")
    latency = f"{result['latency_ms']:.0f}" if result["latency_ms"] is not None else "-"
    return (f"{cameras:>7} {result['cpu_per_camera']:>13.2f} {per_core:>13.1f} "
            f"{result['rss_per_camera_mib']:>15.1f} {result['rss_mib']:>8.1f} "
            f"{result['decoded']:>8}/{result['expected']:<8} {result['events']:>7} {latency:>14}")


if __name__ == "__main__":
    sys.exit(main())
