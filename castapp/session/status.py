"""A session's published status: replaced as a whole on every change, awaitable by state."""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Generic, Protocol, TypeVar


class HasState(Protocol):
    @property
    def state(self) -> enum.Enum: ...


T = TypeVar("T", bound=HasState)


class StatusBoard(Generic[T]):
    def __init__(self, initial: T, listener: Callable[[T], None] | None = None) -> None:
        self.current = initial
        self.listener = listener
        self._changed = asyncio.Event()

    def publish(self, **changes: Any) -> None:
        self.current = replace(self.current, **changes)  # type: ignore[type-var]
        self._changed.set()
        if self.listener is not None:
            self.listener(self.current)

    async def wait_until(self, test: Callable[[T], bool], timeout: float = 10.0) -> T:
        """The first status (this one or a later one) that passes ``test``."""
        async def wait() -> T:
            while not test(self.current):
                self._changed.clear()
                await self._changed.wait()
            return self.current

        return await asyncio.wait_for(wait(), timeout)

    async def wait_for(self, state: enum.Enum, timeout: float = 10.0) -> T:
        async def wait() -> T:
            while self.current.state is not state:
                self._changed.clear()
                await self._changed.wait()
            return self.current

        return await asyncio.wait_for(wait(), timeout)
