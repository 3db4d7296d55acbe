"""Runs sender sessions behind the sender window: a presenter of :mod:`castapp.app.target`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from PySide6.QtCore import QCoreApplication

from castapp.app import target as app_target
from castapp.app import words
from castapp.app.platform import machine_name as platform_machine_name
from castapp.app.target import Caster, CastFailed, Discover, Found, Looking, SenderEvent
from castapp.app.words import Failure
from castapp.gui import texts
from castapp.gui.common import SettingsHolder
from castapp.gui.sender_window import SenderWindow
from castapp.linkquality import link_quality
from castapp.quality import Preset, preset
from castapp.rtc.audio import open_system_audio
from castapp.rtc.audio.choice import sound_available
from castapp.rtc.capture import FrameSource, SourceState
from castapp.rtc.capture_source import CaptureSpec
from castapp.session.sender import SenderSession, SenderState, SenderStatus

log = logging.getLogger(__name__)

SourceFactory = Callable[[Preset, CaptureSpec], FrameSource]

__all__ = ["Discover", "SenderController", "SourceFactory", "screen_source"]


def screen_source(display: str | None) -> SourceFactory:
    """Capture what the window chose; a monitor or window that does not exist is refused up
    front."""

    def make(p: Preset, spec: CaptureSpec) -> FrameSource:
        return app_target.screen_source(p, spec, display)

    return make


class SenderController:
    def __init__(self, window: SenderWindow, holder: SettingsHolder, *,
                 source_factory: SourceFactory, machine_name: str | None = None,
                 discover: Discover | None = None,
                 ice: dict[str, Any] | None = None,
                 sound_check: Callable[[], str | None] | None = None) -> None:
        self.window = window
        self.holder = holder
        self.source_factory = source_factory
        self.machine_name = machine_name or platform_machine_name()
        self.discover = discover
        self.ice = ice or {}
        self.session: SenderSession | None = None
        self.caster: Caster | None = None  # of the cast under way (takes the TV's PIN)
        self.source: FrameSource | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._running: list[asyncio.Task[None]] = []  # stats and source watch of the cast
        self._target_fps: float | None = None
        self._source_words = ""  # what the capture says (window minimised, ...)
        # statuses of a session being closed are not shown: the window shows how it ended
        self._generation = 0
        window.cast_requested.connect(lambda text: self._spawn(self.cast(text)))
        window.stop_requested.connect(lambda: self._spawn(self.stop()))
        window.pin_entered.connect(self.answer_pin)
        window.sound_muted.connect(self._sound_muted)
        window.set_sound_reason(sound_available() if sound_check is None else sound_check())

    def answer_pin(self, pin: str) -> None:
        """The PIN the person read on the TV goes to the session that is asked for it."""
        if self.caster is not None:
            self.caster.answer_pin(pin)

    def _sound_muted(self, muted: bool) -> None:
        if self.session is not None:
            self.session.set_audio_muted(muted)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _fail(self, failure: Failure) -> None:
        log.info("cannot cast: %s", failure.code)
        self.window.show_message(words.failure_phrase(failure))

    async def cast(self, text: str) -> None:
        """Cast to what was typed: a code (with the server field) or a castapp:// link."""
        try:
            target = app_target.parse_target(text, self.window.fmt)
            url = app_target.service_url(target, self.window.server.text())
        except CastFailed as exc:
            self._fail(exc.failure)
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
            await app_target.start_source(self.source)
        except CastFailed as exc:
            self.source = None
            self._fail(exc.failure)
            return
        generation = self._generation
        sound = self.window.share_sound()
        self.window.set_sound_shared(sound)
        caster = Caster(discover=self.discover,
                        name=self.holder.current.name_or(self.machine_name),
                        on_status=lambda st: self._on_status(st, generation),
                        on_event=self._on_event,
                        session_args={"encoder": chosen.encoder(), **self.ice,
                                      "audio": open_system_audio if sound else None})
        self.caster = caster
        try:
            self.session = await caster.cast(target, url, self.source)
        except CastFailed as exc:
            await self._close_session()
            self._fail(exc.failure)
            return
        self._running = [
            asyncio.create_task(self._stats_loop(), name="castapp-sender-stats"),
            asyncio.create_task(app_target.watch_source(self.source, self._source_failed),
                                name="castapp-sender-source"),
        ]

    def _on_event(self, ev: SenderEvent) -> None:
        if isinstance(ev, Looking):
            self.window.show_message(words.looking())
        elif isinstance(ev, Found):
            self.window.show_message(words.found(ev.name, ev.host, ev.port))

    def _source_state(self, state: SourceState) -> None:
        """Say what the receiver sees when the shared window is hidden or gone."""
        said = {
            SourceState.LIVE: "",
            SourceState.COVERED: QCoreApplication.translate(
                "Texts", "Another window covers part of the shared window; the receiver sees "
                         "it too."),
            SourceState.MINIMISED: QCoreApplication.translate(
                "Texts", "The shared window is minimised; the receiver keeps its last picture."),
            SourceState.CLOSED: QCoreApplication.translate(
                "Texts", "The shared window was closed."),
        }
        self._source_words = said.get(state, "")
        self.window.show_stats_text(self._source_words)

    def _source_failed(self, failure: Failure) -> None:
        self._fail(failure)
        self._spawn(self._close_session())

    def _on_status(self, st: SenderStatus, generation: int) -> None:
        if generation != self._generation:
            return
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
        running, self._running = self._running, []
        for task in running:
            if task is not asyncio.current_task():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        session, source = self.session, self.source
        self.session = self.source = None
        self._source_words = ""
        self._generation += 1
        if session is not None:
            # at once, whatever closing takes: how the cast ended, or idle after a Stop
            last = session.status
            ended = keep_status or last.state is SenderState.ENDED
            self.window.show_status(last if ended else SenderStatus(SenderState.IDLE))
            await session.close()
        if source is not None:
            await asyncio.get_running_loop().run_in_executor(None, source.stop)

    async def close(self) -> None:
        await self._close_session()
        for task in list(self._tasks):
            task.cancel()
