#!/usr/bin/python3
"""Soak test of `vigil run` (`make soak`, not part of `make test`): 16 RTSP cameras under faults for a while.

Cameras, all on 127.0.0.1 (fixture clips looped in real time by scripts/rtsp_server.py):
  cam00-cam07  server A, each through its own scripts/tcp_proxy.py: stalls (longer than the read deadline),
               resets, blackholed reconnections and refused connections, one proxy at a time
  cam08-cam14  server B, direct: the server is SIGKILLed and restarted on its port, or SIGSTOPped (every
               client stalls) and continued
  cam15        server C with digest auth, registered with a wrong password: credentials_rejected
Every minute the config file changes (cam03's offline_after toggles) and the daemon gets SIGHUP.
`daemon.motion_events_per_minute` is 4, so the busiest clips also raise motion_flood alerts.

At the end (after SIGTERM) it prints the daemon's RSS, open file descriptors and threads at the start (after a
warm-up) and at the end, and the alerts lost: the alerts the queue committed (SQLite's AUTOINCREMENT counter of
its `alert` table) minus those in the alert log minus those still queued, plus every "cannot enqueue" the daemon
logged. Exit status 1 when an alert was lost, the daemon did not stop cleanly, or RSS, fds or threads kept
growing (the last quarter's peak above the second quarter's by more than the slack below).

Usage: bench/soak.py VIGIL [--minutes M]      (default: $SOAK_MINUTES, else 30)
Only Debian packages are needed: python3 and the GStreamer RTSP server packages of `make deps`.
"""

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLIPS = ["one_crossing", "two_crossings", "rain_walker", "cloud_walker", "small_walker", "shake", "light_step",
         "covered"]
PROXIED, DIRECT = 8, 7
WARMUP = 30          # seconds before the start figures are taken
FAULT_EVERY = 15     # seconds between two faults
RELOAD_EVERY = 60    # seconds between two config reloads
SAMPLE_EVERY = 5     # seconds between two resource samples
# Growth allowed between the peaks of the second and the last quarter of the run.
RSS_SLACK_MIB, FD_SLACK, THREAD_SLACK = 48, 8, 8


class Helper:
    """A scripts/ helper process: waits for its READY line; send() a command and wait for its OK."""

    def __init__(self, script: str, *arguments: str, port: int = 0) -> None:
        self.script, self.arguments = script, arguments
        self.port = port
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(["/usr/bin/python3", "-u", str(ROOT / "scripts" / self.script),
                                         "--port" if self.script == "rtsp_server.py" else "--listen-port",
                                         str(self.port), *self.arguments],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                        text=True)
        line = self.process.stdout.readline().split()
        if len(line) != 2 or line[0] != "READY":
            raise SystemExit(f"soak: {self.script} did not start")
        self.port = int(line[1])

    def send(self, command: str) -> None:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        while not self.process.stdout.readline().startswith(f"OK {command}"):
            pass

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def figures(pid: int) -> dict:
    """RSS in MiB, open file descriptors and threads of a process."""
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return {"rss": int(status["VmRSS"].split()[0]) / 1024, "fds": len(os.listdir(f"/proc/{pid}/fd")),
            "threads": int(status["Threads"])}


def add_camera(vigil: str, state: str, camera: str, url: str, *extra: str) -> None:
    subprocess.run([vigil, "camera", "add", camera, "--url", url, "--name", camera, "--lat", "50.85", "--lon", "4.35",
                    "--municipality", "Soak", "--operator", "Soak", "--purpose", "soak test", "--private",
                    "--state-dir", state, *extra], check=True, stdout=subprocess.DEVNULL)


def write_config(path: Path, toggle: bool) -> None:
    path.write_text("daemon:\n  open_timeout: 5\n  read_timeout: 4\n  offline_after: 10\n  min_backoff: 1\n"
                    "  max_backoff: 8\n  credentials_retry: 60\n  registry_poll: 2\n  motion_events_per_minute: 4\n"
                    f"  cameras:\n    cam03: {{ offline_after: {11 if toggle else 10} }}\n")


