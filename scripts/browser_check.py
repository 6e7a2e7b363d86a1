#!/usr/bin/python3
"""Loads a page in headless Chromium (Debian's `chromium`) and drives it over the DevTools protocol
on a pipe (--remote-debugging-pipe: commands on fd 3, replies on fd 4, NUL-terminated JSON).

    browser_check.py URL [--script JS] --until JS [--timeout S] [--eval JS] [--screenshot FILE]

Runs --script once the first page has loaded (to fill in and submit a login form, say), waits until the JavaScript expression --until is true in the page (polled every 200 ms, without
reloading the page), then prints the JSON value of --eval and saves a screenshot. Exit 0 when the
condition held, 1 on timeout (the value and the screenshot are still produced), 2 on a browser failure.
"""
import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
import time

# The binary itself: Debian's /usr/bin/chromium wrapper script loses the pipe descriptors.
CHROMIUM = "/usr/lib/chromium/chromium"


class Browser:
    def __init__(self, width, height):
        self.profile = tempfile.TemporaryDirectory(prefix="vigil-chromium-")
        to_browser_read, self.to_browser = os.pipe()
        self.from_browser, from_browser_write = os.pipe()
        # The browser's fd 3 reads our commands, its fd 4 writes replies.
        def child_fds():
            # Move both ends clear of 3 and 4 first (a pipe may already sit there), then place them;
            # dup2 onto itself would keep close-on-exec.
            low, high = os.dup(to_browser_read), os.dup(from_browser_write)
            os.dup2(low, 3)
            os.dup2(high, 4)
            os.set_inheritable(3, True)
            os.set_inheritable(4, True)
        self.process = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
             "--no-first-run", "--no-default-browser-check", f"--user-data-dir={self.profile.name}",
             f"--window-size={width},{height}", "about:blank"],
            # dup2 in the child after fork: close_fds would close 3 and 4 again.
            preexec_fn=child_fds, close_fds=False,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser_read)
        os.close(from_browser_write)
        self.buffer = b""
        self.next_id = 0

    def call(self, method, params=None, session=None, timeout=30):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.time() + timeout
        while time.time() < deadline:
            while b"\0" not in self.buffer:
                chunk = os.read(self.from_browser, 1 << 20)
                if not chunk:
                    raise RuntimeError("the browser closed its pipe")
                self.buffer += chunk
            raw, self.buffer = self.buffer.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
        raise RuntimeError(f"{method}: no reply in {timeout} s")

    def close(self):
        try:
            self.call("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.profile.cleanup()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--script", help="JavaScript run once after the first page loaded")
    parser.add_argument("--until", default="true")
    parser.add_argument("--eval", default="document.title")
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--screenshot")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=900)
    args = parser.parse_args()
    browser = Browser(args.width, args.height)
    try:
        target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        browser.call("Page.enable", session=session)
        browser.call("Page.navigate", {"url": args.url}, session=session)

        def evaluate(expression):
            result = browser.call("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=session)
            return result.get("result", {}).get("value")

        deadline = time.time() + args.timeout
        if args.script:
            while time.time() < deadline and evaluate("document.readyState") != "complete":
                time.sleep(0.1)
            evaluate(args.script)
        held = False
        while time.time() < deadline:
            try:
                if evaluate(args.until):
                    held = True
                    break
            except RuntimeError:
                pass
            time.sleep(0.2)
        print(json.dumps({"held": held, "value": evaluate(args.eval)}))
        if args.screenshot:
            shot = browser.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, session=session)
            with open(args.screenshot, "wb") as file:
                file.write(base64.b64decode(shot["data"]))
        return 0 if held else 1
    except RuntimeError as error:
        print(f"browser_check: {error}", file=sys.stderr)
        return 2
    finally:
        browser.close()


if __name__ == "__main__":
    sys.exit(main())
