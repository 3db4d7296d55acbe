"""Frame sources: the desktop through mss, and a synthetic test pattern.

Every source produces frames on its own thread at a target rate and publishes them into
a one-slot :class:`~castapp.rtc.mailbox.FrameMailbox`: consumers always see the newest
frame and frames nobody took are simply overwritten. Frames are handed on as
:class:`~castapp.rtc.mailbox.CapturedFrame` (an I420 numpy array plus wall-clock and
monotonic capture timestamps); ``CapturedFrame.to_video_frame()`` wraps one zero-copy as
an ``av.VideoFrame`` for encoding.
"""

from __future__ import annotations

import abc
import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import mss
import numpy as np

from castapp.rtc import pattern
from castapp.rtc.mailbox import CapturedFrame, FrameMailbox, SourceClosedError

if TYPE_CHECKING:
    from castapp.rtc.change import ChangeFilter

__all__ = [
    "CapturedFrame",
    "FrameSource",
    "MonitorInfo",
    "Region",
    "ScreenCapture",
    "SourceClosedError",
    "SyntheticSource",
    "fit_size",
    "list_monitors",
    "resize_interpolation",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MonitorInfo:
    """A monitor as mss numbers it: index 0 is the union of all monitors."""

    index: int
    left: int
    top: int
    width: int
    height: int
    is_primary: bool = False
    name: str = ""


@dataclass(frozen=True, slots=True)
class Region:
    """A capture rectangle relative to the selected monitor's top-left corner."""

    left: int
    top: int
    width: int
    height: int


def _open_mss(display: str | None, with_cursor: bool = False) -> mss.MSS:
    if display is None:
        return mss.MSS(with_cursor=with_cursor) if with_cursor else mss.MSS()
    return mss.MSS(display=display, with_cursor=with_cursor)


def list_monitors(display: str | None = None) -> list[MonitorInfo]:
    """All monitors, index 0 (all monitors together) first."""
    with _open_mss(display) as sct:
        return [
            MonitorInfo(
                index=i,
                left=int(m["left"]),
                top=int(m["top"]),
                width=int(m["width"]),
                height=int(m["height"]),
                is_primary=bool(m.get("is_primary", False)),
                name=str(m.get("name", "")),
            )
            for i, m in enumerate(sct.monitors)
        ]


def _even(value: int) -> int:
    return max(2, value - (value % 2))


def fit_size(width: int, height: int, max_size: tuple[int, int] | None) -> tuple[int, int]:
    """Even output size no larger than ``max_size``, keeping the aspect ratio, never upscaled.

    The scale is a whole divisor (1/2, 1/3, ...): after a 1.5x shrink a 2-pixel text scroll
    becomes a 1.33-pixel shift that defeats motion prediction, and 720p from a 1080p screen
    needed 5x the bitrate of 960x540 for worse quality.
    """
    if max_size is None:
        return _even(width), _even(height)
    max_w, max_h = max_size
    divisor = max(1, math.ceil(max(width / max_w, height / max_h) - 1e-9))
    return _even(width // divisor), _even(height // divisor)


def resize_interpolation(src_w: int, src_h: int, dst_w: int, dst_h: int) -> int:
    """Box filter for integer ratios (its fast path) and strong shrinks; bilinear otherwise.

    At 1080p -> 720p ``INTER_AREA`` costs ~5 ms against ~1 ms for ``INTER_LINEAR``, and
    bilinear only starts to alias text once the shrink exceeds 2x.
    """
    if src_w % dst_w == 0 and src_h % dst_h == 0 and src_w // dst_w == src_h // dst_h:
        return cv2.INTER_AREA
    if dst_w * 2 >= src_w and dst_h * 2 >= src_h:
        return cv2.INTER_LINEAR
    return cv2.INTER_AREA


class FrameSource(abc.ABC):
    """A producer of I420 frames with newest-frame semantics."""

    def __init__(self, fps: float, name: str) -> None:
        if fps <= 0:
            raise ValueError("fps must be positive")
        self.fps = fps
        self.mailbox = FrameMailbox()
        self._name = name
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seq = 0
        self.frames_produced = 0
        self.error: BaseException | None = None
        #: Optional change filter (castapp.rtc.change): each tick it may skip the grab
        #: (nothing changed) or drop the grabbed frame (same pixels as the last one).
        self.change: ChangeFilter | None = None
        self.frames_unchanged = 0

    # -- public interface -------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self.error = None
        self.mailbox.open()
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        self.mailbox.close(self.error)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def latest(self) -> CapturedFrame | None:
        """The newest frame, or ``None`` before the first one."""
        return self.mailbox.latest()

    def wait_newer(self, after_seq: int = -1, timeout: float | None = None) -> CapturedFrame:
        """Block until a frame newer than ``after_seq`` exists and return the newest."""
        return self.mailbox.wait_newer(after_seq, timeout)

    async def next_frame(self, after_seq: int = -1) -> CapturedFrame:
        """Await the newest frame with ``seq > after_seq``."""
        return await self.mailbox.next_newer(after_seq)

    @property
    def dropped(self) -> int:
        """Frames produced but overwritten before a consumer took them."""
        return self.mailbox.dropped

    def __enter__(self) -> FrameSource:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- producer side ------------------------------------------------------------------
    def _setup(self) -> None:  # noqa: B027 - optional hook
        """Runs on the capture thread before the first frame."""

    def _teardown(self) -> None:  # noqa: B027 - optional hook
        """Runs on the capture thread after the last frame."""

    @abc.abstractmethod
    def _produce(self, seq: int) -> np.ndarray:
        """Return a new I420 array for frame ``seq`` (runs on the capture thread)."""

    def _run(self) -> None:
        try:
            self._setup()
            deadline = time.monotonic()
            while not self._stop.is_set():
                period = 1.0 / self.fps  # may change while running
                t0 = time.monotonic()
                wall = time.time()
                change = self.change
                if change is not None and not change.before_grab():
                    i420 = None
                else:
                    i420 = self._produce(self._seq)
                    if change is not None and not change.after_grab(i420):
                        i420 = None
                if i420 is None:
                    self.frames_unchanged += 1
                    deadline = max(deadline + period, time.monotonic() - period)
                    self._stop.wait(max(0.0, deadline - time.monotonic()))
                    continue
                height = i420.shape[0] * 2 // 3
                frame = CapturedFrame(
                    i420=i420,
                    width=i420.shape[1],
                    height=height,
                    seq=self._seq,
                    timestamp=wall,
                    monotonic=t0,
                    produce_ms=(time.monotonic() - t0) * 1000.0,
                )
                self._seq += 1
                self.frames_produced += 1
                self.mailbox.put(frame)
                deadline += period
                delay = deadline - time.monotonic()
                if delay < -period:
                    deadline = time.monotonic()  # fell behind: do not burst to catch up
                elif delay > 0:
                    self._stop.wait(delay)
        except Exception as exc:
            log.exception("%s failed", self._name)
            self.error = exc
        finally:
            try:
                self._teardown()
                if self.change is not None:
                    self.change.close()
            finally:
                self.mailbox.close(self.error)


class ScreenCapture(FrameSource):
    """Captures a monitor (or a region of it) with mss on a dedicated thread.

    BGRA is optionally downscaled with ``cv2.resize`` (see :func:`resize_interpolation`)
    and converted to I420 with
    ``cv2.cvtColor(..., COLOR_BGRA2YUV_I420)`` on the capture thread. Output dimensions
    are always even.
    """

    def __init__(
        self,
        monitor: int = 1,
        *,
        region: Region | None = None,
        with_cursor: bool = False,
        max_size: tuple[int, int] | None = None,
        fps: float = 30.0,
        display: str | None = None,
    ) -> None:
        super().__init__(fps, name=f"castapp-capture-{monitor}")
        self.monitor = monitor
        self.region = region
        self.with_cursor = with_cursor
        self.max_size = max_size
        self.display = display
        self._sct: mss.MSS | None = None
        self._area: dict[str, int] = {}
        self.grab_ms = 0.0
        self.convert_ms = 0.0

    def _setup(self) -> None:
        # One mss instance per thread, created on the thread that uses it.
        self._sct = _open_mss(self.display, self.with_cursor)
        monitors = self._sct.monitors
        if not 0 <= self.monitor < len(monitors):
            raise ValueError(f"monitor {self.monitor} does not exist ({len(monitors) - 1} found)")
        mon = monitors[self.monitor]
        left, top, width, height = mon["left"], mon["top"], mon["width"], mon["height"]
        if self.region is not None:
            r = self.region
            x0 = min(max(0, r.left), width - 2)
            y0 = min(max(0, r.top), height - 2)
            width = min(r.width, width - x0)
            height = min(r.height, height - y0)
            left, top = left + x0, top + y0
        self._area = {"left": left, "top": top, "width": _even(width), "height": _even(height)}

    def _teardown(self) -> None:
        if self._sct is not None:
            self._sct.close()
            self._sct = None

    @property
    def area(self) -> dict[str, int]:
        """The screen rectangle being grabbed (set once capture has started)."""
        return dict(self._area)

    def _produce(self, seq: int) -> np.ndarray:
        assert self._sct is not None
        t0 = time.perf_counter()
        bgra = np.asarray(self._sct.grab(self._area))
        t1 = time.perf_counter()
        h, w = bgra.shape[:2]
        if w % 2 or h % 2:
            bgra = bgra[: h - h % 2, : w - w % 2]
            h, w = bgra.shape[:2]
        out_w, out_h = fit_size(w, h, self.max_size)
        if (out_w, out_h) != (w, h):
            interpolation = resize_interpolation(w, h, out_w, out_h)
            bgra = cv2.resize(bgra, (out_w, out_h), interpolation=interpolation)
        i420 = cv2.cvtColor(bgra, cv2.COLOR_BGRA2YUV_I420)
        t2 = time.perf_counter()
        self.grab_ms = (t1 - t0) * 1000.0
        self.convert_ms = (t2 - t1) * 1000.0
        return i420


class SyntheticSource(FrameSource):
    """Deterministic test pattern frames (see :mod:`castapp.rtc.pattern`).

    Frame ``seq`` carries ``(first_counter + seq) mod 2**16`` in its counter band.
    """

    def __init__(
        self, width: int = 1280, height: int = 720, fps: float = 30.0, first_counter: int = 0
    ) -> None:
        super().__init__(fps, name="castapp-synthetic")
        self.width = width
        self.height = height
        self.first_counter = first_counter
        self._base = pattern.make_base(width, height)

    def counter_for(self, seq: int) -> int:
        return (self.first_counter + seq) % (1 << pattern.COUNTER_BITS)

    def _produce(self, seq: int) -> np.ndarray:
        return pattern.draw_frame(self._base, self.width, self.height, self.counter_for(seq))


def thumbnails(max_width: int = 320, display: str | None = None) -> dict[int, np.ndarray]:
    """A small BGRA picture of every monitor (index 1 up), for a monitor picker.

    Blocking (one full grab per monitor): run it off the UI thread.
    """
    shots: dict[int, np.ndarray] = {}
    with _open_mss(display) as sct:
        for index, mon in enumerate(sct.monitors[1:], start=1):
            bgra = np.asarray(sct.grab(mon))
            h, w = bgra.shape[:2]
            scale = min(1.0, max_width / max(1, w))
            size = (max(2, round(w * scale)), max(2, round(h * scale)))
            shots[index] = np.ascontiguousarray(
                cv2.resize(bgra, size, interpolation=cv2.INTER_AREA))
    return shots