class Faults:
    """Applies one fault every FAULT_EVERY seconds, in turn, and undoes it after a few seconds."""

    def __init__(self, proxies: list[Helper], server_b: Helper) -> None:
        self.proxies, self.server_b = proxies, server_b
        self.count = 0
        self.undo: list[tuple[float, callable]] = []
        self.done: dict[str, int] = {}

    def step(self, now: float) -> None:
        for when, action in [entry for entry in self.undo if entry[0] <= now]:
            action()
            self.undo.remove((when, action))
        if now < getattr(self, "next", 0):
            return
        self.next = now + FAULT_EVERY
        kind = ["stall", "kill", "reset", "sigstop", "blackhole", "refuse"][self.count % 6]
        proxy = self.proxies[self.count % len(self.proxies)]
        self.count += 1
        self.done[kind] = self.done.get(kind, 0) + 1
        if kind == "kill":
            self.server_b.kill()
            self.undo.append((now + 5, self.server_b.start))
        elif kind == "sigstop":
            os.kill(self.server_b.process.pid, signal.SIGSTOP)
            self.undo.append((now + 7, lambda: os.kill(self.server_b.process.pid, signal.SIGCONT)))
        elif kind == "reset":
            proxy.send("reset")
        else:  # stall and blackhole outlast the read and open deadlines; refuse makes the reconnections fail
            proxy.send(kind)
            self.undo.append((now + 8, lambda: proxy.send("pass")))

    def finish(self) -> None:
        for _, action in self.undo:
            action()
        self.undo = []


def peak(samples: list[dict], key: str, start: int, end: int) -> float:
    return max(sample[key] for sample in samples[start:end])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("vigil")
    parser.add_argument("--minutes", type=float, default=float(os.environ.get("SOAK_MINUTES", "30")))
    args = parser.parse_args()
    if not 1 <= args.minutes <= 24 * 60:
        raise SystemExit(f"soak: --minutes {args.minutes} is outside 1...1440")
    clips = [str(ROOT / "fixtures" / f"{name}.mp4") for name in CLIPS]
    helpers: list[Helper] = []
    with tempfile.TemporaryDirectory(prefix="vigil-soak-") as state:
        try:
            media_a = [arg for index in range(PROXIED) for arg in ("--media", f"c{index:02}={clips[index % 8]}")]
            media_b = [arg for index in range(DIRECT) for arg in ("--media", f"c{index:02}={clips[(index + 3) % 8]}")]
            password = Path(state) / "password"
            password.write_text("right-password\n")
            server_a = Helper("rtsp_server.py", *media_a)
            server_b = Helper("rtsp_server.py", *media_b)
            server_c = Helper("rtsp_server.py", "--media", f"c15={clips[0]}", "--auth", "digest", "--user", "vigil",
                              "--password-file", str(password))
            helpers += [server_a, server_b, server_c]
            proxies = [Helper("tcp_proxy.py", "--target", f"127.0.0.1:{server_a.port}") for _ in range(PROXIED)]
            helpers += proxies
            for index, proxy in enumerate(proxies):
                add_camera(args.vigil, state, f"cam{index:02}", f"rtsp://127.0.0.1:{proxy.port}/c{index:02}")
            for index in range(DIRECT):
                add_camera(args.vigil, state, f"cam{PROXIED + index:02}", f"rtsp://127.0.0.1:{server_b.port}/c{index:02}")
            wrong = Path(state) / "wrong-password"
            wrong.write_text("wrong-password\n")
            add_camera(args.vigil, state, "cam15", f"rtsp://127.0.0.1:{server_c.port}/c15", "--username", "vigil",
                       "--password-file", str(wrong))
            config = Path(state) / "soak.yaml"
            write_config(config, False)
            daemon_log = Path(state) / "daemon.log"
            with open(daemon_log, "w") as stderr:
                daemon = subprocess.Popen([args.vigil, "run", "--state-dir", state, "--config", str(config),
                                           "--alert-log", str(Path(state) / "alerts.jsonl")],
                                          stdout=subprocess.DEVNULL, stderr=stderr)
            print(f"soak: {args.minutes:g} min, 16 cameras, daemon pid {daemon.pid}, state {state}", flush=True)
            return run(args, daemon, daemon_log, Path(state), config, Faults(proxies, server_b))
        finally:
            for helper in helpers:
                helper.kill()


