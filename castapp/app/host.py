"""Hosting a receiver: the code token, the embedded room service, the LAN advert, the link.

``castapp receive`` and the receiver window both run a :class:`ReceiverHost`. It passes the
session's typed status through, reports what only the host knows as :data:`HostEvent`
values (where the service listens, the link and address to show, whether the advert is up),
and raises :class:`HostFailed` with a typed :class:`~castapp.app.words.Failure` when the
receiver cannot start (a port it cannot listen on, a registration the service refuses, a
certificate it does not trust).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from castapp.app.platform import machine_name
from castapp.app.words import Failure, failure
from castapp.links import DEFAULT_PORT, make_link
from castapp.settings import write_secret

if TYPE_CHECKING:
    from castapp.embedded import EmbeddedService
    from castapp.rtc.peer import PeerStats
    from castapp.rtc.receive import ReceivedFrame
    from castapp.session.receiver import ReceiverSession, ReceiverStatus

log = logging.getLogger(__name__)

TOKEN_FILE = "receiver-token"
#: Room-service errors that retrying cannot cure: the receiver stops and says why.
FATAL = frozenset({"tls_untrusted", "unsupported_version"})
#: While no other machine can reach this one, look for a network address this often.
ADDRESS_RECHECK_S = 5.0


class HostFailed(Exception):
    """The receiver cannot run; ``failure`` says why."""

    def __init__(self, what: object) -> None:
        self.failure = failure(what)
        super().__init__(self.failure.code)


@dataclass(frozen=True)
class Hosted:
    """The embedded room service listens on ``port``; other machines reach it at ``address``."""

    port: int
    address: str | None
    addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class LinkShown:
    """What to show senders: the code, its ``castapp://`` link and the service's address.

    ``local_only``: no network address other machines can reach (the link is this
    computer's loopback, usable by a sender on the same machine only).
    """

    code: str
    link: str
    address: str
    local_only: bool = False
    #: With the embedded service's HTTPS: ``link`` is the ``https://`` page for browsers,
    #: ``app_link`` the ``http://`` one for ``castapp send``, and ``fingerprint`` the start of
    #: the certificate's SHA-256 fingerprint (what a guest compares with the browser's warning).
    app_link: str = ""
    fingerprint: str | None = None


@dataclass(frozen=True)
class Advertised:
    ok: bool
    reason: str | None = None


HostEvent = Hosted | LinkShown | Advertised


@dataclass
class ReceiverOptions:
    state_dir: Path
    #: A standalone room service; None hosts one in this process.
    server_url: str | None = None
    name: str = ""
    listen: tuple[str, int] = ("0.0.0.0", DEFAULT_PORT)
    #: Advertise (and show) only these interfaces or addresses.
    interfaces: tuple[str, ...] = ()
    advertise: bool = True
    #: The user's own STUN/TURN servers, relay-only and the deadline (see ``cli_ice``).
    ice: dict[str, Any] = field(default_factory=dict)
    #: How a new sender gets on screen: "open", "approve" or "pin"
    #: (:class:`~castapp.session.room.AdmissionMode` values).
    admission: str = "approve"
    #: Without a window: the screen size presenters are laid out on, which sets the size and
    #: rate each sender is asked for (a window sends its own; None there).
    screen: tuple[int, int] | None = None
    #: More keyword arguments for the receiver session (sound output, mute, …).
    session: dict[str, Any] = field(default_factory=dict)
    #: The embedded service also serves the pages over HTTPS (a self-signed certificate kept
    #: in ``state_dir``), so guests' browsers can share a screen.
    https: bool = False


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (either may be left out); raises ValueError with a reason."""
    host, _, port = text.rpartition(":")
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"--listen takes HOST:PORT, not {text!r}")
    return host.strip("[]") or "0.0.0.0", int(port)


