"""The sender's machine, driven by fakes and a fake clock through every (phase, event) pair."""

from __future__ import annotations

import asyncio

import pytest
from fakes import FakePeer
from fakes.signaling import peer_info, rx_answer
from sender_rig import PATHS, MakeRig, Rig, offer_ready, relayed_answer

from castapp import protocol as p
from castapp.rtc.diagnose import Diagnosis, TurnProbe
from castapp.session import sender_table as t
from castapp.session.machine import Event, IllegalEventError, events_of
from castapp.session.sender import EndReason
from castapp.session.sender_table import TABLE, Phase
from castapp.signaling.client import UnknownCodeError

P = Phase


#: Events that belong to a call carry its generation.
CALL_EVENTS = (t.OfferReady, t.AnswerArrived, t.CandidateArrived, t.MediaUp, t.MediaFailed,
               t.StallDetected, t.RetryDue)


def _instance(r: Rig, cls: type[Event]) -> Event:
    if cls is t.OfferReady:
        return offer_ready(r)
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
async def test_every_phase_and_event(rig: Rig, phase: Phase, event: type[Event]) -> None:
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


@pytest.mark.parametrize("event", CALL_EVENTS, ids=lambda e: e.__name__)
async def test_events_of_a_replaced_call_are_dropped(rig: Rig, event: type[Event]) -> None:
    await rig.to(P.REANSWERED)
    old = rig.gen() - 1
    before = list(rig.statuses)
    assert await rig.feed(event(gen=old)) is False
    assert rig.s.phase is P.REANSWERED and rig.statuses == before


async def test_a_whole_cast_through_the_loop_and_a_stop(rig: Rig) -> None:
    await rig.cast()
    assert rig.s.phase is P.OFFERED
    assert [k for k in rig.client.kinds() if k != "signal"] == ["join", "offer"]
    assert rig.s.status.verified is True  # the receiver's confirmation checked
    assert rig.source.started == 1
    peer = rig.factory.last
    await rig.answer()
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


async def _closed(rig: Rig, peer: object) -> bool:
    await rig.settle()
    return bool(getattr(peer, "closed", False))


async def test_a_second_answer_is_stale_not_applied(rig: Rig) -> None:
    await rig.cast()
    rig.client.push(relayed_answer(rx_answer("a=first\r\n")))
    rig.client.push(relayed_answer(rx_answer("a=late\r\n")))
    await rig.run()
    assert rig.s.phase is P.ANSWERED
    assert rig.s.status.fault is None
    assert "first" in (rig.factory.last.remote_sdp or "")


async def test_a_refused_join_raises_and_says_so(rig: Rig) -> None:
    rig.client.join_error = UnknownCodeError("no such code")
    with pytest.raises(UnknownCodeError):
        await rig.s.cast("000000")
    assert rig.s.phase is P.IDLE
    assert isinstance(rig.s.status.error, UnknownCodeError)


async def test_the_connect_deadline_counts_from_cast(make_rig: MakeRig) -> None:
    rig = make_rig(connect_timeout_s=5.0)
    rig.factory.hold = True  # gathering takes long (a STUN server that does not answer)
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


async def test_a_failing_source_ends_the_cast_with_its_reason(rig: Rig) -> None:
    await rig.cast()
    rig.source.fail(ValueError("monitor 9 does not exist (1 found)"))
    await rig.clock.advance(0.25)
    await rig.run()
    st = rig.s.status
    assert st.state is t.SenderState.ENDED and st.ended is EndReason.SOURCE_FAILED
    assert st.source_error == "monitor 9 does not exist (1 found)" and st.failed
    assert ("bye", "rx-1", "sender failed") in rig.client.sent


async def test_a_source_that_cannot_start_ends_the_cast(rig: Rig) -> None:
    rig.source.fail_on_start = OSError("cannot open display :9")
    await rig.cast()
    assert rig.s.status.ended is EndReason.SOURCE_FAILED
    assert "display :9" in (rig.s.status.source_error or "")