def run(args, daemon: subprocess.Popen, daemon_log: Path, state: Path, config: Path, faults: Faults) -> int:
    began = time.monotonic()
    end = began + args.minutes * 60
    samples: list[dict] = []
    reloads, next_reload, next_sample, toggle = 0, began + RELOAD_EVERY, began + WARMUP, False
    while time.monotonic() < end and daemon.poll() is None:
        now = time.monotonic()
        faults.step(now)
        if now >= next_reload:
            toggle = not toggle
            write_config(config, toggle)
            daemon.send_signal(signal.SIGHUP)
            reloads += 1
            next_reload += RELOAD_EVERY
        if now >= next_sample:
            samples.append(figures(daemon.pid))
            next_sample += SAMPLE_EVERY
            if len(samples) % 60 == 1:
                minutes = (now - began) / 60
                print(f"soak: {minutes:5.1f} min  RSS {samples[-1]['rss']:.1f} MiB  fds {samples[-1]['fds']}  "
                      f"threads {samples[-1]['threads']}", flush=True)
        time.sleep(0.2)
    crashed = daemon.poll() is not None
    faults.finish()
    final = figures(daemon.pid) if not crashed else None
    if not crashed:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
    status = daemon.returncode

    queue = sqlite3.connect(f"file:{state / 'queue.sqlite'}?mode=ro", uri=True)
    committed = (queue.execute("SELECT seq FROM sqlite_sequence WHERE name = 'alert'").fetchone() or [0])[0]
    queued = queue.execute("SELECT COUNT(*) FROM alert").fetchone()[0]
    queue.close()
    log_path = state / "alerts.jsonl"
    alerts = [json.loads(line) for line in log_path.read_text().splitlines()] if log_path.exists() else []
    logged = len({alert["id"] for alert in alerts})
    daemon_text = daemon_log.read_text(errors="replace")
    not_enqueued = daemon_text.count("cannot enqueue alert")
    reloaded = daemon_text.count("SIGHUP: reloading")
    lost = committed - logged - queued + not_enqueued
    kinds: dict[str, int] = {}
    for alert in alerts:
        kinds[alert["kind"]] = kinds.get(alert["kind"], 0) + 1

    problems = []
    print(f"\nsoak: {args.minutes:g} min, 16 cameras; faults {faults.done}; {reloads} config reloads (SIGHUP), "
          f"{reloaded} logged by the daemon")
    if crashed or final is None or len(samples) < 4:
        problems.append(f"the daemon exited during the soak (status {status})" if crashed else "too few samples")
    else:
        start = samples[0]
        print(f"{'':10} {'start':>8} {'end':>8} {'min':>8} {'max':>8}")
        for key, label in (("rss", "RSS MiB"), ("fds", "fds"), ("threads", "threads")):
            values = [sample[key] for sample in samples]
            print(f"{label:10} {start[key]:>8.1f} {final[key]:>8.1f} {min(values):>8.1f} {max(values):>8.1f}")
        quarter = len(samples) // 4
        for key, slack, label in (("rss", RSS_SLACK_MIB, "RSS"), ("fds", FD_SLACK, "fds"),
                                  ("threads", THREAD_SLACK, "threads")):
            second, last = peak(samples, key, quarter, 2 * quarter), peak(samples, key, 3 * quarter, len(samples))
            if last > second + slack:
                problems.append(f"{label} kept growing: peak {second:.1f} in the second quarter, {last:.1f} in the last")
    print(f"alerts: {committed} committed by the queue, {logged} in the alert log, {queued} still queued, "
          f"{not_enqueued} not enqueued; lost {lost}")
    print("alerts by kind: " + ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items())))
    if lost != 0:
        problems.append(f"{lost} alerts lost")
    if not crashed and status != 0:
        problems.append(f"the daemon exited with status {status} after SIGTERM")
    if reloaded < reloads:
        problems.append(f"the daemon logged {reloaded} of {reloads} reloads")
    if "credentials_rejected" not in kinds:
        problems.append("the camera with the wrong password raised no credentials_rejected")
    for problem in problems:
        print(f"soak: FAILED: {problem}")
    if problems:
        print(f"soak: the daemon's log is kept in {daemon_log.name}: see the lines above", file=sys.stderr)
        sys.stderr.write(daemon_text[-4000:])
    else:
        print("soak: passed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
