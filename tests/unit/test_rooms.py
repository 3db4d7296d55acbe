"""Room logic with a fake clock and fake connections (no sockets)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

import pytest

from castapp import protocol as p
from castapp.codes import CodeFormat
from castapp.protocol import ErrorCode, LeaveReason, Role
from castapp.signaling.identity import ReceiverIdentity
from castapp.signaling.rooms import RoomConfig, Rooms, ServiceError, clean_name
from castapp.signaling.store_memory import MemoryStore
from castapp.signaling.tokens import TokenSigner


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class FakeConn:
    peer_id: str
    addr: str = "192.0.2.1"
    nonce: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    inbox: list[p.Outbound] = field(default_factory=list)
    closed: str | None = None

    async def send(self, payload: bytes) -> None:
        self.inbox.append(p.decode_outbound(payload))

    async def close(self, reason: str) -> None:
        self.closed = reason

    def take(self) -> list[p.Outbound]:
        out, self.inbox = self.inbox, []
        return out


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_rooms(clock: FakeClock, **cfg: object) -> Rooms:
    config = RoomConfig(**cfg)  # type: ignore[arg-type]
    return Rooms(MemoryStore(), TokenSigner(secrets.token_bytes(32)), config, clock)


async def connect(rooms: Rooms, name: str, addr: str = "192.0.2.1") -> FakeConn:
    conn = FakeConn(peer_id=name, addr=addr)
    rooms.attach(conn)
    return conn


#: The receiver's key in these tests (each test's receivers share it, like one TV restarting).
IDENTITY = ReceiverIdentity()


def signed(conn: FakeConn, token: str | None, identity: ReceiverIdentity = IDENTITY,
           name: str = "") -> p.Register:
    identity.token = token or ""
    key, proof = identity.prove(conn.nonce)
    return p.Register(token=token, name=name, key=key, proof=proof)


async def register(rooms: Rooms, conn: FakeConn, token: str | None = None) -> p.Registered:
    await rooms.handle(conn, signed(conn, token, name=conn.peer_id))
    reg = conn.take()[0]
    assert isinstance(reg, p.Registered)
    return reg


async def test_pairing_and_relay(clock):
    rooms = make_rooms(clock)
    tv, laptop = await connect(rooms, "tv"), await connect(rooms, "laptop")
    reg = await register(rooms, tv)
    await rooms.handle(laptop, p.Join(code=f" {reg.code[:3]}-{reg.code[3:]} ", name="L"))
    joined = laptop.take()[0]
    assert isinstance(joined, p.Joined) and joined.receiver.peer_id == "tv"
    assert tv.take() == [p.PeerJoined(peer=p.PeerInfo("laptop", Role.SENDER, "L"))]
    await rooms.handle(laptop, p.Offer(to="tv", sdp="o"))
    assert tv.take() == [p.RelayedOffer(from_="laptop", sdp="o")]
    assert rooms.counters["relayed"] == 1


async def test_codes_are_unique_among_live_receivers(clock):
    rooms = make_rooms(clock, codes=CodeFormat(length=4), registrations=10**6)
    codes = set()
    for i in range(300):
        codes.add((await register(rooms, await connect(rooms, f"r{i}"))).code)
    assert len(codes) == 300


async def test_code_space_exhaustion_is_reported(clock):
    rooms = make_rooms(clock, codes=CodeFormat(length=4), registrations=10**6)
    store = rooms.store
    for n in range(10_000):
        code = f"{n:04d}"
        await store.claim_room(code, "x", p.PeerInfo(code, Role.RECEIVER, ""), clock.now)
    with pytest.raises(ServiceError) as info:
        await register(rooms, await connect(rooms, "late"))
    assert info.value.code is ErrorCode.SERVICE_FULL


async def test_grace_period_keeps_the_code_then_expires(clock):
    rooms = make_rooms(clock, grace_s=60)
    tv, laptop = await connect(rooms, "tv"), await connect(rooms, "laptop")
    reg = await register(rooms, tv)
    await rooms.handle(laptop, p.Join(code=reg.code))
    laptop.take()
    await rooms.detach(tv, LeaveReason.DISCONNECTED)
    assert laptop.take() == [p.PeerLeft(peer_id="tv", role=Role.RECEIVER,
                                        reason=LeaveReason.DISCONNECTED)]
    # somebody else cannot take the held code, even by trying every token-less register
    clock.now += 59
    await rooms.tick()
    assert laptop.take() == []
    other = await connect(rooms, "other")
    assert (await register(rooms, other)).code != reg.code
    # past the grace period the waiting sender is told the room is closed
    clock.now += 2
    await rooms.tick()
    closed = laptop.take()
    assert len(closed) == 1 and isinstance(closed[0], p.RoomClosed)
    with pytest.raises(ServiceError) as info:
        await rooms.handle(laptop, p.Offer(to="tv", sdp="x"))
    assert info.value.code is ErrorCode.NOT_IN_ROOM
    # the owner's token still wins the code back while it is free
    back = await connect(rooms, "tv2")
    assert (await register(rooms, back, reg.token)).code == reg.code


async def test_reclaim_within_grace_reunites_waiting_senders(clock):
    rooms = make_rooms(clock)
    tv, laptop = await connect(rooms, "tv"), await connect(rooms, "laptop")
    reg = await register(rooms, tv)
    await rooms.handle(laptop, p.Join(code=reg.code))
    await rooms.detach(tv, LeaveReason.TIMEOUT)
    laptop.take()
    tv2 = await connect(rooms, "tv2")
    await rooms.handle(tv2, signed(tv2, reg.token))
    got = tv2.take()
    assert got[0].code == reg.code  # type: ignore[union-attr]
    assert got[1] == p.PeerJoined(peer=p.PeerInfo("laptop", Role.SENDER, ""))
    assert laptop.take() == [p.PeerJoined(peer=p.PeerInfo("tv2", Role.RECEIVER, ""))]


async def test_reclaim_while_connected_replaces_the_old_connection(clock):
    rooms = make_rooms(clock)
    tv = await connect(rooms, "tv")
    reg = await register(rooms, tv)
    tv2 = await connect(rooms, "tv2")
    assert (await register(rooms, tv2, reg.token)).code == reg.code
    assert tv.closed is not None
    await rooms.detach(tv, LeaveReason.REPLACED)  # the old socket closing must not hurt
    laptop = await connect(rooms, "laptop")
    await rooms.handle(laptop, p.Join(code=reg.code))
    assert laptop.take()[0].receiver.peer_id == "tv2"  # type: ignore[union-attr]


async def test_failed_joins_are_rate_limited_per_address_and_expire(clock):
    rooms = make_rooms(clock, join_failures=3, join_window_s=60)
    tv = await connect(rooms, "tv")
    reg = await register(rooms, tv)
    guesser = await connect(rooms, "g", addr="198.51.100.7")
    honest = await connect(rooms, "h", addr="198.51.100.8")
    for _ in range(3):
        with pytest.raises(ServiceError) as info:
            await rooms.handle(guesser, p.Join(code="999999" if reg.code != "999999" else "1"))
        assert info.value.code is ErrorCode.UNKNOWN_CODE
    clock.now += 10
    with pytest.raises(ServiceError) as info:
        await rooms.handle(guesser, p.Join(code=reg.code))
    assert info.value.code is ErrorCode.RATE_LIMITED
    assert info.value.retry_after_s == pytest.approx(50)
    await rooms.handle(honest, p.Join(code=reg.code))  # another address is unaffected
    clock.now += 51
    await rooms.handle(guesser, p.Join(code=reg.code))
    assert rooms.counters["rate_limited_joins"] == 1


async def test_registrations_are_rate_limited(clock):
    rooms = make_rooms(clock, registrations=2, register_window_s=10)
    for i in range(2):
        await register(rooms, await connect(rooms, f"r{i}"))
    with pytest.raises(ServiceError) as info:
        await register(rooms, await connect(rooms, "r3"))
    assert info.value.code is ErrorCode.RATE_LIMITED


async def test_room_full_and_sender_rules(clock):
    rooms = make_rooms(clock, max_senders=1)
    tv, a, b = [await connect(rooms, n) for n in ("tv", "a", "b")]
    reg = await register(rooms, tv)
    await rooms.handle(a, p.Join(code=reg.code))
    with pytest.raises(ServiceError) as info:
        await rooms.handle(b, p.Join(code=reg.code))
    assert info.value.code is ErrorCode.ROOM_FULL
    with pytest.raises(ServiceError) as info:
        await rooms.handle(a, p.Offer(to="a", sdp="to myself"))
    assert info.value.code is ErrorCode.NOT_IN_ROOM
    await rooms.handle(a, p.Leave())
    assert tv.take()[-1] == p.PeerLeft(peer_id="a", role=Role.SENDER, reason=LeaveReason.LEFT)
    await rooms.handle(b, p.Join(code=reg.code))  # the seat is free again


async def test_relay_outside_the_room_is_refused(clock):
    rooms = make_rooms(clock)
    tv1, tv2, laptop = [await connect(rooms, n) for n in ("tv1", "tv2", "laptop")]
    reg1 = await register(rooms, tv1)
    await register(rooms, tv2)
    await rooms.handle(laptop, p.Join(code=reg1.code))
    for target in ("tv2", "nobody"):
        with pytest.raises(ServiceError) as info:
            await rooms.handle(laptop, p.Answer(to=target, sdp="x"))
        assert info.value.code is ErrorCode.NOT_IN_ROOM
    assert tv2.take() == []


def test_names_are_cleaned():
    assert clean_name("  Ada\u202e's\x00 \n laptop ") == "Ada's laptop"
    assert len(clean_name("x" * 500)) == 64
