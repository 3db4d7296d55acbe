"""A frame source that produces nothing but can be told to fail like a capture would."""

from __future__ import annotations

import asyncio

from castapp.rtc.mailbox import SourceClosedError


class FakeFrameSource:
    def __init__(self, fail_on_start: BaseException | None = None) -> None:
        self.fail_on_start = fail_on_start
        self.started = 0
        self.stopped = 0
        self.error: BaseException | None = None
        self._running = False
        self.moved: list[float] = []  # capture clock moves asked for (shift)

    @property
    def running(self) -> bool:
        return self._running

    def start(self) -> None:
        self.started += 1
        if self.fail_on_start is not None:
            raise self.fail_on_start
        self._running = True
        self.error = None

    def shift(self, seconds: float) -> None:
        self.moved.append(seconds)

    def stop(self, timeout: float = 5.0) -> None:
        self.stopped += 1
        self._running = False

    async def next_frame(self, after_seq: int = -1) -> object:
        """A stand-in frame at once while running; raises as a closed mailbox would."""
        await asyncio.sleep(0)
        if self.error is not None:
            raise SourceClosedError(str(self.error))
        if not self._running:
            raise SourceClosedError("source stopped")
        return object()

    def fail(self, error: BaseException) -> None:
        """What a capture thread does when it dies: records the error and stops."""
        self.error = error
        self._running = False
