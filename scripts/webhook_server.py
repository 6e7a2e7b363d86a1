#!/usr/bin/python3
"""A webhook receiver for tests: records every request, fails the first N.

Plain Python 3 standard library.

Usage:
    webhook_server.py --record FILE [--fail-first N] [--port N]
                      [--redirect STATUS:LOCATION] [--trickle N]

Listens on 127.0.0.1:N (N=0, the default, picks a free port), prints
"READY <port>" on stdout, then answers every POST: the first N requests get
503 Service Unavailable, later ones 200 OK.  Each request is appended to FILE
as one JSON line, flushed, before it is answered:

    {"n": 1, "t": <arrival, seconds since 1970>, "method": "POST", "path": "/hook",
     "key": "<Idempotency-Key header or null>", "status": 503,
     "body": "<the request body as text>"}

--redirect 307:http://127.0.0.1:9/x answers every request with that status
and Location (a path such as /hook makes a redirect loop); --trickle N answers
200 with a body of N bytes sent five a second, one at a time (a receiver that
holds the connection, fast enough for a stall detector not to see it).  GET requests are recorded and answered like POSTs.

SIGTERM or SIGINT exits with status 0.  Log lines go to stderr.
"""

import argparse
import json
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", required=True, help="file that gets one JSON line per request")
    parser.add_argument("--fail-first", type=int, default=0, help="answer this many requests with 503")
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: a free one)")
    parser.add_argument("--redirect", help="STATUS:LOCATION: answer every request with this redirect")
    parser.add_argument("--trickle", type=int, default=0, help="answer 200 with N bytes, five a second")
    options = parser.parse_args()

    lock = threading.Lock()
    record = open(options.record, "a", encoding="utf-8")
    state = {"count": 0}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length).decode("utf-8", "replace")
            with lock:
                state["count"] += 1
                number = state["count"]
                status = 503 if number <= options.fail_first else 200
                record.write(json.dumps({"n": number, "t": time.time(), "method": self.command, "path": self.path,
                                         "key": self.headers.get("Idempotency-Key"),
                                         "status": status, "body": body}) + "\n")
                record.flush()
            if options.redirect:
                code, location = options.redirect.split(":", 1)
                self.send_response(int(code))
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if options.trickle and status == 200:
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(options.trickle))
                self.end_headers()
                for _ in range(options.trickle):
                    self.wfile.write(b".")
                    self.wfile.flush()
                    time.sleep(0.2)
                return
            answer = b"failing on purpose\n" if status == 503 else b"ok\n"
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        do_GET = do_POST

        def log_message(self, format, *args):
            sys.stderr.write("webhook_server: " + format % args + "\n")

    server = ThreadingHTTPServer(("127.0.0.1", options.port), Handler)
    server.daemon_threads = True

    def stop(signum, frame):
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"READY {server.server_address[1]}", flush=True)
    server.serve_forever()
    record.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
