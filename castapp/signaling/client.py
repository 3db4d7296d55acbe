"""Asyncio client of the room service (no Qt).

``SignalingClient`` connects, agrees the protocol version, registers a receiver or joins a
sender, sends and receives relayed negotiation, keeps the connection alive with heartbeats
and, when the connection drops or the service restarts, reconnects with backoff and redoes
what it was doing: a receiver presents its token and so keeps its cast code.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Literal

import aiohttp
import msgspec

from castapp import __version__
from castapp import protocol as p
from castapp.protocol import ErrorCode
from castapp.signaling.identity import ReceiverIdentity
from castapp.tasks import cancel_and_wait

log = logging.getLogger(__name__)


# ------------------------------------------------------------------ errors
class SignalingError(Exception):
    """The room service refused something, or could not be reached."""

    code: str = "signaling_error"

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after_s = retry_after_s


class ServiceUnreachableError(SignalingError):
    code = "unreachable"


class UntrustedCertificateError(ServiceUnreachableError):
    """The room service's TLS certificate is not trusted by this machine (``wss://``)."""

    code = "tls_untrusted"


def pinned(url: str) -> tuple[str, bytes | None]:
    """``wss://…/ws#pin=HEX`` (a receiver's own certificate, from its link): the URL to open
    and the certificate's SHA-256 to trust instead of the machine's authorities."""
    base, _, fragment = url.partition("#")
    if fragment.startswith("pin=") and base.startswith("wss://"):
        try:
            digest = bytes.fromhex(fragment[4:])
        except ValueError:
            digest = b""
        if len(digest) == 32:
            return base, digest
    return base, None


class BadMessageError(SignalingError):
    code = ErrorCode.BAD_MESSAGE


class UnknownTypeError(SignalingError):
    code = ErrorCode.UNKNOWN_TYPE


class UnsupportedVersionError(SignalingError):
    code = ErrorCode.UNSUPPORTED_VERSION


class HelloRequiredError(SignalingError):
    code = ErrorCode.HELLO_REQUIRED


class UnknownCodeError(SignalingError):
    code = ErrorCode.UNKNOWN_CODE


class RateLimitedError(SignalingError):
    code = ErrorCode.RATE_LIMITED


class PinRequiredError(SignalingError):
    """Codes are being guessed on the service: join again with the guard PIN the TV shows."""

    code = ErrorCode.PIN_REQUIRED


class NotProvenError(SignalingError):
    """The receiver could not prove it holds the key its code is bound to."""

    code = ErrorCode.NOT_PROVEN


class RoomFullError(SignalingError):
    code = ErrorCode.ROOM_FULL


class TooLargeError(SignalingError):
    code = ErrorCode.TOO_LARGE


class NotInRoomError(SignalingError):
    code = ErrorCode.NOT_IN_ROOM


class AlreadyInRoomError(SignalingError):
    code = ErrorCode.ALREADY_IN_ROOM


class ServiceFullError(SignalingError):
    code = ErrorCode.SERVICE_FULL


class InternalServiceError(SignalingError):
    code = ErrorCode.INTERNAL


_BY_CODE: dict[str, type[SignalingError]] = {
    cls.code: cls
    for cls in (
        BadMessageError, UnknownTypeError, UnsupportedVersionError, HelloRequiredError,
        UnknownCodeError, RateLimitedError, RoomFullError, TooLargeError, NotInRoomError,
        AlreadyInRoomError, ServiceFullError, InternalServiceError, PinRequiredError,
        NotProvenError,
    )
}


def error_from(msg: p.Error) -> SignalingError:
    return _BY_CODE.get(msg.code, SignalingError)(msg.message, msg.retry_after_s)


#: The service's close message for a connection that stayed in no room too long.
IDLE_CLOSE = "no room joined"


# ------------------------------------------------------------------ client events
@dataclass(frozen=True)
class ConnectionLost:
    """The connection dropped; the client tries again in ``retry_in_s``."""

    reason: str
    retry_in_s: float


@dataclass(frozen=True)
class Reconnected:
    peer_id: str


@dataclass(frozen=True)
class Failed:
    """Something the client was doing in the background failed for good."""

    error: SignalingError


Event = p.Outbound | ConnectionLost | Reconnected | Failed


