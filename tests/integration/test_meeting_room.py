"""Several senders on one receiver: real service, real aiortc peers, synthetic patterns.

Each sender's pattern starts its frame counter at a different base, so a frame read back on
the receiver says which sender it came from.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import defaultdict
from collections.abc import AsyncIterator, Callable

import pytest
from events import next_of
from rtp_tap import tap

from castapp import protocol as p
from castapp.pairing import Pairing, PairingRole
from castapp.rtc import pattern
from castapp.rtc.capture import SyntheticSource
from castapp.rtc.receive import ReceivedFrame
from castapp.session.receiver import ReceiverSession, ReceiverState, ReceiverStatus
from castapp.session.room import AdmissionMode, CallPhase
from castapp.session.sender import SenderSession, SenderState
from castapp.signaling.client import RoomFullError

pytestmark = [pytest.mark.timeout(120), pytest.mark.usefixtures("loopback_only")]

BASE = 10_000  # sender i counts from i * BASE


class Wall:
    """What the TV would show: frame counters per sender (peer id), as they arrive."""

    def __init__(self) -> None:
        self.counters: dict[str, list[int]] = defaultdict(list)
        self.changed = asyncio.Event()

    def __call__(self, peer_id: str, frame: ReceivedFrame) -> None:
        value = pattern.read_counter(frame.frame.to_ndarray(format="gray"))
        if value is not None:
            self.counters[peer_id].append(value)
            self.changed.set()

    def sources(self, peer_id: str) -> set[int]:
        return {v // BASE for v in self.counters[peer_id]}

    async def until(self, test: Callable[[], bool], timeout: float = 30.0) -> None:
        async def wait() -> None:
            while not test():
                self.changed.clear()
                await self.changed.wait()
        await asyncio.wait_for(wait(), timeout)


@pytest.fixture
async def sources() -> AsyncIterator[list[SyntheticSource]]:
    made = [SyntheticSource(320, 180, fps=15, first_counter=i * BASE) for i in range(5)]
    yield made
    for src in made:
        src.stop()


@contextlib.asynccontextmanager
async def room(url: str, sources: list[SyntheticSource], n: int,
               **kw: object) -> AsyncIterator[tuple[ReceiverSession, list[SenderSession], Wall]]:
    wall = Wall()
    receiver = ReceiverSession(url, name="TV", on_call_frame=wall, **kw)  # type: ignore[arg-type]
    senders = [SenderSession(url, sources[i], name=f"Laptop {i}") for i in range(n)]
    try:
        await receiver.start()
        yield receiver, senders, wall
    finally:
        for sender in senders:
            await sender.close()
        await receiver.stop()


def peer_of(receiver: ReceiverSession, name: str) -> str:
    return next(v.peer_id for v in receiver.status.calls if v.name == name)


def phases(st: ReceiverStatus) -> dict[str, CallPhase]:
    return {v.name: v.phase for v in st.calls}


async def kill(sender: SenderSession) -> None:
    """The laptop dies: no bye, its connections just drop, and it does not come back."""
    await sender.tasks.close()
    sender.client.reconnect = False
    sender.client._ws._response.connection.transport.abort()  # type: ignore[union-attr]
    if sender.peer is not None:
        await sender.peer.close()


@pytest.mark.parametrize("n", [2, 4])
async def test_several_senders_cast_at_once(server, sources, n: int) -> None:
    async with room(server.url, sources, n) as (receiver, senders, wall):
        code = receiver.status.code or ""
        await asyncio.gather(*(s.cast(code) for s in senders))
        await wall.until(lambda: len(wall.counters) == n
                         and all(len(c) >= 10 for c in wall.counters.values()), timeout=60)
        st = await receiver.wait_for(ReceiverState.RECEIVING)
        assert phases(st) == {f"Laptop {i}": CallPhase.SHOWING for i in range(n)}
        for i in range(n):  # each call carries its own sender's frames, and only those
            assert wall.sources(peer_of(receiver, f"Laptop {i}")) == {i}
        assert all(s.status.state is SenderState.CASTING for s in senders)


async def test_approve_no_frame_before_allow(server, sources) -> None:
    async with room(server.url, sources, 1, admission=AdmissionMode.APPROVE) as (
            receiver, [sender], wall):
        await sender.cast(receiver.status.code or "")
        st = await receiver.wait_until(lambda s: phases(s) == {"Laptop 0": CallPhase.ASKING})
        assert st.state is ReceiverState.WAITING
        await asyncio.sleep(2.0)  # the sender offered; nothing may be decoded meanwhile
        assert wall.counters == {} and sender.status.state is not SenderState.CASTING
        receiver.allow(peer_of(receiver, "Laptop 0"))
        await wall.until(lambda: len(wall.counters) == 1)
        await receiver.wait_for(ReceiverState.RECEIVING)


async def test_deny_is_told_to_the_sender(server, sources, make_client) -> None:
    async with room(server.url, sources, 1, admission=AdmissionMode.APPROVE) as (
            receiver, [sender], wall):
        knocking = await make_client(server.url, name="Mallory")
        await knocking.join(receiver.status.code or "")
        waiting = await next_of(knocking, p.RelayedSignal)
        assert p.decode_peer(waiting.body) == p.Admission(state=p.AdmissionState.WAITING)
        await receiver.wait_until(lambda s: "Mallory" in phases(s))
        receiver.deny(peer_of(receiver, "Mallory"))
        told = await next_of(knocking, p.RelayedSignal)
        assert p.decode_peer(told.body) == p.Admission(state=p.AdmissionState.DENIED)
        bye = await next_of(knocking, p.RelayedBye)
        assert bye.reason == "denied"
        await receiver.wait_until(lambda s: s.calls == ())
        # a real sender denied ends its cast rather than waiting forever
        await sender.cast(receiver.status.code or "")
        await receiver.wait_until(lambda s: "Laptop 0" in phases(s))
        receiver.deny(peer_of(receiver, "Laptop 0"))
        await sender.wait_for(SenderState.ENDED, timeout=15)
        assert wall.counters == {}


async def test_the_tv_stops_one_presenter_the_others_go_on(server, sources) -> None:
    async with room(server.url, sources, 3) as (receiver, senders, wall):
        await asyncio.gather(*(s.cast(receiver.status.code or "") for s in senders))
        await wall.until(lambda: len(wall.counters) == 3)
        stopped = peer_of(receiver, "Laptop 1")
        receiver.stop_call(stopped)
        await senders[1].wait_for(SenderState.ENDED, timeout=15)
        st = await receiver.wait_until(lambda s: len(s.calls) == 2)
        assert set(phases(st)) == {"Laptop 0", "Laptop 2"}
        before = {peer: len(c) for peer, c in wall.counters.items()}
        await wall.until(lambda: all(len(wall.counters[peer]) >= before[peer] + 10
                                     for peer in before if peer != stopped))
        assert len(wall.counters[stopped]) == before[stopped]


async def test_a_killed_sender_is_held_then_freed_while_the_others_never_stall(
        server, sources) -> None:
    async with room(server.url, sources, 2, recovery_window_s=4.0) as (
            receiver, senders, wall):
        seen: list[ReceiverStatus] = []
        receiver.board.listener = seen.append
        await asyncio.gather(*(s.cast(receiver.status.code or "") for s in senders))
        await wall.until(lambda: len(wall.counters) == 2)
        alive = peer_of(receiver, "Laptop 1")
        seen.clear()
        await kill(senders[0])
        await receiver.wait_until(
            lambda s: phases(s).get("Laptop 0") is CallPhase.RECONNECTING, timeout=15)
        st = await receiver.wait_until(lambda s: "Laptop 0" not in phases(s), timeout=15)
        assert phases(st) == {"Laptop 1": CallPhase.SHOWING}
        assert st.state is ReceiverState.RECEIVING
        # the other call never left SHOWING, and the TV as a whole never stalled
        assert all(phases(s).get("Laptop 1") is CallPhase.SHOWING for s in seen)
        assert all(s.state is ReceiverState.RECEIVING for s in seen)
        count = len(wall.counters[alive])
        await wall.until(lambda: len(wall.counters[alive]) >= count + 10)


async def test_a_fifth_sender_is_told_the_room_is_full(start_server, sources,
                                                       make_client) -> None:
    roomy = await start_server(max_senders=8)  # the service has room; the TV does not
    async with room(roomy.url, sources, 4) as (receiver, senders, wall):
        await asyncio.gather(*(s.cast(receiver.status.code or "") for s in senders))
        await wall.until(lambda: len(wall.counters) == 4, timeout=60)
        fifth = await make_client(roomy.url, name="Fifth")
        await fifth.join(receiver.status.code or "")
        told = await next_of(fifth, p.RelayedSignal)
        assert p.decode_peer(told.body) == p.Admission(state=p.AdmissionState.FULL)
        assert (await next_of(fifth, p.RelayedBye)).reason == "busy"
        assert len(receiver.status.calls) == 4


async def test_a_fifth_sender_is_refused_by_a_standard_room(server, sources,
                                                            make_client) -> None:
    async with room(server.url, sources, 4) as (receiver, senders, _):
        await asyncio.gather(*(s.cast(receiver.status.code or "") for s in senders))
        fifth = await make_client(server.url, name="Fifth")
        with pytest.raises(RoomFullError):
            await fifth.join(receiver.status.code or "")


def _pin_of(st: ReceiverStatus, name: str) -> str | None:
    return next((v.pin for v in st.calls if v.name == name), None)


FAKE_SDP = "v=0\r\na=fingerprint:sha-256 " + ":".join(["5A"] * 32) + "\r\n"


async def pair_by_hand(client, tv: str, code: str, pin: str | None = None,  # type: ignore[no-untyped-def]
                       attempt: int = 1) -> None:
    """A hand-made sender runs the pairing over the code (and PIN) up to its confirmation.

    The PIN never travels; only the pairing's confirmation proves it (or not)."""
    pairing = Pairing(PairingRole.SENDER, code, client.peer_id, tv, pin=pin, attempt=attempt)
    await client.send_signal(tv, pairing.start())
    while True:
        msg = p.decode_peer((await next_of(client, p.RelayedSignal)).body)
        if isinstance(msg, p.PakeMessage):
            break
    pairing.receive(msg)
    await client.send_signal(tv, pairing.confirm(FAKE_SDP))


