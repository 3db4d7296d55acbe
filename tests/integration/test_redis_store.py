"""The room-store contract, held by the in-memory store and by the Redis store alike,
plus what only a shared store does: atomic claims across instances, forwarding, takeover."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest
from redis_server import free_port

from castapp.protocol import PeerInfo, Role
from castapp.signaling.store import AddSender, PeerRecord, Relay, RoomStore
from castapp.signaling.store_memory import MemoryStore
from castapp.signaling.store_redis import RedisStore, StoreUnavailableError

#: Redis expires held rooms by the wall clock, so each test starts from the real time (a
#: value taken when the module loads can be minutes old by the time a test runs).
NOW = float(int(time.time()))


@pytest.fixture(autouse=True)
def _wall_clock_now() -> None:
    global NOW
    NOW = float(int(time.time()))


def receiver(peer_id: str) -> PeerInfo:
    return PeerInfo(peer_id=peer_id, role=Role.RECEIVER, name=f"tv {peer_id}")


def sender(peer_id: str) -> PeerInfo:
    return PeerInfo(peer_id=peer_id, role=Role.SENDER, name=f"laptop {peer_id}")


class Inbox:
    """Collects what a store delivers to its instance."""

    def __init__(self) -> None:
        self.items: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
        self.resets = asyncio.Event()

    async def deliver(self, peer_id: str, payload: bytes) -> None:
        self.items.put_nowait((peer_id, payload))

    async def reset(self) -> None:
        self.resets.set()


async def open_redis(url: str, ttl: float = 10.0) -> tuple[RedisStore, Inbox]:
    store, inbox = RedisStore(url, instance_ttl_s=ttl), Inbox()
    await store.start(inbox.deliver, inbox.reset)
    return store, inbox


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest):
    if request.param == "memory":
        mem = MemoryStore()
        await mem.start(Inbox().deliver, Inbox().reset)
        yield mem
        return
    server = request.getfixturevalue("redis_server")
    red, _ = await open_redis(server.url)
    yield red
    await red.close()


# ---------------------------------------------------------------- the shared contract
async def test_a_code_belongs_to_its_owner_until_its_hold_passes(store: RoomStore):
    assert (await store.claim_room("123456", "alice", receiver("r1"), NOW)).ok
    assert not (await store.claim_room("123456", "mallory", receiver("m1"), NOW)).ok
    again = await store.claim_room("123456", "alice", receiver("r2"), NOW)
    assert again.ok and again.replaced == "r1"
    room = await store.get_room("123456", NOW)
    assert room is not None and room.owner == "alice" and room.receiver == receiver("r2")

    assert not await store.detach_receiver("123456", "r1", NOW + 300)  # not the live one
    assert await store.detach_receiver("123456", "r2", NOW + 300)
    held = await store.get_room("123456", NOW + 1)
    assert held is not None and held.receiver is None and held.hold_until == NOW + 300
    assert not (await store.claim_room("123456", "mallory", receiver("m1"), NOW + 1)).ok
    assert await store.get_room("123456", NOW + 301) is None
    assert (await store.claim_room("123456", "mallory", receiver("m1"), NOW + 301)).ok


async def test_a_revoked_key_stays_revoked_until_its_token_would_have_expired(
        store: RoomStore):
    assert await store.revoked_at("key-a", NOW) is None
    await store.revoke("key-a", NOW, NOW + 2)
    assert await store.revoked_at("key-a", NOW + 1) == NOW
    assert await store.revoked_at("key-b", NOW + 1) is None


async def test_senders_wait_through_a_hold_and_meet_the_returning_receiver(store: RoomStore):
    await store.claim_room("222222", "alice", receiver("r1"), NOW)
    assert await store.add_sender("222222", sender("s1"), 2) is AddSender.OK
    assert await store.add_sender("222222", sender("s2"), 2) is AddSender.OK
    assert await store.add_sender("222222", sender("s3"), 2) is AddSender.FULL
    assert await store.add_sender("999999", sender("s3"), 2) is AddSender.GONE
    await store.remove_sender("222222", "s2")
    assert await store.room_senders("222222") == [sender("s1")]

    await store.detach_receiver("222222", "r1", NOW + 300)
    assert await store.add_sender("222222", sender("s4"), 2) is AddSender.GONE
    back = await store.claim_room("222222", "alice", receiver("r2"), NOW + 10)
    assert back.ok and back.replaced is None and back.senders == (sender("s1"),)


async def test_expire_and_delete_hand_back_the_senders(store: RoomStore):
    await store.claim_room("333333", "alice", receiver("r1"), NOW)
    await store.add_sender("333333", sender("s1"), 4)
    await store.detach_receiver("333333", "r1", NOW + 5)
    assert await store.expire_room("333333", "alice", NOW + 4) is None  # hold not over
    assert await store.expire_room("333333", "bob", NOW + 6) is None  # not the owner
    assert await store.expire_room("333333", "alice", NOW + 6) == ["s1"]
    assert await store.get_room("333333", NOW) is None

    await store.claim_room("444444", "alice", receiver("r1"), NOW)
    await store.add_sender("444444", sender("s1"), 4)
    assert await store.delete_room("444444", "bob") == []
    assert await store.delete_room("444444", "alice") == ["s1"]
    assert await store.room_senders("444444") == []


async def test_peer_records(store: RoomStore):
    rec = PeerRecord("p1", Role.SENDER, "Laptop", "555555")
    await store.put_peer(rec)
    assert await store.get_peer("p1") == rec
    await store.drop_peer("p1")
    assert await store.get_peer("p1") is None


async def test_rate_windows_count_then_reset(store: RoomStore):
    assert [await store.hit("k", 3, 60, NOW + i) for i in range(3)] == [0, 0, 0]
    assert await store.hit("k", 3, 60, NOW + 10) == pytest.approx(50)
    assert await store.blocked_for("k", 3, 60, NOW + 20) == pytest.approx(40)
    assert await store.blocked_for("other", 3, 60, NOW) == 0
    assert await store.blocked_for("k", 3, 60, NOW + 60) == 0
    assert await store.hit("k", 3, 60, NOW + 61) == 0


# ---------------------------------------------------------------- shared by instances
async def test_concurrent_claims_from_two_instances_have_one_winner_per_code(redis_server):
    a, _ = await open_redis(redis_server.url)
    b, _ = await open_redis(redis_server.url)
    try:
        codes = [f"{n:06d}" for n in range(100)]
        attempts = [
            (store, code, f"owner{i}-{code}")
            for code in codes
            for i, store in enumerate((a, b, a, b, a, b))
        ]
        results = await asyncio.gather(
            *(s.claim_room(c, o, receiver(o), NOW) for s, c, o in attempts)
        )
        winners: dict[str, list[str]] = {}
        for (_, code, owner), claim in zip(attempts, results, strict=True):
            if claim.ok:
                winners.setdefault(code, []).append(owner)
        assert sorted(winners) == codes
        assert all(len(w) == 1 for w in winners.values())
        for code, [owner] in winners.items():
            room = await b.get_room(code, NOW)
            assert room is not None and room.owner == owner
    finally:
        await a.close()
        await b.close()


async def test_forward_reaches_the_instance_holding_the_peer(redis_server):
    a, inbox_a = await open_redis(redis_server.url)
    b, _ = await open_redis(redis_server.url)
    try:
        await a.put_peer(PeerRecord("ra", Role.RECEIVER, "TV", "666666"))
        assert await b.forward("ra", b'{"type":"x"}')
        assert await asyncio.wait_for(inbox_a.items.get(), 5) == ("ra", b'{"type":"x"}')
        assert not await b.forward("nobody", b"{}")
        await a.drop_peer("ra")
        assert not await b.forward("ra", b"{}")
    finally:
        await a.close()
        await b.close()


async def test_relay_checks_the_room_and_forwards_in_one_step(redis_server):
    a, inbox_a = await open_redis(redis_server.url)
    b, _ = await open_redis(redis_server.url)
    try:
        await a.put_peer(PeerRecord("ra", Role.RECEIVER, "TV", "666666"))
        await a.put_peer(PeerRecord("sa", Role.SENDER, "Laptop", "666666"))
        assert await b.relay("ra", "666666", True, b'{"type":"offer"}') is Relay.FORWARDED
        assert await asyncio.wait_for(inbox_a.items.get(), 5) == ("ra", b'{"type":"offer"}')
        # another room, a sender where a receiver must be, nobody: refused, nothing published
        assert await b.relay("ra", "123456", True, b"{}") is Relay.NOT_IN_ROOM
        assert await b.relay("sa", "666666", True, b"{}") is Relay.NOT_IN_ROOM
        assert await b.relay("sa", "666666", False, b"{}") is Relay.FORWARDED
        assert await b.relay("nobody", "666666", False, b"{}") is Relay.NOT_IN_ROOM
        assert await asyncio.wait_for(inbox_a.items.get(), 5) == ("sa", b"{}")
        assert inbox_a.items.empty()
    finally:
        await a.close()
        await b.close()


def test_two_instances_relay_on_uvloop(redis_server):
    # castapp serve runs on uvloop when it is installed: the store's connections work there too
    uvloop = pytest.importorskip("uvloop")

    async def scenario() -> tuple[object, object]:
        a, inbox_a = await open_redis(redis_server.url)
        b, _ = await open_redis(redis_server.url)
        try:
            await a.put_peer(PeerRecord("ra", Role.RECEIVER, "TV", "424242"))
            done = await b.relay("ra", "424242", True, b'{"type":"answer"}')
            return done, await asyncio.wait_for(inbox_a.items.get(), 5)
        finally:
            await a.close()
            await b.close()

    done, got = uvloop.run(scenario())
    assert done is Relay.FORWARDED
    assert got == ("ra", b'{"type":"answer"}')


async def test_memory_relay_refuses_or_finds_nobody_elsewhere():
    store = MemoryStore()
    await store.put_peer(PeerRecord("ra", Role.RECEIVER, "TV", "666666"))
    assert await store.relay("ra", "666666", True, b"{}") is Relay.UNDELIVERABLE
    assert await store.relay("ra", "111111", True, b"{}") is Relay.NOT_IN_ROOM
    assert await store.relay("nobody", "666666", False, b"{}") is Relay.NOT_IN_ROOM


def test_a_forwarded_room_closing_is_recognised_by_its_first_bytes():
    from castapp import protocol as p
    from castapp.signaling.rooms import _ROOM_CLOSED

    assert p.encode(p.RoomClosed(reason="The receiver closed the room.")).startswith(_ROOM_CLOSED)
    assert not p.encode(p.Ping()).startswith(_ROOM_CLOSED)


async def test_a_silent_instance_is_taken_over_exactly_once(redis_server):
    dead, _ = await open_redis(redis_server.url, ttl=0.4)
    b, _ = await open_redis(redis_server.url)
    c, _ = await open_redis(redis_server.url)
    try:
        peers = [PeerRecord("r1", Role.RECEIVER, "TV", "777777"),
                 PeerRecord("s1", Role.SENDER, "Laptop", "777777")]
        for rec in peers:
            await dead.put_peer(rec)
        assert await b.lost_peers(NOW) == []  # still heartbeating
        # the instance freezes: no more heartbeats, no goodbye
        for task in dead.presence._tasks:
            task.cancel()
        deadline = time.monotonic() + 5
        taken: list[PeerRecord] = []
        while not taken and time.monotonic() < deadline:
            taken = await b.lost_peers(NOW) + await c.lost_peers(NOW)
            await asyncio.sleep(0.05)
        assert sorted(taken, key=lambda r: r.peer_id) == peers
        assert await b.lost_peers(NOW) == [] and await c.lost_peers(NOW) == []
        assert await b.get_peer("r1") is None
    finally:
        with contextlib.suppress(Exception):
            await dead.close()
        await b.close()
        await c.close()


async def test_redis_restart_is_noticed_reported_and_recovered(redis_server):
    store, inbox = await open_redis(redis_server.url, ttl=0.4)
    try:
        assert await store.healthy()
        redis_server.stop()
        assert not await store.healthy()
        redis_server.start()
        await asyncio.wait_for(inbox.resets.wait(), 10)  # Redis came back without our rooms
        deadline = time.monotonic() + 10
        while not await store.healthy():
            assert time.monotonic() < deadline, "the store did not recover"
            await asyncio.sleep(0.05)
        await store.put_peer(PeerRecord("p", Role.SENDER, "", "888888"))
        assert await store.get_peer("p") is not None
    finally:
        await store.close()


async def test_unreachable_redis_fails_clearly_at_start():
    port = free_port()
    store = RedisStore(f"redis://:hunter2@127.0.0.1:{port}/0")
    with pytest.raises(StoreUnavailableError) as err:
        await store.start(Inbox().deliver, Inbox().reset)
    assert "cannot reach Redis" in str(err.value) and "hunter2" not in str(err.value)
