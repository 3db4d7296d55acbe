"""Runs a receiver behind the receiver window: a presenter of :class:`ReceiverHost`."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from shiboken6 import isValid

from castapp.app.host import (
    Hosted,
    HostEvent,
    HostFailed,
    LinkShown,
    ReceiverHost,
    ReceiverOptions,
)
from castapp.app.media import MediaLoader, import_modules
from castapp.app.words import Failure
from castapp.gui.receiver_window import ReceiverWindow
from castapp.linkquality import link_quality
from castapp.links import DEFAULT_PORT
from castapp.logs import describe
from castapp.session.receiver_table import ReceiverState, ReceiverStatus
from castapp.session.room import AdmissionMode
from castapp.tasks import cancel_and_wait

if TYPE_CHECKING:
    from castapp.embedded import EmbeddedService
    from castapp.gui.audio_out import QtAudioOut
    from castapp.session.receiver import ReceiverSession

log = logging.getLogger(__name__)

#: What showing the code needs besides the window: the receiver session with the signaling
#: client (aiohttp), the QR code's encoder, and the built-in room service unless a standalone
#: one is used. Imported on a thread once the window shows.
SESSION_MODULES = ("castapp.session.receiver", "segno")
SERVICE_MODULES = ("castapp.embedded",)
#: What calls need besides :data:`~castapp.app.media.RECEIVER_MEDIA`: Qt's sound output.
#: Imported on a thread once the code shows; the first call waits for the import.
GUI_MEDIA = ("castapp.gui.audio_out",)


def _sound_out() -> QtAudioOut:
    """A call's sound output in the TV window (Qt's audio output, imported with a call)."""
    from castapp.gui.audio_out import qt_sound_out

    return qt_sound_out()


class ReceiverController:
    def __init__(
        self,
        window: ReceiverWindow,
        *,
        server_url: str | None,
        state_dir: Path,
        name: str,
        listen: tuple[str, int] = ("0.0.0.0", DEFAULT_PORT),
        advertise: bool = True,
        ice: dict[str, Any] | None = None,
        https: bool = False,
        interfaces: tuple[str, ...] = (),
    ) -> None:
        self.window = window
        self.media = MediaLoader(GUI_MEDIA)
        # Frames go to their tiles by call; a session without calls has only ``on_frame``.
        self.host = ReceiverHost(
            ReceiverOptions(state_dir=state_dir, server_url=server_url, name=name,
                            listen=listen, advertise=advertise, ice=ice or {},
                            admission=window.admission.value,
                            session={"audio_out": _sound_out,
                                     "link_factory": self.media.link_factory()},
                            https=https and server_url is None, interfaces=interfaces),
            on_status=self._show_status, on_event=self._on_event,
            on_call_frame=window.frame_for)
        window.admission_changed.connect(self._admission_changed)
        window.name_changed.connect(self._name_changed)
        #: Why the receiver could not start, once it could not.
        self.failure: Failure | None = None
        self._task: asyncio.Task[None] | None = None

    def _show_status(self, st: Any) -> None:
        """Status changes reach the window while it lives; a closed window is left alone."""
        if isValid(self.window) and isValid(self.window.code_page.code):
            self.window.show_status(st)

    @property
    def session(self) -> ReceiverSession | None:
        return self.host.session

    @property
    def embedded(self) -> EmbeddedService | None:
        return self.host.embedded

    async def start(self) -> None:
        """Import the session and the room service off the event loop (the window stays
        responsive), host the service, then register in the background; the media stack
        is imported once the code shows."""
        try:
            hosted = self.host.options.server_url is None
            await asyncio.to_thread(import_modules,
                                    SESSION_MODULES + (SERVICE_MODULES if hosted else ()))
            session = await self.host.prepare()
        except HostFailed as exc:
            self._failed(exc.failure)
            return
        if callable(getattr(session, "allow", None)):  # a session that hosts several calls
            self.window.set_controls(cast(Any, session))
        else:
            session.on_frame = self.window.show_frame
        self._task = asyncio.create_task(self._run(), name="castapp-receiver-ui")

    def _failed(self, failure: Failure) -> None:
        self.failure = failure
        # the status line words it in the window's language, and again on a switch
        self.window.show_status(replace(self.window.status, error=cast(Any, failure),
                                        service_ok=True, retry_in_s=None))

    async def _run(self) -> None:
        try:
            await self.host.register()
        except HostFailed as exc:
            self._failed(exc.failure)
            return
        self.media.start()  # the code shows: aiortc, PyAV and NumPy now, for the first call
        while True:
            await asyncio.sleep(1.0)
            if not isValid(self.window):
                return  # the window was closed and deleted: nothing to show statistics on
            session = self.host.session
            if session is None:
                continue
            if callable(getattr(session, "audio_stats", None)):
                self.window.show_sound_stats(session.audio_stats())
            if callable(getattr(session, "call_stats", None)):
                for peer_id, got in (await session.call_stats()).items():
                    self.window.show_stats(got.peer, link_quality(got.peer), peer_id)
            elif session.status.state is ReceiverState.RECEIVING:
                stats = await session.stats()
                self.window.show_stats(stats, link_quality(stats))

    def _admission_changed(self, mode: str) -> None:
        """The TV's menu chose how new senders get on screen (those on screen stay)."""
        self.host.options.admission = mode
        if self.host.session is not None:
            self.host.session.set_admission(AdmissionMode(mode))

    def _name_changed(self, name: str) -> None:
        self.host.rename(name)

    def _on_event(self, ev: HostEvent) -> None:
        if isinstance(ev, LinkShown):
            self.window.set_link(ev.link, ev.address)
            self.window.code_page.set_fingerprint(ev.fingerprint)
        elif isinstance(ev, Hosted) and ev.address is None:
            log.info("no network address other machines can reach; the link is this "
                     "computer's own")

    @property
    def status(self) -> ReceiverStatus:
        return self.window.status

    async def stop(self) -> None:
        task, self._task = self._task, None
        try:
            await cancel_and_wait(task)
        except Exception as exc:  # broad: the window's task had a bug; stopping goes on
            log.error("the receiver window's updates stopped: %s", describe(exc))
        self.media.stop()
        await self.host.stop()