async def guess_pin(client, tv: str, code: str, pin: str, attempt: int) -> p.PeerMessage:  # type: ignore[no-untyped-def]
    """A hand-made sender types ``pin``; the TV's word on it."""
    await pair_by_hand(client, tv, code, pin, attempt)
    return p.decode_peer((await next_of(client, p.RelayedSignal)).body)


async def test_pin_wrong_is_refused_right_puts_it_on_screen_once(server, sources,
                                                                 make_client) -> None:
    async with room(server.url, sources, 1, admission=AdmissionMode.PIN) as (
            receiver, [sender], wall):
        code = receiver.status.code or ""
        await sender.cast(code)
        st = await receiver.wait_until(lambda s: _pin_of(s, "Laptop 0") is not None)
        pin = _pin_of(st, "Laptop 0")
        assert pin is not None and len(pin) == 4
        wrong = f"{(int(pin) + 1) % 10000:04d}"
        await sender.wait_until(lambda s: s.admission is p.AdmissionState.PIN)
        await sender.answer_pin(wrong)
        await sender.wait_until(lambda s: s.wrong_pin, timeout=15)
        assert wall.counters == {} and _pin_of(receiver.status, "Laptop 0") == pin
        await sender.answer_pin(pin)
        await wall.until(lambda: len(wall.counters) == 1)
        assert sender.status.verified
        assert [v.verified for v in receiver.status.calls] == [True]
        # the same PIN read off the screen by someone else gets nobody in
        tv = sender.client.joined.receiver.peer_id  # type: ignore[union-attr]
        other = await make_client(server.url, name="Eve")
        await other.join(code)
        asked = await next_of(other, p.RelayedSignal)
        assert p.decode_peer(asked.body) == p.Admission(state=p.AdmissionState.PIN,
                                                        pin_digits=4)
        st = await receiver.wait_until(lambda s: _pin_of(s, "Eve") is not None)
        assert _pin_of(st, "Eve") != pin
        refused = await guess_pin(other, tv, code, pin, 1)
        assert isinstance(refused, p.Admission)
        assert refused.state is p.AdmissionState.WRONG_PIN
        told = [await guess_pin(other, tv, code, guess, n)  # guessing on: burnt, then a wait
                for n, guess in enumerate(("0000", "0001"), 2)]
        assert any(isinstance(m, p.Admission) and m.retry_after_s > 0 for m in told)
        assert phases(receiver.status)["Eve"] is CallPhase.PIN


