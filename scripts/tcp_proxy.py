#!/usr/bin/python3
"""TCP proxy that injects network faults between a client and a server.

Plain Python 3 standard library (asyncio, one thread for stdin).

Usage:
    tcp_proxy.py --target HOST:PORT [--listen-port N]

The proxy listens on 127.0.0.1:N (N=0 picks a free port), prints
"READY <port>" on stdout, then forwards every accepted connection to
HOST:PORT.  Commands arrive on stdin, one per line; each is answered on
stdout with "OK <command>" ("ERR <line>" for an unknown command,
"ERR <command> <reason>" if the listener cannot be reopened):

    pass       forward normally (the initial mode); reopens the listener
               after `refuse` on the same port.
    stall      keep every connection open but forward no byte in either
               direction (the proxy stops reading both sockets; bytes it had
               already queued for writing still drain); new connections are
               accepted, connected to the target and stalled too.  `pass`
               resumes them.
    reset      abort every current connection (client and target side) with
               a TCP RST (SO_LINGER 0); then behave as `pass`.
    blackhole  accept new connections but never connect them to the target
               and never send them anything (what they send is discarded).
               Existing connections keep forwarding.
    refuse     close the listening socket: new connections get ECONNREFUSED.
               Existing connections keep forwarding.
    cut        the link goes down: new connections are refused and current
               ones forward nothing (as `stall`).  `pass` restores the link:
               the listener reopens and the backlog is delivered.
    rate N     shape every connection (both directions) to N bytes per second
               with a 50 ms burst; `rate 0` (the initial setting) removes the
               limit.  What waits for the rate is held by the proxy (a link
               with a deep buffer), up to 64 MiB per direction.
    delay S    forward each chunk S seconds (a float) after it was read;
               `delay 0` (initial) forwards at once.  Combines with `rate`.
    count      answer "OK count <n>": connections accepted so far.

EOF on stdin, SIGTERM or SIGINT closes every connection and exits with 0.
Log lines go to stderr.
"""

import argparse
import asyncio
import enum
import logging
import signal
import socket
import struct
import sys
import threading
from typing import Optional

LISTEN_ADDRESS = "127.0.0.1"

log = logging.getLogger("tcp_proxy")


class Mode(enum.Enum):
    """How the proxy treats connections; set by the stdin commands."""

    PASS = "pass"
    STALL = "stall"
    BLACKHOLE = "blackhole"
    REFUSE = "refuse"
    CUT = "cut"


class Shaping:
    """The link's rate limit and delay, shared by every connection (set by `rate` and `delay`)."""

    TICK = 0.01                 # seconds between two releases of shaped bytes
    MAX_QUEUED = 64 << 20       # bytes held per direction before the sender is paused

    def __init__(self) -> None:
        self.rate = 0           # bytes per second; 0 = unlimited
        self.delay = 0.0        # seconds

    @property
    def active(self) -> bool:
        return self.rate > 0 or self.delay > 0


