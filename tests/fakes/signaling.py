"""A signaling client that records what a session sends and delivers what a test pushes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from castapp import protocol as p
from castapp.pairing import Pairing, PairingError, PairingRole
from castapp.signaling.client import Reconnected, SignalingError


def peer_info(peer_id: str, role: p.Role, name: str = "") -> p.PeerInfo:
    return p.PeerInfo(peer_id=peer_id, role=role, name=name)


#: The answer SDP of the fake receiver: its DTLS fingerprint is what its pairing confirms.
RX_FINGERPRINT = ":".join(["AB"] * 32)
RX_SDP = f"v=0\r\na=fake-answer:rx\r\na=fingerprint:sha-256 {RX_FINGERPRINT}\r\n"


def rx_answer(extra: str = "") -> str:
    """An answer of the fake receiver (its confirmed fingerprint), with ``extra`` lines."""
    return RX_SDP + extra


class FakeSignaling:
    """Stands in for :class:`castapp.signaling.client.SignalingClient`.

    ``sent`` lists every message the session sent, as ``(kind, to, payload)``. ``push()``
    delivers a service message or client event to the session. Set ``join_error`` or
    ``register_error`` to make the next request fail with that typed error.
    """

    def __init__(self, receiver_id: str = "rx-1", receiver_name: str = "TV",
                 ice_servers: list[p.IceServer] | None = None) -> None:
        self.receiver_id = receiver_id
        self.receiver_name = receiver_name
        self.ice_servers = ice_servers or []
        self.peer_id = "me-1"
        self.code = "123456"
        self.token = "token"
        self._connected = False
        self.joined: p.Joined | None = None
        self.registration: p.Registered | None = None
        self.join_error: SignalingError | None = None
        self.connect_error: SignalingError | None = None
        self.register_error: SignalingError | None = None
        self.send_error: SignalingError | None = None
        self.sent: list[tuple[str, str | None, Any]] = []
        self.refreshed = 0
        self.rejoin_on_refresh = True
        #: The fake receiver runs the pairing over this code (and PIN) with the sender;
        #: None: it does not answer PAKE messages at all.
        self.pair_code: str | None = "123456"
        self.pair_pin: str | None = None
        self.pairings: list[Pairing] = []
        #: What the receiver says on a join (open mode: allowed at once); None: nothing.
        self.admission: p.Admission | None = p.Admission(state=p.AdmissionState.ALLOWED,
                                                         resume="r" * 24)
        self.closed = False
        self._events: asyncio.Queue[object] = asyncio.Queue()

    @property
    def connected(self) -> bool:
        return self._connected

    async def connect(self) -> p.Welcome:
        if self.connect_error is not None:
            raise self.connect_error
        self._connected = True
        return p.Welcome(version=p.PROTOCOL_VERSION, peer_id=self.peer_id, heartbeat_s=15.0,
                         max_message_bytes=65536)

    async def close(self) -> None:
        self._connected = False
        self.closed = True

    def refresh(self) -> None:
        """As the real client: a new connection, then the room joined again (unless
        ``rejoin_on_refresh`` is False, to see what happens while that is under way)."""
        self.refreshed += 1
        if self.rejoin_on_refresh and self.joined is not None:
            self.push(Reconnected(self.peer_id))
            self.push(self.joined)

    async def join(self, code: str) -> p.Joined:
        if self.join_error is not None:
            raise self.join_error
        self.sent.append(("join", None, code))
        self.joined = p.Joined(receiver=peer_info(self.receiver_id, p.Role.RECEIVER,
                                                  self.receiver_name),
                               ice_servers=self.ice_servers)
        if self.admission is not None:
            self.push(self.admit(self.admission))
        return self.joined

    def admit(self, msg: p.PeerMessage) -> p.RelayedSignal:
        """A peer message from the receiver, as the service relays it."""
        return p.RelayedSignal(from_=self.receiver_id, body=p.peer_body(msg))

    async def register(self, token: str | None = None) -> p.Registered:
        if self.register_error is not None:
            raise self.register_error
        self.sent.append(("register", None, token))
        self.registration = p.Registered(code=self.code, token=self.token, ttl_s=60.0,
                                         ice_servers=self.ice_servers)
        return self.registration

    async def leave(self) -> None:
        self.sent.append(("leave", None, None))
        self.joined = self.registration = None

    async def _send(self, kind: str, to: str | None, payload: Any) -> None:
        if self.send_error is not None:
            raise self.send_error
        self.sent.append((kind, to, payload))

    async def send_offer(self, to: str, sdp: str) -> None:
        await self._send("offer", to, sdp)

    async def send_answer(self, to: str, sdp: str) -> None:
        await self._send("answer", to, sdp)

    async def send_candidate(self, to: str, candidate: p.IceCandidate | None) -> None:
        await self._send("candidate", to, candidate)

    async def send_bye(self, to: str, reason: str = "") -> None:
        await self._send("bye", to, reason)

    async def send_signal(self, to: str, msg: p.PeerMessage) -> None:
        await self._send("signal", to, msg)
        if self.pair_code is not None:
            self._play_receiver(msg)

    def _play_receiver(self, msg: p.PeerMessage) -> None:
        """The receiver's side of the pairing (the real one), answering the sender."""
        if isinstance(msg, p.PakeMessage):
            rx = Pairing(PairingRole.RECEIVER, self.pair_code or "", self.peer_id,
                         self.receiver_id, pin=self.pair_pin, attempt=msg.attempt)
            self.pairings.append(rx)
            start = rx.start()
            rx.receive(msg)
            self.push(self.admit(start))
        elif isinstance(msg, p.KeyConfirm) and not msg.tampered and self.pairings:
            rx = self.pairings[-1]
            try:
                rx.check_confirm(msg)
            except PairingError:
                return  # a real receiver would count a wrong PIN; the test decides
            self.push(self.admit(rx.confirm(RX_SDP)))

    def push(self, event: object) -> None:
        self._events.put_nowait(event)

    async def events(self) -> AsyncIterator[object]:
        while True:
            yield await self._events.get()

    async def next_event(self, timeout: float | None = None) -> object:
        return await asyncio.wait_for(self._events.get(), timeout)

    def kinds(self) -> list[str]:
        return [kind for kind, _, _ in self.sent]
