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
import enum
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import mss
import mss.exception
import numpy as np

from castapp.logs import failed
from castapp.rtc import pattern
from castapp.rtc.convert import I420Converter, even_up, scale_bgra, scale_filter
from castapp.rtc.mailbox import CapturedFrame, FrameMailbox, SourceClosedError
from castapp.rtc.shmgrab import ShmGrabber, draw_cursor

if TYPE_CHECKING:
    from castapp.rtc.change import ChangeFilter

__all__ = [
    "SCREEN_FAILURES",
    "CapturedFrame",
    "FrameSource",
    "MonitorInfo",
    "Region",
    "ScreenCapture",
    "SourceClosedError",
    "SourceState",
    "SyntheticSource",
    "fit_size",
    "list_monitors",
    "scale_filter",
]

log = logging.getLogger(__name__)

#: Drawn rectangles covering up to this share of the screen are grabbed and converted alone,
#: into a copy of the last frame; more is grabbed whole.
PATCH_MAX_SHARE = 0.5

#: What opening or grabbing a screen with mss raises: no display, a display that went away,
#: a refused X request (mss's own errors), or a system library that is missing.
SCREEN_FAILURES: tuple[type[Exception], ...] = (mss.exception.ScreenShotError, OSError)


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


def grab(sct: mss.MSS, area: dict[str, int]) -> Any:
    """One screenshot of ``area``; a display that went away is said as such (mss asserts
    on the reply a lost X connection never sends)."""
    try:
        return sct.grab(area)
    except AssertionError as exc:
        raise mss.exception.ScreenShotError("the connection to the display was lost") from exc


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

    Unscaled, an odd width or height is padded up by one pixel (see
    :mod:`castapp.rtc.convert`). The scale is a whole divisor (1/2, 1/3, ...): after a 1.5x
    shrink a 2-pixel text scroll becomes a 1.33-pixel shift that defeats motion
    prediction, and 720p from a 1080p screen needed 5x the bitrate of 960x540 for worse
    quality.
    """
    if max_size is None:
        return even_up(width), even_up(height)
    max_w, max_h = max_size
    divisor = max(1, math.ceil(max(width / max_w, height / max_h) - 1e-9))
    if divisor == 1:
        return even_up(width), even_up(height)
    return _even(width // divisor), _even(height // divisor)


class SourceState(enum.Enum):
    """What a source can see of what it shares (windows can be hidden or closed)."""

    LIVE = "live"
    COVERED = "covered"
    """Another window lies over part of the shared window; that part is sent as seen."""
    MINIMISED = "minimised"
    """The shared window is minimised (or otherwise unmapped): the last frame is repeated."""
    CLOSED = "closed"
    """The shared window is gone; the source stops."""


class FrameSource(abc.ABC):
    """A producer of I420 frames with newest-frame semantics.

    ``state`` says whether what is shared is visible; ``on_state`` (if set) is called with
    each change, on the capture thread.
    """

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
        self.state = SourceState.LIVE
        self.on_state: Callable[[SourceState], None] | None = None
        #: Optional change filter (castapp.rtc.change): each tick it may skip the grab
        #: (nothing changed) or drop the grabbed frame (same pixels as the last one).
        self.change: ChangeFilter | None = None
        self.frames_unchanged = 0
        self.regions: list[tuple[int, int, int, int]] | None = None
        """Set by ``_produce`` when the frame it returns is the previous one with only these
        rectangles (left, top, right, bottom) grabbed anew: the change filter compares
        only them."""
        #: Grab as soon as the change filter reports a change (X DAMAGE), within the
        #: frame-rate cap, instead of at the next capture tick; off: every look waits for
        #: the tick (castapp before this, kept for comparison).
        self.immediate = True
        self.woken = 0
        """Looks started by a reported change instead of the tick."""
        #: How grabs on a change are kept to the frame rate. ``grid``: at most one grab per
        #: slot of a fixed 1/fps grid. ``interval``: no two grabs closer than 1/fps
        #: (castapp before the grid, kept for comparison): against content repainting at
        #: nearly the same rate, one late grab pushes the next past the following repaint,
        #: and that repaint is never grabbed (54 of 59.5 repaints a second at 60 fps).
        self.grab_limit = "grid"
        self._grid: tuple[float, float] = (0.0, 0.0)
        """(origin, period) of the grab grid."""
        self._shift_lock = threading.Lock()
        self._shift_s = 0.0  # asked by shift(), applied by the capture thread
        self.shifts = 0
        """Moves of the capture clock asked for (:meth:`shift`)."""

    def shift(self, seconds: float) -> None:
        """Move the capture clock (the looks on the schedule and the grab grid) by
        ``seconds`` (negative: sooner), brought within half a period; from any thread. The
        TV asks for this to get its presenters' frames together (``castapp.session.phase``)."""
        period = 1.0 / self.fps
        seconds = (seconds + period / 2) % period - period / 2
        with self._shift_lock:
            self._shift_s += seconds
            self.shifts += 1

    def _take_shift(self) -> float:
        with self._shift_lock:
            seconds, self._shift_s = self._shift_s, 0.0
        return seconds

    def _set_state(self, state: SourceState) -> None:
        if state is self.state:
            return
        self.state = state
        log.info("%s: %s", self._name, state.value)
        if self.on_state is not None:
            try:
                self.on_state(state)
            except Exception as exc:  # broad: a consumer's callback must not stop the capture
                failed(log, "showing the capture's state failed", exc)

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
    def _produce(self, seq: int) -> np.ndarray | None:
        """Return a new I420 array for frame ``seq`` (runs on the capture thread).

        ``None``: nothing new this period (nothing is published).
        """

    def _publish(self, i420: np.ndarray, wall: float, t0: float) -> None:
        """Hand a new even-sized I420 frame to consumers (newest wins)."""
        frame = CapturedFrame(
            i420=i420,
            width=i420.shape[1],
            height=i420.shape[0] * 2 // 3,
            seq=self._seq,
            timestamp=wall,
            monotonic=t0,
            produce_ms=(time.monotonic() - t0) * 1000.0,
        )
        self._seq += 1
        self.frames_produced += 1
        self.mailbox.put(frame)

    def _tick(self, t0: float, wall: float) -> bool:
        """One look at the screen at ``t0``: ask the change filter, grab, publish.

        Returns whether a grab happened (it counts against the frame-rate cap)."""
        change = self.change
        i420 = None
        grabbed = False
        if change is None or change.before_grab():
            grabbed = True
            self.regions = None
            i420 = self._produce(self._seq)
            if i420 is not None and change is not None and \
                    not change.after_grab(i420, self.regions):
                i420 = None
        if i420 is not None:
            self._publish(i420, wall, t0)
        elif change is not None:
            self.frames_unchanged += 1
        return grabbed

    def _await_change(self, until: float, last_grab: float) -> bool:
        """Idle until ``until`` (the next periodic look), or until the change filter reports
        a change and the frame-rate cap allows a grab (one period after ``last_grab``).

        Returns whether a reported change ended the wait."""
        wait_change = getattr(self.change, "wait_change", None)
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= until:
                return False
            if not self.immediate or wait_change is None:
                self._stop.wait(until - now)
                continue
            # Short slices, so stop() is noticed while the display is silent.
            if wait_change(min(until - now, 0.05)):
                self.woken += 1
                earliest = self._earliest_grab(last_grab, 1.0 / self.fps)
                if earliest > now:
                    self._stop.wait(min(earliest, until) - now)
                return True
        return False

    def _earliest_grab(self, last_grab: float, period: float) -> float:
        """When the frame-rate cap allows the grab after one at ``last_grab``."""
        if self.grab_limit != "grid" or math.isinf(last_grab):
            return last_grab + period
        origin, grid_period = self._grid
        if grid_period != period:  # the first grab, or a new frame rate: a new grid
            origin = last_grab
            self._grid = (origin, period)
        slot = math.floor((last_grab - origin) / period + 1e-9)
        # The next slot; a quarter period apart at least, so a grab late in its slot is
        # not followed by one straight away (the repaint it caught is still being drawn).
        return max(origin + (slot + 1) * period, last_grab + period / 4)

    def _run(self) -> None:
        try:
            self._setup()
            next_look = time.monotonic()
            last_grab = -math.inf
            woken = False
            while not self._stop.is_set():
                period = 1.0 / self.fps  # may change while running
                t0 = time.monotonic()
                grabbed = self._tick(t0, time.time())
                if grabbed:
                    last_grab = t0
                if not woken:
                    next_look += period  # a look on the schedule
                if grabbed and (woken or (self.immediate and self.change is not None)):
                    # The schedule follows a grab on a change (and a late one): no two
                    # grabs closer than one period, which is the frame-rate cap.
                    next_look = max(next_look, self._earliest_grab(t0, period))
                woken = False
                moved = self._take_shift()
                if moved:
                    next_look += moved
                    self._grid = (self._grid[0] + moved, self._grid[1])
                delay = next_look - time.monotonic()
                if delay < -period:
                    next_look = time.monotonic()  # fell behind: do not burst to catch up
                elif delay > 0:
                    if grabbed and self.grab_limit != "grid":
                        self._stop.wait(delay)  # the frame-rate cap
                    else:
                        # After a grab too: a repaint reported meanwhile is let finish
                        # (settled) and grabbed when its slot opens, not caught half drawn
                        # by a blind look at the slot's start.
                        woken = self._await_change(next_look, last_grab)
        except Exception as exc:  # broad: the thread's end; said as source_failed by its consumer
            failed(log, f"{self._name} failed", exc)
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

    Each grab is optionally downscaled and converted to I420 by
    :class:`~castapp.rtc.convert.I420Converter` (libyuv where installed, else swscale) on
    the capture thread. Output dimensions are always even: odd sizes are padded by one
    repeated column/row, so every captured pixel arrives. ``with_cursor`` (X11, on by
    default) draws the mouse pointer into the frame. When X DAMAGE reports that only small
    rectangles were drawn (a keystroke), only those are grabbed and converted, into a copy
    of the last frame (unscaled capture with libyuv; ``patches``).
    """

    def __init__(
        self,
        monitor: int = 1,
        *,
        region: Region | None = None,
        with_cursor: bool = True,
        max_size: tuple[int, int] | None = None,
        fps: float = 30.0,
        display: str | None = None,
    ) -> None:
        super().__init__(fps, name=f"castapp-capture-{monitor}")
        self.monitor = monitor
        self.region = region
        #: The region grabbed: ``region`` cut to the monitor (known once the capture runs).
        self.region_grabbed: Region | None = None
        self.with_cursor = with_cursor
        self.max_size = max_size
        self.display = display
        self._sct: mss.MSS | None = None
        self._area: dict[str, int] = {}
        self._converter: I420Converter | None = None
        self.grab_ms = 0.0
        self.convert_ms = 0.0
        #: Grab only the rectangles X DAMAGE reports when small (see _patch_areas).
        self.patches = True
        self.patched = 0
        """Frames made by grabbing and converting only the drawn rectangle."""
        #: Convert whole-screen grabs straight from the X server's shared memory segment
        #: (castapp.rtc.shmgrab) instead of from mss's copy of it, where mss grabs that way.
        self.in_place = True
        self._shm: ShmGrabber | None = None
        self._last: np.ndarray | None = None

    def _setup(self) -> None:
        self._last = None
        # One mss instance per thread, created on the thread that uses it.
        self._sct = _open_mss(self.display, self.with_cursor)
        self._converter = I420Converter()
        self._shm = ShmGrabber.for_mss(self._sct) if self._converter.backend == "libyuv" \
            else None
        monitors = self._sct.monitors
        if not 0 <= self.monitor < len(monitors):
            raise ValueError(f"monitor {self.monitor} does not exist ({len(monitors) - 1} found)")
        mon = monitors[self.monitor]
        self._area = clip_region(
            {"left": mon["left"], "top": mon["top"], "width": mon["width"],
             "height": mon["height"]},
            self.region,
        )
        a = self._area
        self.region_grabbed = None if self.region is None else Region(
            a["left"] - mon["left"], a["top"] - mon["top"], a["width"], a["height"])

    def _teardown(self) -> None:
        sct, self._sct = self._sct, None
        self._shm = None
        if sct is not None:
            try:
                sct.close()
            except SCREEN_FAILURES as exc:  # the display went away: nothing is left to close
                log.debug("closing the screen capture: %s", exc)

    @property
    def area(self) -> dict[str, int]:
        """The screen rectangle being grabbed (set once capture has started)."""
        return dict(self._area)

    def _produce(self, seq: int) -> np.ndarray:
        patches = self._patch_areas()
        i420 = self._grab_patches(patches) if patches else None
        if i420 is None:
            i420 = self._grab_convert(self._area)
        self._last = i420
        return i420

    def _patch_areas(self) -> list[tuple[dict[str, int], int, int]] | None:
        """The rectangles to grab when only parts of the screen were drawn (X DAMAGE's
        boxes, widened to even coordinates), each with its offset in the frame; None: grab
        it all."""
        boxes = getattr(self.change, "damage_boxes", None)
        last, area = self._last, self._area
        if not boxes or last is None or not self.patches or not area:
            return None
        w, h = area["width"], area["height"]
        if fit_size(w, h, self.max_size) != (even_up(w), even_up(h)) or \
                last.shape != (even_up(h) * 3 // 2, even_up(w)):
            return None  # scaled, or the size changed
        rects: list[tuple[dict[str, int], int, int]] = []
        pixels = 0
        for box in boxes:
            x0 = max(0, box[0] - area["left"]) // 2 * 2
            y0 = max(0, box[1] - area["top"]) // 2 * 2
            x1 = even_up(min(w, box[2] - area["left"]))
            y1 = even_up(min(h, box[3] - area["top"]))
            if x1 <= x0 or y1 <= y0:
                continue  # outside the area
            if x1 > w or y1 > h:
                return None  # an odd edge (its padding is repeated by the full conversion)
            pixels += (x1 - x0) * (y1 - y0)
            rects.append(({"left": area["left"] + x0, "top": area["top"] + y0,
                           "width": x1 - x0, "height": y1 - y0}, x0, y0))
        if not rects or pixels > PATCH_MAX_SHARE * w * h:
            return None
        return rects

    def _grab_patches(self, rects: list[tuple[dict[str, int], int, int]]) -> np.ndarray | None:
        """The last frame with ``rects`` grabbed and converted anew (a new array)."""
        assert self._sct is not None and self._converter is not None and self._last is not None
        grab_s = convert_s = 0.0
        out = self._last.copy()
        for rect, x0, y0 in rects:
            t0 = time.perf_counter()
            bgra = np.asarray(grab(self._sct, rect))
            t1 = time.perf_counter()
            if not self._converter.convert_into(bgra, out, x0, y0):
                return None
            grab_s += t1 - t0
            convert_s += time.perf_counter() - t1
        self.grab_ms = grab_s * 1000.0
        self.convert_ms = convert_s * 1000.0
        self.patched += 1
        self.regions = [(x0, y0, x0 + r["width"], y0 + r["height"]) for r, x0, y0 in rects]
        return out

    def _grab_convert(self, area: dict[str, int]) -> np.ndarray:
        assert self._sct is not None and self._converter is not None
        t0 = time.perf_counter()
        shm = self._shm if self.in_place else None
        view = shm.grab(area) if shm is not None else None
        if view is not None and shm is not None:
            # In place: convert the shared segment, then draw the pointer into the frame.
            cursor = shm.cursor() if self.with_cursor else None
            t1 = time.perf_counter()
            h, w = view.shape[:2]
            i420 = self._converter.convert(view, fit_size(w, h, self.max_size))
            if cursor is not None:
                draw_cursor(i420, view, area, cursor, self._converter)
            t2 = time.perf_counter()
            self.grab_ms = (t1 - t0) * 1000.0
            self.convert_ms = (t2 - t1) * 1000.0
            return i420
        bgra = np.asarray(grab(self._sct, area))
        t1 = time.perf_counter()
        h, w = bgra.shape[:2]
        i420 = self._converter.convert(bgra, fit_size(w, h, self.max_size))
        t2 = time.perf_counter()
        self.grab_ms = (t1 - t0) * 1000.0
        self.convert_ms = (t2 - t1) * 1000.0
        return i420


def clip_region(monitor: dict[str, int], region: Region | None) -> dict[str, int]:
    """The grab rectangle: ``region`` (relative to the monitor) clipped to the monitor.

    Raises ``ValueError`` when the region lies entirely outside the monitor.
    """
    if region is None:
        return dict(monitor)
    if region.width < 1 or region.height < 1:
        raise ValueError(f"the region {region.width}x{region.height} is empty")
    x0 = max(0, region.left)
    y0 = max(0, region.top)
    x1 = min(monitor["width"], region.left + region.width)
    y1 = min(monitor["height"], region.top + region.height)
    if x1 - x0 < 1 or y1 - y0 < 1:
        raise ValueError(
            f"the region {region.width}x{region.height}+{region.left}+{region.top} lies "
            f"outside the {monitor['width']}x{monitor['height']} screen"
        )
    return {"left": monitor["left"] + x0, "top": monitor["top"] + y0,
            "width": x1 - x0, "height": y1 - y0}


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


def thumbnails(max_width: int = 320, display: str | None = None,
               indexes: list[int] | None = None) -> dict[int, np.ndarray]:
    """A small BGRA picture of every monitor (index 1 up, or those in ``indexes``).

    Blocking (one full grab per monitor): run it off the UI thread.
    """
    shots: dict[int, np.ndarray] = {}
    with _open_mss(display) as sct:
        for index, mon in enumerate(sct.monitors[1:], start=1):
            if indexes is not None and index not in indexes:
                continue
            bgra = np.asarray(grab(sct, mon))
            h, w = bgra.shape[:2]
            scale = min(1.0, max_width / max(1, w))
            shots[index] = scale_bgra(bgra, max(2, round(w * scale)), max(2, round(h * scale)))
    return shots
