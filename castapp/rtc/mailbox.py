"""Captured frames and the one-slot newest-frame mailbox that hands them on.

Frames travel as :class:`CapturedFrame`: an I420 (yuv420p) numpy array plus capture
timestamps. A plain array keeps sources independent of PyAV and easy to inspect in tests;
:meth:`CapturedFrame.to_video_frame` wraps it zero-copy as an ``av.VideoFrame`` when it is
handed to aiortc. Every frame owns a fresh array, so wrapping it without a copy is safe.

The mailbox holds exactly one frame. A producer overwrites it; consumers ask for "a frame
newer than the one I already have" and always get the newest. Nothing ever queues.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from dataclasses import dataclass

import av
import numpy as np

from castapp.rtc.convert import i420_frame


class SourceClosedError(Exception):
    """The frame source was stopped or failed; no newer frame will come."""


@dataclass(frozen=True, slots=True)
class CapturedFrame:
    """One I420 frame: ``i420`` has shape ``(height * 3 // 2, width)``, dtype uint8."""

    i420: np.ndarray
    width: int
    height: int
    seq: int
    """Per-source sequence number, starting at 0, strictly increasing."""
    timestamp: float
    """Wall-clock capture time, ``time.time()``."""
    monotonic: float
    """Capture time on ``time.monotonic()``; used for media timestamps."""
    produce_ms: float = 0.0
    """Time spent grabbing and converting this frame."""

    @property
    def y(self) -> np.ndarray:
        """The luma plane, shape ``(height, width)``."""
        return self.i420[: self.height]

    def to_video_frame(self) -> av.VideoFrame:
        """Wrap the I420 buffer as a yuv420p ``av.VideoFrame`` without copying.

        (Not ``VideoFrame.from_numpy_buffer(..., "yuv420p")``: PyAV 18 rounds its height
        down to a multiple of 4, so 1680x1050 became 1680x1048 with shifted chroma.)
        """
        return i420_frame(self.i420, self.width, self.height)


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


class FrameMailbox:
    """A one-slot, thread-safe holder of the newest frame with sync and async waits."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._frame: CapturedFrame | None = None
        self._closed = False
        self._error: BaseException | None = None
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self.dropped = 0
        """Frames overwritten before anyone took them."""
        self._taken_seq = -1

    def open(self) -> None:
        with self._cond:
            self._closed = False
            self._error = None

    def put(self, frame: CapturedFrame) -> None:
        with self._cond:
            if self._frame is not None and self._frame.seq > self._taken_seq:
                self.dropped += 1
            self._frame = frame
            waiters, self._waiters = self._waiters, []
            self._cond.notify_all()
        for loop, fut in waiters:
            self._wake(loop, fut)

    def close(self, error: BaseException | None = None) -> None:
        with self._cond:
            self._closed = True
            self._error = error
            waiters, self._waiters = self._waiters, []
            self._cond.notify_all()
        for loop, fut in waiters:
            self._wake(loop, fut)

    @staticmethod
    def _wake(loop: asyncio.AbstractEventLoop, fut: asyncio.Future[None]) -> None:
        with contextlib.suppress(RuntimeError):  # the waiting loop is already closed
            loop.call_soon_threadsafe(_resolve, fut)

    @property
    def closed(self) -> bool:
        return self._closed

    def latest(self) -> CapturedFrame | None:
        with self._cond:
            return self._frame

    def _newer_locked(self, after_seq: int) -> CapturedFrame | None:
        frame = self._frame
        if frame is not None and frame.seq > after_seq:
            self._taken_seq = max(self._taken_seq, frame.seq)
            return frame
        if self._closed:
            raise SourceClosedError(str(self._error) if self._error else "source stopped")
        return None

    def wait_newer(self, after_seq: int = -1, timeout: float | None = None) -> CapturedFrame:
        """Block until a frame with ``seq > after_seq`` exists; return the newest one."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                frame = self._newer_locked(after_seq)
                if frame is not None:
                    return frame
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError(f"no frame newer than #{after_seq}")
                self._cond.wait(remaining)

    async def next_newer(self, after_seq: int = -1) -> CapturedFrame:
        """Await a frame with ``seq > after_seq`` without blocking the event loop."""
        loop = asyncio.get_running_loop()
        while True:
            with self._cond:
                frame = self._newer_locked(after_seq)
                if frame is not None:
                    return frame
                fut: asyncio.Future[None] = loop.create_future()
                self._waiters.append((loop, fut))
            try:
                await fut
            finally:
                with self._cond:
                    if (loop, fut) in self._waiters:
                        self._waiters.remove((loop, fut))
