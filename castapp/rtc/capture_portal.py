"""Capture on Wayland: xdg-desktop-portal ScreenCast for permission, PipeWire for frames.

Route (chosen after trying the alternatives on this stack; README.md, "Wayland", says why):

* **Permission and stream**: the ScreenCast portal over D-Bus with jeepney (pure Python,
  passes the PipeWire file descriptor). ``CreateSession`` → ``SelectSources`` (monitor or
  window, cursor drawn in or hidden, ``persist_mode`` 2) → ``Start`` (the system's dialog,
  skipped when a saved restore token is accepted) → ``OpenPipeWireRemote``.
* **Frames**: GStreamer's ``pipewiresrc`` in a ``gst-launch-1.0`` child process reading
  the PipeWire node through that descriptor and writing raw BGRx frames of the stream's
  size to a pipe (I420 in YUV4MPEG2 when the portal gives no size); castapp converts them
  with libyuv like every other capture. No Python binding of GStreamer is needed, so
  castapp's own Python (a venv, a frozen bundle) works with the system's GStreamer; the
  child keeps no backlog (a one-frame leaky queue, ``fdsink sync=false``), and the
  reading thread publishes every frame into the newest-frame mailbox at once, through the
  source's change filter like every capture (the Auto preset's classifier listens there).

The restore token from ``Start`` is kept (one per kind: monitor / window) in a file that
only the user can read, so the dialog shows once, not at every cast. A token the portal
no longer accepts just brings the dialog back.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from castapp.logs import failed
from castapp.rtc.capture import FrameSource, Region, SourceState

__all__ = ["PortalCapture", "PortalError", "portal_available", "wayland_session"]

log = logging.getLogger(__name__)

#: What talking to the session bus with jeepney raises: no bus address (KeyError), a socket
#: that fails or times out, a refused authentication (ValueError), an unexpected reply.
_DBUS_FAILURES = (OSError, ValueError, LookupError, TypeError, RuntimeError)
#: How long a portal method may take to reply (the bus's own default): the first call may
#: have to start the desktop's portal backend.
CALL_TIMEOUT_S = 25.0

BUS_NAME = "org.freedesktop.portal.Desktop"
OBJECT_PATH = "/org/freedesktop/portal/desktop"
SCREENCAST = "org.freedesktop.portal.ScreenCast"
REQUEST = "org.freedesktop.portal.Request"

SOURCE_MONITOR, SOURCE_WINDOW = 1, 2
CURSOR_HIDDEN, CURSOR_EMBEDDED = 1, 2
PERSIST_UNTIL_REVOKED = 2


class PortalError(RuntimeError):
    """The portal or PipeWire refused or failed; the message is meant for the user."""


def wayland_session(env: dict[str, str] | None = None) -> bool:
    env = dict(os.environ) if env is None else env
    return env.get("XDG_SESSION_TYPE") == "wayland" or bool(env.get("WAYLAND_DISPLAY"))


def portal_available() -> bool:
    return shutil.which("gst-launch-1.0") is not None


# ---------------------------------------------------------------------- restore tokens
class TokenStore:
    """Restore tokens by source kind, in a user-only JSON file."""

    def __init__(self, path: Path | None) -> None:
        self.path = path

    def get(self, kind: str) -> str:
        if self.path is None:
            return ""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return ""
        value = data.get(kind) if isinstance(data, dict) else None
        return value if isinstance(value, str) and len(value) < 512 else ""

    def put(self, kind: str, token: str) -> None:
        if self.path is None:
            return
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                data = {}
        except (OSError, ValueError):
            data = {}
        data[kind] = token
        from castapp.settings import write_secret

        try:
            write_secret(self.path, json.dumps(data))
        except OSError as exc:
            log.warning("cannot keep the screen-sharing permission: %s", exc)


def default_token_path() -> Path:
    from castapp.settings import config_dir

    return config_dir() / "screencast-tokens.json"


# ---------------------------------------------------------------------- portal session
@dataclass(frozen=True, slots=True)
class PortalStream:
    node_id: int
    width: int
    height: int
    fd: int
    """PipeWire remote file descriptor (owned by the session)."""
    restore_token: str


class PortalSession:
    """One ScreenCast session; blocking calls (run it on the capture thread)."""

    def __init__(self, timeout: float = 120.0) -> None:
        from jeepney import DBusAddress
        from jeepney.io.blocking import open_dbus_connection

        try:
            self.conn = open_dbus_connection(bus="SESSION", enable_fds=True)
        except _DBUS_FAILURES as exc:
            raise PortalError(f"cannot reach the desktop's session bus: {exc}") from exc
        self.portal = DBusAddress(OBJECT_PATH, bus_name=BUS_NAME, interface=SCREENCAST)
        self.timeout = timeout
        self.session = ""
        sender = (self.conn.unique_name or "").lstrip(":").replace(".", "_")
        self._request_prefix = f"{OBJECT_PATH}/request/{sender}/"
        self._fd = -1

    def close(self) -> None:
        from jeepney import DBusAddress, new_method_call

        if self.session:
            try:
                addr = DBusAddress(self.session, bus_name=BUS_NAME,
                                   interface="org.freedesktop.portal.Session")
                self.conn.send_and_get_reply(new_method_call(addr, "Close"), timeout=2)
            except _DBUS_FAILURES as exc:
                log.debug("closing the portal session: %s", exc)
            self.session = ""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self.conn.close()

    def _property(self, name: str) -> Any:
        from jeepney import Properties

        reply = self.conn.send_and_get_reply(Properties(self.portal).get(name), timeout=5)
        return reply.body[0][1]

    def _request(self, method: str, signature: str, *args: Any,
                 options: dict[str, tuple[str, Any]]) -> dict[str, Any]:
        """Call a portal method that answers through a Request object's Response."""
        from jeepney import MatchRule, message_bus, new_method_call
        from jeepney.io.blocking import Proxy

        token = "castapp_" + secrets.token_hex(6)
        path = self._request_prefix + token
        rule = MatchRule(type="signal", interface=REQUEST, member="Response", path=path)
        Proxy(message_bus, self.conn).AddMatch(rule)
        options = {**options, "handle_token": ("s", token)}
        with self.conn.filter(rule) as queue:
            msg = new_method_call(self.portal, method, signature + "a{sv}", (*args, options))
            reply = self._call(msg, method)
            if reply.header.message_type.name == "error":
                raise PortalError(f"the screen-sharing portal refused {method}: {reply.body}")
            try:
                signal = self.conn.recv_until_filtered(queue, timeout=self.timeout)
            except TimeoutError:
                raise PortalError("no answer from the screen-sharing dialog within "
                                  f"{self.timeout:.0f} s") from None
            code, results = signal.body
        if code == 1:
            raise PortalError("screen sharing was cancelled in the system dialog")
        if code != 0:
            raise PortalError(f"the screen-sharing portal failed ({method}, code {code})")
        return {k: v[1] for k, v in results.items()}

    def _call(self, msg: Any, method: str) -> Any:
        """A method call's reply; a portal that does not answer is said in words."""
        try:
            return self.conn.send_and_get_reply(msg, timeout=CALL_TIMEOUT_S)
        except TimeoutError:
            raise PortalError(f"the screen-sharing portal did not answer ({method}) within "
                              f"{CALL_TIMEOUT_S:.0f} s") from None

    def start(self, kind: int, pointer: bool, restore_token: str = "") -> PortalStream:
        from jeepney import new_method_call

        try:
            version = int(self._property("version"))
            cursor_modes = int(self._property("AvailableCursorModes"))
            types = int(self._property("AvailableSourceTypes"))
        except _DBUS_FAILURES as exc:
            raise PortalError(
                "this desktop offers no screen-sharing portal (xdg-desktop-portal with a "
                f"ScreenCast backend): {exc}") from exc
        if not types & kind:
            what = "a window" if kind == SOURCE_WINDOW else "a monitor"
            raise PortalError(f"this desktop's screen-sharing portal cannot share {what}")
        created = self._request("CreateSession", "", options={
            "session_handle_token": ("s", "castapp_" + secrets.token_hex(6))})
        self.session = str(created["session_handle"])
        select: dict[str, tuple[str, Any]] = {"types": ("u", kind), "multiple": ("b", False)}
        wanted = CURSOR_EMBEDDED if pointer else CURSOR_HIDDEN
        if cursor_modes & wanted:
            select["cursor_mode"] = ("u", wanted)
        if version >= 4:
            select["persist_mode"] = ("u", PERSIST_UNTIL_REVOKED)
            if restore_token:
                select["restore_token"] = ("s", restore_token)
        self._request("SelectSources", "o", self.session, options=select)
        started = self._request("Start", "os", self.session, "", options={})
        streams = started.get("streams") or []
        if not streams:
            raise PortalError("the screen-sharing portal started no stream")
        node_id, props = streams[0]
        size = props.get("size", ("(ii)", (0, 0)))[1]
        msg = new_method_call(self.portal, "OpenPipeWireRemote", "oa{sv}", (self.session, {}))
        reply = self._call(msg, "OpenPipeWireRemote")
        if reply.header.message_type.name == "error":
            raise PortalError(f"cannot open the PipeWire stream: {reply.body}")
        self._fd = reply.body[0].to_raw_fd()
        return PortalStream(int(node_id), int(size[0]), int(size[1]), self._fd,
                            str(started.get("restore_token", "")))


