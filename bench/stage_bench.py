#!/usr/bin/python3
"""Where a live camera's CPU goes, stage by stage, and how it scales (part of `make bench`).

The project's RTSP server serves MAIN (the 1080p15 constant-bit-rate street with one crossing a minute, see
`fixtures/generate.py --bench-duty`; `bench/stages.sh --duty/--rate-control` pick another stream of it) and SUB
(its 360p detection sub-stream) on 127.0.0.1, each from one shared media factory, so any number of clients get
the same live stream.

1. Stages: the daemon (`vigil run`, defaults: adaptive decoding) watches one camera of MAIN while three ffmpeg
   clients of the same stream run beside it: demux only (`-c copy -f null`), keyframes only (`-skip_frame nokey`)
   and every frame (decode only), both decoding without the loop filter and with one thread, as the daemon does.
   After a warm-up, over a window of whole loops: the CPU of each process and of each daemon thread from
   /proc/PID/task/*/stat, and the camera worker's own account (`StageAccount`: thread CPU by stage, logged at
   debug level every 5 s). Printed in % of one core (= CPU ms per second of video / 10): ingest and demux,
   keyframe decoding, catch-up, busy decoding, quiet full decoding, detector, the rest of the camera thread,
   the queue writer, everything else (the reporter runs on the pool); the ffmpeg references and the floor
   computed from them: keyframes only + duty x (every frame - keyframes only), and with one GOP of catch-up
   per event. Also the alert onset:
   motion on screen (the server announces each loop) to `motion_started` in the alert log.
2. Scaling (`--scale 1,4,16,32`): N cameras of MAIN, then N cameras whose detection stream is SUB: per camera
   CPU and RSS, frames decoded against sent (adaptive decoding leaves most undecoded), frames skipped to keep to
   the live edge (cameras that fell behind), and the ratio to ffmpeg decoding the same stream alone (its
   every-frame and keyframe-only references, measured beside the daemon's first run of each stream).

The machine may be shared: the load average is printed with every run.

Usage: bench/stage_bench.py VIGIL MAIN.mp4 MAIN.json SUB.mp4 [--seconds 120] [--scale 1,4,16,32]
                            [--scale-seconds 60] [--skip-stages]
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
from pathlib import Path

from daemon_bench import CLOCK_TICKS, FPS, STOP_LINE, follow_alerts, middle, rss_kib, since_onset

ROOT = Path(__file__).resolve().parent.parent
# Adaptive decoding drops to keyframes after 5 s of quiet and two keyframes (GOP 50: 3.3 s apart).
WARMUP_SECONDS = 12
GOP_SECONDS = 50 / FPS
STAGE_LINE = re.compile(r"camera=(?P<camera>\S+) stage cpu ms: demux (?P<demux>\d+), keyframes (?P<keyframes>\d+), "
                        r"catch-up (?P<catchup>\d+), busy (?P<busy>\d+), quiet full (?P<quiet>\d+), "
                        r"analysis (?P<analysis>\d+), thread (?P<thread>\d+), packets (?P<packets>\d+)")
SKIPPED = re.compile(r"(?P<skipped>\d+) packets or frames skipped to keep to the live edge")
STAGES = [("demux", "ingest and demux"), ("keyframes", "keyframe decoding (quiet)"),
          ("catchup", "catch-up decoding (GOP after a wake-up)"), ("busy", "busy decoding (event under way)"),
          ("quiet", "quiet full decoding (tail, first seconds)"), ("analysis", "detector and events")]
# ffmpeg's options for each reference: (the input's, which set the decoder, the output's).
DECODER = ["-threads", "1", "-skip_loop_filter", "all"]
REFERENCES = {
    "demux": ([], ["-c", "copy"]),
    "keyframes": ([*DECODER, "-skip_frame", "nokey"], []),
    "decode": (DECODER, []),
}


def thread_cpu(pid: int) -> dict[int, tuple[str, float]]:
    """CPU seconds (user + system) of each thread of `pid`, with its name."""
    threads = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            text = (task / "stat").read_text()
        except OSError:
            continue  # the thread ended
        name = text[text.index("(") + 1:text.rindex(")")]
        fields = text.rsplit(")", 1)[1].split()
        threads[int(task.name)] = (name, (int(fields[11]) + int(fields[12])) / CLOCK_TICKS)
    return threads


def process_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def thread_group(name: str) -> str:
    """Camera threads, the queue writer; the rest (the reporter's sinks run on Swift's pool, with libdispatch
    names) is "other"."""
    if name.startswith("vigil-cam-"):
        return "camera"
    if name in ("vigil-queue", "vigil-exec-wait"):
        return "queue"
    return "other"


def load() -> str:
    """The machine's load average (1, 5, 15 minutes): other work on a shared machine."""
    return "{:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


