"""The sender session under test: fakes for the service, the peers, the source, the clock and
the network probes, and legal paths into every phase of its machine.

Tests take the ``rig`` fixture (a default rig) or ``make_rig`` (a rig with session options)
from ``conftest.py``; both close what they made.
"""

from __future__ import annotations

from collections.abc import Callable

from fakes import FakeClock, FakeFrameSource, FakePeer, FakePeerFactory, FakeSignaling
from fakes.signaling import RX_SDP

from castapp import protocol as p
from castapp.rtc.diagnose import Diagnosis, TurnProbe
from castapp.rtc.ice import IceChooser, TurnServer
from castapp.session import sender_table as t
from castapp.session.machine import Event
from castapp.session.sender import NetworkChecks, SenderSession
from castapp.session.sender_table import Phase

P = Phase


class Checks:
    """Network probes that answer at once, as the test sets them."""

    def __init__(self) -> None:
        self.network_answers: bool | None = True
        self.turn_result = TurnProbe.OK
        self.diagnosis = Diagnosis.NO_PATH
        self.diagnosed_with: list[tuple[set[str], bool, TurnProbe | None]] = []

    async def network(self, chooser: IceChooser) -> bool | None:
        return self.network_answers

    async def turn(self, server: TurnServer) -> TurnProbe:
        return self.turn_result

    async def diagnose(self, chooser: IceChooser, gathered: set[str], answered: bool,
                       probe: TurnProbe | None) -> Diagnosis:
        self.diagnosed_with.append((gathered, answered, probe))
        return self.diagnosis

    def make(self) -> NetworkChecks:
        return NetworkChecks(self.network, self.turn, self.diagnose)


class Rig:
    def __init__(self, **kw: object) -> None:
        self.client = FakeSignaling()
        self.factory = FakePeerFactory()
        self.source = FakeFrameSource()
        self.clock = FakeClock()
        self.checks = Checks()
        self.statuses: list[object] = []
        self.session = SenderSession(
            "ws://fake", self.source, client=self.client,  # type: ignore[arg-type]
            peer_factory=self.factory, clock=self.clock, checks=self.checks.make(),
            on_status=self.statuses.append, **kw)  # type: ignore[arg-type]

    @property
    def s(self) -> SenderSession:
        return self.session

    def gen(self) -> int:
        return self.session.machine.generation

    async def feed(self, event: Event) -> bool:
        return await self.session.feed(event)

    async def settle(self) -> list[Event]:
        """Let the session's tasks run and return what they posted (not yet handled)."""
        for _ in range(10):
            await self.clock.advance(0)
        out: list[Event] = []
        while not self.s.inbox.empty():
            out.append(self.s.inbox.get_nowait())
        return out

    async def run(self) -> None:
        """Handle everything posted, as the session's loop would, until nothing is left."""
        for _ in range(50):
            await self.pair()
            events = await self.settle()
            if not events:
                return
            for event in events:
                await self.feed(event)

    async def to(self, phase: Phase) -> None:
        """Drive the session into ``phase`` by a legal path (tasks' own events discarded)."""
        path = PATHS[phase]
        for make in path:
            await self.feed(make(self))
            await self.settle()
            await self.pair()
        assert self.s.phase is phase

    async def pair(self) -> None:
        """Deliver the fake receiver's pairing messages when the loop (and its pump) does
        not run, as in :meth:`to`."""
        while not self.s._running and not self.client._events.empty():
            event = self.s._translate(self.client._events.get_nowait())
            if isinstance(event, t.PakeArrived | t.ConfirmArrived):
                await self.feed(event)

    async def cast(self, code: str = "123456") -> None:
        """Cast, and run until the session waits on the receiver (its offer sent)."""
        await self.s.cast(code)
        await self.run()

    async def answer(self, sdp: str = RX_SDP) -> None:
        """The receiver answers; run until the session waits again."""
        self.client.push(relayed_answer(sdp))
        await self.run()

    async def connect(self) -> FakePeer:
        """The receiver answers the offer and the call connects: its peer."""
        await self.answer()
        peer = self.factory.last
        peer.connect()
        await self.run()
        return peer

    async def casting(self) -> FakePeer:
        """Cast, answered and connected: the live call's peer."""
        await self.cast()
        return await self.connect()

    async def close(self) -> None:
        await self.s.close()


def offer_ready(r: Rig) -> Event:
    peer = r.factory.made[-1] if r.factory.made and not r.factory.last.closed else None
    if peer is None:
        peer = FakePeer(None, 99)
    return t.OfferReady(gen=r.gen(), peer=peer)


def _gen(cls: type[Event]) -> Callable[[Rig], Event]:
    return lambda r: cls(gen=r.gen())


def _plain(cls: type[Event], **kw: object) -> Callable[[Rig], Event]:
    return lambda r: cls(**kw)


ADMIT = [_plain(t.CastAsked, code="123456"), _plain(t.Joined, receiver="rx-1", name="TV")]
JOIN = [*ADMIT, _plain(t.Admitted, resume="r" * 24)]
UP = [*JOIN, offer_ready, _plain(t.AnswerArrived, sdp=RX_SDP), _gen(t.MediaUp)]
LOST = [*UP, _gen(t.StallDetected)]
REGATHER = [*LOST, _plain(t.NetworkBack, answered=True), _plain(t.Joined, receiver="rx-1")]
REOFFER = [*REGATHER, offer_ready]
PATHS: dict[Phase, list[Callable[[Rig], Event]]] = {
    P.IDLE: [],
    P.JOINING: JOIN[:1],
    P.ADMITTING: ADMIT,
    P.GATHERING: JOIN,
    P.OFFERED: [*JOIN, offer_ready],
    P.ANSWERED: UP[:-1],
    P.CASTING: UP,
    P.WAITING: [*UP, _plain(t.PeerDropped)],
    P.LOST: LOST,
    P.REGATHERING: REGATHER,
    P.REOFFERED: REOFFER,
    P.RESIGNALING: [*LOST, _plain(t.NetworkBack, answered=True)],
    P.REANSWERED: [*REOFFER, _plain(t.AnswerArrived, sdp=RX_SDP)],
    P.DIAGNOSING: [*JOIN, _plain(t.DeadlinePassed)],
    P.ENDED: [*UP, _plain(t.PeerLeft)],
}


def relayed_answer(sdp: str = RX_SDP) -> p.RelayedAnswer:
    """The receiver's answer as the service relays it."""
    return p.RelayedAnswer(from_="rx-1", sdp=sdp)


MakeRig = Callable[..., Rig]
