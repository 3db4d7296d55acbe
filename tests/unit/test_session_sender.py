"""The sender's machine, driven by fakes and a fake clock through every (phase, event) pair."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from fakes import FakeClock, FakeFrameSource, FakePeer, FakePeerFactory, FakeSignaling
from fakes.signaling import RX_SDP, peer_info, rx_answer

from castapp import protocol as p
from castapp.rtc.diagnose import Diagnosis, TurnProbe
from castapp.rtc.ice import IceChooser, TurnServer
from castapp.session import sender_table as t
from castapp.session.machine import Event, IllegalEventError, events_of
from castapp.session.sender import EndReason, NetworkChecks, SenderSession
from castapp.session.sender_table import TABLE, Phase
from castapp.signaling.client import UnknownCodeError

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

    async def close(self) -> None:
        await self.s.tasks.close()


def _offer(r: Rig) -> Event:
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
UP = [*JOIN, _offer, _plain(t.AnswerArrived, sdp=RX_SDP), _gen(t.MediaUp)]
LOST = [*UP, _gen(t.StallDetected)]
REGATHER = [*LOST, _plain(t.NetworkBack, answered=True), _plain(t.Joined, receiver="rx-1")]
REOFFER = [*REGATHER, _offer]
PATHS: dict[Phase, list[Callable[[Rig], Event]]] = {
    P.IDLE: [],
    P.JOINING: JOIN[:1],
    P.ADMITTING: ADMIT,
    P.GATHERING: JOIN,
    P.OFFERED: [*JOIN, _offer],
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

#: Events that belong to a call carry its generation.
CALL_EVENTS = (t.OfferReady, t.AnswerArrived, t.CandidateArrived, t.MediaUp, t.MediaFailed,
               t.StallDetected, t.RetryDue)


def _instance(r: Rig, cls: type[Event]) -> Event:
    if cls is t.OfferReady:
        return _offer(r)
    if cls in CALL_EVENTS:
        return cls(gen=r.gen())
    if cls is t.JoinFailed:
        return t.JoinFailed(error=UnknownCodeError("no such code"))
    return cls()


# a fixed-phase round-trip must exist for every phase
def test_every_phase_has_a_path_and_rows():
    assert set(PATHS) == set(Phase)
    for phase in Phase:
        assert any(state is phase for state, _ in TABLE), phase


@pytest.mark.parametrize("event", events_of(TABLE), ids=lambda e: e.__name__)
@pytest.mark.parametrize("phase", list(Phase), ids=lambda p: p.name)
async def test_every_phase_and_event(phase: Phase, event: type[Event]) -> None:
    rig = Rig()
    try:
        await rig.to(phase)
        cell = TABLE.get((phase, event))
        instance = _instance(rig, event)
        if cell is None:
            with pytest.raises(IllegalEventError):
                await rig.feed(instance)
            assert rig.s.phase is phase  # nothing changed
            assert rig.s.status.fault and event.__name__ in rig.s.status.fault  # surfaced
        else:
            assert await rig.feed(instance)
            assert rig.s.phase is cell.target
            assert rig.s.status.state is t.STATE_OF[cell.target] or cell.target is P.DIAGNOSING
    finally:
        await rig.close()


@pytest.mark.parametrize("event", CALL_EVENTS, ids=lambda e: e.__name__)
async def test_events_of_a_replaced_call_are_dropped(event: type[Event]) -> None:
    rig = Rig()
    try:
        await rig.to(P.REANSWERED)
        old = rig.gen() - 1
        before = list(rig.statuses)
        assert await rig.feed(event(gen=old)) is False
        assert rig.s.phase is P.REANSWERED and rig.statuses == before
    finally:
        await rig.close()


async def test_a_whole_cast_through_the_loop_and_a_stop() -> None:
    rig = Rig()
    try:
        await rig.s.cast("123456")
        await rig.run()
        assert rig.s.phase is P.OFFERED
        assert [k for k in rig.client.kinds() if k != "signal"] == ["join", "offer"]
        assert rig.s.status.verified is True  # the receiver's confirmation checked
        assert rig.source.started == 1
        peer = rig.factory.last
        rig.client.push(_answer())
        await rig.run()
        assert peer.remote_sdp is not None and rig.s.phase is P.ANSWERED
        peer.connect()
        await rig.run()
        assert rig.s.status.state is t.SenderState.CASTING
        assert rig.s.status.receiver == "TV" and rig.s.status.route is not None
        assert (await rig.s.stats()) is not None
        await rig.s.stop()
        assert rig.s.phase is P.IDLE
        assert await _closed(rig, peer)
        assert rig.client.kinds()[-2:] == ["bye", "leave"]
    finally:
        await rig.s.close()


async def _closed(rig: Rig, peer: object) -> bool:
    await rig.settle()
    return bool(getattr(peer, "closed", False))


def _answer(sdp: str = RX_SDP) -> object:
    return p.RelayedAnswer(from_="rx-1", sdp=sdp)


async def test_a_second_answer_is_stale_not_applied() -> None:
    rig = Rig()
    try:
        await rig.s.cast("123456")
        await rig.run()
        rig.client.push(_answer(rx_answer("a=first\r\n")))
        rig.client.push(_answer(rx_answer("a=late\r\n")))
        await rig.run()
        assert rig.s.phase is P.ANSWERED
        assert rig.s.status.fault is None
        assert "first" in (rig.factory.last.remote_sdp or "")
    finally:
        await rig.s.close()


async def test_a_refused_join_raises_and_says_so() -> None:
    rig = Rig()
    rig.client.join_error = UnknownCodeError("no such code")
    try:
        with pytest.raises(UnknownCodeError):
            await rig.s.cast("000000")
        assert rig.s.phase is P.IDLE
        assert isinstance(rig.s.status.error, UnknownCodeError)
    finally:
        await rig.s.close()


async def test_the_connect_deadline_counts_from_cast() -> None:
    rig = Rig(connect_timeout_s=5.0)
    rig.factory.hold = True  # gathering takes long (a STUN server that does not answer)
    try:
        await rig.s.cast("123456")
        await rig.clock.advance(4.0)
        rig.factory.release()
        await rig.run()
        assert rig.s.phase is P.OFFERED
        await rig.clock.advance(1.5)  # 5.5 s after cast(), 1.5 s after the offer
        await rig.run()
        await rig.clock.advance(0.25)
        await rig.run()
        assert rig.s.status.state is t.SenderState.ENDED
        assert rig.s.status.ended is EndReason.MEDIA_FAILED
        assert rig.s.status.diagnosis is Diagnosis.NO_PATH
        assert rig.checks.diagnosed_with[-1][1] is False  # never answered
    finally:
        await rig.s.close()


async def test_a_failing_source_ends_the_cast_with_its_reason() -> None:
    rig = Rig()
    try:
        await rig.s.cast("123456")
        await rig.run()
        rig.source.fail(ValueError("monitor 9 does not exist (1 found)"))
        await rig.clock.advance(0.25)
        await rig.run()
        st = rig.s.status
        assert st.state is t.SenderState.ENDED and st.ended is EndReason.SOURCE_FAILED
        assert st.source_error == "monitor 9 does not exist (1 found)" and st.failed
        assert ("bye", "rx-1", "sender failed") in rig.client.sent
    finally:
        await rig.s.close()


async def test_a_source_that_cannot_start_ends_the_cast() -> None:
    rig = Rig()
    rig.source.fail_on_start = OSError("cannot open display :9")
    try:
        await rig.s.cast("123456")
        await rig.run()
        assert rig.s.status.ended is EndReason.SOURCE_FAILED
        assert "display :9" in (rig.s.status.source_error or "")
    finally:
        await rig.s.close()


def _with_turn(rig: Rig) -> None:
    rig.client.ice_servers = [p.IceServer(urls=["turn:203.0.113.1:3478"], username="u",
                                          credential="c")]


@pytest.mark.parametrize("probe", [TurnProbe.REFUSED, TurnProbe.UNTRUSTED])
async def test_a_turn_refusal_ends_set_up_soon_after_the_answer(probe: TurnProbe) -> None:
    rig = Rig(connect_timeout_s=20.0)
    _with_turn(rig)
    rig.checks.turn_result = probe
    rig.checks.diagnosis = Diagnosis.NO_PATH  # the real diagnose would re-use the probe
    try:
        await rig.s.cast("123456")
        await rig.run()
        assert rig.s.status.warning is probe.diagnosis  # said at once
        rig.client.push(_answer())
        await rig.run()
        await rig.clock.advance(1.0)
        await rig.run()
        assert rig.s.status.state is t.SenderState.CONNECTING
        await rig.clock.advance(0.75)
        await rig.run()
        assert rig.s.status.state is t.SenderState.ENDED  # 1.75 s, not 20
        assert rig.checks.diagnosed_with[-1][2] is probe
    finally:
        await rig.s.close()


async def test_a_stall_rebuilds_once_and_casting_resumes() -> None:
    rig = Rig()
    try:
        await rig.s.cast("123456")
        await rig.run()
        rig.client.push(_answer())
        await rig.run()
        first = rig.factory.last
        first.connect()
        await rig.run()
        first.report(rig.clock.wall())
        await rig.clock.advance(2.5)  # no receiver report for longer than stall_s
        await rig.run()
        assert rig.s.status.state is t.SenderState.RECONNECTING
        assert rig.s.status.reconnects == 1
        assert first.closed and len(rig.factory.made) == 2  # one rebuild
        assert rig.s.phase is P.REOFFERED
        rig.client.push(_answer())
        await rig.run()
        rig.factory.last.connect()
        await rig.run()
        assert rig.s.status.state is t.SenderState.CASTING
        assert len(rig.factory.made) == 2
    finally:
        await rig.s.close()


async def test_an_unanswered_offer_is_retried_every_few_seconds_not_flooded() -> None:
    """The receiver's side is cut: our network is fine, so the call is rebuilt at once, and
    then one offer (on a fresh service connection) per RETRY_S, not one per fraction of a
    second."""
    rig = Rig()
    try:
        await rig.s.cast("123456")
        await rig.run()
        rig.client.push(_answer())
        await rig.run()
        rig.factory.last.connect()
        await rig.run()
        await rig.clock.advance(2.5)  # no receiver report: stalled
        await rig.run()
        assert rig.s.phase is P.REOFFERED and rig.client.refreshed == 0
        for _ in range(40):  # 10 s without an answer
            await rig.clock.advance(0.25)
            await rig.run()
        offers = [kind for kind in rig.client.kinds() if kind == "offer"]
        assert 3 <= len(offers) <= 5, offers  # the first call's, then one per ~4 s
        assert rig.client.refreshed == len(offers) - 2
    finally:
        await rig.s.close()


async def test_when_our_network_returns_signaling_is_reopened_before_the_offer() -> None:
    rig = Rig()
    rig.client.rejoin_on_refresh = False
    try:
        await rig.to(P.LOST)
        await rig.feed(t.NetworkBack(answered=True))
        assert rig.s.phase is P.RESIGNALING and rig.client.refreshed == 1
        built = len(rig.factory.made)
        rejoined = rig.s._translate(_joined())  # what the signaling pump would post
        assert rejoined is not None
        await rig.feed(rejoined)
        await rig.run()
        assert rig.s.phase is P.REOFFERED and len(rig.factory.made) == built + 1
    finally:
        await rig.close()


def _joined() -> object:
    return p.Joined(receiver=peer_info("rx-1", p.Role.RECEIVER, "TV"), ice_servers=[])


async def test_a_nat_route_keeps_the_relay_out_of_rebuilt_calls() -> None:
    from castapp.rtc.peer import IcePath, Route
    rig = Rig()
    _with_turn(rig)
    rig.client.ice_servers.insert(0, _stun())
    try:
        await rig.s.cast("123456")
        await rig.run()
        first = rig.factory.last
        assert any("turn:" in s.urls[0] for s in first.servers)
        rig.client.push(_answer())
        await rig.run()
        first.connect(IcePath("srflx", "srflx", "203.0.113.11:1", "203.0.113.12:2"))
        await rig.run()
        assert rig.s.status.route is Route.NAT
        await rig.feed(t.StallDetected(gen=rig.gen()))
        await rig.run()
        second = rig.factory.last
        assert second is not first
        assert not any("turn:" in s.urls[0] for s in second.servers)
        relay = "a=candidate:1 1 udp 1 203.0.113.1 50000 typ relay raddr 0.0.0.0 rport 0"
        rig.client.push(_answer(rx_answer(f"{relay}\r\na=end-of-candidates\r\n")))
        await rig.run()
        assert "typ relay" not in (second.remote_sdp or "")
        # the NAT path does not come back: the relay is offered again
        await rig.clock.advance(4.5)
        await rig.run()
        third = rig.factory.last
        assert third is not second and any("turn:" in s.urls[0] for s in third.servers)
    finally:
        await rig.s.close()


def _stun() -> object:
    return p.IceServer(urls=["stun:203.0.113.1:3478"])


async def test_a_failed_task_reaches_the_user_as_a_fault() -> None:
    rig = Rig()
    rig.factory.error = RuntimeError("encoder exploded")
    try:
        await rig.s.cast("123456")
        await rig.run()
        st = rig.s.status
        assert st.state is t.SenderState.ENDED and st.ended is EndReason.FAULT
        assert "encoder exploded" in (st.fault or "")
    finally:
        await rig.s.close()


async def test_the_recovery_window_ends_a_cast_that_never_comes_back() -> None:
    rig = Rig(recovery_window_s=10.0)
    rig.checks.network_answers = False
    try:
        await rig.to(P.CASTING)
        await rig.feed(t.StallDetected(gen=rig.gen()))
        for _ in range(45):
            await rig.clock.advance(0.25)
            await rig.feed(t.Tick())
            await rig.run()
        assert rig.s.status.state is t.SenderState.ENDED
        assert rig.s.status.ended is EndReason.MEDIA_FAILED
    finally:
        await rig.close()


async def test_one_rebuild_at_a_time_and_a_superseded_build_is_closed() -> None:
    rig = Rig()
    try:
        await rig.to(P.OFFERED)
        first = rig.factory.last
        rig.factory.hold = True  # the next builds wait, as gathering does
        # the receiver comes back twice in a row under new ids: each supersedes the last
        await rig.feed(t.PeerBack(receiver="rx-2", name="TV"))
        await rig.feed(t.PeerBack(receiver="rx-3", name="TV"))
        assert await rig.settle() == []  # nothing built yet
        rig.client.receiver_id = "rx-3"  # (the fake receiver pairs under its new id)
        assert first.closed
        assert rig.s.phase is P.GATHERING
        rig.factory.release()
        await rig.run()
        assert rig.s.phase is P.OFFERED
        offers = [to for kind, to, _ in rig.client.sent if kind == "offer"]
        assert offers[-1] == "rx-3" and len(offers) == 2  # the first call's, then one more
        # the build that was cancelled never made a peer; the one that ran is the call
        assert len(rig.factory.made) == 2 and not rig.factory.last.closed
    finally:
        await rig.close()


async def test_a_stale_offer_ready_closes_its_peer() -> None:
    rig = Rig()
    try:
        await rig.to(P.GATHERING)
        late = FakePeer(None, 7)
        await rig.s.feed(t.PeerDropped())  # the receiver went away meanwhile
        assert await rig.feed(t.OfferReady(gen=rig.gen() - 1, peer=late)) is False
        await rig.settle()
        assert late.closed and rig.s.phase is P.WAITING
    finally:
        await rig.close()


async def test_an_unreachable_service_is_said_and_raised() -> None:
    from castapp.signaling.client import ServiceUnreachableError
    rig = Rig()
    rig.client.connect_error = ServiceUnreachableError("Cannot reach the room service")
    try:
        task = asyncio.ensure_future(rig.s.cast("123456"))
        for _ in range(20):
            await rig.clock.advance(1.0)
            if task.done():
                break
        with pytest.raises(ServiceUnreachableError):
            await task
        assert rig.s.phase is P.IDLE and not rig.s.status.service_ok
        assert isinstance(rig.s.status.error, ServiceUnreachableError)
    finally:
        await rig.s.close()


async def test_an_unexpected_event_is_reported_not_ignored(caplog: pytest.LogCaptureFixture):
    rig = Rig()
    try:
        await rig.to(P.IDLE)
        with pytest.raises(IllegalEventError):
            await rig.feed(t.MediaUp())
        assert "MediaUp is not expected in idle" in (rig.s.status.fault or "")
        assert any(r.levelname == "ERROR" and "MediaUp" in r.getMessage()
                   for r in caplog.records)
    finally:
        await rig.close()


async def test_an_action_that_fails_ends_the_cast_as_a_fault() -> None:
    rig = Rig()
    try:
        await rig.s.cast("123456")
        await rig.run()
        rig.factory.last.apply_error = RuntimeError("codec table corrupt")
        rig.client.push(_answer())
        for _ in range(5):
            await rig.clock.advance(0)
        # the loop turned the failure into an event that ends the cast through the table
        await rig.s.wait_for(t.SenderState.ENDED, timeout=2)
        st = rig.s.status
        assert st.ended is EndReason.FAULT and "codec table corrupt" in (st.fault or "")
        assert rig.factory.last.closed
    finally:
        await rig.s.close()
