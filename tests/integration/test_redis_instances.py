"""Several room-service instances sharing one real Redis: pairing, relay, codes, rate limits."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from events import next_of

from castapp import protocol as p
from castapp.codes import CodeFormat
from castapp.signaling.client import ConnectionLost, RateLimitedError


async def test_receiver_on_one_instance_and_sender_on_another_pair_and_relay(
    redis_instances, make_client
):
    a, b = await redis_instances(), await redis_instances()
    receiver = await make_client(a.url, name="TV")
    sender = await make_client(b.url, name="Laptop")
    reg = await receiver.register()
    joined = await sender.join(reg.code[:3] + " " + reg.code[3:])
    assert joined.receiver.peer_id == receiver.peer_id and joined.receiver.name == "TV"
    hello = await next_of(receiver, p.PeerJoined)
    assert hello.peer.peer_id == sender.peer_id and hello.peer.name == "Laptop"

    await sender.send_offer(receiver.peer_id, "v=0 offer")
    offer = await next_of(receiver, p.RelayedOffer)
    assert offer.from_ == sender.peer_id and offer.sdp == "v=0 offer"
    await receiver.send_answer(sender.peer_id, "v=0 answer")
    answer = await next_of(sender, p.RelayedAnswer)
    assert answer.from_ == receiver.peer_id and answer.sdp == "v=0 answer"
    cand = p.IceCandidate(candidate="candidate:1 1 udp 1 127.0.0.1 9 typ host", sdpMid="0",
                          sdpMLineIndex=0)
    for _ in range(20):  # order is kept across instances
        await sender.send_candidate(receiver.peer_id, cand)
    await sender.send_candidate(receiver.peer_id, None)
    got = [await next_of(receiver, p.RelayedCandidate) for _ in range(21)]
    assert [c.candidate for c in got] == [cand] * 20 + [None]

    await sender.leave()
    left = await next_of(receiver, p.PeerLeft)
    assert left.peer_id == sender.peer_id and left.reason is p.LeaveReason.LEFT
    # A forwarded the answer; B the join notice, the offer, 21 candidates and the leave notice
    assert a.rooms.counters["forwarded"] == 1 and b.rooms.counters["forwarded"] == 24


async def _register_raw(session: aiohttp.ClientSession, url: str) -> tuple[object, str]:
    ws = await session.ws_connect(url)
    await ws.send_str(json.dumps({"type": "hello", "versions": list(p.SUPPORTED_VERSIONS)}))
    assert (await ws.receive_json(timeout=30))["type"] == "welcome"
    await ws.send_str('{"type":"register","name":"tv"}')
    reply = await ws.receive_json(timeout=60)
    assert reply["type"] == "registered", reply
    return ws, reply["code"]


@pytest.mark.timeout(120)
async def test_a_thousand_concurrent_registrations_on_two_instances_get_distinct_codes(
    redis_instances,
):
    # four-digit codes: about 50 collisions among 1,000 draws, so claims really race
    cfg = {"codes": CodeFormat(length=4), "registrations": 1_000_000,
           "max_connections_per_address": 0}  # a thousand receivers on one loopback address
    a, b = await redis_instances(**cfg), await redis_instances(**cfg)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        results = await asyncio.gather(
            *(_register_raw(session, (a if i % 2 else b).url) for i in range(1000))
        )
        codes = [code for _, code in results]
        assert len(codes) == 1000 and len(set(codes)) == 1000
        now = a.rooms.clock()
        owners = {(await b.store.get_room(code, now)).owner for code in codes}  # type: ignore[union-attr]
        assert len(owners) == 1000  # each code is held by its own receiver
        assert a.rooms.counters["registrations"] + b.rooms.counters["registrations"] == 1000
        assert min(a.rooms.counters["registrations"], b.rooms.counters["registrations"]) == 500
        await asyncio.gather(*(ws.close() for ws, _ in results))  # type: ignore[attr-defined]


async def test_rate_limits_count_across_instances(redis_instances, make_client):
    cfg = {"registrations": 3, "join_failures": 2}
    a, b = await redis_instances(**cfg), await redis_instances(**cfg)
    ok = [await make_client(srv.url) for srv in (a, b, a)]
    codes = [(await c.register()).code for c in ok]
    late = await make_client(b.url)
    with pytest.raises(RateLimitedError) as err:
        await late.register()
    assert err.value.retry_after_s is not None and 0 < err.value.retry_after_s <= 60

    wrong = "000000" if "000000" not in codes else "111111"
    for srv in (a, b):  # two wrong codes, one on each instance
        guesser = await make_client(srv.url)
        with pytest.raises(Exception, match="No receiver"):
            await guesser.join(wrong)
    blocked = await make_client(a.url)
    with pytest.raises(RateLimitedError):
        await blocked.join(codes[0])  # even a right code waits out the window
    assert a.rooms.counters["rate_limited_joins"] == 1
    assert b.rooms.counters["rate_limited_registrations"] == 1


async def test_receiver_reconnecting_through_another_instance_replaces_the_old_connection(
    redis_instances, make_client
):
    a, b = await redis_instances(), await redis_instances()
    old = await make_client(a.url, reconnect=False)
    reg = await old.register()
    sender = await make_client(b.url)
    await sender.join(reg.code)
    new = await make_client(b.url)
    assert (await new.register(reg.token)).code == reg.code
    lost = await next_of(old, ConnectionLost)  # closed by instance A on B's word
    assert lost.retry_in_s == -1.0
    left = await next_of(sender, p.PeerLeft)
    assert left.peer_id == old.peer_id
    hello = await next_of(sender, p.PeerJoined)
    assert hello.peer.peer_id == new.peer_id
    await sender.send_offer(new.peer_id, "again")
    assert (await next_of(new, p.RelayedOffer)).sdp == "again"
