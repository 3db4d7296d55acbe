"""Runs a receiver session behind the receiver window, hosting the room service if needed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from castapp.embedded import EmbeddedService
from castapp.gui.receiver_window import ReceiverWindow
from castapp.linkquality import link_quality
from castapp.links import DEFAULT_PORT, make_link
from castapp.session.receiver import ReceiverSession, ReceiverState, ReceiverStatus
from castapp.settings import write_secret
from castapp.signaling.tokens import TokenSigner, load_or_create_key

log = logging.getLogger(__name__)

TOKEN_FILE = "receiver-token"


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
    ) -> None:
        self.window = window
        self.server_url = server_url
        self.state_dir = state_dir
        self.name = name
        self.listen = listen
        self.advertise = advertise
        self.ice = ice or {}
        self.embedded: EmbeddedService | None = None
        self.session: ReceiverSession | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._link_host = ""
        self._link_port = DEFAULT_PORT
        self._tls = False

    async def _host_service(self) -> str:
        host, port = self.listen
        signer = TokenSigner(load_or_create_key(self.state_dir))
        self.embedded = EmbeddedService(signer, host=host, port=port)
        await self.embedded.start()
        # Without a LAN address only this computer can reach the service: say so.
        self._link_host = self.embedded.address or "127.0.0.1"
        self._link_port = self.embedded.port
        return self.embedded.url

    async def _advertise(self, code: str) -> None:
        if self.embedded is None:
            return
        try:
            await self.embedded.advertise(code, self.name)
        except Exception as exc:  # the receiver works without an advert
            log.warning("cannot advertise on the network: %s", exc)

    async def start(self) -> None:
        if self.server_url:
            url = self.server_url
            parts = urlsplit(url)
            self._link_host = parts.hostname or ""
            self._tls = parts.scheme == "wss"
            self._link_port = parts.port or (443 if self._tls else 80)
        else:
            url = await self._host_service()
        token_file = self.state_dir / TOKEN_FILE
        token = token_file.read_text().strip() if token_file.exists() else None
        self.session = ReceiverSession(url, name=self.name, token=token,
                                       on_status=self._on_status, on_frame=self.window.show_frame,
                                       **self.ice)
        self._tasks.append(asyncio.create_task(self._run(token_file), name="castapp-receiver-ui"))

    async def _run(self, token_file: Path) -> None:
        assert self.session is not None
        try:
            await self.session.start()
        except Exception as exc:  # the status line already words it
            log.warning("receiver could not start: %s", exc)
            return
        if self.session.token:
            write_secret(token_file, self.session.token)
        while True:
            await asyncio.sleep(1.0)
            if self.session.status.state is ReceiverState.RECEIVING:
                stats = await self.session.stats()
                self.window.show_stats(stats, link_quality(stats))

    def _on_status(self, st: ReceiverStatus) -> None:
        if st.code and self._link_host:
            link = make_link(self._link_host, self._link_port, st.code, tls=self._tls)
            if link != self.window.link:
                self.window.set_link(link, f"{self._link_host}:{self._link_port}")
                if self.advertise:
                    task = asyncio.create_task(self._advertise(st.code))
                    self._tasks.append(task)
        self.window.show_status(st)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if self.session is not None:
            await self.session.stop()
        if self.embedded is not None:
            await self.embedded.stop("The receiver closed.")
            self.embedded = None