def _with_turn(rig: Rig) -> None:
    rig.client.ice_servers = [p.IceServer(urls=["turn:203.0.113.1:3478"], username="u",
                                          credential="c")]


@pytest.mark.parametrize("probe", [TurnProbe.REFUSED, TurnProbe.UNTRUSTED])
async def test_a_turn_refusal_ends_set_up_soon_after_the_answer(make_rig: MakeRig,
                                                                 probe: TurnProbe) -> None:
    rig = make_rig(connect_timeout_s=20.0)
    _with_turn(rig)
    rig.checks.turn_result = probe
    rig.checks.diagnosis = Diagnosis.NO_PATH  # the real diagnose would re-use the probe
    await rig.cast()
    assert rig.s.status.warning is probe.diagnosis  # said at once
    await rig.answer()
    await rig.clock.advance(1.0)
    await rig.run()
    assert rig.s.status.state is t.SenderState.CONNECTING
    await rig.clock.advance(0.75)
    await rig.run()
    assert rig.s.status.state is t.SenderState.ENDED  # 1.75 s, not 20
    assert rig.checks.diagnosed_with[-1][2] is probe


async def test_a_stall_rebuilds_once_and_casting_resumes(rig: Rig) -> None:
    first = await rig.casting()
    first.report(rig.clock.wall())
    await rig.clock.advance(2.5)  # no receiver report for longer than stall_s
    await rig.run()
    assert rig.s.status.state is t.SenderState.RECONNECTING
    assert rig.s.status.reconnects == 1
    assert first.closed and len(rig.factory.made) == 2  # one rebuild
    assert rig.s.phase is P.REOFFERED
    await rig.connect()
    assert rig.s.status.state is t.SenderState.CASTING
    assert len(rig.factory.made) == 2


async def test_an_unanswered_offer_is_retried_every_few_seconds_not_flooded(rig: Rig) -> None:
    """The receiver's side is cut: our network is fine, so the call is rebuilt at once, and
    then one offer (on a fresh service connection) per RETRY_S, not one per fraction of a
    second."""
    await rig.casting()
    await rig.clock.advance(2.5)  # no receiver report: stalled
    await rig.run()
    assert rig.s.phase is P.REOFFERED and rig.client.refreshed == 0
    for _ in range(40):  # 10 s without an answer
        await rig.clock.advance(0.25)
        await rig.run()
    offers = [kind for kind in rig.client.kinds() if kind == "offer"]
    assert 3 <= len(offers) <= 5, offers  # the first call's, then one per ~4 s
    assert rig.client.refreshed == len(offers) - 2


async def test_when_our_network_returns_signaling_is_reopened_before_the_offer(rig: Rig) -> None:
    rig.client.rejoin_on_refresh = False
    await rig.to(P.LOST)
    await rig.feed(t.NetworkBack(answered=True))
    assert rig.s.phase is P.RESIGNALING and rig.client.refreshed == 1
    built = len(rig.factory.made)
    rejoined = rig.s._translate(_joined())  # what the signaling pump would post
    assert rejoined is not None
    await rig.feed(rejoined)
    await rig.run()
    assert rig.s.phase is P.REOFFERED and len(rig.factory.made) == built + 1


def _joined() -> object:
    return p.Joined(receiver=peer_info("rx-1", p.Role.RECEIVER, "TV"), ice_servers=[])


