"""Change detection: capture and encode only when the screen changed.

A frame source with a :class:`ChangeFilter` asks it twice per look at the screen
(see ``FrameSource._run``):

1. :meth:`ChangeFilter.before_grab` - *may* the screen have changed since the last
   published frame? On X11 this reads the DAMAGE extension through **python-xlib** (a
   damage object on the root window; draining its events costs a few microseconds), so
   an unchanged screen costs no grab, no conversion and no encode. The damage object
   reports the bounding box of what was drawn (one event when it grows; reporting every
   drawn rectangle took most of the capture thread's time under 1,800 rectangles a
   second). Without DAMAGE
   (Windows, macOS, Wayland without PipeWire damage, a failed X connection) it answers
   "maybe".
2. :meth:`ChangeFilter.after_grab` - does the grabbed frame differ from the last
   published one? An exact comparison of the luma plane as 64-bit words (a single changed
   pixel counts; about 0.3 ms at 1080p), which also yields the changed area as a grid of
   64x64 blocks for the content classifier (:mod:`castapp.rtc.content`). DAMAGE can report
   repaints that leave the pixels as they were; those frames are dropped here.

While nothing changes, the capture thread sleeps in :meth:`XDamageFilter.wait_change`
(a ``select`` on the X connection) until the server reports drawing or the next tick is
due, and grabs at once when the frame-rate cap allows (``FrameSource.immediate``): a
keystroke after a quiet moment is grabbed within a millisecond or two instead of at the
next 30 Hz tick. :attr:`XDamageFilter.damage_boxes` (the drawn rectangles) let the screen
capture grab and convert only those rectangles, into a copy of the last frame.

Chroma-only changes (a hue change at equal luma) are caught by comparing the chroma
planes too when the luma planes are equal.

Frames that are not published are counted in ``FrameSource.frames_unchanged``. The track
keeps the stream alive with a low-rate refresh (:mod:`castapp.rtc.track`).
"""

from __future__ import annotations

import logging
import select
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from castapp.logs import failed
from castapp.rtc.convert import i420_planes
from castapp.rtc.xerrors import x_failures

log = logging.getLogger(__name__)

BLOCK = 64


#: After the first drawing is reported, the grab waits until the server has been quiet for
#: this long (an application's repaint is often several requests) ...
SETTLE_S = 0.0015
#: ... but no longer than this in all.
SETTLE_MAX_S = 0.006

Box = tuple[int, int, int, int]
"""left, top, right, bottom."""

#: Drawn rectangles kept apart; more are merged. (With the bounding-box report, the
#: events drained in one look grow one box; the list keeps rectangles that arrive apart.)
MAX_BOXES = 8


def add_box(boxes: list[Box], box: Box) -> None:
    """Add ``box`` to ``boxes``, merged with any it overlaps or touches; when more than
    :data:`MAX_BOXES` would be kept, all become their bounding box."""
    x0, y0, x1, y1 = box
    kept: list[Box] = []
    for b in boxes:
        if b[0] <= x1 and x0 <= b[2] and b[1] <= y1 and y0 <= b[3]:
            x0, y0, x1, y1 = min(x0, b[0]), min(y0, b[1]), max(x1, b[2]), max(y1, b[3])
        else:
            kept.append(b)
    kept.append((x0, y0, x1, y1))
    if len(kept) > MAX_BOXES:
        kept = [(min(b[0] for b in kept), min(b[1] for b in kept),
                 max(b[2] for b in kept), max(b[3] for b in kept))]
    boxes[:] = kept


def _mark_blocks(blocks: np.ndarray, diff: np.ndarray, left: int, top: int,
                 block: int) -> None:
    """Set the blocks (``block`` pixels of this plane wide) where ``diff`` - a boolean
    region whose top-left pixel is (``left``, ``top``) - has any True."""
    if diff.size == 0 or not diff.any():
        return
    h, w = diff.shape
    rows = np.arange(-(top % block), h, block).clip(0)
    cols = np.arange(-(left % block), w, block).clip(0)
    grid = np.logical_or.reduceat(np.logical_or.reduceat(diff, rows, axis=0), cols, axis=1)
    r0, c0 = top // block, left // block
    blocks[r0:r0 + grid.shape[0], c0:c0 + grid.shape[1]] |= grid


