"""The clocks a session reads, injected so tests can drive time by hand.

A session never calls ``time.monotonic()``, ``time.time()`` or ``asyncio.sleep()`` itself: it
asks its :class:`Clock`. :class:`SystemClock` is the real one; ``tests/fakes`` has a fake
clock that only moves when a test advances it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds on a clock that never jumps (for deadlines and intervals)."""
        ...

    def wall(self) -> float:
        """Seconds since the epoch (to compare with timestamps of RTCP reports)."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


SYSTEM_CLOCK = SystemClock()
