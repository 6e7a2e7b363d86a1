#!/usr/bin/python3
"""Could the slice QP wake adaptive decoding on a constant-bit-rate stream? (issue 16; docs/benchmarks-stages.md)

A CBR encoder keeps the packet sizes flat by moving the quantiser, so the picture's complexity should show in
bytes x qscale (qscale = 2^(QP/6)). For each CLIP.mp4 (H.264, with the generator's CLIP.json ground truth) this
reads every P-frame's size (ffprobe) and the QP of its first slice (`-bsf:v trace_headers`: pic_init_qp_minus26
+ slice_qp_delta, no picture decoded) and scores three signals, bytes, qscale and bytes x qscale, as a wake-up
would see them live: the mean over the last second of P-frames against the mean of the 4 s before (with
--same-gop-position: each P-frame against the same position in the 3 GOPs before, averaged over the last
second). It prints:

- walker: the highest score in the first second of the first motion interval (what a wake-up must react to);
- quiet: the median and largest score while nothing moves (outside motion and the 5 s after it);
- quiet >= walker: the share of quiet instants scoring at least as high as the walker (0% = separable);
- with the threshold set at that walker score (an oracle: the best threshold for this clip alone), the
  fruitless wake-ups and the share of frames a feed would decode (a wake-up or motion decodes 5 s, as
  `adaptive_quiet_seconds` does; keyframes are always decoded).

Usage: bench/cbr_qp_signal.py [--same-gop-position] CLIP.mp4 [CLIP.mp4 ...]
"""

import argparse
import json
import re
import statistics
import subprocess
import sys

TAIL_SECONDS = 5.0
WINDOW = 15  # P-frames in the scored second (15 fps)
BASE = 60  # P-frames in the 4 s it is compared with
GOPS = 3  # GOPs compared with --same-gop-position
SIGNALS = {
    "bytes": lambda size, qp: size,
    "qscale": lambda size, qp: 2 ** (qp / 6),
    "bytes x qscale": lambda size, qp: size * 2 ** (qp / 6),
}


def packets(clip):
    """(pts seconds, bytes, keyframe, QP of the first slice) of each packet, in presentation order."""
    trace = subprocess.run(["ffmpeg", "-hide_banner", "-i", clip, "-c", "copy", "-bsf:v", "trace_headers",
                            "-f", "null", "-"], capture_output=True, text=True, check=True).stderr
    qps, init = [], None
    for line in trace.splitlines():
        field = re.search(r"\s(pic_init_qp_minus26|first_mb_in_slice|slice_qp_delta)\s.*= (-?\d+)$", line)
        if not field:
            continue
        name, value = field.group(1), int(field.group(2))
        if name == "pic_init_qp_minus26":
            init = value
        elif name == "first_mb_in_slice":
            first = value == 0
        elif first:
            qps.append(26 + init + value)
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries",
                            "packet=pts_time,size,flags", "-of", "csv=p=0", clip],
                           capture_output=True, text=True, check=True).stdout.split()
    if len(probe) != len(qps):
        sys.exit(f"{clip}: {len(probe)} packets but {len(qps)} pictures in trace_headers; use single-stream H.264")
    rows = []
    for line, qp in zip(probe, qps):
        pts, size, flags = line.split(",")
        rows.append((float(pts), int(size), flags.startswith("K"), qp))
    return sorted(rows)


def scores(rows, signal, same_gop_position):
    """{pts: mean of the signal over the last WINDOW P-frames / mean over the BASE P-frames before}, or with
    `same_gop_position` the mean over the last WINDOW P-frames of each one's ratio to the same position in the
    GOPS GOPs before."""
    if same_gop_position:
        keyframes = [index for index, row in enumerate(rows) if row[2]] + [len(rows)]
        ratios = []
        for gop in range(GOPS, len(keyframes) - 1):
            for position in range(1, keyframes[gop + 1] - keyframes[gop]):
                before = [rows[keyframes[gop - back] + position] for back in range(1, GOPS + 1)
                          if keyframes[gop - back] + position < keyframes[gop - back + 1]]
                if len(before) == GOPS:
                    pts, size, _, qp = rows[keyframes[gop] + position]
                    ratios.append((pts, signal(size, qp) / statistics.mean(signal(r[1], r[3]) for r in before)))
        return {ratios[index][0]: statistics.mean(value for _, value in ratios[index - WINDOW + 1:index + 1])
                for index in range(WINDOW - 1, len(ratios))}
    values = [(pts, signal(size, qp)) for pts, size, key, qp in rows if not key]
    result = {}
    for index in range(BASE + WINDOW, len(values)):
        recent = statistics.mean(value for _, value in values[index - WINDOW + 1:index + 1])
        base = statistics.mean(value for _, value in values[index - WINDOW - BASE + 1:index - WINDOW + 1])
        result[values[index][0]] = recent / base
    return result


def report(clip, same_gop_position):
    truth = json.load(open(clip[:-4] + ".json"))
    if not truth["motion"]:
        print(f"{clip}: no motion in the ground truth, skipped")
        return
    rows = packets(clip)
    onset = truth["motion"][0][0]
    moving = lambda pts: any(start <= pts < end for start, end in truth["motion"])
    near_motion = lambda pts: any(start - 1 <= pts < end + TAIL_SECONDS for start, end in truth["motion"])
    for name, signal in SIGNALS.items():
        score = scores(rows, signal, same_gop_position)
        first_second = [value for pts, value in score.items() if onset <= pts < onset + 1]
        if not first_second:
            print(f"{clip.split('/')[-1]:26} {name:15} no score in the walker's first second (too few GOPs before)")
            continue
        walker = max(first_second)
        quiet = [value for pts, value in score.items() if not near_motion(pts)]
        awake_until, fruitless, decoded = -1.0, 0, 0
        for pts, size, key, qp in rows:
            if moving(pts):
                awake_until = max(awake_until, pts + TAIL_SECONDS)
            elif pts > awake_until and score.get(pts, 0) >= walker:
                fruitless += 1
                awake_until = pts + TAIL_SECONDS
            decoded += key or pts <= awake_until
        share = sum(value >= walker for value in quiet) / len(quiet)
        print(f"{clip.split('/')[-1]:26} {name:15} walker {walker:.3f}  quiet {statistics.median(quiet):.3f} "
              f"(max {max(quiet):.3f})  quiet >= walker {100 * share:3.0f}%  at that threshold: {fruitless} "
              f"fruitless wake-ups in {rows[-1][0]:.0f} s, {100 * decoded / len(rows):.0f}% of frames decoded")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--same-gop-position", action="store_true",
                        help="score each P-frame against the same position in the GOPs before")
    parser.add_argument("clips", nargs="+", metavar="CLIP.mp4")
    arguments = parser.parse_args()
    for path in arguments.clips:
        report(path, arguments.same_gop_position)