@dataclass(frozen=True, slots=True)
class Change:
    """What changed between two published frames."""

    blocks: np.ndarray
    """Boolean grid (rows, cols) of 64x64 blocks that changed."""
    fraction: float
    """Share of blocks that changed."""
    luma: np.ndarray
    """The new frame's luma plane (a view; frames are never modified after publishing)."""
    previous: np.ndarray | None
    """The previous published frame's luma plane."""


class ChangeFilter(Protocol):
    """What a frame source consults each capture tick."""

    def before_grab(self) -> bool: ...

    def after_grab(self, i420: np.ndarray, regions: list[Box] | None = None) -> bool: ...

    def close(self) -> None: ...


def _words(plane: np.ndarray) -> np.ndarray:
    """A contiguous plane viewed as uint64 words per row (padding columns if needed)."""
    h, w = plane.shape
    if w % 8 == 0 and plane.flags.c_contiguous:
        return plane.view(np.uint64)
    padded = np.zeros((h, (w + 7) // 8 * 8), np.uint8)
    padded[:, :w] = plane
    return padded.view(np.uint64)


class CompareFilter:
    """Publishes a frame only if its pixels differ from the last published frame."""

    def __init__(self) -> None:
        self._previous: np.ndarray | None = None
        self._lock = threading.Lock()
        self.last_change: Change | None = None
        self.compared = 0
        self.unchanged = 0
        self.blocks_every_s = 0.05
        """The block map (for the classifier) is recomputed at most this often; between,
        a changed frame carries the last map (the exact changed/unchanged test is per
        frame)."""
        self._blocks_at = -1e9
        self.listeners: list[Any] = []
        """Callables taking a :class:`Change`, called on the capture thread."""

    def before_grab(self) -> bool:
        return True

    def after_grab(self, i420: np.ndarray, regions: list[Box] | None = None) -> bool:
        """``regions`` (left, top, right, bottom; even): the only places where ``i420`` can
        differ from the frame grabbed before it (the rest was copied from it), so only they
        are compared."""
        height = i420.shape[0] * 2 // 3
        luma = i420[:height]
        previous = self._previous
        self.compared += 1
        if previous is None or previous.shape != i420.shape:
            blocks = np.ones(((height + BLOCK - 1) // BLOCK,
                              (i420.shape[1] + BLOCK - 1) // BLOCK), bool)
            self._publish(i420, Change(blocks, 1.0, luma, None))
            return True
        if regions is not None:
            return self._compare_regions(i420, previous, regions)
        diff_words = _words(luma) != _words(previous[:height])
        if not diff_words.any():
            if np.array_equal(i420[height:], previous[height:]):
                self.unchanged += 1
                return False
            diff_words[:] = True  # chroma only (rare): mark everything
        now = time.monotonic()
        last = self.last_change
        if last is not None and now - self._blocks_at < self.blocks_every_s and \
                last.blocks.shape == self._grid(diff_words.shape):
            # Busy screen: reuse the last block map for the classifier; the frame goes out.
            self._publish(i420, Change(last.blocks, last.fraction, luma, previous[:height]))
            return True
        self._blocks_at = now
        words_per_block = BLOCK // 8
        h, wc = diff_words.shape
        bh, bw = self._grid(diff_words.shape)
        padded = np.zeros((bh * BLOCK, bw * words_per_block), bool)
        padded[:h, :wc] = diff_words
        blocks = np.asarray(padded.reshape(bh, BLOCK, bw, words_per_block).any(axis=(1, 3)))
        change = Change(blocks, float(blocks.mean()), luma, previous[:height])
        self._publish(i420, change)
        return True

    def _compare_regions(self, i420: np.ndarray, previous: np.ndarray,
                         regions: list[Box]) -> bool:
        height, width = i420.shape[0] * 2 // 3, i420.shape[1]
        blocks = np.zeros(((height + BLOCK - 1) // BLOCK, (width + BLOCK - 1) // BLOCK), bool)
        new_planes = i420_planes(i420, width, height)
        old_planes = i420_planes(previous, width, height)
        for x0, y0, x1, y1 in regions:
            for plane, sub in ((0, 1), (1, 2), (2, 2)):  # chroma: a hue change at equal luma
                a, b, c, d = x0 // sub, y0 // sub, x1 // sub, y1 // sub
                _mark_blocks(blocks, new_planes[plane][b:d, a:c] != old_planes[plane][b:d, a:c],
                             a, b, BLOCK // sub)
        if not blocks.any():
            self.unchanged += 1
            return False
        self._blocks_at = time.monotonic()
        self._publish(i420, Change(blocks, float(blocks.mean()), i420[:height],
                                   previous[:height]))
        return True

    @staticmethod
    def _grid(shape: tuple[int, ...]) -> tuple[int, int]:
        words_per_block = BLOCK // 8
        return (shape[0] + BLOCK - 1) // BLOCK, (shape[1] + words_per_block - 1) // words_per_block

    def _publish(self, i420: np.ndarray, change: Change) -> None:
        self._previous = i420
        self.last_change = change
        for listener in list(self.listeners):
            try:
                listener(change)
            except Exception as exc:  # broad: a listener's bug must not stop the capture
                if listener in self.listeners:  # not called again (nor logged every frame)
                    self.listeners.remove(listener)
                failed(log, "a change listener failed and was dropped", exc, logging.WARNING)

    def close(self) -> None:
        self._previous = None


class XDamageFilter(CompareFilter):
    """DAMAGE on the X root window before the grab, then the exact comparison.

    The X connection is opened lazily on the capture thread (python-xlib displays are not
    shared between threads). Any X failure turns the pre-check off ("maybe changed"), so
    capture degrades to the comparison alone instead of stopping.
    """

    def __init__(self, display: str | None = None,
                 area: dict[str, int] | None = None) -> None:
        super().__init__()
        self.display_name = display
        self.area = area
        self._display: Any = None
        self._damage: int | None = None
        self._failed = False
        self._damage_event = -1
        self.checks = 0
        self.skipped = 0
        self.damage_boxes: list[Box] | None = None
        """After :meth:`before_grab` said "changed": boxes (left, top, right, bottom; root
        window coordinates; at most :data:`MAX_BOXES`) covering what was drawn since the
        last look, or None when the whole area must be grabbed (the first look, a moved
        pointer, no DAMAGE)."""

    @property
    def active(self) -> bool:
        return self._display is not None and not self._failed

    def _open(self) -> None:
        from Xlib import display as xdisplay
        from Xlib.ext import damage

        d = xdisplay.Display(self.display_name)
        if not d.has_extension("DAMAGE"):
            d.close()
            raise RuntimeError("the X server has no DAMAGE extension")
        d.damage_query_version()
        root = d.screen().root
        self._damage = root.damage_create(damage.DamageReportBoundingBox)
        self._damage_event = d.extension_event.DamageNotify
        d.sync()
        self._display = d

    def _intersects(self, area: Any) -> bool:
        if self.area is None:
            return True
        a = self.area
        return not (area.x >= a["left"] + a["width"] or area.x + area.width <= a["left"]
                    or area.y >= a["top"] + a["height"] or area.y + area.height <= a["top"])

    def before_grab(self) -> bool:
        self.damage_boxes = None
        if self._failed:
            return True
        try:
            if self._display is None:
                self._open()
                return True  # the first frame is always grabbed
            d = self._display
            changed = damaged = False
            self.checks += 1
            boxes: list[Box] = []
            while count := d.pending_events():  # one read of the connection per batch
                for _ in range(count):
                    event = d.next_event()
                    if event.type == self._damage_event:
                        damaged = True
                        if self._intersects(event.area):
                            changed = True
                            r = event.area
                            add_box(boxes, (r.x, r.y, r.x + r.width, r.y + r.height))
            self.damage_boxes = boxes or None
            if damaged:
                # Emptied on any damage (also outside the area): the next drawing anywhere
                # grows the region again, so it is reported (and wakes wait_change).
                d.damage_subtract(self._damage, 0, 0)
                d.flush()
            if not changed:
                self.skipped += 1
            return changed
        except x_failures(RuntimeError) as exc:  # RuntimeError: no DAMAGE extension
            log.info("X DAMAGE unavailable (%s); comparing frames instead", exc)
            self._failed = True
            self.close_display()
            return True

    def wait_change(self, timeout: float) -> bool:
        """Block up to ``timeout`` seconds for the X server to report drawing; True when it
        did (:meth:`before_grab` then says whether it touched the area). Without DAMAGE (not
        open yet, or failed) it sleeps ``timeout`` and returns False."""
        d = self._display
        if d is None or self._failed:
            if timeout > 0:
                time.sleep(timeout)
            return False
        try:
            if not d.pending_events():
                ready, _, _ = select.select([d.fileno()], [], [], max(0.0, timeout))
                if not ready:
                    return False
            self._settle(d)
            return True
        except x_failures(ValueError) as exc:  # ValueError: a closed socket
            log.info("waiting for X DAMAGE failed (%s); comparing frames instead", exc)
            self._failed = True
            self.close_display()
            return False

    def _settle(self, d: Any) -> None:
        """Let a repaint that is still being drawn finish: wait until the server has been
        quiet for :data:`SETTLE_S` (at most :data:`SETTLE_MAX_S`), so an application that
        draws a change in several requests is grabbed once, whole, and not as its first
        rectangle now and the rest one frame interval later."""
        end = time.monotonic() + SETTLE_MAX_S
        count = d.pending_events()
        while (left := end - time.monotonic()) > 0:
            ready, _, _ = select.select([d.fileno()], [], [], min(SETTLE_S, left))
            if not ready:
                return
            now = d.pending_events()
            if now == count:
                return  # not an event (a reply or an error): nothing more to wait for
            count = now

    def close_display(self) -> None:
        d, self._display = self._display, None
        if d is not None:
            try:
                if self._damage is not None:
                    d.damage_destroy(self._damage)
                d.close()
            except x_failures():
                log.debug("closing the X DAMAGE connection failed", exc_info=True)

    def close(self) -> None:
        self.close_display()
        super().close()


def filter_for(source: object) -> CompareFilter:
    """The cheapest exact change filter for a source: X DAMAGE for an X11 screen capture,
    else the comparison alone."""
    from castapp.rtc.capture import ScreenCapture  # mss on X11 (monitors, regions, windows)

    if sys.platform.startswith("linux") and isinstance(source, ScreenCapture):
        try:
            import Xlib  # noqa: F401
        except ImportError:
            return CompareFilter()
        import os

        on_x11 = getattr(source, "display", None) or os.environ.get("DISPLAY")
        if on_x11 and not os.environ.get("WAYLAND_DISPLAY"):
            return _AreaLazyDamage(source)
    return CompareFilter()


class _AreaLazyDamage(XDamageFilter):
    """Reads the capture rectangle from the source each tick (a followed window moves), and
    watches the pointer when the source draws it (moving the pointer damages nothing)."""

    def __init__(self, source: Any) -> None:
        super().__init__(getattr(source, "display", None))
        self._source = source
        self._pointer: tuple[int, int] | None = None

    def _pointer_moved(self) -> bool:
        if not getattr(self._source, "with_cursor", False) or self._display is None:
            return False
        p = self._display.screen().root.query_pointer()
        where = (int(p.root_x), int(p.root_y))
        moved = self._pointer is not None and where != self._pointer
        self._pointer = where
        return moved

    def before_grab(self) -> bool:
        area = getattr(self._source, "area", None)
        self.area = dict(area) if area else None
        changed = super().before_grab()
        if self._failed:
            return True
        try:
            if self._pointer_moved():
                self.damage_boxes = None  # the pointer's old and new places: grab it all
                return True
            return changed
        except x_failures() as exc:
            log.info("X pointer query failed (%s); comparing frames instead", exc)
            self._failed = True
            self.close_display()
            return True


def enable(source: Any) -> CompareFilter:
    """Give ``source`` a change filter (once; safe while it runs) and return it."""
    current = getattr(source, "change", None)
    if isinstance(current, CompareFilter):
        return current
    flt = filter_for(source)
    source.change = flt
    return flt