class SignalingClient:
    def __init__(
        self,
        url: str,
        *,
        name: str = "",
        reconnect: bool = True,
        backoff: tuple[float, float] = (0.25, 10.0),
        connect_timeout_s: float = 10.0,
        versions: tuple[int, ...] = p.SUPPORTED_VERSIONS,
        rejoin_window_s: float = 30.0,
    ) -> None:
        self.url = url
        self.name = name
        self.reconnect = reconnect
        self.backoff = backoff
        self.connect_timeout_s = connect_timeout_s
        self.versions = versions
        self.rejoin_window_s = rejoin_window_s
        self.peer_id: str | None = None
        self.welcome: p.Welcome | None = None
        self.registration: p.Registered | None = None
        self.joined: p.Joined | None = None
        self._intent: Literal["receiver", "sender"] | None = None
        self._token: str | None = None
        self._code: str | None = None
        self._pin: str | None = None
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._events: asyncio.Queue[Event] = asyncio.Queue()
        self._pending: dict[str, asyncio.Future[p.Outbound]] = {}
        self._reader: asyncio.Task[None] | None = None
        self._closing = False
        self._last_heard = 0.0
        self._closing_tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()

    # -------------------------------------------------------------- properties
    @property
    def connected(self) -> bool:
        return self._ws is not None and not self._ws.closed

    @property
    def code(self) -> str | None:
        """The receiver's cast code (kept across reconnects)."""
        return self.registration.code if self.registration else None

    @property
    def token(self) -> str | None:
        return self._token

    # -------------------------------------------------------------- lifecycle
    async def connect(self) -> p.Welcome:
        """Open the connection and agree the protocol version."""
        self._closing = False
        welcome = await self._open()
        self._reader = asyncio.create_task(self._run(), name="castapp-signaling")
        return welcome

    async def close(self) -> None:
        self._closing = True
        reader, self._reader = self._reader, None
        await cancel_and_wait(reader)
        await self._drop()
        if self._session is not None:
            await self._session.close()
            self._session = None

    def refresh(self) -> None:
        """Give up the current connection and open a new one at once (then redo what it did).

        After an outage a TCP connection can sit in retransmission back-off for seconds; a new
        one goes through immediately. A reconnect waiting out its back-off is tried at once.
        """
        self._wake.set()  # a reconnect waiting out its back-off goes now
        ws, self._ws = self._ws, None
        if ws is not None and not ws.closed:
            closing = asyncio.create_task(ws.close())  # wakes the reader; it then reconnects
            self._closing_tasks.add(closing)
            closing.add_done_callback(self._closing_tasks.discard)

    async def __aenter__(self) -> SignalingClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _open(self) -> p.Welcome:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        url, pin = pinned(self.url)
        try:
            ws = await self._session.ws_connect(
                url,
                timeout=aiohttp.ClientWSTimeout(ws_close=2.0),
                max_msg_size=p.HARD_FRAME_LIMIT,
                autoping=True,
                ssl=aiohttp.Fingerprint(pin) if pin is not None else True,
            )
        except aiohttp.ClientConnectorCertificateError as exc:
            raise UntrustedCertificateError(
                f"The room service's certificate is not trusted: {exc.certificate_error}"
            ) from None
        except aiohttp.ServerFingerprintMismatch:
            raise UntrustedCertificateError(
                "The room service's certificate is not the one the receiver's link names."
            ) from None
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise ServiceUnreachableError(f"Cannot reach the room service: {exc}") from None
        try:
            hello = p.Hello(versions=list(self.versions), client=f"castapp/{__version__}")
            await ws.send_str(p.encode_text(hello))
            msg = await self._receive_one(ws, self.connect_timeout_s)
        except BaseException:
            await ws.close()
            raise
        if isinstance(msg, p.Error):
            await ws.close()
            raise error_from(msg)
        if not isinstance(msg, p.Welcome):
            await ws.close()
            raise ServiceUnreachableError("The room service answered with something unexpected.")
        self._ws, self.welcome, self.peer_id = ws, msg, msg.peer_id
        self._last_heard = time.monotonic()
        return msg

    @staticmethod
    async def _receive_one(ws: aiohttp.ClientWebSocketResponse, timeout: float) -> p.Outbound:
        try:
            frame = await ws.receive(timeout=timeout)
        except TimeoutError:
            raise ServiceUnreachableError("The room service did not answer in time.") from None
        if frame.type is not aiohttp.WSMsgType.TEXT:
            raise ServiceUnreachableError("The room service closed the connection.")
        return p.decode_outbound(frame.data)

    async def _drop(self) -> None:
        self._wake.set()  # a reconnect waiting out its back-off goes now
        ws, self._ws = self._ws, None
        if ws is not None and not ws.closed:
            with contextlib.suppress(Exception):  # broad: a dropped link's close; it is gone anyway
                await ws.close()

    # -------------------------------------------------------------- requests
    async def register(self, token: str | None = None) -> p.Registered:
        """Ask for a cast code; with the credential of an earlier registration (the
        ``token`` of the ``registered`` this returns) the same code comes back if free.

        The credential holds this receiver's private key (made here on first use) and the
        service's latest token; the service sees only the public key, a signature over this
        connection's nonce, and the token. The ``registered`` returned carries the new
        credential in ``token``: keep it secret, as a file readable by this user only.
        """
        self._intent, self._token = "receiver", token or self._token
        identity = ReceiverIdentity.from_credential(self._token)
        key, proof = identity.prove(self.welcome.nonce if self.welcome else "")
        msg = p.Register(token=identity.token or None, name=self.name, key=key, proof=proof)
        reply = await self._request(msg, "register")
        assert isinstance(reply, p.Registered)
        identity.token = reply.token
        reply = msgspec.structs.replace(reply, token=identity.credential)
        self.registration, self._token = reply, reply.token
        return reply

    async def join(self, code: str, pin: str | None = None) -> p.Joined:
        """Join the room of a cast code (spaces allowed); ``pin`` is the guard PIN the TV
        shows, needed only after :class:`PinRequiredError`."""
        self._intent, self._code = "sender", code
        self._pin = pin
        reply = await self._request(p.Join(code=code, name=self.name, pin=pin), "join")
        assert isinstance(reply, p.Joined)
        self.joined = reply
        return reply

    async def leave(self, keep_code: bool = True) -> None:
        """Leave the room. A receiver keeps its code for its next start unless ``keep_code``
        is False, which gives the code up for good (its tokens are revoked)."""
        self._intent = None
        self.registration = self.joined = None
        await self._send(p.Leave(keep_code=keep_code))

    async def send_offer(self, to: str, sdp: str) -> None:
        await self._send(p.Offer(to=to, sdp=sdp))

    async def send_answer(self, to: str, sdp: str) -> None:
        await self._send(p.Answer(to=to, sdp=sdp))

    async def send_candidate(self, to: str, candidate: p.IceCandidate | None) -> None:
        await self._send(p.Candidate(to=to, candidate=candidate))

    async def send_bye(self, to: str, reason: str = "") -> None:
        await self._send(p.Bye(to=to, reason=reason))

    async def send_signal(self, to: str, msg: p.PeerMessage) -> None:
        """Send a peer-to-peer message through the service (``signal``)."""
        await self._send(p.Signal(to=to, body=p.peer_body(msg)))

    async def send_raw(self, text: str) -> None:
        """Send a frame as is (diagnostics and tests)."""
        if self._ws is None:
            raise ServiceUnreachableError("Not connected to the room service.")
        await self._ws.send_str(text)

    async def _send(self, msg: p.Inbound) -> None:
        if self._ws is None or self._ws.closed:
            raise ServiceUnreachableError("Not connected to the room service.")
        try:
            await self._ws.send_str(p.encode_text(msg))
        except (ConnectionError, RuntimeError) as exc:
            raise ServiceUnreachableError(f"Lost the room service: {exc}") from None

    async def _request(self, msg: p.Register | p.Join, ref: str) -> p.Outbound:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[p.Outbound] = loop.create_future()
        self._pending[ref] = fut
        try:
            await self._send(msg)
            return await asyncio.wait_for(fut, self.connect_timeout_s)
        except TimeoutError:
            raise ServiceUnreachableError("The room service did not answer in time.") from None
        finally:
            if self._pending.get(ref) is fut:
                del self._pending[ref]

    # -------------------------------------------------------------- events
    async def next_event(self, timeout: float | None = None) -> Event:
        return await asyncio.wait_for(self._events.get(), timeout)

    async def events(self) -> AsyncIterator[Event]:
        while True:
            yield await self._events.get()

    # -------------------------------------------------------------- background
    async def _run(self) -> None:
        attempt = 0
        while not self._closing:
            if self._ws is not None:
                attempt = 0
                reason, retry = await self._pump(self._ws)
                await self._drop()
                self._fail_pending(ServiceUnreachableError(f"Lost the room service: {reason}"))
                if reason == IDLE_CLOSE and self._intent is None:
                    return  # in no room and about to be in none: connect again when needed
                if self._closing or not self.reconnect:
                    self._events.put_nowait(ConnectionLost(reason, -1.0))
                    return
            else:
                reason, retry = "reconnect failed", None
            low, high = self.backoff
            delay = retry if retry is not None else min(high, low * 2**attempt)
            delay *= random.uniform(0.8, 1.2)
            attempt += 1
            self._events.put_nowait(ConnectionLost(reason, round(delay, 3)))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)
            self._wake.clear()
            try:
                await self._open()
            except UnsupportedVersionError as exc:
                self._events.put_nowait(Failed(exc))
                return
            except SignalingError as exc:
                log.info("room service still unreachable: %s", exc.message)
                continue
            self._events.put_nowait(Reconnected(self.peer_id or ""))
            asyncio.create_task(self._resume())  # noqa: RUF006 - reader must keep pumping

    async def _resume(self) -> None:
        try:
            if self._intent == "receiver":
                self._events.put_nowait(await self.register(self._token))
            elif self._intent == "sender" and self._code is not None:
                self._events.put_nowait(await self._rejoin(self._code))
        except SignalingError as exc:
            self._events.put_nowait(Failed(exc))

    async def _rejoin(self, code: str) -> p.Joined:
        """Join again after a reconnect; the receiver may still be on its way back."""
        deadline = time.monotonic() + self.rejoin_window_s
        delay = 0.2
        while True:
            try:
                return await self.join(code, self._pin)
            except (UnknownCodeError, RateLimitedError) as exc:
                wait = max(delay, exc.retry_after_s or 0.0)
                if time.monotonic() + wait > deadline:
                    raise
                await asyncio.sleep(wait)
                delay = min(delay * 2, 5.0)

    async def _pump(self, ws: aiohttp.ClientWebSocketResponse) -> tuple[str, float | None]:
        """Read frames until the connection ends; returns why and when to retry."""
        assert self.welcome is not None
        beat = self.welcome.heartbeat_s
        retry: float | None = None
        pinger = asyncio.create_task(self._heartbeat(ws, beat))
        try:
            while True:
                try:
                    frame = await ws.receive(timeout=beat * 2.5)
                except TimeoutError:
                    return "the room service stopped answering", retry
                if frame.type is not aiohttp.WSMsgType.TEXT:
                    if frame.type is aiohttp.WSMsgType.CLOSE and frame.extra == IDLE_CLOSE:
                        return IDLE_CLOSE, retry
                    return "the connection closed", retry
                self._last_heard = time.monotonic()
                try:
                    msg = p.decode_outbound(frame.data)
                except p.ProtocolError as exc:
                    log.warning("ignoring a malformed message from the service: %s", exc)
                    continue
                if isinstance(msg, p.Shutdown):
                    retry = msg.retry_after_ms / 1000
                    self._events.put_nowait(msg)
                    continue
                if isinstance(msg, p.Pong):
                    continue
                if self._resolve(msg):
                    continue
                self._events.put_nowait(msg)
        finally:
            pinger.cancel()

    def _resolve(self, msg: p.Outbound) -> bool:
        ref = {p.Registered: "register", p.Joined: "join"}.get(type(msg))
        if isinstance(msg, p.Error):
            ref = msg.ref
        fut = self._pending.get(ref) if ref else None
        if fut is None or fut.done():
            return False
        if isinstance(msg, p.Error):
            fut.set_exception(error_from(msg))
            return True
        if isinstance(msg, p.Joined):
            # known before the next frame is read: the TV's admission may follow at once,
            # before the caller of join() has run again
            self.joined = msg
        fut.set_result(msg)
        return True

    def _fail_pending(self, exc: SignalingError) -> None:
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(exc)

    async def _heartbeat(self, ws: aiohttp.ClientWebSocketResponse, beat: float) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            while not ws.closed:
                await asyncio.sleep(beat)
                await ws.send_str(p.encode_text(p.Ping(ts=time.time())))
