"""Runs the cast behind the sender window: a presenter of :mod:`castapp.app.fanout` (one
source, one encode, a session per TV) and :mod:`castapp.app.target`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from PySide6.QtCore import QCoreApplication

from castapp.app import target as app_target
from castapp.app import words
from castapp.app.fanout import MultiCast, Tv, split_codes
from castapp.app.platform import machine_name as platform_machine_name
from castapp.app.target import CastFailed, Discover, Found, Looking
from castapp.app.words import Failure
from castapp.codes import group
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
from castapp.tasks import cancel_and_wait

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
        self.multi: MultiCast | None = None  # the cast under way, to one TV or several
        self.source: FrameSource | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._running: list[asyncio.Task[None]] = []  # stats and source watch of the cast
        self._source_words = ""  # what the capture says (window minimised, ...)
        # statuses of a cast being closed are not shown: the window shows how it ended
        self._generation = 0
        self._ending: asyncio.Task[Any] | None = None  # closing a cast whose TVs all ended
        self._closing: asyncio.Future[None] | None = None  # the close under way, if any
        window.cast_requested.connect(lambda text: self._spawn(self.cast(text)))
        window.stop_requested.connect(lambda: self._spawn(self.stop()))
        window.add_requested.connect(lambda text: self._spawn(self.add(text)))
        window.remove_requested.connect(lambda i: self._spawn(self.remove(i)))
        window.pin_entered.connect(self.answer_pin)
        window.sound_muted.connect(self._sound_muted)
        window.set_sound_reason(sound_available() if sound_check is None else sound_check())

    @property
    def session(self) -> SenderSession | None:
        """The session of the first TV still receiving the cast."""
        if self.multi is None:
            return None
        return next((tv.session for tv in self.multi.live if tv.session is not None), None)

    def answer_pin(self, pin: str) -> None:
        """The PIN the person read on the TV goes to the session that is asked for it."""
        if self.multi is None:
            return
        try:
            self.multi.answer_pin(pin)
        except ValueError:  # not digits: nothing was tried
            self.window.show_message(words.not_a_pin())

    def _sound_muted(self, muted: bool) -> None:
        if self.multi is not None:
            self.multi.set_audio_muted(muted)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _fail(self, failure: Failure) -> None:
        log.info("cannot cast: %s", failure.code)
        self.window.show_message(words.failure_phrase(failure))

    @property
    def several(self) -> bool:
        return self.multi is not None and len(self.multi.tvs) > 1

    async def cast(self, text: str) -> None:
        """Cast to what was typed: a code (with the server field), a castapp:// link, or a
        list of them (one cast, one encode, every TV listed with its own state)."""
        entries = split_codes(text, self.window.fmt)
        if len(entries) <= 1:  # one TV: what was typed is checked before anything starts
            try:
                target = app_target.parse_target(text, self.window.fmt)
                app_target.service_url(target, self.window.server.text())
            except CastFailed as exc:
                self._fail(exc.failure)
                return
            self.window.set_code_shown(target.code)
        else:
            self.window.set_code_shown(", ".join(group(e) if e.isdigit() else e
                                                 for e in entries))
        await self._close_session()
        self.window.tvs.clear()
        self.holder.update(server=self.window.server.text().strip(),
                           display_name=self.window.name.text().strip())
        chosen = preset(self.holder.current.quality)
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
        self.multi = MultiCast(
            self.source, encoder=chosen.encoder(), discover=self.discover,
            name=self.holder.current.name_or(self.machine_name),
            server=self.window.server.text(), fmt=self.window.fmt,
            via_sfu=self.window.send_via_sfu(),
            session_args={**self.ice, "audio": open_system_audio if sound else None},
            on_change=lambda tv: self._on_change(tv, generation))
        self.multi.start()
        self._running = [
            asyncio.create_task(self._stats_loop(), name="castapp-sender-stats"),
            asyncio.create_task(app_target.watch_source(self.source, self._source_failed),
                                name="castapp-sender-source"),
        ]
        await self.multi.add_many(entries)
        await self._ended()

    async def _ended(self) -> None:
        """Returns once the window says how the cast ended, if every TV has."""
        ending = self._ending
        if ending is not None:
            await asyncio.shield(ending)

    async def add(self, text: str) -> None:
        """While casting: one more TV (or several) joins the running cast."""
        multi = self.multi
        if multi is None:
            return
        entries = split_codes(text, self.window.fmt)
        await asyncio.gather(*(multi.add(e) for e in entries))
        await self._ended()

    async def remove(self, index: int) -> None:
        """Stop casting to one TV; a row of a TV that ended goes from the list."""
        multi = self.multi
        tv = next((t for t in multi.tvs if t.index == index), None) if multi else None
        self.window.tvs.drop(index)
        if multi is None or tv is None:
            return
        await multi.remove(tv)
        self._check_all_ended(tv)
        await self._ended()

    def _on_event(self, tv: Tv) -> None:
        ev = tv.event
        said = words.looking() if isinstance(ev, Looking) else \
            words.found(ev.name, ev.host, ev.port) if isinstance(ev, Found) else None
        if said is not None and not self.several:
            self.window.show_message(said)
        return None

    def _on_change(self, tv: Tv, generation: int) -> None:
        multi = self.multi
        if generation != self._generation or multi is None:
            return
        if multi.sfu_offered is not None:
            self.window.set_sfu_offered(multi.sfu_offered)
        self.window.tvs.show_rows(self.several)
        if not tv.removed:
            self._show_row(tv)
        if len(multi.tvs) > 1:
            self.window.show_tv_count((sum(t.casting for t in multi.tvs),
                                       sum(not t.removed for t in multi.tvs)))
        else:
            self.window.show_tv_count(None)
        overall = self._overall()
        if tv.status is None and tv.event is not None and not tv.ended:
            self._on_event(tv)
        if overall is not None and not tv.ended:
            self.window.show_status(overall)
        self._check_all_ended(tv)

    def _show_row(self, tv: Tv) -> None:
        """The TV's line in the list: its state, or why it failed, for that TV only."""
        line: words.Phrase = words.EMPTY
        if tv.failure is not None:
            line = words.failure_phrase(tv.failure)
        elif tv.status is not None:
            line = words.sender_line(tv.status, group(tv.code))
        elif isinstance(tv.event, Found):
            line = words.found(tv.event.name, tv.event.host, tv.event.port)
        elif isinstance(tv.event, Looking):
            line = words.looking()
        failed = tv.failure is not None
        self.window.tvs.show_tv(tv.index, tv.name if not tv.code or tv.name != tv.code
                                else group(tv.code), line, failed=failed, ended=tv.ended)

    def _overall(self) -> SenderStatus | None:
        """The status the window's line and buttons follow: a casting TV's, else the most
        recent TV still being reached; one asking for the PIN it shows comes first."""
        assert self.multi is not None
        live = [t for t in self.multi.live if t.status is not None]
        asking = [t for t in live if t.status is not None and words.needs_pin(t.status)]
        casting = [t for t in live if t.casting]
        pick = asking or casting or live  # a TV asking for its PIN shows the PIN field
        return pick[0].status if pick else None

    def _check_all_ended(self, tv: Tv) -> None:
        """Every TV ended: the cast ends (the window says how the last one did)."""
        multi = self.multi
        if multi is None or multi.live or self._ending is not None:
            return
        if self.several:
            ending = self._close_after_failure(None, everyone=True)
        elif tv.removed:
            ending = self._close_session()
        elif tv.session is not None:
            ending = self._close_session(keep_status=True)
        else:
            ending = self._close_after_failure(tv.failure)
        self._ending = task = asyncio.ensure_future(ending)
        task.add_done_callback(lambda _t: setattr(self, "_ending", None))

    async def _close_after_failure(self, failure: Any, everyone: bool = False) -> None:
        await self._close_session(keep_status=everyone)
        if failure is not None:
            self._fail(failure)
        elif everyone:
            self.window.show_message(QCoreApplication.translate(
                "Texts", "No TV is receiving the cast any more."))

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

    async def _stats_loop(self) -> None:
        while self.multi is not None:
            await asyncio.sleep(1.0)
            multi = self.multi
            if multi is None:
                break
            for tv in await multi.poll_stats():
                if tv.stats is None:
                    continue
                quality = link_quality(tv.stats)
                parts = texts.stats_lines(tv.stats, sending=True)
                if quality is not None:
                    parts.append(texts.link_text(quality))
                line = " · ".join(parts)
                self.window.tvs.show_stats(tv.index, line)
                if not self.several:
                    if self._source_words:
                        line += " · " + self._source_words
                    self.window.show_stats_text(line)

    async def stop(self) -> None:
        await self._close_session()

    async def _close_session(self, keep_status: bool = False) -> None:
        """Close the cast under way, once: a second caller waits for the same close, and a
        caller cancelled while waiting (the window closing during a Stop) leaves it running,
        so the TVs are told, the encoders closed and the capture stopped whatever happens."""
        closing = self._closing
        if closing is None or closing.done():
            closing = self._closing = asyncio.ensure_future(self._close_now(keep_status))
        await asyncio.shield(closing)

    async def _close_now(self, keep_status: bool) -> None:
        running, self._running = self._running, []
        for task in running:
            if task is not asyncio.current_task():
                await cancel_and_wait(task)
        multi, source = self.multi, self.source
        self.multi = self.source = None
        self._source_words = ""
        self._generation += 1
        try:
            if multi is not None:
                # at once, whatever closing takes: how the cast ended, or idle after a Stop
                last = next((t.status for t in reversed(multi.tvs) if t.status is not None),
                            None) or SenderStatus(SenderState.IDLE)
                ended = keep_status or last.state is SenderState.ENDED
                self.window.show_tv_count(None)
                for tv in multi.tvs:
                    if not tv.ended:
                        self.window.tvs.drop(tv.index)
                self.window.show_status(last if ended else SenderStatus(SenderState.IDLE))
                await multi.close()
        finally:
            # the capture thread ends with its cast, even if closing the TVs failed
            if source is not None:
                stopping = asyncio.get_running_loop().run_in_executor(None, source.stop)
                await asyncio.shield(stopping)

    async def close(self) -> None:
        await self._close_session()
        tasks = list(self._tasks)
        if self._ending is not None:
            tasks.append(self._ending)
        for task in tasks:
            task.cancel()
        if tasks:  # a cast being started gives up; nothing is left running
            await asyncio.wait(tasks, timeout=10)
