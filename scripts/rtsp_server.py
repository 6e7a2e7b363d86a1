#!/usr/bin/python3
"""Local RTSP server for Vigil's tests and demo camera.

Serves H.264 video files (.mp4 or .ts) over RTSP on 127.0.0.1, each one
looped forever in real time and shared between all clients of its path.
Built on GstRtspServer through PyGObject, so it must run under Debian's
/usr/bin/python3 (other interpreters lack the `gi` module).

Usage:
    rtsp_server.py [--port N] --media PATH=FILE [--media PATH=FILE ...]
                   [--auth basic|digest --user USER --password-file FILE]
                   [--announce-loops]

Protocol: once the server listens, exactly one line "READY <port>" is
written to stdout; everything else goes to stderr.  With --announce-loops,
"LOOP <path> <epoch seconds>" lines follow: the time.time() at which PATH
sent the first frame of an iteration of its file (see LoopAnnouncer).
SIGTERM and SIGINT stop the server cleanly (exit status 0).

How the media is made playable (see the "Local RTSP test server" notes):
  * Each input is remuxed once at startup into MPEG-TS, because tsdemux
    gives every packet a PTS and keeps timestamps continuous when the file
    wraps around.  The MPEG-TS copy is an anonymous temporary file (already
    unlinked), read through /proc/self/fd/N: nothing is left behind in /tmp
    even when the server is killed with SIGKILL.
  * multifilesrc loop=true reopens that path at each end of file and replays
    it forever; the sinks of the RTSP pipeline pace it to the clock, so it
    plays in real time.
  * A looping pipeline cannot seek, and PLAY fails with 503 unless the media
    publishes its clock with CLOCK_AND_OFFSET.
  * Only RTP over the RTSP TCP connection is offered: GstRtspServer would
    bind its RTP/UDP ports on every interface, not just 127.0.0.1.  Clients
    asking for UDP get 461 (ffmpeg's default transport then retries TCP).
  * With --auth, DESCRIBE/SETUP/PLAY need credentials (401 otherwise);
    OPTIONS does not.  Only one method per server (GstRtspServer limit).
"""

import argparse
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, NamedTuple, Optional

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, GObject, Gst, GstRtsp, GstRtspServer  # noqa: E402

LISTEN_ADDRESS = "127.0.0.1"
LISTEN_BACKLOG = 64
VIEWER_ROLE = "viewer"
PIPELINE_TEMPLATE = (
    "( multifilesrc name=file location={location} loop=true"
    " ! tsdemux ! h264parse"
    " ! rtph264pay name=pay0 pt=96 config-interval=-1 )"
)

log = logging.getLogger("rtsp_server")


class MediaSpec(NamedTuple):
    """One --media argument: the RTSP mount path and the video file behind it."""

    mount_path: str
    source: Path


class Credentials(NamedTuple):
    """Authentication settings: method ("basic" or "digest"), user, password."""

    method: str
    user: str
    password: str


