#!/usr/bin/python3
"""Runs every command shown in the README and docs/*.md, so that a doc example that no longer works
fails `make test`; also fails on a relative link to a missing file or heading.

    scripts/check-doc-commands.py [--vigil PATH] [FILE.md ...]

Fenced blocks, by their info string (see docs/testing.md, "The documentation check"):
  ```sh               each line is a command (a trailing backslash continues it); "# exits N" expects status N
  ```console          lines starting with "$ " are commands; with "output", their stdout must match the lines shown
  ```LANG file=NAME   the block is written to NAME in the scratch directory
  ... no-run          shown, never run (changes the machine, needs systemd or the network, runs until stopped)
The commands of each file run one after the other (each in its own bash) in a fresh scratch directory
holding a link to fixtures/, with vigil first on the PATH and VIGIL_STATE_DIR inside the scratch directory.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

LINK = re.compile(r"\]\(([^)\s]+)\)")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FENCE = re.compile(r"^```(\S*)(.*)$")
EXITS = re.compile(r"#.*\bexits (\d+)\b")
TIMEOUT = 120  # seconds for one command; the doc examples are meant to be quick


class Step:
    """One thing to do in a file's session: write a file, or run a command (expecting a status and,
    for a console block with "output", exactly some stdout)."""

    def __init__(self, line, command=None, status=0, output=None, file=None, content=None):
        self.line, self.command, self.status, self.output = line, command, status, output
        self.file, self.content = file, content


def blocks(path):
    """(first line number, info string, body lines) of each fenced block."""
    lines = open(path, encoding="utf-8").read().split("\n")
    index = 0
    while index < len(lines):
        match = FENCE.match(lines[index])
        if not match:
            index += 1
            continue
        start, info = index + 1, (match.group(1) + " " + match.group(2)).split()
        end = start
        while end < len(lines) and lines[end] != "```":
            end += 1
        if info:
            yield start + 1, info, lines[start:end]
        index = end + 1


def logical_lines(first, body):
    """(line number, text) of each command line, backslash continuations joined."""
    pending, start = "", first
    for number, text in enumerate(body, first):
        if not pending:
            start = number
        if text.endswith("\\"):
            pending += text[:-1] + " "
            continue
        yield start, pending + text
        pending = ""


def steps(path):
    """What to do for `path`, and how many blocks it leaves out."""
    result, skipped = [], 0
    for first, info, body in blocks(path):
        language, options = info[0], info[1:]
        named = [option[len("file="):] for option in options if option.startswith("file=")]
        if named:
            result.append(Step(first, file=named[0], content="\n".join(body) + "\n"))
        elif "no-run" in options:
            skipped += 1
        elif language == "sh":
            for number, text in logical_lines(first, body):
                if text.strip() and not text.lstrip().startswith("#"):
                    expected = EXITS.search(text)
                    result.append(Step(number, text, int(expected.group(1)) if expected else 0))
        elif language == "console":
            compare = "output" in options
            for number, text in logical_lines(first, body):
                if text.startswith("$ "):
                    result.append(Step(number, text[2:], output=[] if compare else None))
                elif result and result[-1].output is not None and result[-1].command:
                    result[-1].output.append(text)
    return result, skipped


def run(path, vigil):
    """Runs the steps of one Markdown file; returns (commands run, blocks left out, failures)."""
    todo, skipped = steps(path)
    scratch = tempfile.mkdtemp(prefix="vigil-doc-")
    failures, ran = [], 0
    try:
        os.symlink(os.path.join(ROOT, "fixtures"), os.path.join(scratch, "fixtures"))
        environment = dict(os.environ, PATH=os.path.dirname(vigil) + os.pathsep + os.environ.get("PATH", ""),
                           VIGIL_STATE_DIR=os.path.join(scratch, "state"), HOME=scratch, TZ="UTC")
        for step in todo:
            where = f"{os.path.relpath(path, ROOT)}:{step.line}"
            if step.file:
                with open(os.path.join(scratch, step.file), "w", encoding="utf-8") as handle:
                    handle.write(step.content)
                continue
            ran += 1
            try:
                done = subprocess.run(["bash", "-c", step.command], cwd=scratch, env=environment,
                                      stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                failures.append(f"{where}: still running after {TIMEOUT} s: {step.command}")
                continue
            if done.returncode != step.status:
                detail = (done.stderr.strip() or done.stdout.strip()).splitlines()[-3:]
                failures.append(f"{where}: exit status {done.returncode} (expected {step.status}): "
                                f"{step.command}\n    " + "\n    ".join(detail))
            elif step.output is not None and done.stdout.rstrip("\n").split("\n") != step.output:
                failures.append(f"{where}: output differs from the doc: {step.command}\n"
                                f"    doc:    {step.output}\n    actual: {done.stdout.rstrip().splitlines()}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return ran, skipped, failures


def anchors(path):
    """GitHub's anchors of the headings of a Markdown file (lowercase, punctuation dropped, spaces to -)."""
    found, fenced = set(), False
    for line in open(path, encoding="utf-8"):
        fenced = fenced != line.startswith("```")
        if not fenced and line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            found.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return found


def broken_links(path):
    """Relative links of `path` to a file that does not exist or to a heading it does not have."""
    problems = []
    for number, line in enumerate(open(path, encoding="utf-8"), 1):
        for target in LINK.findall(line):
            if re.match(r"^[a-z]+:", target):
                continue
            name, _, anchor = target.partition("#")
            linked = os.path.normpath(os.path.join(os.path.dirname(path), name)) if name else path
            if not os.path.exists(linked):
                problems.append(f"{os.path.relpath(path, ROOT)}:{number}: link to a missing file: {target}")
            elif anchor and linked.endswith(".md") and anchor not in anchors(linked):
                problems.append(f"{os.path.relpath(path, ROOT)}:{number}: link to a missing heading: {target}")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vigil", default=os.environ.get("VIGIL", os.path.join(ROOT, ".build/debug/vigil")))
    parser.add_argument("files", nargs="*")
    arguments = parser.parse_args()
    vigil = os.path.abspath(arguments.vigil)
    if not os.access(vigil, os.X_OK):
        sys.exit(f"check-doc-commands: no vigil binary at {vigil}: build it first (swift build), or pass --vigil")
    files = arguments.files or [os.path.join(ROOT, "README.md")] + sorted(
        os.path.join(ROOT, "docs", name) for name in os.listdir(os.path.join(ROOT, "docs")) if name.endswith(".md"))
    total_ran, total_skipped, all_failures = 0, 0, []
    for path in files:
        ran, skipped, failures = run(path, vigil)
        total_ran, total_skipped = total_ran + ran, total_skipped + skipped
        all_failures += failures + broken_links(path)
    for failure in all_failures:
        print(failure, file=sys.stderr)
    print(f"doc commands: {total_ran} run in {len(files)} files, {len(all_failures)} failed, "
          f"{total_skipped} blocks marked no-run")
    sys.exit(1 if all_failures else 0)


if __name__ == "__main__":
    main()