class Endpoint(asyncio.Protocol):
    """One socket of a proxied connection: the client side or the target side.

    What is read here goes to the peer endpoint of the same Connection, or is
    held while that is impossible (stalled, or target not connected yet).
    """

    def __init__(self, connection: "Connection") -> None:
        self.connection = connection
        self.transport: Optional[asyncio.Transport] = None
        self.held = bytearray()     # read but not forwarded yet
        self.got_eof = False        # the remote end shut down its writing side
        self.eof_forwarded = False  # ...and the peer endpoint has been shut down too
        self.write_blocked = False  # our write buffer is above its high-water mark
        self.shaped: list[tuple[float, bytes]] = []  # (release time, chunk) waiting for delay and rate
        self.shaped_bytes = 0
        self.allowance = 0.0        # bytes the rate allows now
        self.last_release = 0.0
        self.release_handle: Optional[asyncio.TimerHandle] = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        # Deferred on purpose: the transport registers its reader in a callback
        # queued after connection_made(), and on Python 3.11.2 that registration
        # silently undoes a pause_reading() made inside connection_made().
        asyncio.get_running_loop().call_soon(self.connection.endpoint_opened, self)

    def data_received(self, data: bytes) -> None:
        self.connection.receive(self, data)

    def eof_received(self) -> bool:
        return self.connection.endpoint_got_eof(self)

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self.connection.close()

    def pause_writing(self) -> None:
        self.write_blocked = True
        self.connection.update_reading()

    def resume_writing(self) -> None:
        self.write_blocked = False
        self.connection.update_reading()

    def set_reading(self, wanted: bool) -> None:
        """Pause or resume reading from this socket."""
        if self.transport is None or self.transport.is_closing():
            return
        if wanted and not self.transport.is_reading():
            self.transport.resume_reading()
        elif not wanted and self.transport.is_reading():
            self.transport.pause_reading()

    def abort_with_reset(self) -> None:
        """Drop the socket at once, making the kernel send a TCP RST."""
        if self.transport is None or self.transport.is_closing():
            return
        sock = self.transport.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.transport.abort()

    def close(self) -> None:
        """Close the socket after flushing what is already queued for it."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()


class Connection:
    """An accepted client connection and, unless blackholed, its target connection."""

    def __init__(self, proxy: "Proxy", number: int) -> None:
        self.proxy = proxy
        self.number = number
        self.client = Endpoint(self)
        self.target: Optional[Endpoint] = None
        self.blackholed = False
        self.closed = False

    def peer_of(self, endpoint: Endpoint) -> Optional[Endpoint]:
        """The endpoint on the other side of `endpoint`, if it is connected."""
        peer = self.target if endpoint is self.client else self.client
        if peer is None or peer.transport is None:
            return None
        return peer

    def forwarding_peer(self, endpoint: Endpoint) -> Optional[Endpoint]:
        """Where bytes read from `endpoint` may be written right now, if anywhere."""
        if self.closed or self.proxy.mode in (Mode.STALL, Mode.CUT):
            return None
        return self.peer_of(endpoint)

    def endpoint_opened(self, endpoint: Endpoint) -> None:
        """Called once the client is accepted or the target connection is made."""
        if self.closed:
            endpoint.close()
            return
        if endpoint is self.client:
            self.proxy.client_accepted(self)
        self.update_reading()

    def receive(self, endpoint: Endpoint, data: bytes) -> None:
        """Forward bytes read from `endpoint`, hold them, or drop them if blackholed."""
        if self.blackholed or self.closed:
            return
        peer = self.forwarding_peer(endpoint)
        if peer is None:
            endpoint.held += data
            endpoint.set_reading(False)
        elif self.proxy.shaping.active or endpoint.shaped:
            loop = asyncio.get_running_loop()
            endpoint.shaped.append((loop.time() + self.proxy.shaping.delay, data))
            endpoint.shaped_bytes += len(data)
            self.release_shaped(endpoint)
        else:
            peer.transport.write(data)

    def release_shaped(self, endpoint: Endpoint) -> None:
        """Forward what `endpoint` read once its delay is over, within the rate; re-arm a timer
        while some is left, and pause reading `endpoint` while too much waits."""
        endpoint.release_handle = None
        peer = self.forwarding_peer(endpoint)
        if peer is None:
            return  # stalled or cut: `update_reading` calls again on `pass`
        shaping = self.proxy.shaping
        loop = asyncio.get_running_loop()
        now = loop.time()
        if shaping.rate > 0:
            burst = max(1500.0, shaping.rate * 0.05)
            endpoint.allowance = min(burst, endpoint.allowance + (now - endpoint.last_release) * shaping.rate)
        endpoint.last_release = now
        while endpoint.shaped and endpoint.shaped[0][0] <= now:
            due, chunk = endpoint.shaped[0]
            if shaping.rate > 0:
                if endpoint.allowance < 1:
                    break
                size = min(len(chunk), int(endpoint.allowance))
                endpoint.allowance -= size
            else:
                size = len(chunk)
            peer.transport.write(chunk[:size])
            endpoint.shaped_bytes -= size
            if size == len(chunk):
                endpoint.shaped.pop(0)
            else:
                endpoint.shaped[0] = (due, chunk[size:])
        endpoint.set_reading(self.may_read(endpoint))
        if endpoint.shaped and endpoint.release_handle is None:
            endpoint.release_handle = loop.call_later(Shaping.TICK, self.release_shaped, endpoint)

    def endpoint_got_eof(self, endpoint: Endpoint) -> bool:
        """Pass a half-close on to the peer once the held bytes are through.

        Returns True to keep `endpoint` open for writing (asyncio protocol contract).
        """
        if self.blackholed:
            self.close()
            return False
        endpoint.got_eof = True
        self.deliver_held(endpoint)
        return True

    def deliver_held(self, endpoint: Endpoint) -> None:
        """Forward what `endpoint` read while forwarding was impossible, EOF included;
        close the connection once both directions have ended."""
        peer = self.forwarding_peer(endpoint)
        if peer is None:
            return
        if endpoint.held:
            data = bytes(endpoint.held)
            endpoint.held.clear()
            if self.proxy.shaping.active or endpoint.shaped:
                endpoint.shaped.append((asyncio.get_running_loop().time() + self.proxy.shaping.delay, data))
                endpoint.shaped_bytes += len(data)
            else:
                peer.transport.write(data)
        if endpoint.got_eof and not endpoint.eof_forwarded:
            endpoint.eof_forwarded = True
            peer.transport.write_eof()
            if peer.eof_forwarded:
                self.close()

    def may_read(self, endpoint: Endpoint) -> bool:
        """Whether reading `endpoint` now is useful.

        A blackholed client is always read (and its bytes dropped) so that its
        disconnection is noticed; otherwise read only what can be forwarded.
        """
        if self.blackholed:
            return True
        peer = self.forwarding_peer(endpoint)
        return peer is not None and not peer.write_blocked and endpoint.shaped_bytes < Shaping.MAX_QUEUED

    def update_reading(self) -> None:
        """Apply the current mode and flow control to both sides."""
        for endpoint in (self.client, self.target):
            if endpoint is None or endpoint.transport is None:
                continue
            self.deliver_held(endpoint)
            if endpoint.shaped and endpoint.release_handle is None:
                self.release_shaped(endpoint)
            endpoint.set_reading(self.may_read(endpoint))

    def close(self) -> None:
        """Close both sides gracefully (FIN); safe to call more than once."""
        if self.closed:
            return
        self.closed = True
        self.client.close()
        if self.target is not None:
            self.target.close()
        self.proxy.forget(self)

    def reset(self) -> None:
        """Abort both sides with a TCP RST."""
        self.closed = True
        self.client.abort_with_reset()
        if self.target is not None:
            self.target.abort_with_reset()
        self.proxy.forget(self)


class Proxy:
    """Listening socket, live connections and the current fault mode."""

    def __init__(self, listen_port: int, target_host: str, target_port: int) -> None:
        self.listen_port = listen_port
        self.target_host = target_host
        self.target_port = target_port
        self.mode = Mode.PASS
        self.listener: Optional[asyncio.AbstractServer] = None
        self.connections: set[Connection] = set()
        self.connect_tasks: set[asyncio.Task] = set()  # strong references while running
        self.accepted_count = 0
        self.shaping = Shaping()

    async def open_listener(self) -> None:
        """Listen on LISTEN_ADDRESS:listen_port, remembering the port picked for 0."""
        if self.listener is not None:
            return
        loop = asyncio.get_running_loop()
        self.listener = await loop.create_server(
            self.new_client_endpoint, LISTEN_ADDRESS, self.listen_port, reuse_address=True)
        self.listen_port = self.listener.sockets[0].getsockname()[1]

    def close_listener(self) -> None:
        """Stop listening; connections already accepted are not affected."""
        if self.listener is not None:
            self.listener.close()
            self.listener = None

    def new_client_endpoint(self) -> Endpoint:
        """Protocol factory for the listener: one new Connection per accepted socket."""
        self.accepted_count += 1
        connection = Connection(self, self.accepted_count)
        self.connections.add(connection)
        return connection.client

    def client_accepted(self, connection: Connection) -> None:
        """Blackhole the new connection or start connecting it to the target."""
        if self.mode is Mode.BLACKHOLE:
            connection.blackholed = True
            log.info("connection %d accepted and blackholed", connection.number)
            return
        log.info("connection %d accepted (%s)", connection.number, self.mode.value)
        task = asyncio.get_running_loop().create_task(self.connect_target(connection))
        self.connect_tasks.add(task)
        task.add_done_callback(self.connect_tasks.discard)

    async def connect_target(self, connection: Connection) -> None:
        """Open the target side of `connection`; close the client if that fails."""
        connection.target = Endpoint(connection)
        loop = asyncio.get_running_loop()
        try:
            await loop.create_connection(lambda: connection.target,
                                         self.target_host, self.target_port)
        except OSError as error:
            log.warning("connection %d: cannot reach target: %s", connection.number, error)
            connection.target = None
            connection.close()

    def forget(self, connection: Connection) -> None:
        """Drop a closed connection from the live set."""
        self.connections.discard(connection)

    async def execute(self, command: str) -> str:
        """Apply one stdin command and return the reply line."""
        if command == "count":
            return f"OK count {self.accepted_count}"
        name, _, argument = command.partition(" ")
        if name in ("rate", "delay"):
            try:
                value = float(argument)
            except ValueError:
                return f"ERR {command}"
            if not (0 <= value < 1e12):
                return f"ERR {command}"
            if name == "rate":
                self.shaping.rate = int(value)
            else:
                self.shaping.delay = value
            log.info("%s %s", name, argument)
            for connection in list(self.connections):
                connection.update_reading()
            return f"OK {command}"
        if command == "reset":
            self.reset_all()
            await asyncio.sleep(0)  # let the aborted sockets close (send RST) before replying
            command_mode = Mode.PASS
        else:
            try:
                command_mode = Mode(command)
            except ValueError:
                return f"ERR {command}"
        try:
            await self.enter_mode(command_mode)
        except OSError as error:  # e.g. the port was taken while refusing
            log.error("cannot listen again on port %d: %s", self.listen_port, error)
            return f"ERR {command} {error}"
        log.info("mode %s (command %s)", command_mode.value, command)
        return f"OK {command}"

    def reset_all(self) -> None:
        """Abort every live connection with a TCP RST."""
        for connection in list(self.connections):
            connection.reset()

    async def enter_mode(self, mode: Mode) -> None:
        """Switch mode: open or close the listener and (un)stall every connection."""
        self.mode = mode
        if mode in (Mode.REFUSE, Mode.CUT):
            self.close_listener()
        else:
            await self.open_listener()
        for connection in list(self.connections):
            connection.update_reading()

    def shutdown(self) -> None:
        """Stop listening and close every connection."""
        self.close_listener()
        for connection in list(self.connections):
            connection.close()


def parse_target(text: str) -> tuple[str, int]:
    """Parse "HOST:PORT" (the port after the last colon; IPv6 as "[::1]:554")."""
    host, _, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description="TCP proxy with fault injection, controlled by commands on stdin.")
    parser.add_argument("--listen-port", type=int, default=0,
                        help="port to listen on at 127.0.0.1; 0 picks a free port (default)")
    parser.add_argument("--target", type=parse_target, required=True, metavar="HOST:PORT",
                        help="where to forward connections")
    return parser.parse_args(argv)


def start_stdin_reader(loop: asyncio.AbstractEventLoop, commands: asyncio.Queue) -> None:
    """Feed stripped stdin lines into `commands` from a daemon thread; None marks EOF.

    A thread (rather than loop.connect_read_pipe) works whatever stdin is:
    pipe, terminal or regular file.
    """
    def read_lines() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(commands.put_nowait, line.strip())
        loop.call_soon_threadsafe(commands.put_nowait, None)

    threading.Thread(target=read_lines, name="stdin", daemon=True).start()


def reply(line: str) -> None:
    """Write one protocol line to stdout."""
    print(line, flush=True)


async def run(args: argparse.Namespace) -> None:
    """Listen, announce READY, then execute commands until EOF or a signal."""
    loop = asyncio.get_running_loop()
    commands: asyncio.Queue = asyncio.Queue()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signal_number, commands.put_nowait, None)

    target_host, target_port = args.target
    proxy = Proxy(args.listen_port, target_host, target_port)
    await proxy.open_listener()
    log.info("forwarding %s:%d -> %s:%d", LISTEN_ADDRESS, proxy.listen_port,
             target_host, target_port)
    reply(f"READY {proxy.listen_port}")
    start_stdin_reader(loop, commands)

    while (command := await commands.get()) is not None:
        if command:
            reply(await proxy.execute(command))
    log.info("stopping")
    proxy.shutdown()


def main(argv: list[str]) -> int:
    """Entry point; returns the process exit status."""
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="tcp_proxy: %(levelname)s %(message)s")
    args = parse_args(argv)
    try:
        asyncio.run(run(args))
    except OSError as error:
        log.error("%s", error)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
