#!/usr/bin/python3
"""Measures what `vigil run` costs when nothing happens, and how fast a raised alert reaches the alert log.

1. Idle: the daemon with no camera, CPU % of one core over SECONDS (user + system from /proc, after a 5 s
   warm-up). This is the reporter's and the queue's floor: a quiet daemon pays it whatever its cameras cost.
2. Raise->log: the daemon with one camera that is a local file (fixtures/one_crossing.mp4, played at real-time
   pace and looped), for SECONDS: each alert's time from being raised (its `time`) to its line appearing in the
   alert log (the log is watched every 2 ms), median and max, and the daemon's CPU.

Usage: bench/idle_bench.py VIGIL [--seconds 60]  (`make bench` runs it with 30 s)
"""

import argparse
import json
import os
import subprocess
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WARMUP_SECONDS = 5


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_daemon(vigil: str, state: str) -> subprocess.Popen:
    return subprocess.Popen([vigil, "run", "--state-dir", state], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def stop(daemon: subprocess.Popen) -> None:
    daemon.terminate()
    daemon.wait(timeout=30)


def idle(vigil: str, seconds: float) -> float:
    """CPU % of one core of a daemon without cameras."""
    with tempfile.TemporaryDirectory() as state:
        daemon = start_daemon(vigil, state)
        time.sleep(WARMUP_SECONDS)
        before = cpu_seconds(daemon.pid)
        time.sleep(seconds)
        used = cpu_seconds(daemon.pid) - before
        stop(daemon)
    return 100 * used / seconds


def raise_to_log(vigil: str, seconds: float) -> tuple[list[float], float]:
    """Raise->log latencies (seconds) of a file camera's alerts, and the daemon's CPU % over the run."""
    with tempfile.TemporaryDirectory() as state:
        subprocess.run([vigil, "camera", "add", "file", "--url", str(ROOT / "fixtures/one_crossing.mp4"),
                        "--name", "File", "--lat", "50.85", "--lon", "4.35", "--municipality", "Bench",
                        "--operator", "Bench", "--purpose", "benchmark", "--private", "--state-dir", state],
                       check=True, stdout=subprocess.DEVNULL)
        log = Path(state) / "alerts.jsonl"
        daemon = start_daemon(vigil, state)
        start = time.time()
        before = cpu_seconds(daemon.pid)
        latencies: list[float] = []
        offset = 0
        while time.time() - start < seconds:
            time.sleep(0.002)
            if not log.exists():
                continue
            with log.open("rb") as file:
                file.seek(offset)
                chunk = file.read()
            now = time.time()
            whole = chunk[:chunk.rfind(b"\n") + 1]
            offset += len(whole)
            for line in whole.splitlines():
                raised = datetime.fromisoformat(json.loads(line)["time"].replace("Z", "+00:00")).timestamp()
                latencies.append(now - raised)
        used = cpu_seconds(daemon.pid) - before
        stop(daemon)
    return latencies, 100 * used / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("vigil")
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    print(f"idle daemon, no camera: {idle(args.vigil, args.seconds):.2f}% of a core over {args.seconds:.0f} s")
    latencies, cpu = raise_to_log(args.vigil, args.seconds)
    if latencies:
        ordered = sorted(latencies)
        print(f"one file camera: {len(ordered)} alerts, raise->log median {1000 * ordered[len(ordered) // 2]:.0f} ms, "
              f"max {1000 * ordered[-1]:.0f} ms; daemon {cpu:.1f}% of a core")
    else:
        print(f"one file camera: no alert in {args.seconds:.0f} s; daemon {cpu:.1f}% of a core")


if __name__ == "__main__":
    main()