async def test_view_hints_reach_the_sender(server, sources, make_client) -> None:
    async with room(server.url, sources, 0) as (receiver, _, _wall):
        laptop = await make_client(server.url, name="Ada")
        await laptop.join(receiver.status.code or "")
        allowed = p.decode_peer((await next_of(laptop, p.RelayedSignal)).body)
        assert isinstance(allowed, p.Admission) and allowed.state is p.AdmissionState.ALLOWED
        await receiver.wait_until(lambda s: "Ada" in phases(s))
        # views go out once the sender has paired over the code
        await pair_by_hand(laptop, laptop.joined.receiver.peer_id, receiver.status.code or "")
        await receiver.wait_until(lambda s: [v.verified for v in s.calls] == [True])
        receiver.set_view(laptop.peer_id or "", 960, 540, 15, tile=2, tiles=4, spotlit=False)
        hint = p.decode_peer((await next_of(laptop, p.RelayedSignal)).body)
        assert hint == p.ViewHint(width=960, height=540, fps=15, tile=2, tiles=4,
                                  spotlit=False)


async def test_the_receiver_reports_rtt_loss_and_the_keyframes_it_asked_for(
        server, sources) -> None:
    """5 % of the RTP packets reaching the receiver are lost (retransmissions included)."""
    dice = random.Random(5)

    def lossy(receiver: object) -> None:
        tap(receiver, lambda packet: dice.random() >= 0.05)

    async with room(server.url, sources, 1) as (receiver, [sender], wall):
        await sender.cast(receiver.status.code or "")
        await wall.until(lambda: len(wall.counters) == 1)
        [call] = receiver.calls.values()
        for transceiver in call.link.pc.getTransceivers():  # type: ignore[union-attr]
            lossy(transceiver.receiver)
        losses: list[float] = []
        for _ in range(4):
            await asyncio.sleep(1.0)
            [stats] = (await receiver.call_stats()).values()
            if stats.loss_pct is not None:
                losses.append(stats.loss_pct)
        assert stats.rtt_ms is not None and 0 <= stats.rtt_ms < 1000
        # loss is counted after repair: the resends it asked for (NACK) filled the gaps
        assert len(losses) >= 2 and all(0 <= x <= 100 for x in losses)
        assert stats.nacks > 0
        peer = await receiver.stats()
        assert peer is not None and peer.rtt_ms is not None  # what --stats shows
        count = len(next(iter(wall.counters.values())))
        await wall.until(lambda: len(next(iter(wall.counters.values()))) >= count + 10)


