#!/usr/bin/python3
"""A hostile RTSP server on 127.0.0.1 for Vigil's tests: a camera that misbehaves on purpose.

Plain Python 3 standard library (threads, sockets).

Usage:
    hostile_rtsp_server.py --mode redirect|huge-sdp [--port N] [--sdp-bytes N]

Prints "READY <port>" on stdout once it listens.  Every connection is answered
in the chosen mode:

    redirect   OPTIONS gets 200; every other request gets "302 Found" with a
               Location pointing back at this server (a new path each time):
               a client without a redirect limit loops for ever.
    huge-sdp   OPTIONS gets 200; DESCRIBE gets "200 OK" announcing an SDP of
               --sdp-bytes (default 200,000,000) and streams filler lines until
               all are sent or the client goes away.

Commands on stdin, one per line, answered on stdout:
    count      "OK count <connections> <bytes> <closed>": connections accepted,
               bytes of SDP body sent and connections ended, so far.

EOF on stdin, SIGTERM or SIGINT end it (exit 0).
"""

import argparse
import signal
import socket
import sys
import threading

LISTEN_ADDRESS = "127.0.0.1"


class Stats:
    """What the server has done, shared by the connection threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.connections = 0
        self.body_bytes = 0
        self.closed = 0

    def add(self, connections: int = 0, body_bytes: int = 0, closed: int = 0) -> None:
        with self.lock:
            self.connections += connections
            self.body_bytes += body_bytes
            self.closed += closed


def read_request(conn: socket.socket, pending: bytearray) -> tuple[str, str]:
    """The next request's method and CSeq; ("", "") when the client closed."""
    while b"\r\n\r\n" not in pending:
        data = conn.recv(4096)
        if not data:
            return "", ""
        pending += data
        if len(pending) > 65536:
            return "", ""
    head, _, rest = bytes(pending).partition(b"\r\n\r\n")
    pending[:] = rest
    lines = head.decode("latin-1").split("\r\n")
    cseq = next((line.split(":", 1)[1].strip() for line in lines if line.lower().startswith("cseq:")), "0")
    return lines[0].split(" ")[0], cseq


def serve(conn: socket.socket, args: argparse.Namespace, port: int, stats: Stats, serial: int) -> None:
    """Answer one client until it goes away; counts the connection as closed when it is."""
    try:
        answer(conn, args, port, stats, serial)
    finally:
        conn.close()
        stats.add(closed=1)


def answer(conn: socket.socket, args: argparse.Namespace, port: int, stats: Stats, serial: int) -> None:
    """The requests of one client and their answers."""
    pending = bytearray()
    try:
        while True:
            method, cseq = read_request(conn, pending)
            if not method:
                return
            if method == "OPTIONS":
                conn.sendall(f"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\n"
                             "Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n\r\n".encode())
            elif args.mode == "redirect":
                conn.sendall(f"RTSP/1.0 302 Found\r\nCSeq: {cseq}\r\n"
                             f"Location: rtsp://{LISTEN_ADDRESS}:{port}/again{serial}\r\n\r\n".encode())
            else:
                send_huge_sdp(conn, cseq, args.sdp_bytes, stats)
                return
    except OSError:
        return


def send_huge_sdp(conn: socket.socket, cseq: str, size: int, stats: Stats) -> None:
    """A DESCRIBE answer whose SDP body is `size` bytes of filler attribute lines."""
    conn.sendall(f"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nContent-Type: application/sdp\r\n"
                 f"Content-Length: {size}\r\n\r\n".encode())
    line = b"a=x-filler:" + b"0" * 1012 + b"\r\n"  # 1 KiB
    left = size
    while left > 0:
        chunk = line[:left]
        conn.sendall(chunk)
        left -= len(chunk)
        stats.add(body_bytes=len(chunk))


def main(argv: list[str]) -> int:
    """Entry point; returns the process exit status."""
    parser = argparse.ArgumentParser(description="A misbehaving RTSP server on 127.0.0.1.")
    parser.add_argument("--mode", choices=("redirect", "huge-sdp"), required=True)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    parser.add_argument("--sdp-bytes", type=int, default=200_000_000)
    args = parser.parse_args(argv)
    if not 0 <= args.sdp_bytes <= 1 << 32:
        parser.error("--sdp-bytes must be within 0..4 GiB")

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((LISTEN_ADDRESS, args.port))
    listener.listen(64)
    port = listener.getsockname()[1]
    stats = Stats()

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            stats.add(connections=1)
            threading.Thread(target=serve, args=(conn, args, port, stats, stats.connections), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"READY {port}", flush=True)
    try:
        for command in sys.stdin:
            if command.strip() == "count":
                with stats.lock:
                    print(f"OK count {stats.connections} {stats.body_bytes} {stats.closed}", flush=True)
            elif command.strip():
                print(f"ERR {command.strip()}", flush=True)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
