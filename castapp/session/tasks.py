"""Supervised background tasks: a task that fails is reported, never lost.

Every task a session starts goes through a :class:`Supervisor`. When one ends with an
exception (other than being cancelled), the supervisor logs it with its traceback and calls
the session's ``on_failure`` with the task's name and the exception, so the failure reaches
the user as a typed status instead of vanishing into the event loop's log.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)

FailureFn = Callable[[str, BaseException], None]


class Supervisor:
    def __init__(self, owner: str, on_failure: FailureFn) -> None:
        self.owner = owner
        self._on_failure = on_failure
        self._tasks: dict[str, asyncio.Task[Any]] = {}
        self._loose: set[asyncio.Task[Any]] = set()

    def spawn(self, name: str, coro: Coroutine[Any, Any, Any], *, replace: bool = True) -> None:
        """Run ``coro`` as the task ``name``; a running task of that name is cancelled first
        when ``replace`` (one build, one probe at a time), kept alongside otherwise."""
        old = self._tasks.get(name)
        if old is not None and not old.done():
            if replace:
                old.cancel()
            else:
                self._loose.add(old)
        task = asyncio.get_running_loop().create_task(coro, name=f"{self.owner}-{name}")
        self._tasks[name] = task
        task.add_done_callback(lambda t: self._done(name, t))

    def background(self, name: str, coro: Coroutine[Any, Any, Any]) -> None:
        """Fire and forget, still supervised (closing a connection over a dead path)."""
        task = asyncio.get_running_loop().create_task(coro, name=f"{self.owner}-{name}")
        self._loose.add(task)
        task.add_done_callback(lambda t: self._done(name, t))

    def running(self, name: str) -> bool:
        task = self._tasks.get(name)
        return task is not None and not task.done()

    def cancel(self, name: str) -> None:
        task = self._tasks.pop(name, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    def _done(self, name: str, task: asyncio.Task[Any]) -> None:
        self._loose.discard(task)
        if self._tasks.get(name) is task:
            del self._tasks[name]
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.error("%s: background task %s failed", self.owner, name, exc_info=exc)
            self._on_failure(name, exc)

    async def close(self, grace_s: float = 2.0) -> None:
        """Cancel the named tasks; give background ones ``grace_s`` to finish first."""
        me = asyncio.current_task()
        named = [t for t in self._tasks.values() if t is not me]
        loose = [t for t in self._loose if t is not me]
        self._tasks.clear()
        for task in named:
            task.cancel()
        if loose:
            await asyncio.wait(loose, timeout=grace_s)
        for task in loose:
            task.cancel()
        # failures were reported by _done already; here they are only collected
        await asyncio.gather(*named, *loose, return_exceptions=True)