class Server:
    """The project's RTSP server with the mounts /main and /sub, announcing their loops."""

    def __init__(self, main: Path, sub: Path):
        self.process = subprocess.Popen(
            ["/usr/bin/python3", str(ROOT / "scripts/rtsp_server.py"), "--port", "0", "--announce-loops",
             "--media", f"main={main}", "--media", f"sub={sub}"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.process.stdout.readline().split()
        if len(line) != 2 or line[0] != "READY":
            self.process.kill()
            raise SystemExit("the RTSP server did not start")
        self.port = int(line[1])
        self.loops: dict[str, list[float]] = {}
        self.reader = threading.Thread(target=self._read_loops)
        self.reader.start()

    def _read_loops(self) -> None:
        for line in self.process.stdout:
            mount, sent = line.split()[1:]
            self.loops.setdefault(mount, []).append(float(sent))

    def url(self, mount: str) -> str:
        return f"rtsp://127.0.0.1:{self.port}/{mount}"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait()
        self.reader.join()


def register(vigil: str, state: str, cameras: int, url: str, detect_url: str | None) -> None:
    for index in range(cameras):
        detect = ["--detect-url", detect_url] if detect_url else []
        subprocess.run([vigil, "camera", "add", f"cam{index}", "--url", url, *detect, "--name", f"Bench {index}",
                        "--lat", "50.85", "--lon", "4.35", "--municipality", "Bench", "--operator", "Bench",
                        "--purpose", "benchmark", "--private", "--state-dir", state],
                       check=True, stdout=subprocess.DEVNULL)


def run(vigil: str, server: Server, cameras: int, mount: str, seconds: float, intervals: list[list[float]],
        references: bool, daemon_keys: tuple[str, ...] = ()) -> dict:
    """The daemon on `cameras` cameras detecting on /`mount` (with /main as their stream URL), and with
    `references` the three ffmpeg clients of /`mount` beside it, over a window of `seconds` after the warm-up.
    `daemon_keys` ("key: value") are added to the config's daemon section."""
    detect_url = server.url(mount) if mount != "main" else None
    with tempfile.TemporaryDirectory(prefix="vigil-stages-") as state:
        register(vigil, state, cameras, server.url("main"), detect_url)
        config = Path(state) / "bench.yaml"
        config.write_text("daemon:\n  queue_durability: full\n" + "".join(f"  {key}\n" for key in daemon_keys))
        lines: list[tuple[float, str]] = []
        daemon = subprocess.Popen([vigil, "run", "--state-dir", state, "--config", str(config), "--log-level", "debug"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        stderr_reader = threading.Thread(target=lambda: lines.extend((time.monotonic(), line) for line in daemon.stderr))
        stderr_reader.start()
        clients = {name: subprocess.Popen(["ffmpeg", "-nostdin", "-v", "error", "-rtsp_transport", "tcp",
                                           *inputs, "-i", server.url(mount), *outputs, "-f", "null", "-"],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                   for name, (inputs, outputs) in (REFERENCES.items() if references else [])}
        log = Path(state) / "alerts.jsonl"
        seen: dict[str, float] = {}
        load_before = load()
        end = time.monotonic() + WARMUP_SECONDS
        while time.monotonic() < end:
            follow_alerts(log, seen)
            time.sleep(0.01)
        # The window starts and ends at a stage line of the first camera: /proc and the account cover the same time.
        follow_alerts(log, seen)
        next_stage_line(lines, len(lines))
        start = time.monotonic()
        threads_start, cpu_start = thread_cpu(daemon.pid), process_cpu(daemon.pid)
        clients_start = {name: process_cpu(client.pid) for name, client in clients.items()}
        while time.monotonic() - start < seconds:
            follow_alerts(log, seen)
            time.sleep(0.01)
        next_stage_line(lines, len(lines))
        window = time.monotonic() - start
        threads_end, cpu_end = thread_cpu(daemon.pid), process_cpu(daemon.pid)
        clients_cpu = {name: process_cpu(client.pid) - clients_start[name] for name, client in clients.items()}
        rss = rss_kib(daemon.pid)
        for client in clients.values():
            client.terminate()
            client.wait()
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)
        stderr_reader.join()
        alerts = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    result = {"cameras": cameras, "window": window, "load": f"{load_before} / {load()}", "rss_mib": rss / 1024,
              "cpu": (cpu_end - cpu_start) / window, "references": {name: cpu / window for name, cpu in clients_cpu.items()}}
    groups: dict[str, float] = {}
    for tid, (name, cpu) in threads_end.items():
        group = thread_group(name)
        groups[group] = groups.get(group, 0) + cpu - threads_start.get(tid, (name, 0))[1]
    # Threads that ended within the window are not counted: the process total holds them.
    groups["other"] = groups.get("other", 0) + (cpu_end - cpu_start) - sum(groups.values())
    result["groups"] = {group: cpu / window for group, cpu in groups.items()}
    result["stages"] = stage_account(lines, start, start + window)
    stops = [match for match in (STOP_LINE.search(line) for _, line in lines) if match]
    result["decoded"] = sum(int(stop["frames"]) for stop in stops)
    result["skipped"] = sum(int(match["skipped"]) for match in (SKIPPED.search(line) for _, line in lines) if match)
    result["expected"] = int(cameras * FPS * (WARMUP_SECONDS + window - 1))
    onsets = []
    for alert in alerts:
        if alert["kind"] == "motion_started" and alert["id"] in seen:
            onset = since_onset(seen[alert["id"]], server.loops.get("/" + mount, []), intervals)
            if onset is not None:
                onsets.append(onset)
    result["onsets"] = onsets
    result["events"] = sum(alert["kind"] == "motion_started" for alert in alerts)
    return result


def next_stage_line(lines: list[tuple[float, str]], seen: int) -> None:
    """Waits (up to twice the worker's interval) for a stage line of cam0 after the first `seen` lines."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if any("camera=cam0 stage cpu" in line for _, line in lines[seen:]):
            return
        time.sleep(0.002)


def stage_account(lines: list[tuple[float, str]], start: float, end: float) -> dict | None:
    """Per stage, CPU seconds per second of video over the window: for each camera, its last stage line
    before `start` against its last one before `end` (video seconds from the packets demuxed)."""
    first: dict[str, dict] = {}
    last: dict[str, dict] = {}
    for moment, line in lines:
        match = STAGE_LINE.search(line)
        if not match:
            continue
        values = {key: int(value) for key, value in match.groupdict().items() if key != "camera"}
        if moment <= start:
            first[match["camera"]] = values
        elif moment <= end:
            last[match["camera"]] = values
    total = {key: 0.0 for key, _ in STAGES + [("thread", ""), ("packets", "")]}
    for camera, values in last.items():
        before = first.get(camera)
        if before is None:
            continue
        for key in total:
            total[key] += values[key] - before[key]
    if total["packets"] <= 0:
        return None
    video_seconds = total["packets"] / FPS
    account = {key: total[key] / 1000 / video_seconds for key, _ in STAGES}
    account["thread rest"] = max(0.0, total["thread"] / 1000 / video_seconds - sum(account.values()))
    account["video seconds"] = video_seconds
    return account


def percent(value: float) -> str:
    return f"{100 * value:6.2f}"


def print_stages(result: dict, duty: float, events_per_second: float) -> None:
    refs = result["references"]
    stages = result["stages"]
    print(f"window {result['window']:.0f} s; load average before / after the run: {result['load']}")
    print(f"{'stage':50} {'% of a core':>11} {'share':>7}")
    total = result["cpu"]
    rows = []
    if stages:
        rows += [(label, stages[key]) for key, label in STAGES]
        rows.append(("camera thread, rest (connecting, logging)", stages["thread rest"]))
    else:
        rows.append(("camera thread (no stage lines)", result["groups"].get("camera", 0)))
    rows.append(("queue writer thread", result["groups"].get("queue", 0)))
    counted = sum(value for _, value in rows)
    rows.append(("everything else (reporter and runtime on the pool)", max(0.0, total - counted)))
    for label, value in rows:
        print(f"{label:50} {percent(value):>11} {100 * value / total if total else 0:6.0f}%")
    print(f"{'daemon, whole process (/proc)':50} {percent(total):>11}   100%")
    print(f"{'  of which camera thread (/proc)':50} {percent(result['groups'].get('camera', 0)):>11}")
    print()
    print("references, the same stream in the same run (ffmpeg, one thread, no loop filter):")
    for name, label in (("demux", "ffmpeg -c copy -f null (demux only)"),
                        ("keyframes", "ffmpeg -skip_frame nokey (keyframes only)"),
                        ("decode", "ffmpeg decode only (every frame)")):
        print(f"{label:50} {percent(refs[name]):>11} {total / refs[name] if refs[name] else 0:6.2f}x daemon/ref")
    decode_extra = refs["decode"] - refs["keyframes"]
    floor = refs["keyframes"] + duty * decode_extra
    floor_catchup = floor + events_per_second * GOP_SECONDS * decode_extra
    print(f"{'floor: keyframes + duty x every frame':50} {percent(floor):>11} {total / floor:6.2f}x daemon/floor"
          f"   ({100 / (100 * floor):.0f} cameras per core)")
    print(f"{'floor with one GOP of catch-up per event':50} {percent(floor_catchup):>11} "
          f"{total / floor_catchup:6.2f}x daemon/floor   ({1 / floor_catchup:.0f} cameras per core)")
    print(f"daemon: {1 / total:.1f} cameras per core; duty {100 * duty:.0f}%; "
          f"frames decoded {result['decoded']} of {result['expected']} sent")
    onsets = result["onsets"]
    onset = (f"median {1000 * middle(onsets):.0f} ms, max {1000 * max(onsets):.0f} ms over {len(onsets)}"
             if onsets else "none timed")
    print(f"alert onset (motion on screen to motion_started in the log): {onset}; "
          f"{result['events']} motion events")


SCALING_HEADER = (f"{'stream':6} {'cameras':>7} {'CPU %/camera':>13} {'x decode-only':>14} {'x floor':>8} "
                  f"{'RSS MiB':>8} {'MiB/camera':>11} {'decoded/sent':>17} {'skipped':>8} {'events':>7}  "
                  "load average before / after")


def print_scaling(rows: list[tuple[str, dict, dict]]) -> None:
    for stream, result, refs in rows:
        per_camera = result["cpu"] / result["cameras"]
        floor = refs.get("floor")
        print(f"{stream:6} {result['cameras']:>7} {percent(per_camera):>13} "
              f"{per_camera / refs['decode'] if refs.get('decode') else 0:>14.2f} "
              f"{per_camera / floor if floor else 0:>8.2f} {result['rss_mib']:>8.1f} "
              f"{result['rss_mib'] / result['cameras']:>11.1f} {result['decoded']:>8}/{result['expected']:<8} "
              f"{result['skipped']:>8} {result['events']:>7}  {result['load']}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("vigil")
    parser.add_argument("main", type=Path)
    parser.add_argument("truth", type=Path)
    parser.add_argument("sub", type=Path)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--scale", default="")
    parser.add_argument("--scale-seconds", type=float, default=60)
    parser.add_argument("--skip-stages", action="store_true")
    parser.add_argument("--variant", action="append", default=[], metavar="KEY: VALUE",
                        help="run the stage account again with this daemon config key (repeatable), e.g. "
                             "'adaptive_quiet_seconds: 2' or 'adaptive_decoding: false'")
    args = parser.parse_args()
    truth = json.loads(args.truth.read_text())
    intervals = truth["motion"]
    clip_seconds = truth["frames"] / FPS
    duty = sum(end - start for start, end in intervals) / clip_seconds
    events_per_second = len(intervals) / clip_seconds
    server = Server(args.main, args.sub)
    try:
        if not args.skip_stages:
            print(f"\n== Where one camera's CPU goes: {args.main.name} over RTSP on 127.0.0.1 "
                  f"({truth['description']}; 1080p15, GOP 50, {100 * duty:.0f}% motion, "
                  f"{8 * args.main.stat().st_size / clip_seconds / 1e6:.2f} Mbit/s), the daemon's defaults")
            print_stages(run(args.vigil, server, 1, "main", args.seconds, intervals, references=True),
                         duty, events_per_second)
            for variant in args.variant:
                print(f"\n== The same with daemon.{variant}")
                print_stages(run(args.vigil, server, 1, "main", args.seconds, intervals, references=True,
                                 daemon_keys=(variant,)), duty, events_per_second)
        counts = [int(value) for value in args.scale.split(",") if value]
        if counts:
            print(f"\n== Scaling: N cameras of one shared stream, {args.scale_seconds:.0f} s after a "
                  f"{WARMUP_SECONDS} s warm-up each; references: ffmpeg beside the daemon's first run of each stream")
            rows = []
            for stream, mount in (("1080p", "main"), ("360p", "sub")):
                refs: dict[str, float] = {}
                for index, cameras in enumerate(counts):
                    result = run(args.vigil, server, cameras, mount, args.scale_seconds, intervals,
                                 references=index == 0)
                    if index == 0:
                        refs = dict(result["references"])
                        refs["floor"] = refs["keyframes"] + duty * (refs["decode"] - refs["keyframes"])
                        print(f"{stream} references: demux only {percent(refs['demux']).strip()}%, keyframes only "
                              f"{percent(refs['keyframes']).strip()}%, every frame {percent(refs['decode']).strip()}%,"
                              f" floor {percent(refs['floor']).strip()}% of a core")
                        print(SCALING_HEADER)
                    rows.append((stream, result, refs))
                    print_scaling([rows[-1]])
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