async def test_a_nat_route_keeps_the_relay_out_of_rebuilt_calls(rig: Rig) -> None:
    from castapp.rtc.peer import IcePath, Route
    _with_turn(rig)
    rig.client.ice_servers.insert(0, _stun())
    await rig.cast()
    first = rig.factory.last
    assert any("turn:" in s.urls[0] for s in first.servers)
    await rig.answer()
    first.connect(IcePath("srflx", "srflx", "203.0.113.11:1", "203.0.113.12:2"))
    await rig.run()
    assert rig.s.status.route is Route.NAT
    await rig.feed(t.StallDetected(gen=rig.gen()))
    await rig.run()
    second = rig.factory.last
    assert second is not first
    assert not any("turn:" in s.urls[0] for s in second.servers)
    relay = "a=candidate:1 1 udp 1 203.0.113.1 50000 typ relay raddr 0.0.0.0 rport 0"
    await rig.answer(rx_answer(f"{relay}\r\na=end-of-candidates\r\n"))
    assert "typ relay" not in (second.remote_sdp or "")
    # the NAT path does not come back: the relay is offered again
    await rig.clock.advance(4.5)
    await rig.run()
    third = rig.factory.last
    assert third is not second and any("turn:" in s.urls[0] for s in third.servers)


def _stun() -> object:
    return p.IceServer(urls=["stun:203.0.113.1:3478"])


async def test_a_failed_task_reaches_the_user_as_a_fault(rig: Rig) -> None:
    rig.factory.error = RuntimeError("encoder exploded")
    await rig.cast()
    st = rig.s.status
    assert st.state is t.SenderState.ENDED and st.ended is EndReason.FAULT
    assert "encoder exploded" in (st.fault or "")


async def test_the_recovery_window_ends_a_cast_that_never_comes_back(make_rig: MakeRig) -> None:
    rig = make_rig(recovery_window_s=10.0)
    rig.checks.network_answers = False
    await rig.to(P.CASTING)
    await rig.feed(t.StallDetected(gen=rig.gen()))
    for _ in range(45):
        await rig.clock.advance(0.25)
        await rig.feed(t.Tick())
        await rig.run()
    assert rig.s.status.state is t.SenderState.ENDED
    assert rig.s.status.ended is EndReason.MEDIA_FAILED


async def test_one_rebuild_at_a_time_and_a_superseded_build_is_closed(rig: Rig) -> None:
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


async def test_a_stale_offer_ready_closes_its_peer(rig: Rig) -> None:
    await rig.to(P.GATHERING)
    late = FakePeer(None, 7)
    await rig.s.feed(t.PeerDropped())  # the receiver went away meanwhile
    assert await rig.feed(t.OfferReady(gen=rig.gen() - 1, peer=late)) is False
    await rig.settle()
    assert late.closed and rig.s.phase is P.WAITING


async def test_an_unreachable_service_is_said_and_raised(rig: Rig) -> None:
    from castapp.signaling.client import ServiceUnreachableError
    rig.client.connect_error = ServiceUnreachableError("Cannot reach the room service")
    task = asyncio.ensure_future(rig.s.cast("123456"))
    for _ in range(20):
        await rig.clock.advance(1.0)
        if task.done():
            break
    with pytest.raises(ServiceUnreachableError):
        await task
    assert rig.s.phase is P.IDLE and not rig.s.status.service_ok
    assert isinstance(rig.s.status.error, ServiceUnreachableError)


async def test_an_unexpected_event_is_reported_not_ignored(rig: Rig,
                                                           caplog: pytest.LogCaptureFixture):
    await rig.to(P.IDLE)
    with pytest.raises(IllegalEventError):
        await rig.feed(t.MediaUp())
    assert "MediaUp is not expected in idle" in (rig.s.status.fault or "")
    assert any(r.levelname == "ERROR" and "MediaUp" in r.getMessage()
               for r in caplog.records)


async def test_an_action_that_fails_ends_the_cast_as_a_fault(rig: Rig) -> None:
    await rig.cast()
    rig.factory.last.apply_error = RuntimeError("codec table corrupt")
    rig.client.push(relayed_answer())
    for _ in range(5):
        await rig.clock.advance(0)
    # the loop turned the failure into an event that ends the cast through the table
    await rig.s.wait_for(t.SenderState.ENDED, timeout=2)
    st = rig.s.status
    assert st.ended is EndReason.FAULT and "codec table corrupt" in (st.fault or "")
    assert rig.factory.last.closed