async def test_the_receiver_estimates_each_frame_age(server, sources) -> None:
    """From the senders' RTCP reports and the round trip: present and plausible on loopback
    (after capture, before a second)."""
    ages: dict[str, list[float]] = defaultdict(list)

    async with room(server.url, sources, 2) as (receiver, senders, wall):
        def note(peer_id: str, frame: ReceivedFrame) -> None:
            wall(peer_id, frame)
            if frame.age_s is not None:
                ages[peer_id].append(frame.age_s)

        receiver.on_call_frame = note
        code = receiver.status.code or ""
        await asyncio.gather(*(s.cast(code) for s in senders))
        for _ in range(60):  # reports come about once a second
            await asyncio.sleep(0.25)
            if len(ages) == 2 and all(len(a) >= 20 for a in ages.values()):
                break
        assert len(ages) == 2, "no frame age: no sender report came in"
        for got in ages.values():
            got.sort()
            assert 0 < got[len(got) // 2] < 1.0, got
        stats = await receiver.call_stats()
        assert len(stats) == 2
        for one in stats.values():
            assert one.peer is not None and one.peer.frame_age_ms is not None
            assert 0 <= one.peer.frame_age_ms < 1000  # what --stats and the overlay show
        print("frame ages (ms):", {k: [round(x * 1000, 1) for x in v[::max(1, len(v) // 8)]]
                                   for k, v in ages.items()})
