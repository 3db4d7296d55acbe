"""The media stack of a receiver's calls (aiortc, PyAV, NumPy), loaded apart from the rest.

A receiver shows its code without it: the room service, the signaling client and the
receiver session need none of it. :class:`MediaLoader` imports it on a thread once the code
is shown, and the link factory it hands the session waits for that import before it answers
the first call's offer (a person typing the code takes longer than the import).
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from castapp.session.receive_link import Link, LinkFactory, LinkRequest

log = logging.getLogger(__name__)

#: What answering a call imports (see :func:`castapp.session.receive_link.aiortc_link`).
RECEIVER_MEDIA = (
    "aiortc",
    "castapp.rtc.peer",
    "castapp.rtc.ice",
    "castapp.rtc.receive",
    "castapp.rtc.audio.playout",
    "castapp.rtc.audio.lipsync",
    "castapp.rtc.backlog",
    "castapp.rtc.holes",
)


def import_modules(names: Iterable[str]) -> None:
    for name in names:
        importlib.import_module(name)


class MediaLoader:
    """Imports :data:`RECEIVER_MEDIA` (and ``more``) on a thread, once."""

    def __init__(self, more: Iterable[str] = ()) -> None:
        self.modules = (*RECEIVER_MEDIA, *more)
        self._task: asyncio.Future[None] | None = None

    def start(self) -> asyncio.Future[None]:
        """Begin the import (in a running event loop); later calls return the same one."""
        if self._task is None:
            self._task = asyncio.ensure_future(asyncio.to_thread(import_modules, self.modules))
            self._task.add_done_callback(_said)
        return self._task

    @property
    def loaded(self) -> bool:
        task = self._task
        return (task is not None and task.done() and not task.cancelled()
                and task.exception() is None)

    async def ready(self) -> None:
        """Wait for the import; raises what it raised (ImportError, OSError)."""
        await asyncio.shield(self.start())

    def stop(self) -> None:
        """No longer wait for an import under way (its thread finishes it)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()

    def link_factory(self, inner: LinkFactory | None = None) -> LinkFactory:
        """``inner`` (the real aiortc one by default), called once the import is done."""

        async def link(req: LinkRequest) -> Link:
            await self.ready()
            if inner is not None:
                return await inner(req)
            from castapp.session.receive_link import aiortc_link

            return await aiortc_link(req)

        return link


def _said(task: asyncio.Future[None]) -> None:
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:  # each call then fails to connect and says so; this says why
        log.error("the video and sound parts cannot be loaded (%s: %s); casts to this "
                  "screen cannot connect", type(exc).__name__, exc)
