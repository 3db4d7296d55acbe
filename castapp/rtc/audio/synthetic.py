"""A synchronised flash and click, for measuring lip sync end to end.

:class:`FlashVideoSource` is the synthetic test pattern with, every ``period_s``, one frame
whose picture is white above the counter band (which keeps counting); it notes that frame's
capture time in a shared :class:`Flashes`. ``castapp send --synthetic --synthetic-sound`` casts
the pair, so lip sync can be checked without a desktop.
:class:`ClickSource` is a sound source on the same monotonic clock that puts a 5 ms tone burst
(a click) at exactly each noted instant, in 20 ms chunks produced in real time. A receiver
that shows the white frame and plays the click at the same moment is in sync.

``lag_s`` makes the picture side late on purpose (each frame is handed on ``lag_s`` after it
was captured, like a slow encoder), to show that the TV corrects a stream that is early.
"""

from __future__ import annotations

import collections
import itertools
import queue
import threading
import time

import numpy as np

from castapp.rtc import pattern
from castapp.rtc.audio.source import CAPTURE_MS, CHANNELS, SAMPLE_RATE, ChunkBuffer
from castapp.rtc.capture import SyntheticSource

WHITE = 235
CHUNK_SAMPLES = SAMPLE_RATE * CAPTURE_MS // 1000
CLICK_SAMPLES = SAMPLE_RATE * 5 // 1000
CLICK = (0.6 * 32767 * np.sin(2 * np.pi * 2000 * np.arange(CLICK_SAMPLES) / SAMPLE_RATE)
         ).astype(np.int16)


class Flashes:
    """Capture instants (``time.monotonic()``) of the white frames, shared by both sources."""

    def __init__(self, period_s: float = 1.0) -> None:
        self.period_s = period_s
        self._lock = threading.Lock()
        self._times: collections.deque[float] = collections.deque(maxlen=64)

    def add(self, at: float) -> None:
        with self._lock:
            self._times.append(at)

    def between(self, start: float, end: float) -> list[float]:
        with self._lock:
            return [t for t in self._times if start <= t < end]


class FlashVideoSource(SyntheticSource):
    def __init__(self, flashes: Flashes, width: int = 640, height: int = 360,
                 fps: float = 30.0, lag_s: float = 0.0) -> None:
        super().__init__(width, height, fps)
        self.flashes = flashes
        self.lag_s = lag_s
        self._next_flash: float | None = None
        self._late: queue.Queue[tuple[float, np.ndarray, float, float] | None] = queue.Queue()
        self._late_thread: threading.Thread | None = None

    def _produce(self, seq: int) -> np.ndarray:
        now = time.monotonic()  # the run loop's capture instant of this frame, to within µs
        if self._next_flash is None:
            self._next_flash = now + self.flashes.period_s
        img = super()._produce(seq)
        if now >= self._next_flash:
            img[: self.height - pattern.band_height(self.height)] = WHITE
            self.flashes.add(now)
            self._next_flash += self.flashes.period_s * max(1, int(
                (now - self._next_flash) / self.flashes.period_s) + 1)
        return img

    def _publish(self, i420: np.ndarray, wall: float, t0: float) -> None:
        if self.lag_s <= 0:
            super()._publish(i420, wall, t0)
            return
        if self._late_thread is None:
            self._late_thread = threading.Thread(target=self._hand_on_late, daemon=True)
            self._late_thread.start()
        self._late.put((t0 + self.lag_s, i420, wall, t0))

    def _hand_on_late(self) -> None:
        while (item := self._late.get()) is not None:
            due, i420, wall, t0 = item
            time.sleep(max(0.0, due - time.monotonic()))
            super()._publish(i420, wall, t0)

    def stop(self, timeout: float = 5.0) -> None:
        self._late.put(None)
        super().stop(timeout)


class ClickSource:
    """An ``AudioSource`` of silence with a click at every flash instant."""

    description = "synthetic clicks"

    def __init__(self, flashes: Flashes) -> None:
        self.flashes = flashes
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, sink: ChunkBuffer) -> None:
        self._thread = threading.Thread(target=self._run, args=(sink,), name="audio-capture",
                                        daemon=True)
        self._thread.start()

    def _run(self, sink: ChunkBuffer) -> None:
        end = time.monotonic()
        step = CAPTURE_MS / 1000.0
        silence = bytes(CHUNK_SAMPLES * CHANNELS * 2)
        while not self._stop.is_set():
            end += step
            wait = end - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            elif wait < -0.2:  # fell far behind: skip ahead like a capture device would
                end = time.monotonic()
            flashes = self.flashes.between(end - step - CLICK_SAMPLES / SAMPLE_RATE, end)
            sink.put(self._chunk(flashes, end - step) if flashes else silence, end)

    @staticmethod
    def _chunk(flashes: list[float], start: float) -> bytes:
        """A chunk starting at ``start`` with the clicks of ``flashes`` in it."""
        mono = np.zeros(CHUNK_SAMPLES + CLICK_SAMPLES, dtype=np.int16)
        for at in flashes:
            first = round((at - start) * SAMPLE_RATE)
            lo, hi = max(0, first), first + CLICK_SAMPLES
            if hi > 0:
                mono[lo:hi] = CLICK[lo - first:]
        chunk = np.repeat(mono[:CHUNK_SAMPLES, None], CHANNELS, axis=1)
        return chunk.astype("<i2").tobytes()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)


def click_onsets(pcm: bytes, threshold: int = 6000) -> list[int]:
    """Sample indices (per channel) where a click starts in interleaved s16 stereo ``pcm``."""
    mono = np.abs(np.frombuffer(pcm, dtype="<i2").reshape(-1, CHANNELS)[:, 0].astype(np.int32))
    loud = np.flatnonzero(mono > threshold)
    if not len(loud):
        return []
    starts = [int(loud[0])]
    starts += [int(b) for a, b in itertools.pairwise(loud) if b - a > SAMPLE_RATE // 10]
    return starts
