"""What is on screen, from the change pattern, and the settings that suit it (Auto preset).

:class:`ContentClassifier` is fed every published change (a grid of changed 64x64 blocks
plus the new and previous luma planes, from :mod:`castapp.rtc.change`) and sorts the
last second into one of three modes:

``text``
    Still or nearly still (slides, documents, typing, a blinking cursor): full
    resolution, sharp (lower CRF), and at most :attr:`ModeSettings.max_encode_fps`
    encodes a second. A change after a quiet moment is still sent at once.
``scroll``
    Large areas moving vertically (the row profile of the changed area matches the
    previous frame's shifted by a few rows): full resolution, every frame, never scaled.
``motion``
    Video, animation, window drags: frames first. If the machine cannot keep up at
    native size, the capture is downscaled by a whole divisor (1/2, 1/3, ...) until the
    frame rate holds, and scaled back up when it has room again.

Switching has hysteresis: a busier mode must hold for ``enter_s``, a calmer one for
``leave_s``. :class:`AutoController` applies the mode to one connection (its
:class:`~castapp.rtc.encoder.EncoderLink` and the frame source) and records it in the
link's stats, which the H.264 encoder also sends in-band to the receiver.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from castapp.logs import failed
from castapp.rtc.change import BLOCK, Change, CompareFilter
from castapp.rtc.encoder import EncoderConfig, EncoderLink

log = logging.getLogger(__name__)


class Mode(enum.Enum):
    TEXT = "text"
    SCROLL = "scroll"
    MOTION = "motion"


@dataclass(frozen=True, slots=True)
class ModeSettings:
    crf: int
    max_encode_fps: float | None
    """Encodes per second at most (``None``: every captured change)."""
    qcomp: float | None = None
    """x264 qcomp; 1.0 for still content, so refreshes of a still picture stay tiny."""


# Scroll and motion share their encoder settings, so a desktop that goes back and forth
# between them (a scrolling terminal beside a moving window) never rebuilds the encoder:
# in a 60 s 1080p60 desktop cast, CRF 21 for scroll and 23 for motion cost 2 rebuilds and
# 2 keyframes. Only entering or leaving text (CRF 21, qcomp 1) rebuilds.
MODE_SETTINGS: dict[Mode, ModeSettings] = {
    Mode.TEXT: ModeSettings(crf=21, max_encode_fps=15.0, qcomp=1.0),
    Mode.SCROLL: ModeSettings(crf=23, max_encode_fps=None),
    Mode.MOTION: ModeSettings(crf=23, max_encode_fps=None),
}

RANK = {Mode.TEXT: 0, Mode.SCROLL: 1, Mode.MOTION: 2}


def _busiest_region(blocks: np.ndarray) -> tuple[int, int, int, int] | None:
    """Block rows/cols (r0, r1, c0, c1) around the column with the most changed blocks.

    Small changes elsewhere (a clock, a cursor) stay out of the box, so they do not hide
    the shift of a scrolling panel."""
    per_col = blocks.sum(axis=0)
    if per_col.max() == 0:
        return None
    peak = int(np.argmax(per_col))
    keep = per_col >= max(1, per_col[peak] // 2)
    c0 = c1 = peak
    while c0 > 0 and keep[c0 - 1]:
        c0 -= 1
    while c1 + 1 < keep.size and keep[c1 + 1]:
        c1 += 1
    rows = np.flatnonzero(blocks[:, c0:c1 + 1].any(axis=1))
    return int(rows[0]), int(rows[-1]) + 1, c0, c1 + 1


def vertical_shift(previous: np.ndarray, current: np.ndarray, blocks: np.ndarray,
                   max_shift: int = 96) -> int | None:
    """Rows the changed area moved by (positive: content moved up), or ``None``.

    Compares the row profiles (mean luma per row, every 4th column) of the busiest changed
    region: a scroll is a shift whose error is far below the unshifted one.
    """
    box = _busiest_region(blocks)
    if box is None:
        return None
    r0, r1, c0, c1 = (min(previous.shape[0], v * BLOCK) if i < 2
                      else min(previous.shape[1], v * BLOCK) for i, v in enumerate(box))
    if r1 - r0 < 2 * BLOCK:
        return None
    a = previous[r0:r1, c0:c1:4].mean(axis=1, dtype=np.float32)
    b = current[r0:r1, c0:c1:4].mean(axis=1, dtype=np.float32)
    n = a.shape[0]
    span = min(max_shift, n // 3)
    if span < 2:
        return None
    m = n - span  # compare equal lengths for every shift, in one numpy operation
    windows_a = np.lib.stride_tricks.sliding_window_view(a, m)[:span]  # a[s:s+m]
    windows_b = np.lib.stride_tricks.sliding_window_view(b, m)[:span]
    # Medians, not means: rows entering or leaving the region match nothing, and rows of
    # text have similar means, so a mean says little; most rows of a scroll match exactly.
    up = np.median(np.abs(windows_a - b[:m]), axis=1)  # content moved up by s rows
    down = np.median(np.abs(windows_b - a[:m]), axis=1)  # moved down by s rows
    up[0] = down[0] = np.inf
    s_up, s_down = int(np.argmin(up)), int(np.argmin(down))
    best, best_err = (s_up, float(up[s_up])) if up[s_up] <= down[s_down] else (
        -s_down, float(down[s_down]))
    base = float(np.median(np.abs(a[:m] - b[:m])))
    if base < 0.5:
        return None
    return best if best and best_err < 0.25 * base else None


class ContentClassifier:
    """The content mode from recent changes; thread-safe, clock injectable."""

    def __init__(self, *, window_s: float = 1.0, enter_s: float = 0.6,
                 leave_s: float = 1.5, busy_rate: float = 12.0,
                 motion_fraction: float = 0.03, scroll_share: float = 0.5,
                 background: bool = False) -> None:
        self.window_s = window_s
        self.enter_s = enter_s
        self.leave_s = leave_s
        self.busy_rate = busy_rate
        self.motion_fraction = motion_fraction
        self.scroll_share = scroll_share
        self._lock = threading.Lock()
        self._events: deque[tuple[float, float]] = deque()
        self._verdicts: deque[tuple[float, bool]] = deque()
        self._shift_at = -1e9
        self.capture_saturated = False
        """Set by the controller when the capture thread is busy most of the time (a slow
        machine at 4K): then a change at nearly every grab means motion."""
        self._background = background
        self._pending: Change | None = None
        self._pending_at = 0.0
        self._wake = threading.Event()
        self._worker: threading.Thread | None = None
        self._worker_stop = threading.Event()
        self.shift_every_s = 0.3
        """Scroll detection costs 1-18 ms (1080p, loaded machine): it runs at most this
        often (about 3 verdicts a second), and the share of scrolls is taken over those."""
        self._grabs: deque[tuple[float, int]] = deque()
        self._mode = Mode.TEXT
        self._candidate = Mode.TEXT
        self._candidate_since: float | None = None
        self.switches = 0

    def observe(self, change: Change, now: float | None = None) -> None:
        """One published change (called on the capture thread; cheap unless a scroll check
        is due and ``background`` is off)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            self._events.append((now, change.fraction))
            self._trim(now)
            due = (change.previous is not None and change.fraction >= 0.01
                   and now - self._shift_at >= self.shift_every_s)
            if due:
                self._shift_at = now
        if not due:
            return
        if not self._background:
            self._judge(change, now)
            return
        with self._lock:  # the scroll check runs on a worker, off the capture's path
            self._pending, self._pending_at = change, now
        with self._lock:
            if self._worker is None:
                self._worker_stop = threading.Event()
                self._worker = threading.Thread(target=self._work, args=(self._worker_stop,),
                                                name="castapp-content", daemon=True)
                self._worker.start()
        self._wake.set()

    def close(self) -> None:
        """End the scroll-check worker (a later change starts a new one)."""
        with self._lock:
            self._worker = None
            self._pending = None
            self._worker_stop.set()
        self._wake.set()  # it ends after the check it may be running (at most ~20 ms)

    def _judge(self, change: Change, at: float) -> None:
        assert change.previous is not None
        scroll = vertical_shift(change.previous, change.luma, change.blocks) is not None
        with self._lock:
            self._verdicts.append((at, scroll))

    def _work(self, stop: threading.Event) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            with self._lock:
                if stop.is_set():
                    return
                change, at, self._pending = self._pending, self._pending_at, None
            if change is not None:
                try:
                    self._judge(change, at)
                except Exception as exc:  # broad: a hint for the Auto preset; the cast goes on
                    failed(log, "scroll check failed", exc, logging.WARNING)

    def _trim(self, now: float) -> None:
        while self._events and now - self._events[0][0] > self.window_s:
            self._events.popleft()
        while self._verdicts and now - self._verdicts[0][0] > self.window_s:
            self._verdicts.popleft()
        while len(self._grabs) > 1 and now - self._grabs[1][0] > self.window_s:
            self._grabs.popleft()

    def note_grabs(self, total: int, now: float | None = None) -> None:
        """The capture's running count of grabbed-and-compared frames: a screen that
        changed at nearly every grab is busy even when a slow machine grabs only a few
        times a second (4K)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            self._grabs.append((now, total))
            self._trim(now)

    def _changed_share(self, changes: int) -> float:
        if len(self._grabs) < 2:
            return 0.0
        grabs = self._grabs[-1][1] - self._grabs[0][1]
        return min(1.0, changes / grabs) if grabs > 0 else 0.0

    def instant(self, now: float | None = None) -> Mode:
        """The mode the last window suggests, without hysteresis."""
        now = time.monotonic() if now is None else now
        with self._lock:
            self._trim(now)
            events = list(self._events)
            looked = [s for _, s in self._verdicts]
            share = self._changed_share(len(events))
        rate = len(events) / self.window_s
        slow_but_busy = self.capture_saturated and rate >= 2 and share >= 0.9
        if rate < self.busy_rate and not slow_but_busy:
            return Mode.TEXT
        if looked and sum(looked) >= self.scroll_share * len(looked):
            return Mode.SCROLL
        mean_fraction = sum(f for _, f in events) / len(events)
        return Mode.MOTION if mean_fraction >= self.motion_fraction else Mode.TEXT

    def mode(self, now: float | None = None) -> Mode:
        now = time.monotonic() if now is None else now
        seen = self.instant(now)
        if seen is self._mode:
            self._candidate_since = None
            return self._mode
        if seen is not self._candidate or self._candidate_since is None:
            self._candidate, self._candidate_since = seen, now
        hold = self.enter_s if RANK[seen] > RANK[self._mode] else self.leave_s
        if now - self._candidate_since >= hold:
            log.info("content mode %s -> %s", self._mode.value, seen.value)
            self._mode = seen
            self._candidate_since = None
            self.switches += 1
        return self._mode


class AutoController:
    """Applies the content mode to one connection: encoder settings, encode rate, scale.

    ``tick()`` runs on the event loop (the track calls it for every frame it hands out).
    """

    def __init__(self, link: EncoderLink, source: Any, *,
                 classifier: ContentClassifier | None = None,
                 max_divisor: int = 4, settle_s: float = 2.0, retry_up_s: float = 10.0,
                 encoder_share: float = 0.6) -> None:
        self.link = link
        self.source = source
        self.base: EncoderConfig = link.config
        self.classifier = classifier or ContentClassifier(background=True)
        self.max_divisor = max_divisor
        self.settle_s = settle_s
        self.retry_up_s = retry_up_s
        self.divisor = 1
        self._retry_up_s = retry_up_s
        self._up_at: float | None = None
        self._produce_ms = 0.0
        self.encoder_share = encoder_share
        """Downscale only when encoding the wanted frame rate would take at least this share
        of the encoder thread's time; step back up only when the larger size is predicted
        (encode time grows with the pixels) to stay under it."""
        self._encode_ms = 0.0
        self._encoded = link.stats.frames
        self.mode = Mode.TEXT
        self._sent: deque[float] = deque()
        self._changes: deque[float] = deque()
        self._changed_at = time.monotonic()
        self._native: tuple[int, int] | None = None
        self._original_max_size = getattr(source, "max_size", None)
        self._filter: CompareFilter | None = None
        self._apply(Mode.TEXT)

    def attach(self, flt: CompareFilter) -> None:
        self._filter = flt
        flt.listeners.append(self._on_change)

    def detach(self) -> None:
        """Stop following the content; the capture goes back to its own scale."""
        if self._filter is not None and self._on_change in self._filter.listeners:
            self._filter.listeners.remove(self._on_change)
        self.classifier.close()
        self._scale(1)

    def _on_change(self, change: Change) -> None:
        self.classifier.observe(change)
        self._changes.append(time.monotonic())

    @property
    def min_interval_s(self) -> float:
        cap = MODE_SETTINGS[self.mode].max_encode_fps
        return 1.0 / cap if cap else 0.0

    def _apply(self, mode: Mode, now: float | None = None) -> None:
        self.mode = mode
        settings = MODE_SETTINGS[mode]
        self.link.config = dataclasses.replace(self.base, crf=settings.crf,
                                               qcomp=settings.qcomp)
        self.link.stats.mode = mode.value
        if mode is not Mode.MOTION:
            self._scale(1, now)

    def _scale(self, divisor: int, now: float | None = None) -> None:
        if divisor == self.divisor or not hasattr(self.source, "max_size"):
            return
        if self._native is None:
            area = getattr(self.source, "area", None) or {}
            if not area.get("width"):
                return
            self._native = (int(area["width"]), int(area["height"]))
        w, h = self._native
        log.info("auto: capture scaled to 1/%d", divisor)
        self.source.max_size = (self._original_max_size if divisor == 1
                                else (w // divisor, h // divisor))
        self.divisor = divisor
        self._encode_ms = 0.0  # measured again at the new size
        self._changed_at = time.monotonic() if now is None else now
        self._sent.clear()  # rates measured at the old size no longer apply
        self._changes.clear()

    def _rate_of_grabs(self, now: float) -> float:
        grabs = self.classifier._grabs
        if len(grabs) < 2 or grabs[-1][0] <= grabs[0][0]:
            return 0.0
        return (grabs[-1][1] - grabs[0][1]) / (grabs[-1][0] - grabs[0][0])

    def _rate(self, times: deque[float], now: float, window: float) -> float:
        while times and now - times[0] > window:
            times.popleft()
        return len(times) / window

    def _note_encode(self) -> None:
        """Follow the encoder's time per frame (keyframes left out: they are rare and slow)."""
        stats = self.link.stats
        if stats.frames == self._encoded:
            return
        self._encoded = stats.frames
        if stats.last_keyframe or stats.last_ms <= 0:
            return
        ms = stats.last_ms
        self._encode_ms = ms if self._encode_ms == 0 else 0.9 * self._encode_ms + 0.1 * ms

    def _outrun(self, tick_fps: float) -> bool:
        """The content changes faster than the capture grabs: the capture thread is busy
        most of the time, misses the target rate, and finds a change at nearly every grab
        (4K on a slow machine)."""
        grabs = self._rate_of_grabs(0.0)
        if grabs <= 0 or grabs >= 0.9 * tick_fps:
            return False
        with self.classifier._lock:
            share = self.classifier._changed_share(len(self.classifier._events))
        return share >= 0.9 and grabs * self._produce_ms / 1000.0 >= 0.5

    def tick(self, now: float | None = None, *, sent: bool = True,
             produce_ms: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if sent:
            self._sent.append(now)
        self._note_encode()
        if self._filter is not None:
            self.classifier.note_grabs(self._filter.compared, now)
            grabs = self._rate_of_grabs(now)
            self.classifier.capture_saturated = grabs * self._produce_ms / 1000.0 >= 0.7
        if produce_ms is not None:
            self._produce_ms = 0.9 * self._produce_ms + 0.1 * produce_ms
        mode = self.classifier.mode(now)
        if mode is not self.mode:
            self._apply(mode, now)
            self._changed_at = now
        if self.mode is not Mode.MOTION or now - self._changed_at < self.settle_s:
            return
        window = self.settle_s
        tick_fps = float(getattr(self.source, "fps", 60.0))
        sent_fps = self._rate(self._sent, now, window)
        changes = self._rate(self._changes, now, window)
        # What the content asks for: its change rate, or the target when it changes faster
        # than the capture can grab.
        wanted = tick_fps if self._outrun(tick_fps) else min(tick_fps, changes)
        if wanted < 10 or self._encode_ms <= 0:
            return
        behind = sent_fps < 0.8 * wanted
        # Fewer pixels help only where encoding is a large part of the cost. A frame rate
        # that falls short for another reason (a busy moment of the machine, a capture that
        # waits for the X server) is not helped by a whole-divisor resize, which costs a
        # keyframe each way: at 1080p60 an encoder using half its time flapped to 1/2 and
        # back 1-2 times in 20 s.
        busy = self._encode_ms * wanted / 1000.0
        if behind and busy >= self.encoder_share and self.divisor < self.max_divisor:
            if self._up_at is not None and now - self._up_at < 2 * self.settle_s:
                self._retry_up_s *= 2  # the last step up did not hold: wait longer
            self._up_at = None
            log.debug("auto: %.1f of %.1f fps sent, encoder busy %.2f: scaling down",
                      sent_fps, wanted, busy)
            self._scale(self.divisor + 1, now)  # cannot keep up: fewer pixels
            return
        if self.divisor == 1 or behind or sent_fps < 0.95 * wanted:
            return
        # Encode time grows a little slower than the pixels, so this overestimates; and a
        # quarter below the share leaves room for the machine's ups and downs.
        larger = busy * (self.divisor / (self.divisor - 1)) ** 2
        if larger < 0.75 * self.encoder_share and now - self._changed_at >= self._retry_up_s:
            self._up_at = now
            self._scale(self.divisor - 1, now)  # room to spare: try more pixels