# ---------------------------------------------------------------------- frames
def gst_command(node_id: int, fd: int, crop: tuple[int, int, int, int] | None,
                size: tuple[int, int] | None = None) -> list[str]:
    """``gst-launch-1.0`` pipeline for the PipeWire node, written to stdout.

    With ``size`` (the stream's size after ``crop``, as the portal reported it): raw BGRx
    frames of exactly that size (a source that changes size is scaled into it with black
    borders), converted to I420 by castapp's libyuv like every other capture; GStreamer
    only copies. Without it: I420 (BT.601) in YUV4MPEG2, which carries the size.
    """
    gst = shutil.which("gst-launch-1.0") or "gst-launch-1.0"
    # pipewiresrc queues what it takes from PipeWire, oldest first, and would let a reader
    # that falls behind build a backlog of seconds. It copies each buffer and hands it
    # back to PipeWire at once (a producer that runs out of buffers can stall:
    # xdg-desktop-portal-wlr 0.7.0 does), and a one-frame leaky queue after it drops the
    # older frame whenever a newer one arrives before the reader took it.
    cmd = [gst, "-q", "pipewiresrc", f"fd={fd}", f"path={node_id}", "always-copy=true", "!",
           "queue", "max-size-buffers=1", "max-size-bytes=0", "max-size-time=0",
           "leaky=downstream", "!"]
    if crop is not None:
        left, top, right, bottom = crop
        cmd += ["videocrop", f"left={left}", f"top={top}", f"right={right}",
                f"bottom={bottom}", "!"]
    if size is not None:
        cmd += ["videoscale", "add-borders=true", "!", "videoconvert", "!",
                f"video/x-raw,format=BGRx,width={size[0]},height={size[1]},"
                "pixel-aspect-ratio=1/1", "!"]
    else:
        cmd += ["videoconvert", "!", "video/x-raw,format=I420,colorimetry=bt601", "!",
                "y4menc", "!"]
    return [*cmd, "fdsink", "fd=1", "sync=false"]