class ReceiverHost:
    def __init__(
        self,
        options: ReceiverOptions,
        *,
        on_status: Callable[[ReceiverStatus], None] | None = None,
        on_event: Callable[[HostEvent], None] | None = None,
        on_frame: Callable[[ReceivedFrame], None] | None = None,
        on_call_frame: Callable[[str, ReceivedFrame], None] | None = None,
    ) -> None:
        """``on_frame`` gets the spotlit (or first) call's frames; ``on_call_frame`` every
        call's, with the sender's current peer id."""
        self.options = options
        self.name = options.name or machine_name()
        self.on_status = on_status
        self.on_event = on_event
        self.on_frame = on_frame
        self.on_call_frame = on_call_frame
        self.embedded: EmbeddedService | None = None
        self.session: ReceiverSession | None = None
        self.link: LinkShown | None = None
        self._fatal: asyncio.Future[Failure] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._code: str | None = None

    # -------------------------------------------------------------- lifecycle
    async def start(self) -> ReceiverStatus:
        """Host the service if needed, register and show the code; raises :class:`HostFailed`."""
        await self.prepare()
        return await self.register()

    async def prepare(self) -> ReceiverSession:
        """Host the room service if needed and make the session; raises :class:`HostFailed`."""
        from castapp.session.receiver import ReceiverSession
        from castapp.session.room import AdmissionMode

        url = self.options.server_url or await self._host_service()
        token = _read_token(self.options.state_dir / TOKEN_FILE)
        self._fatal = asyncio.get_running_loop().create_future()
        self.session = ReceiverSession(url, name=self.name, token=token,
                                       on_status=self._on_status, on_frame=self.on_frame,
                                       on_call_frame=self.on_call_frame,
                                       admission=AdmissionMode(self.options.admission),
                                       screen=self.options.screen,
                                       **self.options.ice, **self.options.session)
        return self.session

    async def register(self) -> ReceiverStatus:
        """Register with the service and show the code; raises :class:`HostFailed`."""
        from castapp.signaling.client import SignalingError

        assert self.session is not None and self._fatal is not None, "prepare() first"
        token_file = self.options.state_dir / TOKEN_FILE
        starting = asyncio.ensure_future(self.session.start())
        try:
            await asyncio.wait([starting, cast(asyncio.Future[Any], self._fatal)],
                               return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:  # stopped while starting: the start goes too
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError, SignalingError):
                await starting
            raise
        if not starting.done():
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError, SignalingError):
                await starting
            await self.stop()
            raise HostFailed(self._fatal.result())
        try:
            status = starting.result()
        except SignalingError as exc:
            await self.stop()
            raise HostFailed(exc) from None
        if self.session.token:
            try:
                write_secret(token_file, self.session.token)
            except OSError as exc:  # the code may change next time; the receiver works
                log.warning("cannot keep the code's token in %s: %s", token_file, exc.strerror)
        if self.embedded is not None and self.embedded.address is None:
            self._spawn(self._watch_addresses())
        return status

    async def _host_service(self) -> str:
        from castapp.embedded import EmbeddedService
        from castapp.signaling.tokens import TokenSigner, load_or_create_key

        host, port = self.options.listen
        try:
            key = load_or_create_key(self.options.state_dir)
        except OSError as exc:
            raise HostFailed(Failure("cannot_keep_state", {
                "path": str(self.options.state_dir), "reason": exc.strerror or str(exc)})) from None
        self.embedded = EmbeddedService(TokenSigner(key), host=host, port=port,
                                        only=self.options.interfaces,
                                        advertise=self.options.advertise,
                                        https_dir=self.options.state_dir
                                        if self.options.https else None)
        try:
            await self.embedded.start()
        except (OSError, ValueError) as exc:
            self.embedded = None
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise HostFailed(Failure("cannot_listen", {"address": f"{host}:{port}",
                                                       "reason": reason})) from None
        self._emit(Hosted(self.embedded.port, self.embedded.address,
                          tuple(a.address for a in self.embedded.addresses)))
        return self.embedded.url

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.embedded is not None:
            await self.embedded.stop_advertising()
        if self.session is not None:
            await self.session.stop()
        if self.embedded is not None:
            await self.embedded.stop("The receiver closed.")
            self.embedded = None

    async def stats(self) -> PeerStats | None:
        return await self.session.stats() if self.session is not None else None

    def rename(self, name: str) -> None:
        """The TV's new display name: advertised at once, shown to senders that join next."""
        name = " ".join(name.split())[:64]
        if not name or name == self.name:
            return
        self.name = self.options.name = name
        client = getattr(self.session, "client", None)
        if client is not None and hasattr(client, "name"):
            client.name = name
        if self._code is not None:
            self._spawn(self._advertise(self._code))

    # -------------------------------------------------------------- status
    def _emit(self, event: HostEvent) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_status(self, st: ReceiverStatus) -> None:
        if (st.error is not None and str(getattr(st.error, "code", "")) in FATAL
                and self._fatal is not None and not self._fatal.done()):
            self._fatal.set_result(failure(st.error))
        if self.on_status is not None:
            self.on_status(st)
        if st.code is not None and st.code != self._code:
            self._code = st.code
            self._show_link(st.code)
            self._spawn(self._advertise(st.code))

    def _show_link(self, code: str) -> None:
        url = self.options.server_url
        if url is not None:
            parts = urlsplit(url)
            tls = parts.scheme in ("wss", "https")
            host, port = parts.hostname or "", parts.port or (443 if tls else 80)
            local = False
        else:
            assert self.embedded is not None
            tls, port = False, self.embedded.port
            host = self.embedded.address or "127.0.0.1"
            local = self.embedded.address is None
            https, identity = self.embedded.https_port, self.embedded.identity
            if https is not None and identity is not None:
                shown = LinkShown(code, make_link(host, https, code, tls=True,
                                                  pin=identity.fingerprint),
                                  f"{host}:{port}", local_only=local,
                                  app_link=make_link(host, port, code),
                                  fingerprint=identity.short)
                if shown != self.link:
                    self.link = shown
                    self._emit(shown)
                return
        shown = LinkShown(code, make_link(host, port, code, tls=tls),
                          f"{host}:{port}", local_only=local)
        if shown != self.link:
            self.link = shown
            self._emit(shown)

    async def _advertise(self, code: str) -> None:
        if self.embedded is None:
            return
        from castapp.discovery.mdns import ADVERT_FAILURES

        try:
            ok = await self.embedded.advertise(code, self.name)
        except ADVERT_FAILURES as exc:  # the receiver works without an advert: say so, go on
            words = exc.strerror if isinstance(exc, OSError) and exc.strerror else \
                type(exc).__name__
            self._emit(Advertised(False, words))
            return
        self._emit(Advertised(ok))

    async def _watch_addresses(self) -> None:
        """A receiver started before its network came up: show the address once there is one."""
        while self.embedded is not None and self.embedded.address is None:
            await asyncio.sleep(ADDRESS_RECHECK_S)
            if self.embedded is not None and self.embedded.refresh_addresses():
                self._emit(Hosted(self.embedded.port, self.embedded.address,
                                  tuple(a.address for a in self.embedded.addresses)))
                if self._code is not None:
                    self._show_link(self._code)
                    await self._advertise(self._code)


def _read_token(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:  # a new code then; say why in the log
        log.warning("cannot read the code's token in %s: %s", path, exc)
        return None