def parse_media_spec(text: str) -> MediaSpec:
    """Parse "PATH=FILE" into a MediaSpec; PATH gets a leading "/"."""
    path, separator, file_name = text.partition("=")
    path = path.strip("/")
    if not separator or not path or not file_name:
        raise argparse.ArgumentTypeError(f"expected PATH=FILE, got {text!r}")
    source = Path(file_name)
    if not source.is_file():
        raise argparse.ArgumentTypeError(f"no such file: {file_name}")
    return MediaSpec("/" + path, source)


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Parse and cross-check the command line."""
    parser = argparse.ArgumentParser(
        description="Serve looped H.264 files over RTSP on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=8554,
                        help="TCP port to listen on; 0 picks a free port (default 8554)")
    parser.add_argument("--media", type=parse_media_spec, action="append", required=True,
                        metavar="PATH=FILE",
                        help="serve FILE (H.264 in .mp4 or .ts) at rtsp://127.0.0.1:PORT/PATH;"
                             " repeatable")
    parser.add_argument("--auth", choices=("basic", "digest"),
                        help="require this authentication method")
    parser.add_argument("--user", help="user name required by --auth")
    parser.add_argument("--password-file", type=Path,
                        help="file holding the password for --user (one trailing newline is ignored)")
    parser.add_argument("--announce-loops", action="store_true",
                        help='print "LOOP <path> <epoch seconds>" on stdout when a path starts'
                             " sending its file again (each loop iteration, the first included)")
    args = parser.parse_args(argv)

    mount_paths = [spec.mount_path for spec in args.media]
    if len(set(mount_paths)) != len(mount_paths):
        parser.error("each --media PATH may be given only once")
    auth_options = (args.auth, args.user, args.password_file)
    if any(auth_options) and not all(auth_options):
        parser.error("--auth, --user and --password-file go together")
    if args.user is not None and (not args.user or ":" in args.user):
        parser.error("--user must be non-empty and must not contain ':'")
    return args


def read_password(path: Path) -> str:
    """Return the password stored in `path`, minus one trailing line break."""
    text = path.read_text(encoding="utf-8")
    if text.endswith("\n"):
        text = text[:-1]
    if text.endswith("\r"):
        text = text[:-1]
    if not text:
        raise ValueError(f"password file {path} is empty")
    return text


def probe_video_codec(source: Path) -> str:
    """Return the codec name of the first video stream of `source`, or "" if none."""
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0",
         "-show_entries", "stream=codec_name", "-of", "csv=p=0", str(source)],
        capture_output=True, text=True)
    if result.returncode != 0:
        raise ValueError(f"{source}: ffprobe cannot read it: {result.stderr.strip()}")
    names = result.stdout.split()  # MPEG-TS lists each stream twice (program + top level)
    return names[0] if names else ""


def remux_to_mpegts(source: Path) -> IO[bytes]:
    """Copy the first video stream of `source`, without re-encoding, into an
    anonymous MPEG-TS temporary file; the file lives as long as the returned object.

    A damaged file (e.g. a truncated MP4) makes ffmpeg stop with an error at the
    first unreadable packet; what came before it is still served, with a warning.
    """
    transport_stream = tempfile.TemporaryFile(prefix="vigil-rtsp-", suffix=".ts")
    result = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(source),
         "-map", "0:v:0", "-c", "copy", "-f", "mpegts", "pipe:1"],
        stdout=transport_stream)
    size = os.fstat(transport_stream.fileno()).st_size
    if result.returncode != 0:
        if size == 0:
            raise ValueError(f"{source}: ffmpeg could not remux it to MPEG-TS")
        log.warning("%s: ffmpeg stopped at an unreadable packet; serving the %d bytes before it",
                    source, size)
    return transport_stream


def prepare_media(spec: MediaSpec) -> IO[bytes]:
    """Check that `spec.source` is H.264 and return its anonymous MPEG-TS copy."""
    codec = probe_video_codec(spec.source)
    if codec != "h264":
        raise ValueError(f"{spec.source}: video codec is {codec or 'missing'}, need h264")
    return remux_to_mpegts(spec.source)


def reopenable_path(open_file: IO[bytes]) -> str:
    """A path that opens `open_file` again (from offset 0) even though it has no name."""
    return f"/proc/self/fd/{open_file.fileno()}"


def make_factory(transport_stream: str,
                 permissions: Optional[GstRtspServer.RTSPPermissions]
                 ) -> GstRtspServer.RTSPMediaFactory:
    """Build a shared, endlessly looping, TCP-only media factory for the
    MPEG-TS file at path `transport_stream`."""
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(PIPELINE_TEMPLATE.format(location=transport_stream))
    factory.set_shared(True)
    factory.set_publish_clock_mode(GstRtspServer.RTSPPublishClockMode.CLOCK_AND_OFFSET)
    factory.set_protocols(GstRtsp.RTSPLowerTrans.TCP)
    if permissions is not None:
        factory.set_permissions(permissions)
    return factory


class LoopAnnouncer:
    """With --announce-loops: prints "LOOP <mount path> <epoch seconds>" on stdout
    each time one media of a mount sends frame 0 of a new loop iteration.

    Timestamps do not show the loop (tsdemux keeps them increasing), but
    multifilesrc hands tsdemux the whole file as one buffer per iteration: the
    first keyframe payloaded after that buffer is the iteration's frame 0
    (tsdemux first flushes the previous iteration's last frame; were that a
    keyframe, the line would name it instead, one frame early).
    The time is when the RTP sink sends it: the sink waits for the pipeline
    clock to reach base time + running time of the frame, converted here to
    time.time() (a frame reaching the sink late would go out later; a raw
    RTSP client received frame 0 of each of 16 paths 0.1-4 ms after it).
    That is known once the frame is sent (the first frame of a pipeline waits
    in preroll until PLAY sets the base time), so the line is printed when
    the next frame reaches the payloader, a frame interval later.
    """

    _stdout_lock = threading.Lock()  # one line at a time from the mounts' streaming threads

    def __init__(self, mount_path: str, media: GstRtspServer.RTSPMedia):
        self.mount_path = mount_path
        self.pipeline = media.get_element().get_parent()
        self.new_file = False
        self.pending: Optional[int] = None  # running time of a frame 0 not yet announced
        element = media.get_element()
        element.get_by_name("file").get_static_pad("src").add_probe(
            Gst.PadProbeType.BUFFER, self.on_file)
        element.get_by_name("pay0").get_static_pad("sink").add_probe(
            Gst.PadProbeType.BUFFER, self.on_frame)

    @classmethod
    def attach(cls, factory: GstRtspServer.RTSPMediaFactory, media: GstRtspServer.RTSPMedia,
               mount_path: str) -> None:
        """"media-configure" handler: announce the loops of each new media of the mount."""
        cls(mount_path, media)

    def on_file(self, pad: Gst.Pad, info: Gst.PadProbeInfo) -> Gst.PadProbeReturn:
        """multifilesrc pushes the file again: a new iteration starts."""
        self.new_file = True
        return Gst.PadProbeReturn.OK

    def on_frame(self, pad: Gst.Pad, info: Gst.PadProbeInfo) -> Gst.PadProbeReturn:
        """An access unit reaches the payloader (the previous one has been sent)."""
        if self.pending is not None:
            self.announce(self.pending)
            self.pending = None
        frame = info.get_buffer()
        if self.new_file and not frame.has_flags(Gst.BufferFlags.DELTA_UNIT):
            self.new_file = False
            segment = pad.get_sticky_event(Gst.EventType.SEGMENT, 0).parse_segment()
            self.pending = segment.to_running_time(Gst.Format.TIME, frame.pts)
        return Gst.PadProbeReturn.OK

    def announce(self, running_time: int) -> None:
        """Print the wall-clock time at which the frame at `running_time` was sent."""
        send_time = self.pipeline.get_base_time() + running_time
        since = (self.pipeline.get_clock().get_time() - send_time) / Gst.SECOND
        with self._stdout_lock:
            print(f"LOOP {self.mount_path} {time.time() - since:.6f}", flush=True)


def make_viewer_permissions() -> GstRtspServer.RTSPPermissions:
    """Permissions letting the viewer role open and construct media."""
    allowed = GObject.Value(GObject.TYPE_BOOLEAN, True)
    permissions = GstRtspServer.RTSPPermissions()
    for permission in (GstRtspServer.RTSP_PERM_MEDIA_FACTORY_ACCESS,
                       GstRtspServer.RTSP_PERM_MEDIA_FACTORY_CONSTRUCT):
        permissions.add_permission_for_role(VIEWER_ROLE, permission, allowed)
    return permissions


def make_auth(credentials: Credentials) -> GstRtspServer.RTSPAuth:
    """Build an RTSPAuth accepting only `credentials`.

    Media requests (DESCRIBE, SETUP, PLAY) without valid credentials get
    401 with a challenge for `credentials.method`; OPTIONS is answered
    without credentials (GstRtspServer offers no switch for it).
    """
    token = GstRtspServer.RTSPToken()
    token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, VIEWER_ROLE)
    auth = GstRtspServer.RTSPAuth()
    if credentials.method == "basic":
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(credentials.user, credentials.password),
                       token)
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.BASIC)
    else:
        auth.add_digest(credentials.user, credentials.password, token)
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
    return auth


def build_server(port: int, media: dict[str, str], credentials: Optional[Credentials],
                 announce_loops: bool) -> GstRtspServer.RTSPServer:
    """Create the server with one mount point per entry of `media`
    (mount path -> path of an MPEG-TS file), announcing their loops if asked."""
    server = GstRtspServer.RTSPServer()
    server.set_address(LISTEN_ADDRESS)
    server.set_service(str(port))
    server.set_backlog(LISTEN_BACKLOG)
    permissions = None
    if credentials is not None:
        server.set_auth(make_auth(credentials))
        permissions = make_viewer_permissions()
    mounts = server.get_mount_points()
    for mount_path, transport_stream in media.items():
        factory = make_factory(transport_stream, permissions)
        if announce_loops:
            factory.connect("media-configure", LoopAnnouncer.attach, mount_path)
        mounts.add_factory(mount_path, factory)
    return server


def serve(server: GstRtspServer.RTSPServer, mount_paths: list[str]) -> None:
    """Start listening, announce READY, and run until SIGTERM or SIGINT."""
    loop = GLib.MainLoop()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal_number, stop_loop, loop,
                             signal.Signals(signal_number).name)
    if server.attach(None) == 0:
        raise OSError(f"cannot listen on {LISTEN_ADDRESS}:{server.get_service()}")
    port = server.get_bound_port()
    GLib.timeout_add_seconds(1, stop_when_orphaned, loop, os.getppid())
    for mount_path in mount_paths:
        log.info("serving rtsp://%s:%d%s", LISTEN_ADDRESS, port, mount_path)
    print(f"READY {port}", flush=True)
    loop.run()


def stop_when_orphaned(loop: GLib.MainLoop, parent: int) -> bool:
    """Quit when the process that started us is gone (a crashed test must not leave a server behind)."""
    if os.getppid() != parent:
        log.info("parent %d exited, stopping", parent)
        loop.quit()
        return GLib.SOURCE_REMOVE
    return GLib.SOURCE_CONTINUE


def stop_loop(loop: GLib.MainLoop, signal_name: str) -> bool:
    """GLib signal handler: log and quit the main loop."""
    log.info("%s received, stopping", signal_name)
    loop.quit()
    return GLib.SOURCE_REMOVE


def main(argv: list[str]) -> int:
    """Entry point; returns the process exit status."""
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="rtsp_server: %(levelname)s %(message)s")
    args = parse_args(argv)
    Gst.init(None)
    try:
        credentials = None
        if args.auth:
            credentials = Credentials(args.auth, args.user, read_password(args.password_file))
        # Kept open while serving: the pipelines read them through /proc/self/fd.
        open_files = {spec.mount_path: prepare_media(spec) for spec in args.media}
        media = {mount_path: reopenable_path(open_file)
                 for mount_path, open_file in open_files.items()}
        serve(build_server(args.port, media, credentials, args.announce_loops), list(media))
    except (OSError, ValueError) as error:
        log.error("%s", error)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
