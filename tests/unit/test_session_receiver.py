"""The receiver session with fakes: calls, admission, stalls, bursts of offers, TV commands."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any

import pytest
from fakes.clock import FakeClock
from fakes.receiver_links import FP_LINE, FakeLinkFactory, ReceiverSignaling

from castapp import protocol as p
from castapp.session.admission import PinRules
from castapp.session.call import CallState
from castapp.session.machine import IllegalEventError
from castapp.session.receiver import (
    RESUME_WAIT_S,
    SETTLE_S,
    WATCH_S,
    ReceiverSession,
    ReceiverState,
    ReceiverStatus,
)
from castapp.session.room import MAX_PRESENTERS, AdmissionMode, CallPhase
from castapp.signaling.client import ConnectionLost, Reconnected, RoomFullError

A = p.AdmissionState
S = ReceiverState


class Rig:
    def __init__(self, mode: AdmissionMode = AdmissionMode.OPEN, **kw: Any) -> None:
        self.clock = FakeClock()
        self.client = ReceiverSignaling()
        self.links = FakeLinkFactory()
        self.statuses: list[ReceiverStatus] = []
        self.frames: list[object] = []
        self.call_frames: list[str] = []
        self.network: list[bool] = []  # what the probe answers next (then: up)
        kw.setdefault("probe", self._probe)
        self.session = ReceiverSession(
            "ws://unused/ws", client=self.client, link_factory=self.links, clock=self.clock,
            admission=mode, on_status=self.statuses.append, on_frame=self.frames.append,
            on_call_frame=lambda peer, f: self.call_frames.append(peer), **kw)

    async def _probe(self) -> bool:
        return self.network.pop(0) if self.network else True

    # -- what the room service would deliver
    def join(self, peer: str, name: str = "") -> None:
        self.client.senders.setdefault(peer, None)
        self.session.on_service_event(p.PeerJoined(peer=p.PeerInfo(peer, p.Role.SENDER, name)))

    def offer(self, peer: str, sdp: str = "offer") -> None:
        """An offer from ``peer`` (which pairs over the code once let on: ReceiverSignaling
        plays that part)."""
        self.client.senders.setdefault(peer, None)
        self.session.on_service_event(p.RelayedOffer(from_=peer, sdp=FP_LINE + sdp))

    def type_pin(self, peer: str, pin: str) -> None:
        """The person types ``pin``: the sender pairs over code and PIN (never sends it)."""
        self.client.pair(peer, pin)

    def left(self, peer: str, reason: p.LeaveReason = p.LeaveReason.LEFT) -> None:
        self.session.on_service_event(p.PeerLeft(peer_id=peer, role=p.Role.SENDER,
                                                 reason=reason))

    def signal(self, peer: str, msg: p.PeerMessage) -> None:
        self.session.on_service_event(p.RelayedSignal(from_=peer, body=p.peer_body(msg)))

    async def run(self, seconds: float = SETTLE_S) -> None:
        """Let time pass and every task that can run, run."""
        for _ in range(20):
            await asyncio.sleep(0)
        await self.clock.advance(seconds)
        for _ in range(20):
            await asyncio.sleep(0)
        await self.clock.advance(SETTLE_S)  # past the pause before answering an offer
        for _ in range(20):
            await asyncio.sleep(0)

    async def on_screen(self, peer: str, name: str = "") -> None:
        self.join(peer, name)
        self.offer(peer, f"offer-{peer}")
        await self.run()
        self.link_of(peer).frame()

    async def allowed_on_screen(self, peer: str, name: str = "") -> None:
        """``peer`` joins a TV that asks its people, is allowed, and shows a frame."""
        self.join(peer, name)
        self.session.allow(peer)
        self.offer(peer, f"offer-{peer}")
        await self.run()
        self.link_of(peer).frame()

    def link_of(self, peer: str) -> Any:
        return next(link for link in reversed(self.links.links)
                    if link.req.offer_sdp.endswith(peer))

    def phase(self, peer: str) -> CallPhase | None:
        return next((v.phase for v in self.session.status.calls if v.peer_id == peer), None)

    def states(self) -> list[ReceiverState]:
        out: list[ReceiverState] = []
        for st in self.statuses:
            if not out or out[-1] is not st.state:
                out.append(st.state)
        return out

    def moves(self, old: ReceiverState, new: ReceiverState) -> int:
        s = self.states()
        return sum(1 for a, b in itertools.pairwise(s) if (a, b) == (old, new))


@pytest.fixture
async def rig() -> Any:
    made: list[Rig] = []

    async def make(mode: AdmissionMode = AdmissionMode.OPEN, **kw: Any) -> Rig:
        rig = Rig(mode, **kw)
        made.append(rig)
        status = await rig.session.start()
        assert status.state is S.WAITING and status.display_code == "123 456"
        return rig

    yield make
    for rig in made:
        await rig.session.stop()


RigFn = Callable[..., Any]


# ------------------------------------------------------------------ start and stop
async def test_stop_during_start_up_never_shows_waiting() -> None:
    rig = Rig()
    gate = asyncio.Event()
    register = rig.client.register

    async def slow_register(token: str | None = None) -> p.Registered:
        await gate.wait()
        return await register(token)

    rig.client.register = slow_register  # type: ignore[method-assign]
    starting = asyncio.create_task(rig.session.start())
    await rig.run()
    await rig.session.stop()
    status = await starting
    assert status.state is S.STOPPED
    assert rig.states() == [S.STARTING, S.STOPPED]
    assert rig.client.closed
    await rig.session.stop()  # again: harmless


async def test_a_refused_registration_ends_in_stopped_with_the_error() -> None:
    rig = Rig()
    rig.client.register_error = RoomFullError("no")
    with pytest.raises(RoomFullError):
        await rig.session.start()
    assert rig.session.status.state is S.STOPPED
    assert isinstance(rig.session.status.error, RoomFullError)
    assert S.WAITING not in rig.states()


async def test_stop_tells_every_sender_and_leaves(rig: RigFn) -> None:
    r = await rig()
    await r.on_screen("s1", "Ada")
    await r.on_screen("s2", "Bob")
    await r.session.stop()
    assert r.session.status.state is S.STOPPED and r.session.status.calls == ()
    assert sorted(r.client.of("bye")) == ["receiver closed", "receiver closed"]
    assert "leave" in r.client.kinds() and r.client.closed
    assert all(link.closed for link in r.links.links)


async def test_service_outage_is_shown_and_media_goes_on(rig: RigFn) -> None:
    r = await rig()
    await r.on_screen("s1")
    r.session.on_service_event(ConnectionLost("gone", 0.5))
    assert not r.session.status.service_ok and r.session.status.retry_in_s == 0.5
    r.link_of("s1").frame()
    r.session.on_service_event(Reconnected("rx-2"))
    assert r.session.status.service_ok and r.session.status.state is S.RECEIVING


# ------------------------------------------------------------------ calls
async def test_open_mode_two_senders_both_on_screen(rig: RigFn) -> None:
    r = await rig()
    r.join("s1", "Ada")
    r.offer("s1", "offer-s1")
    await r.run()
    assert r.client.admissions("s1") == [A.ALLOWED]
    assert r.client.of("answer", "s1") == ["answer-0"]
    assert r.session.status.state is S.CONNECTING
    r.link_of("s1").frame()
    assert r.session.status.state is S.RECEIVING and r.session.status.sender == "Ada"
    await r.on_screen("s2", "Bob")  # the second sender joins instead of being refused
    assert [v.phase for v in r.session.status.calls] == [CallPhase.SHOWING] * 2
    assert [v.name for v in r.session.status.calls] == ["Ada", "Bob"]
    r.link_of("s2").frame(1280, 720)
    assert r.call_frames.count("s2") == 2 and r.call_frames.count("s1") == 1
    assert len(r.frames) == 1  # on_frame: the first (spotlit) source only
    view = next(v for v in r.session.status.calls if v.peer_id == "s2")
    assert (view.width, view.height) == (1280, 720)


async def test_a_fifth_sender_is_told_the_room_is_full(rig: RigFn) -> None:
    r = await rig()
    for i in range(MAX_PRESENTERS):
        await r.on_screen(f"s{i}")
    r.join("s9", "Eve")
    r.offer("s9")
    await r.run()
    assert r.client.admissions("s9") == [A.FULL, A.FULL]
    assert r.client.of("bye", "s9") == ["busy"]
    assert len(r.session.status.calls) == MAX_PRESENTERS
    assert len(r.links.links) == MAX_PRESENTERS  # nothing built for it


async def test_a_burst_of_queued_offers_is_answered_once(rig: RigFn) -> None:
    r = await rig()
    await r.on_screen("s1")
    for i in range(6):  # the sender's retries, queued while the link was down
        r.offer("s1", f"retry-{i}-s1")
    await r.run()
    assert r.links.offers[1:] == ["retry-5-s1"]  # one connection built, for the newest
    assert r.client.of("answer", "s1") == ["answer-0", "answer-1"]


async def test_a_late_build_for_a_superseded_offer_is_dropped(rig: RigFn) -> None:
    r = await rig()
    r.join("s1")
    r.offer("s1", "first-s1")
    r.links.gate = asyncio.Event()
    await r.run()  # building the first one, held at the gate
    r.offer("s1", "second-s1")
    r.links.gate.set()
    await r.run()
    await r.run()
    first, second = r.links.links
    assert first.closed and not second.closed  # the late one is closed, never answered
    assert r.client.of("answer", "s1") == ["answer-1"]
    first.frame()  # frames of the superseded link are not shown
    assert r.call_frames == []
    second.frame()
    assert r.call_frames == ["s1"]


async def test_a_stall_holds_the_call_then_frees_it_after_the_window(rig: RigFn) -> None:
    r = await rig(recovery_window_s=30.0)
    await r.on_screen("s1", "Ada")
    await r.run(2.5)
    r.session.tick()
    assert r.phase("s1") is CallPhase.RECONNECTING and r.session.status.state is S.RECONNECTING
    await r.run(29.0)
    r.session.tick()
    assert r.phase("s1") is CallPhase.RECONNECTING  # never back to the code meanwhile
    await r.run(1.5)
    r.session.tick()
    assert r.session.status.calls == () and r.session.status.state is S.WAITING
    assert r.client.of("bye", "s1") == ["no picture"]


async def test_recovery_has_exactly_one_reconnecting_to_receiving(rig: RigFn) -> None:
    r = await rig()
    await r.on_screen("s1")
    await r.run(2.5)
    r.session.tick()
    for i in range(6):  # every retry queued during the cut arrives at once
        r.offer("s1", f"retry-{i}-s1")
    await r.run()
    r.link_of("s1").frame()
    r.link_of("s1").frame()
    assert r.moves(S.RECONNECTING, S.RECEIVING) == 1
    assert r.states() == [S.STARTING, S.WAITING, S.CONNECTING, S.RECEIVING, S.RECONNECTING,
                          S.RECEIVING]
    assert r.session.status.reconnects == 1


async def test_the_network_coming_back_opens_a_new_service_connection(rig: RigFn) -> None:
    r = await rig()
    await r.on_screen("s1")
    r.network = [False, False, False]  # the uplink is cut
    await r.run(2.5)
    r.session.tick()  # reconnecting: the first probe fails at once
    for _ in range(2):
        await r.run(0.25)
    assert r.client.refreshed == 0 and r.network == []
    await r.run(0.25)  # the probe gets through again
    assert r.client.refreshed == 1
    await r.run(5.0)
    assert r.client.refreshed == 1  # once per outage


async def test_a_stall_without_an_outage_keeps_the_service_connection(rig: RigFn) -> None:
    r = await rig()
    await r.on_screen("s1")  # the sender's side went away; ours answers all along
    await r.run(2.5)
    r.session.tick()
    for _ in range(8):
        await r.run(0.25)
    assert r.client.refreshed == 0


async def test_one_stalled_call_never_disturbs_the_others(rig: RigFn) -> None:
    r = await rig(recovery_window_s=10.0)
    await r.on_screen("s1")
    await r.on_screen("s2")
    for _ in range(12):  # s2 keeps sending, s1 went silent
        await r.run(1.0)
        r.link_of("s2").frame()
        r.session.tick()
    assert r.phase("s2") is CallPhase.SHOWING
    assert r.phase("s1") is None  # freed after its window
    assert r.session.status.state is S.RECEIVING
    assert S.RECONNECTING not in r.states()  # the receiver as a whole never stalled


async def test_a_failed_link_while_showing_holds_the_picture(rig: RigFn) -> None:
    r = await rig()
    await r.on_screen("s1")
    r.link_of("s1").fail()
    assert r.phase("s1") is CallPhase.RECONNECTING
    r.offer("s1", "again-s1")
    await r.run()
    r.link_of("s1").frame()
    assert r.phase("s1") is CallPhase.SHOWING


async def test_a_sender_that_never_offers_is_let_go(rig: RigFn) -> None:
    r = await rig(connect_timeout_s=5.0)
    r.join("s1")
    await r.run(6.0)
    r.session.tick()
    assert r.session.status.calls == () and r.client.of("bye", "s1") == ["no connection"]


async def test_a_sender_dropping_from_the_service_keeps_its_tile(rig: RigFn) -> None:
    r = await rig()
    await r.on_screen("s1", "Ada")
    r.left("s1", p.LeaveReason.DISCONNECTED)
    assert r.phase("s1") is CallPhase.SHOWING  # media is peer to peer; it goes on
    await r.run(1.0)
    r.link_of("s1").frame()
    r.session.tick()
    assert r.phase("s1") is CallPhase.SHOWING
    r.left("s1", p.LeaveReason.LEFT)
    assert r.session.status.calls == ()


async def test_a_dead_senders_tile_is_freed_after_the_rejoin_window(rig: RigFn) -> None:
    r = await rig(recovery_window_s=120.0, rejoin_window_s=20.0)
    await r.on_screen("s1", "Ada")
    await r.on_screen("s2", "Bob")
    r.left("s1", p.LeaveReason.DISCONNECTED)  # the laptop died: its connection dropped
    await r.run(2.5)
    r.link_of("s2").frame()
    r.session.tick()
    assert r.phase("s1") is CallPhase.RECONNECTING  # its last frame stays meanwhile
    for _ in range(19):
        await r.run(1.0)
        r.link_of("s2").frame()
        r.session.tick()
    assert r.phase("s1") is CallPhase.RECONNECTING
    await r.run(1.5)
    r.link_of("s2").frame()
    r.session.tick()
    assert r.phase("s1") is None and r.phase("s2") is CallPhase.SHOWING


async def test_a_dead_laptop_started_again_replaces_its_frozen_tile(rig: RigFn) -> None:
    r = await rig(AdmissionMode.APPROVE, rejoin_window_s=20.0)
    await r.allowed_on_screen("s1", "Ada")
    r.left("s1", p.LeaveReason.DISCONNECTED)  # the app crashed: its connection dropped
    await r.run(2.5)
    r.session.tick()
    assert r.phase("s1") is CallPhase.RECONNECTING
    r.join("s1b", "Ada")  # started again: a new sender, without the old one's token
    await r.run(RESUME_WAIT_S + 0.1)
    r.session.tick()
    # the frozen tile gave its place up at once (it stayed up to 20 s beside the new request)
    assert [(v.peer_id, v.phase) for v in r.session.status.calls] == [("s1b", CallPhase.ASKING)]


async def test_a_full_room_frees_a_dead_laptops_place_for_a_presenter_who_is_here(
        rig: RigFn) -> None:
    r = await rig(rejoin_window_s=20.0)
    for i in range(MAX_PRESENTERS):
        await r.on_screen(f"s{i}", f"P{i}")
    r.left("s1", p.LeaveReason.DISCONNECTED)
    await r.run(2.5)
    for i in (0, 2, 3):
        r.link_of(f"s{i}").frame()
    r.session.tick()
    assert r.phase("s1") is CallPhase.RECONNECTING
    await r.on_screen("s9", "Eve")  # it was told the room is full for 20 s
    assert [v.peer_id for v in r.session.status.calls] == ["s0", "s2", "s3", "s9"]
    assert A.FULL not in r.client.admissions("s9")
    # a live presenter's place is never taken: a sixth is told the room is full
    r.join("s10", "Zed")
    await r.run()
    assert r.client.admissions("s10") == [A.FULL]
    assert [v.peer_id for v in r.session.status.calls] == ["s0", "s2", "s3", "s9"]


async def test_a_sender_back_within_the_rejoin_window_keeps_its_place(rig: RigFn) -> None:
    r = await rig(AdmissionMode.APPROVE, rejoin_window_s=20.0)
    await r.allowed_on_screen("s1", "Ada")
    token = [m for m in r.client.signals("s1") if isinstance(m, p.Admission)][-1].resume
    assert token is not None
    r.left("s1", p.LeaveReason.TIMEOUT)
    await r.run(2.5)
    r.session.tick()
    await r.run(15.0)
    r.session.tick()
    r.join("s1b", "Ada")
    r.signal("s1b", p.Resume(token=token))
    r.offer("s1b", "offer-s1b")
    await r.run(10.0)  # past the rejoin window: back in place, the recovery window applies
    r.session.tick()
    assert r.phase("s1b") is CallPhase.RECONNECTING
    r.link_of("s1b").frame()
    assert r.phase("s1b") is CallPhase.SHOWING


async def test_an_older_sender_back_under_its_name_takes_its_stalled_place(rig: RigFn) -> None:
    r = await rig()
    await r.on_screen("s1", "Ada")
    await r.run(2.5)
    r.session.tick()
    r.join("s1b", "Ada")  # reconnected to the service: a new peer id, no token
    r.offer("s1b", "offer-s1b")
    r.offer("s1", "stale-s1")  # still queued from the old connection: superseded
    await r.run()
    r.link_of("s1b").frame()
    assert [(v.peer_id, v.phase) for v in r.session.status.calls] == [
        ("s1b", CallPhase.SHOWING)]
    assert "stale-s1" not in r.links.offers
    assert r.moves(S.RECONNECTING, S.RECEIVING) == 1


async def _frames_in_phase(r: Any, phases: dict[str, float]) -> None:
    for i in range(40):  # on a 30 Hz grid, each sender at its own phase
        for peer, phase in phases.items():
            r.link_of(peer).frame(at=500.0 + i / 30 + phase)
    r.session.tick()
    await r.run()


async def test_presenters_out_of_step_are_asked_to_move_their_capture_clocks(
        rig: RigFn) -> None:
    r = await rig()
    for peer in ("s1", "s2", "s3"):
        await r.on_screen(peer)
    await _frames_in_phase(r, {"s1": 0.0, "s2": 0.010, "s3": 0.001})
    assert not any(isinstance(m, p.Phase) for m in r.client.signals("s1"))
    assert not any(isinstance(m, p.Phase) for m in r.client.signals("s3"))  # in step
    moved = [m for m in r.client.signals("s2") if isinstance(m, p.Phase)]
    # (each one's first frame, on screen, came at another time)
    assert len(moved) == 1 and moved[0].shift_ms == pytest.approx(-10.0, abs=0.5)
    assert r.session.phase is not None and r.session.phase.asked == 1


async def test_a_receiver_told_not_to_align_asks_no_one(rig: RigFn) -> None:
    r = await rig(align=False)
    await r.on_screen("s1")
    await r.on_screen("s2")
    await _frames_in_phase(r, {"s1": 0.0, "s2": 0.012})
    assert not any(isinstance(m, p.Phase) for m in r.client.signals("s2"))


async def test_view_hints_reach_each_sender(rig: RigFn) -> None:
    r = await rig()
    await r.on_screen("s1")
    await r.on_screen("s2")
    r.session.set_view("s1", 960, 540, 15, tile=1, tiles=2, spotlit=False)
    r.session.set_view("s2", 1920, 1080, 30, tile=2, tiles=2, spotlit=True)
    await r.run()
    assert r.client.signals("s1")[-1] == p.ViewHint(width=960, height=540, fps=15, tile=1,
                                                    tiles=2, spotlit=False)
    hint = r.client.signals("s2")[-1]
    assert isinstance(hint, p.ViewHint) and hint.spotlit and hint.width == 1920
    r.frames.clear()
    r.link_of("s1").frame()
    r.link_of("s2").frame()
    assert len(r.frames) == 1 and r.session.status.sender == ""  # s2 is spotlit now
    assert r.session.status.calls[1].peer_id == "s2"


async def test_stats_come_from_the_spotlit_call(rig: RigFn) -> None:
    r = await rig()
    assert await r.session.stats() is None
    await r.on_screen("s1")
    r.link_of("s1").plis = 3
    got = await r.session.call_stats()
    assert got["s1"].plis == 3 and got["s1"].rtt_ms == 12.5


# ------------------------------------------------------------------ the TV's commands
async def test_approve_holds_media_until_allowed(rig: RigFn) -> None:
    r = await rig(AdmissionMode.APPROVE)
    r.join("s1", "Ada")
    r.offer("s1", "offer-s1")
    await r.run(5.0)
    assert r.phase("s1") is CallPhase.ASKING and r.session.status.state is S.WAITING
    assert r.links.offers == [] and r.client.of("answer") == []  # no media before allow
    assert r.client.admissions("s1") == [A.WAITING]
    r.session.allow("s1")
    await r.run()
    assert r.client.admissions("s1") == [A.WAITING, A.ALLOWED]
    assert r.links.offers == ["offer-s1"] and r.client.of("answer", "s1") == ["answer-0"]
    r.link_of("s1").frame()
    assert r.phase("s1") is CallPhase.SHOWING


async def test_deny_is_told_and_sticks_for_that_sender(rig: RigFn) -> None:
    r = await rig(AdmissionMode.APPROVE)
    r.join("s1", "Ada")
    r.session.deny("s1")
    r.offer("s1")  # it tries anyway
    await r.run()
    assert r.client.admissions("s1") == [A.WAITING, A.DENIED, A.DENIED]
    assert r.client.of("bye", "s1") == ["denied"]
    assert r.session.status.calls == () and r.links.offers == []
    r.left("s1")
    r.join("s1", "Ada")  # a new session of that sender asks again
    await r.run()
    assert r.phase("s1") is CallPhase.ASKING


async def test_stop_one_presenter_the_others_go_on(rig: RigFn) -> None:
    r = await rig()
    await r.on_screen("s1")
    await r.on_screen("s2")
    r.session.stop_call("s1")
    await r.run()
    assert r.client.admissions("s1")[-1] is A.STOPPED
    assert r.client.of("bye", "s1") == ["stopped by the receiver"]
    assert [v.peer_id for v in r.session.status.calls] == ["s2"]
    assert r.link_of("s1").closed and not r.link_of("s2").closed
    r.link_of("s2").frame()
    assert r.session.status.state is S.RECEIVING


async def test_commands_out_of_turn_raise(rig: RigFn) -> None:
    r = await rig()
    await r.on_screen("s1")
    with pytest.raises(IllegalEventError, match="Deny is not expected in showing"):
        r.session.deny("s1")
    with pytest.raises(IllegalEventError):
        r.session.allow("s1")
    with pytest.raises(LookupError):
        r.session.stop_call("nobody")
    assert r.phase("s1") is CallPhase.SHOWING


async def test_a_hostile_message_out_of_turn_is_reported_not_obeyed(rig: RigFn) -> None:
    r = await rig()
    await r.on_screen("s1")
    r.signal("s1", p.PinAnswer(pin="1234"))  # a PIN in clear, out of turn
    assert "PinRefused is not expected in showing" in (r.session.status.fault or "")
    r.session.on_service_event(p.RelayedSignal(from_="s1", body={"kind": "nonsense"}))
    assert r.phase("s1") is CallPhase.SHOWING


# ------------------------------------------------------------------ PIN
def _pin(r: Rig, peer: str) -> str:
    view = next(v for v in r.session.status.calls if v.peer_id == peer)
    assert view.phase is CallPhase.PIN and view.pin is not None
    return view.pin


async def test_pin_right_wrong_and_never_sent(rig: RigFn) -> None:
    r = await rig(AdmissionMode.PIN)
    r.join("s1", "Ada")
    r.offer("s1", "offer-s1")
    await r.run()
    pin = _pin(r, "s1")
    assert len(pin) == 4 and pin.isdigit()
    admission = r.client.signals("s1")[0]
    assert admission == p.Admission(state=A.PIN, pin_digits=4)
    assert pin not in repr(r.client.sent)  # the PIN never leaves the TV screen
    wrong = f"{(int(pin) + 1) % 10000:04d}"
    r.type_pin("s1", wrong)
    await r.run()
    assert r.client.admissions("s1")[-1] is A.WRONG_PIN and r.links.offers == []
    r.type_pin("s1", pin)
    await r.run()
    assert r.client.admissions("s1")[-1] is A.ALLOWED
    assert r.links.offers == ["offer-s1"]
    assert r.session.status.calls[0].pin is None


async def test_pin_is_single_use_and_fresh_per_sender(rig: RigFn) -> None:
    r = await rig(AdmissionMode.PIN)
    r.join("s1")
    first = _pin(r, "s1")
    r.type_pin("s1", first)
    r.join("s2")
    second = _pin(r, "s2")
    assert second != first
    r.type_pin("s2", first)  # someone read the first one off the screen
    await r.run()
    assert r.client.admissions("s2") == [A.PIN, A.WRONG_PIN]
    assert r.phase("s2") is CallPhase.PIN
    r.left("s1")
    r.join("s1")  # the same person again: a new PIN
    assert _pin(r, "s1") not in (first, second)


async def test_wrong_pins_are_rate_limited(rig: RigFn) -> None:
    r = await rig(AdmissionMode.PIN, pin_rules=PinRules(tries=3, cooldown_s=30.0))
    r.join("s1")
    pin = _pin(r, "s1")
    for guess in ("0000", "0001", "0002", "0003"):
        if guess != pin:
            r.type_pin("s1", guess)
            await r.run()
    burnt = _pin(r, "s1")
    assert burnt != pin  # a new PIN is shown after too many wrong ones
    last = r.client.signals("s1")[-1]
    assert isinstance(last, p.Admission) and last.retry_after_s >= 29
    r.type_pin("s1", burnt)  # even the right one waits out the cooldown
    await r.run()
    assert r.phase("s1") is CallPhase.PIN
    await r.run(31.0)
    r.type_pin("s1", burnt)
    await r.run()
    assert r.client.admissions("s1")[-1] is A.ALLOWED


async def test_the_tv_can_allow_a_sender_waiting_for_its_pin(rig: RigFn) -> None:
    r = await rig(AdmissionMode.PIN)
    r.join("s1")
    r.session.allow("s1")
    await r.run()
    assert r.client.admissions("s1") == [A.PIN, A.ALLOWED]


# ------------------------------------------------------------------ resume
async def allowed_on_screen(rig: RigFn, peer: str, name: str) -> Rig:
    """A TV that asks (approve) with ``peer`` allowed and on screen."""
    r: Rig = await rig(AdmissionMode.APPROVE)
    r.join(peer, name)
    r.session.allow(peer)
    r.offer(peer, f"offer-{peer}")
    await r.run()
    r.link_of(peer).frame()
    return r


async def test_an_approved_sender_back_under_a_new_id_keeps_its_place(rig: RigFn) -> None:
    r = await allowed_on_screen(rig, "s1", "Ada")
    allowed = [m for m in r.client.signals("s1") if isinstance(m, p.Admission)][-1]
    assert allowed.state is A.ALLOWED and allowed.resume
    r.join("s1b", "Ada")  # reconnected: given a moment to prove who it is, not asked
    assert r.phase("s1b") is None and len(r.session.status.calls) == 1
    r.signal("s1b", p.Resume(token=allowed.resume))
    await r.run()
    assert [(v.peer_id, v.phase) for v in r.session.status.calls] == [
        ("s1b", CallPhase.SHOWING)]
    assert r.client.admissions("s1b")[-1] is A.ALLOWED  # no new question to the TV
    r.signal("s1c", p.Resume(token="x" * 24))  # a guess gets nothing
    assert len(r.session.status.calls) == 1


async def test_a_namesake_that_does_not_resume_is_asked_like_anyone(rig: RigFn) -> None:
    r = await allowed_on_screen(rig, "s1", "Ada")
    r.join("s2", "Ada")  # another laptop called Ada, or Ada's without its token
    assert r.phase("s2") is None
    r.link_of("s1").frame()
    await r.run(RESUME_WAIT_S + WATCH_S)
    assert r.phase("s2") is CallPhase.ASKING and r.phase("s1") is not None
    r.join("s3", "Bob")  # any other name is asked at once
    assert r.phase("s3") is CallPhase.ASKING


async def test_a_presenter_back_after_a_service_restart_is_never_shown_as_someone_new(
        rig: RigFn) -> None:
    """After the room service restarts, a casting sender joins again under a new id and
    resumes at once: the TV's list never shows it connecting anew or stopping (it used to say
    "vm is connecting…" and then "vm stopped presenting" while vm went on casting)."""
    r = await rig()
    await r.on_screen("s1", "vm")
    r.session.on_service_event(ConnectionLost("restart", 1.0))
    r.session.on_service_event(Reconnected("rx-2"))
    token = [m for m in r.client.signals("s1") if isinstance(m, p.Admission)][-1].resume
    assert token
    seen = len(r.statuses)
    r.join("s1b", "vm")
    r.signal("s1b", p.Resume(token=token))
    r.link_of("s1").frame()
    await r.run(RESUME_WAIT_S + WATCH_S)
    assert [(v.peer_id, v.phase) for v in r.session.status.calls] == [
        ("s1b", CallPhase.SHOWING)]
    shown = {(v.peer_id, v.phase) for st in r.statuses[seen:] for v in st.calls}
    assert ("s1b", CallPhase.SHOWING) in shown
    assert shown <= {("s1", CallPhase.SHOWING), ("s1b", CallPhase.SHOWING)}, shown


async def test_admission_mode_changes_for_new_senders(rig: RigFn) -> None:
    r = await rig()
    await r.on_screen("s1")
    r.session.set_admission(AdmissionMode.APPROVE)
    assert r.session.status.admission is AdmissionMode.APPROVE
    r.join("s2")
    assert r.phase("s1") is CallPhase.SHOWING and r.phase("s2") is CallPhase.ASKING


def test_call_state_names_match_phases() -> None:
    assert {s.value for s in CallState} >= {p.value for p in CallPhase}


async def test_a_call_keeps_its_key_across_a_rebind_and_commands_take_it(rig: RigFn) -> None:
    r = await rig(AdmissionMode.APPROVE)
    r.join("s1", "Ada")
    key = r.session.status.calls[0].key
    assert key and key != "s1"
    r.session.allow(key)
    await r.run()
    token = [m for m in r.client.signals("s1") if isinstance(m, p.Admission)][-1].resume
    assert token is not None
    r.join("s1b", "Ada")
    r.signal("s1b", p.Resume(token=token))
    [view] = r.session.status.calls
    assert view.key == key and view.peer_id == "s1b"
    r.session.stop_call(key)
    assert r.session.status.calls == ()


async def test_view_hints_are_kept_within_what_the_protocol_allows(rig: RigFn) -> None:
    r = await rig()
    await r.on_screen("s1")
    r.session.set_view("s1", 10, 100_000, 0, tile=0, tiles=99, spotlit=False)
    await r.run()
    hint = r.client.signals("s1")[-1]
    assert p.decode_peer(p.peer_body(hint)) == p.ViewHint(width=16, height=8192, fps=1, tile=1,
                                                          tiles=16, spotlit=False)


# ------------------------------------------------------------------ pairing
async def test_an_offer_with_another_fingerprint_is_refused_as_tampered(
        rig: RigFn, caplog: pytest.LogCaptureFixture) -> None:
    r = await rig()
    r.join("s1", "Ada")
    await r.run()
    assert r.session.status.calls[0].verified  # paired over the code, no media yet
    forged = "a=fingerprint:sha-256 " + ":".join(["66"] * 32) + "\r\noffer-s1"
    r.session.on_service_event(p.RelayedOffer(from_="s1", sdp=forged))
    await r.run()
    assert r.links.offers == [] and r.session.status.calls == ()  # never applied
    assert "tampered with" in (r.session.status.fault or "")
    assert r.client.of("bye", "s1") == ["tampered"]
    assert any(isinstance(m, p.KeyConfirm) and m.tampered for m in r.client.signals("s1"))
    assert any(rec.message.startswith("security:") for rec in caplog.records)


async def test_a_paired_call_is_verified_and_answers_after_its_confirmation(
        rig: RigFn) -> None:
    r = await rig()
    await r.on_screen("s1")
    assert r.session.status.calls[0].verified
    sent = [m for k, _, m in r.client.sent if k in ("signal", "answer")]
    confirm = next(i for i, m in enumerate(sent) if isinstance(m, p.KeyConfirm))
    answer = next(i for i, m in enumerate(sent) if isinstance(m, str))
    assert confirm < answer  # our fingerprint is confirmed before the answer goes


async def test_an_offer_without_a_pairing_is_not_answered(rig: RigFn) -> None:
    r = await rig(AdmissionMode.APPROVE)
    r.join("s1")
    r.client.senders.pop("s1")  # a sender that does not pair (or a relay that drops it)
    r.session.allow("s1")
    r.session.on_service_event(p.RelayedOffer(from_="s1", sdp=FP_LINE + "offer-s1"))
    await r.run(5.0)
    assert r.links.offers == [] and r.client.of("answer") == []


async def test_a_browser_guest_casts_unpaired_and_is_shown_not_verified(rig: RigFn) -> None:
    r = await rig()
    r.join("g1", "Guest (browser)")
    r.client.senders.pop("g1")  # the web page runs no pairing
    r.session.on_service_event(p.RelayedOffer(from_="g1", sdp="offer-g1"))
    await r.run()
    assert r.client.of("answer", "g1") == ["answer-0"]
    [view] = r.session.status.calls
    assert view.browser and not view.verified
    assert not any(isinstance(m, p.KeyConfirm) for m in r.client.signals("g1"))
