"""Runs sender sessions behind the sender window."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from PySide6.QtCore import QCoreApplication

from castapp.discovery.record import NotFound, NotFoundReason, Receiver
from castapp.gui import texts
from castapp.gui.common import SettingsHolder
from castapp.gui.sender_window import SenderWindow
from castapp.linkquality import link_quality
from castapp.links import LinkError, check_input, server_url_from_text
from castapp.quality import Preset, preset
from castapp.rtc.capture import FrameSource, SourceState
from castapp.rtc.capture_source import CaptureSpec, make_source
from castapp.session.sender import SenderSession, SenderState, SenderStatus
from castapp.signaling.client import SignalingError

log = logging.getLogger(__name__)

SourceFactory = Callable[[Preset, CaptureSpec], FrameSource]
Discover = Callable[[str], Awaitable["Receiver | NotFound"]]


def screen_source(display: str | None) -> SourceFactory:
    def make(p: Preset, spec: CaptureSpec) -> FrameSource:
        return make_source(spec, fps=p.fps, max_size=p.max_size, display=display)
    return make


class SenderController:
    def __init__(self, window: SenderWindow, holder: SettingsHolder, *,
                 source_factory: SourceFactory, machine_name: str | None = None,
                 discover: Discover | None = None,
                 ice: dict[str, Any] | None = None) -> None:
        self.window = window
        self.holder = holder
        self.source_factory = source_factory
        self.machine_name = machine_name or os.uname().nodename
        self.discover = discover
        self.ice = ice or {}
        self.session: SenderSession | None = None
        self.source: FrameSource | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stats_task: asyncio.Task[None] | None = None
        self._target_fps: float | None = None
        self._source_words = ""  # what the capture says (window minimised, ...)
        window.cast_requested.connect(lambda text: self._spawn(self.cast(text)))
        window.stop_requested.connect(lambda: self._spawn(self.stop()))

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _say(self, text: str) -> None:
        self.window.show_message(text)

    async def cast(self, text: str) -> None:
        """Cast to what was typed: a code (with the server field) or a castapp:// link."""
        check = check_input(text, self.window.fmt)
        if check.target is None:
            return
        target = check.target
        try:
            url = target.server_url or server_url_from_text(self.window.server.text())
        except LinkError:
            self._say(QCoreApplication.translate(
                "Texts", "The room service address is not valid. Use host:port."))
            return
        if url is None:
            url = await self._find(target.code)
            if url is None:
                return
        await self._close_session()
        self.holder.update(server=self.window.server.text().strip(),
                           display_name=self.window.name.text().strip())
        chosen = preset(self.holder.current.quality)
        self._target_fps = chosen.fps
        self.window.set_code_shown(target.code)
        try:
            self.source = self.source_factory(chosen, self.window.capture_spec())
            loop = asyncio.get_running_loop()
            self.source.on_state = lambda state: loop.call_soon_threadsafe(
                self._source_state, state)
            self.source.start()
        except Exception as exc:
            log.warning("cannot capture the screen: %s", exc)
            self.source = None
            self._say(QCoreApplication.translate(
                "Texts", "Cannot capture the screen: {error}").format(error=exc))
            return
        self.session = SenderSession(
            url, self.source, name=self.holder.current.name_or(self.machine_name),
            encoder=chosen.encoder(), on_status=self._on_status, **self.ice)
        try:
            await self.session.cast(target.code)
        except SignalingError:
            await self._close_session()  # the status line words the error
            return
        self._stats_task = asyncio.create_task(self._stats_loop(), name="castapp-sender-stats")

    async def _find(self, code: str) -> str | None:
        """Look for the receiver showing ``code`` on the LAN; None (and a message) if absent."""
        self._say(QCoreApplication.translate("Texts", "Looking for the receiver on this network…"))
        if self.discover is None:
            found: Receiver | NotFound = NotFound(NotFoundReason.NO_NETWORK)
        else:
            found = await self.discover(code)
        if isinstance(found, Receiver):
            self._say("")
            return found.server_url
        if found.reason is NotFoundReason.INCOMPATIBLE:
            self._say(QCoreApplication.translate(
                "Texts", "The receiver runs a different version of castapp. Update both sides."))
        else:
            self._say(QCoreApplication.translate(
                "Texts", "No receiver with this code answered on this network. "
                         "Enter the room service address shown on the TV."))
        return None

    def _source_state(self, state: SourceState) -> None:
        """Say what the receiver sees when the shared window is hidden or gone."""
        words = {
            SourceState.LIVE: "",
            SourceState.COVERED: QCoreApplication.translate(
                "Texts", "Another window covers part of the shared window; the receiver sees "
                         "it too."),
            SourceState.MINIMISED: QCoreApplication.translate(
                "Texts", "The shared window is minimised; the receiver keeps its last picture."),
            SourceState.CLOSED: QCoreApplication.translate(
                "Texts", "The shared window was closed."),
        }
        self._source_words = words.get(state, "")
        self.window.show_stats_text(self._source_words)

    def _on_status(self, st: SenderStatus) -> None:
        self.window.show_status(st)
        if st.state is SenderState.ENDED:
            self._spawn(self._close_session(keep_status=True))

    async def _stats_loop(self) -> None:
        while self.session is not None:
            await asyncio.sleep(1.0)
            if self.session is None or self.session.status.state is not SenderState.CASTING:
                continue
            stats = await self.session.stats()
            if stats is None:
                continue
            quality = link_quality(stats, self._target_fps)
            parts = texts.stats_lines(stats, sending=True)
            if quality is not None:
                parts.append(texts.link_text(quality))
            if self._source_words:
                parts.append(self._source_words)
            self.window.show_stats_text(" · ".join(parts))

    async def stop(self) -> None:
        await self._close_session()

    async def _close_session(self, keep_status: bool = False) -> None:
        if self._stats_task is not None:
            self._stats_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._stats_task
            self._stats_task = None
        session, source = self.session, self.source
        self.session = self.source = None
        self._source_words = ""
        if session is not None:
            last = session.status
            await session.close()
            if keep_status:
                self.window.show_status(last)
        if source is not None:
            await asyncio.get_running_loop().run_in_executor(None, source.stop)

    async def close(self) -> None:
        await self._close_session()
        for task in list(self._tasks):
            task.cancel()
