"""Bitrate policy for screen content.

aiortc's receiver-side estimator (REMB) follows what it actually receives: a quiet desktop
drags the estimate down to a trickle, and the next full-screen change is then encoded
blurry while the estimate creeps back up at ~8 % per second. For screens the policy is:

* a floor that keeps text sharp and a ceiling, both scaled with pixels per second;
* increases are taken at once (up to the ceiling);
* decreases are taken only on real congestion: at once when the estimate is far below what
  we actually sent (under ``overuse_ratio`` of it; averaging noise and keyframes alone do not
  get it there), or when we were sending at least ``app_limited_ratio`` of the target and
  the estimate stayed below the target for ``persist_s`` seconds. aiortc's estimate cannot
  exceed about 1.5x the incoming rate, so it always lags a burst of new content: a single
  low estimate while the screen gets busier is not congestion.
  Otherwise the lower estimate only reflects an idle screen and is ignored.

Keyframes are not congestion. A keyframe is 10-50 frames' worth of bytes in one burst;
aiortc's estimator dips right after one. So keyframe bytes are left out of the output
rate, and decreases arriving within ``keyframe_grace_s`` of a keyframe are ignored.

Rebuilding the encoder costs a keyframe (PyAV cannot retune an open libx264 or libvpx
context: setting ``bit_rate`` on it has no effect, measured with av 18.1), and every
keyframe used to dip the estimate into the next rebuild. :meth:`BitratePolicy.should_rebuild`
therefore allows one only when the built cap actually limits the encoder: a higher target
only if the encoder's output was pressing against the built cap, a lower one only if the
output is clearly above the new target (by more than ``rebuild_hysteresis``), and never
twice within ``rebuild_spacing_s``.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BitrateBounds:
    floor_bps: int
    start_bps: int
    ceiling_bps: int


# Bits per pixel (per second of video) for H.264 (x264 ultrafast, CRF ~23) on screens.
H264_BPP = (0.025, 0.06, 0.15)
# libvpx realtime needs a little more at the floor and tops out lower.
VP8_BPP = (0.03, 0.06, 0.12)


def bounds_for(
    width: int,
    height: int,
    fps: float,
    bpp: tuple[float, float, float] = H264_BPP,
    *,
    min_floor_bps: int = 500_000,
    max_ceiling_bps: int = 50_000_000,
) -> BitrateBounds:
    """Floor/start/ceiling for a resolution and frame rate."""
    pixel_rate = width * height * fps
    floor = int(min(max(pixel_rate * bpp[0], min_floor_bps), max_ceiling_bps))
    ceiling = int(min(max(pixel_rate * bpp[2], floor), max_ceiling_bps))
    start = int(min(max(pixel_rate * bpp[1], floor), ceiling))
    return BitrateBounds(floor, start, ceiling)


class BitratePolicy:
    """Turns receiver estimates into an encoder target; thread-safe."""

    def __init__(
        self,
        bounds: BitrateBounds,
        *,
        app_limited_ratio: float = 0.5,
        overuse_ratio: float = 0.6,
        window_s: float = 2.0,
        persist_s: float = 2.0,
        keyframe_grace_s: float = 1.0,
        cap_pressure_ratio: float = 0.85,
        rebuild_hysteresis: float = 0.25,
        rebuild_spacing_s: float = 3.0,
    ) -> None:
        self._lock = threading.Lock()
        self.bounds = bounds
        self._target = bounds.start_bps
        self.app_limited_ratio = app_limited_ratio
        self.overuse_ratio = overuse_ratio
        self.window_s = window_s
        self.persist_s = persist_s
        self._low_since: float | None = None
        self._sent: deque[tuple[float, int]] = deque()
        self._sent_bits = 0
        self.keyframe_grace_s = keyframe_grace_s
        self.cap_pressure_ratio = cap_pressure_ratio
        self.rebuild_hysteresis = rebuild_hysteresis
        self.rebuild_spacing_s = rebuild_spacing_s
        self._last_keyframe_at: float | None = None
        self._last_rebuild_at: float | None = None
        self.last_estimate_bps: int | None = None
        self.ignored_decreases = 0
        self.ignored_after_keyframe = 0

    @property
    def target_bps(self) -> int:
        return self._target

    def set_bounds(self, bounds: BitrateBounds) -> None:
        with self._lock:
            self.bounds = bounds
            self._target = min(max(self._target, bounds.floor_bps), bounds.ceiling_bps)

    def record_output(self, nbytes: int, now: float | None = None, *,
                      keyframe: bool = False) -> None:
        """Record one encoded frame's size, to tell congestion from an idle screen.

        A keyframe's bytes are not counted (a burst the cap allows, not a rate)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if keyframe:
                self._last_keyframe_at = now
                self._expire(now)
                return
            self._sent.append((now, nbytes * 8))
            self._sent_bits += nbytes * 8
            self._expire(now)

    def _expire(self, now: float) -> None:
        while self._sent and now - self._sent[0][0] > self.window_s:
            self._sent_bits -= self._sent.popleft()[1]

    def output_bps(self, now: float | None = None) -> float | None:
        """Average output over the window, or ``None`` with less than half a window of data."""
        now = time.monotonic() if now is None else now
        with self._lock:
            self._expire(now)
            if not self._sent or now - self._sent[0][0] < self.window_s / 2:
                return None
            return self._sent_bits / self.window_s

    def on_estimate(self, bps: int, now: float | None = None) -> int:
        """Apply a receiver estimate and return the new target."""
        now = time.monotonic() if now is None else now
        rate = self.output_bps(now)
        with self._lock:
            self.last_estimate_bps = bps
            b = self.bounds
            wanted = min(max(bps, b.floor_bps), b.ceiling_bps)
            if wanted >= self._target:
                self._low_since = None
                self._target = wanted
                return self._target
            kf = self._last_keyframe_at
            if kf is not None and now - kf < self.keyframe_grace_s:
                self.ignored_after_keyframe += 1
                return self._target
            using_budget = rate is not None and rate >= self.app_limited_ratio * self._target
            if not using_budget:
                self._low_since = None
            elif self._low_since is None:
                self._low_since = now
            overuse = rate is not None and bps < self.overuse_ratio * rate
            lasting = self._low_since is not None and now - self._low_since >= self.persist_s
            if overuse or lasting:
                self._target = wanted
                self._low_since = None
            else:
                self.ignored_decreases += 1
            return self._target

    def should_rebuild(self, built_bps: int, now: float | None = None) -> bool:
        """Whether an encoder built with cap ``built_bps`` must be rebuilt for the target."""
        now = time.monotonic() if now is None else now
        target = self._target
        if built_bps <= 0:
            return True
        if abs(target - built_bps) / built_bps <= self.rebuild_hysteresis:
            return False
        last = self._last_rebuild_at
        if last is not None and now - last < self.rebuild_spacing_s:
            return False
        rate = self.output_bps(now)
        if rate is None:
            return False
        if target > built_bps:
            return rate >= self.cap_pressure_ratio * built_bps  # the old cap held it back
        # the old cap lets through clearly more than the network takes: an estimate a little
        # under the output (a receiver short of CPU reads its own queueing as congestion)
        # is not worth a keyframe; real congestion keeps lowering the estimate until it is
        return rate > target * (1 + self.rebuild_hysteresis)

    def note_rebuild(self, now: float | None = None) -> None:
        with self._lock:
            self._last_rebuild_at = time.monotonic() if now is None else now
