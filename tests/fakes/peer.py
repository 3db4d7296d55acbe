"""Peer connections without a network: the test decides when they connect or fail."""

from __future__ import annotations

import asyncio
from typing import Any

from castapp.rtc.peer import IcePath, PeerStats


def fake_fingerprint(number: int) -> str:
    """A DTLS fingerprint of its own for each fake peer (the pairing binds it)."""
    return ":".join(f"{(number * 7 + i) % 256:02X}" for i in range(32))


class FakePeer:
    """Stands in for one call's peer connection (offering or answering).

    ``connect()``/``fail()`` drive its connection state and call the session's callback, as
    aiortc's ``connectionstatechange`` would. ``report()`` stamps a receiver report.
    """

    def __init__(self, request: Any = None, number: int = 0,
                 gathered: set[str] | None = None, path: IcePath | None = None) -> None:
        self.request = request
        self.number = number
        self.gathered = gathered if gathered is not None else {"host"}
        self._path = path or IcePath("host", "host", "198.51.100.1:1000", "198.51.100.2:2000")
        self.connection_state = "new"
        fp = fake_fingerprint(number)
        self.offer_sdp = (f"v=0\r\no=- {number} 1 IN IP4 0.0.0.0\r\na=fake-offer:{number}\r\n"
                          f"a=fingerprint:sha-256 {fp}\r\n")
        self.answer_sdp = (f"v=0\r\no=- {number} 1 IN IP4 0.0.0.0\r\n"
                           f"a=fake-answer:{number}\r\na=fingerprint:sha-256 {fp}\r\n")
        self.remote_sdp: str | None = None
        self.candidates: list[Any] = []
        self.closed = False
        self.frames_sent = 0
        self.frame_size: tuple[int, int] | None = (640, 360)
        self.reported_at: float | None = None
        self.apply_error: Exception | None = None
        self.stats_calls = 0

    @property
    def servers(self) -> list[Any]:
        return list(self.request.servers) if self.request is not None else []

    # the session's side
    async def apply_answer(self, sdp: str) -> None:
        if self.apply_error is not None:
            raise self.apply_error
        self.remote_sdp = sdp

    async def apply_offer(self, sdp: str) -> str:
        if self.apply_error is not None:
            raise self.apply_error
        self.remote_sdp = sdp
        return self.answer_sdp

    async def add_candidate(self, candidate: Any) -> None:
        self.candidates.append(candidate)

    def path(self) -> IcePath | None:
        return self._path if self.connection_state == "connected" else None

    def working_routes(self) -> set[Any]:
        path = self.path()
        return {path.route} if path is not None else set()

    async def last_heard_at(self) -> float | None:
        return self.reported_at

    async def stats(self, fps: float | None = None) -> PeerStats:
        self.stats_calls += 1
        return PeerStats(at=0.0, codec="video/H264", bytes_sent=0, bytes_received=0,
                         packets_sent=0, packets_received=0, packets_lost=0, rtt_ms=1.0,
                         ice=self.path(), fps=fps)

    async def close(self) -> None:
        self.closed = True
        self.connection_state = "closed"

    # the test's side
    def _state(self, state: str) -> None:
        self.connection_state = state
        if self.request is not None:
            self.request.on_state(state)

    def connect(self, path: IcePath | None = None) -> None:
        if path is not None:
            self._path = path
        self._state("connected")

    def fail(self) -> None:
        self._state("failed")

    def report(self, wall: float) -> None:
        self.reported_at = wall


class FakePeerFactory:
    """A peer factory: every call makes a :class:`FakePeer` and keeps it in ``made``.

    ``gathered`` (a list) gives the candidate types of the next peers in turn; ``hold`` makes
    building wait until :meth:`release` (to see what happens while a call is gathering);
    ``error`` makes building fail.
    """

    def __init__(self) -> None:
        self.made: list[FakePeer] = []
        self.gathered: list[set[str]] = []
        self.error: Exception | None = None
        self.hold = False
        self._gate = asyncio.Event()

    def release(self) -> None:
        self._gate.set()

    async def __call__(self, request: Any) -> FakePeer:
        if self.hold:
            await self._gate.wait()
        if self.error is not None:
            raise self.error
        peer = FakePeer(request, len(self.made) + 1,
                        self.gathered.pop(0) if self.gathered else None)
        self.made.append(peer)
        return peer

    @property
    def last(self) -> FakePeer:
        return self.made[-1]