def _widen_pipe(proc: subprocess.Popen[bytes]) -> None:
    """1 MiB pipe (Linux ``F_SETPIPE_SZ``): a 1080p frame in 8 reads instead of 128."""
    if proc.stdout is None:
        return
    import fcntl

    with contextlib.suppress(OSError):
        fcntl.fcntl(proc.stdout.fileno(), 1031, 1 << 20)


def _die_with_parent() -> None:
    """In the gst child: end with castapp (Linux ``PR_SET_PDEATHSIG``)."""
    import ctypes
    import signal

    with contextlib.suppress(OSError, AttributeError):  # no prctl: it outlives castapp
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)


def _read_exact(stream: Any, n: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < n:
        chunk = stream.read(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def parse_y4m_header(line: bytes) -> tuple[int, int]:
    if not line.startswith(b"YUV4MPEG2"):
        raise PortalError("unexpected video from GStreamer")
    width = height = 0
    for field in line.split()[1:]:
        if field[:1] == b"W":
            width = int(field[1:])
        elif field[:1] == b"H":
            height = int(field[1:])
    if width <= 0 or height <= 0:
        raise PortalError("GStreamer sent no frame size")
    return width, height


def to_even_i420(data: bytes, width: int, height: int) -> np.ndarray:
    """Packed I420 of any size → castapp's even-sized layout (odd sizes padded)."""
    cw, ch = (width + 1) // 2, (height + 1) // 2
    buf = np.frombuffer(data, np.uint8)
    if width % 2 == 0 and height % 2 == 0:
        return buf.reshape(height * 3 // 2, width).copy()
    ew, eh = width + width % 2, height + height % 2
    out = np.empty((eh * 3 // 2, ew), np.uint8)
    flat = out.reshape(-1)
    y = flat[: ew * eh].reshape(eh, ew)
    y[:height, :width] = buf[: width * height].reshape(height, width)
    y[:height, width:] = y[:height, width - 1 : width]
    y[height:] = y[height - 1]
    flat[ew * eh : ew * eh + cw * ch] = buf[width * height : width * height + cw * ch]
    flat[ew * eh + cw * ch :] = buf[width * height + cw * ch : width * height + 2 * cw * ch]
    return out


class PortalCapture(FrameSource):
    """A monitor or window shared through the portal, as I420 frames.

    ``window=True`` asks the portal for a window (its dialog picks which); ``region``
    crops a monitor stream. ``with_cursor`` asks the compositor to draw the pointer in.
    ``fps`` is an upper bound here: frames come when the compositor sends them.
    """

    def __init__(self, *, window: bool = False, region: Region | None = None,
                 with_cursor: bool = True, fps: float = 30.0,
                 token_path: Path | None = None, dialog_timeout: float = 120.0,
                 max_size: tuple[int, int] | None = None,
                 pipeline: Callable[..., list[str]] | None = None) -> None:
        super().__init__(fps, name="castapp-capture-portal")
        self.window = window
        self.region = region
        self.with_cursor = with_cursor
        self.tokens = TokenStore(token_path if token_path is not None else default_token_path())
        self.dialog_timeout = dialog_timeout
        self.max_size = max_size
        self.pipeline = pipeline or gst_command
        """Builds the frame reader's command from (node id, PipeWire fd, crop, size)."""
        self.size: tuple[int, int] = (0, 0)
        self.used_token = False
        """A saved restore token was offered (the portal skips its dialog while it accepts
        the token; one it no longer accepts just brings the dialog back)."""
        self._session: PortalSession | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self.produce_ms = 0.0

    @property
    def area(self) -> dict[str, int] | None:
        """The stream's size before scaling (what the Auto preset divides), once known."""
        width, height = self.size
        if width <= 0:
            return None
        return {"left": 0, "top": 0, "width": width, "height": height}

    @property
    def kind(self) -> str:
        return "window" if self.window else "monitor"

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        with self._lock:
            proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
        super().stop(timeout)

    def _produce(self, seq: int) -> np.ndarray | None:  # pragma: no cover - _run is replaced
        return None

    def _crop(self, width: int, height: int) -> tuple[int, int, int, int] | None:
        r = self.region
        if r is None or self.window:
            return None
        x0, y0 = min(max(0, r.left), width - 2), min(max(0, r.top), height - 2)
        x1, y1 = min(width, r.left + r.width), min(height, r.top + r.height)
        if x1 - x0 < 2 or y1 - y0 < 2:
            raise PortalError(f"the region lies outside the {width}x{height} screen")
        return x0, y0, width - x1, height - y1

    def _run(self) -> None:
        try:
            session = self._session = PortalSession(self.dialog_timeout)
            try:
                saved = self.tokens.get(self.kind)
                stream = session.start(SOURCE_WINDOW if self.window else SOURCE_MONITOR,
                                       self.with_cursor, saved)
                self.used_token = bool(saved)
                if stream.restore_token:
                    self.tokens.put(self.kind, stream.restore_token)
                self._stream_frames(stream)
            finally:
                session.close()
        except Exception as exc:  # broad: the thread's end; said as source_failed by its consumer
            if not self._stop.is_set():
                failed(log, "portal capture failed", exc, logging.WARNING)
                self.error = exc
        finally:
            self.mailbox.close(self.error)

    def _stream_frames(self, stream: PortalStream) -> None:
        crop = self._crop(stream.width, stream.height) if stream.width else None
        size = None
        if stream.width > 0 and stream.height > 0:
            size = (stream.width - (crop[0] + crop[2] if crop else 0),
                    stream.height - (crop[1] + crop[3] if crop else 0))
        restarts = 0
        while not self._stop.is_set():
            cmd = self.pipeline(stream.node_id, stream.fd, crop, size)
            with tempfile.TemporaryFile() as errors:  # a pipe could fill up and stall gst
                proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errors,
                                        pass_fds=(stream.fd,), preexec_fn=_die_with_parent)
                with self._lock:
                    self._proc = proc
                _widen_pipe(proc)
                try:
                    got_frames = (self._read_bgrx(proc, size) if size is not None
                                  else self._read_y4m(proc))
                finally:
                    if proc.poll() is None:
                        proc.terminate()
                    proc.wait(5)
                errors.seek(0)
                err = errors.read().decode(errors="replace")[-500:]
            if self._stop.is_set():
                return
            restarts = 0 if got_frames else restarts + 1
            if restarts >= 3:
                self._set_state(SourceState.CLOSED)
                raise PortalError(f"the shared screen's video stream ended: {err.strip()}")
            log.info("PipeWire stream ended (%s); reading it again", err.strip()[-200:])

    def _read_bgrx(self, proc: subprocess.Popen[bytes], size: tuple[int, int]) -> bool:
        """Publish raw BGRx frames of ``size`` until the stream ends; True if any came."""
        assert proc.stdout is not None
        from castapp.rtc.capture import fit_size
        from castapp.rtc.convert import I420Converter

        converter = I420Converter()
        width, height = size
        self.size = size
        got = False
        buf = bytearray(width * height * 4)  # reused: every frame is converted into a new array
        view = memoryview(buf)
        while not self._stop.is_set():
            filled = 0
            while filled < len(buf):
                n = proc.stdout.readinto(view[filled:])
                if not n:
                    return got
                filled += n
            t0 = time.monotonic()
            wall = time.time()
            bgra = np.frombuffer(buf, np.uint8).reshape(height, width, 4)
            out_size = fit_size(width, height, self.max_size)  # the Auto preset may scale
            self._offer(converter.convert(bgra, out_size), wall, t0)
            got = True
        return got

    def _offer(self, i420: np.ndarray, wall: float, t0: float) -> None:
        """Publish a frame through the source's change filter, as ``FrameSource._run`` does.

        The compositor sends a frame when it repainted, so there is nothing to ask before
        the read; the exact comparison still runs: it drops repaints that changed no pixel
        and feeds the Auto preset's content classifier, which otherwise sees no change at
        all and holds every source at its *text* rate."""
        change = self.change
        if change is not None and not change.after_grab(i420):
            self.frames_unchanged += 1
            return
        self._publish(i420, wall, t0)

    def _read_y4m(self, proc: subprocess.Popen[bytes]) -> bool:
        """Publish frames until the stream ends; True if any frame came."""
        assert proc.stdout is not None
        header = proc.stdout.readline()
        if not header:
            return False
        width, height = parse_y4m_header(header)
        self.size = (width, height)
        frame_bytes = width * height + 2 * ((width + 1) // 2) * ((height + 1) // 2)
        got = False
        while not self._stop.is_set():
            marker = proc.stdout.readline()
            if not marker:
                return got
            if not marker.startswith(b"FRAME"):
                raise PortalError("GStreamer's video stream is out of step")
            t0 = time.monotonic()
            wall = time.time()
            data = _read_exact(proc.stdout, frame_bytes)
            if data is None:
                return got
            self._offer(to_even_i420(data, width, height), wall, t0)
            got = True
        return got
