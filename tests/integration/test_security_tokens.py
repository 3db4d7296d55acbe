"""Tokens bound to the receiver's key: a replay cannot take a live code, leave revokes,
tokens expire and rotate, and codes stay stable across restarts of both ends."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from castapp import protocol as p
from castapp.signaling.client import NotProvenError, SignalingClient
from castapp.signaling.identity import ReceiverIdentity


async def raw_register(url: str, body: dict) -> dict:
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        await ws.send_str(json.dumps({"type": "hello", "versions": [2]}))
        json.loads((await ws.receive(timeout=5)).data)
        await ws.send_str(json.dumps({"type": "register", **body}))
        return json.loads((await ws.receive(timeout=5)).data)


async def test_a_replayed_token_cannot_take_a_live_code(server, make_client):
    tv = await make_client(server.url, name="tv")
    reg = await tv.register()
    service_token = ReceiverIdentity.from_credential(reg.token).token
    assert service_token.startswith("t2.") and service_token not in reg.code
    # the thief has the service's token (say, sniffed) but not the key: a bearer replay
    stolen = await raw_register(server.url, {"token": service_token})
    assert stolen["type"] == "registered" and stolen["code"] != reg.code
    # a recorded register message, replayed on a new connection (another nonce)
    me = ReceiverIdentity.from_credential(reg.token)
    old_nonce = tv.welcome.nonce  # type: ignore[union-attr]
    key, proof = me.prove(old_nonce)
    replay = await raw_register(server.url, {"token": service_token, "key": key, "proof": proof})
    assert replay == {**replay, "type": "error", "code": "not_proven"}
    # its own key with someone else's token: a different key id, so a new code
    thief = ReceiverIdentity(token=service_token)
    own = await make_client(server.url)
    got = await own.register(thief.credential)
    assert got.code != reg.code
    # the live receiver was never disturbed
    assert tv.connected and server.rooms.members[tv.peer_id].code == reg.code
    sender = await make_client(server.url)
    assert (await sender.join(reg.code)).receiver.peer_id == tv.peer_id


async def test_a_bad_proof_is_refused_clearly(server, make_client):
    tv = await make_client(server.url)
    me = ReceiverIdentity()
    key, _ = me.prove("x")
    await tv._send(p.Register(key=key, proof="A" * 86))
    event = await tv.next_event(5)
    assert isinstance(event, p.Error) and event.code is p.ErrorCode.NOT_PROVEN
    assert isinstance(await tv.register(), p.Registered)  # the connection survives
    # a service that sends no nonce cannot be registered with: the client says so clearly
    tv.welcome = p.Welcome(version=2, peer_id="x", heartbeat_s=15, max_message_bytes=1,
                           nonce="")
    fresh = await _fresh(tv, server.url)
    try:
        with pytest.raises(NotProvenError):
            await fresh.register()
    finally:
        await fresh.close()


async def _fresh(old: SignalingClient, url: str) -> SignalingClient:
    client = SignalingClient(url)
    await client.connect()
    client.welcome = old.welcome
    return client


async def test_leave_revokes_and_the_key_keeps_its_code_across_restarts(start_server,
                                                                        make_client):
    first = await start_server()
    tv = await make_client(first.url)
    reg = await tv.register()
    await tv.close()
    await first.stop()
    second = await start_server()  # same room key: a restarted service
    back = await make_client(second.url)
    reg2 = await back.register(reg.token)
    assert reg2.code == reg.code and reg2.token != reg.token  # rotated
    await back.leave()  # a receiver that stops: the room closes, the code stays its own
    await back.close()
    again = await make_client(second.url)
    reg3 = await again.register(reg2.token)
    assert reg3.code == reg.code
    await again.leave(keep_code=False)  # gives the code up for good
    later = await make_client(second.url)
    assert (await later.register(reg3.token)).code != reg.code  # revoked by leave
    # tokens issued before that leave are revoked too
    for old in (reg.token, reg2.token):
        other = await make_client(second.url)
        assert (await other.register(old)).code != reg.code


async def test_expired_tokens_do_not_keep_a_code(start_server, make_client):
    server = await start_server()
    server.rooms.signer.ttl = 0.5
    tv = await make_client(server.url)
    reg = await tv.register()
    await tv.close()
    await asyncio.sleep(1.6)
    back = await make_client(server.url)
    assert (await back.register(reg.token)).code != reg.code


async def test_keyless_receivers_still_get_a_code_but_no_token(server):
    reply = await raw_register(server.url, {"name": "old"})
    assert reply["type"] == "registered" and reply["token"] == ""


async def test_the_same_key_reconnecting_replaces_its_stale_connection(server, make_client):
    tv = await make_client(server.url)
    reg = await tv.register()
    twin = SignalingClient(server.url)
    await twin.connect()
    try:
        assert (await twin.register(reg.token)).code == reg.code
    finally:
        await twin.close()


async def test_two_copies_of_one_receiver_do_not_kick_each_other_forever(server, make_client):
    # Connections that are replaced do not come back here, so that only the copies' own
    # registrations count (a replaced copy that reconnects is one more replacement).
    first = await make_client(server.url, reconnect=False)
    reg = await first.register()
    credential = reg.token
    codes = []
    for _ in range(5):  # a copied state directory: the same key, again and again
        twin = await make_client(server.url, reconnect=False)
        codes.append((await twin.register(credential)).code)
    assert codes[:3] == [reg.code] * 3  # reconnects of the same receiver are fine
    assert all(c != reg.code for c in codes[3:])  # then the copy gets its own code
    assert server.rooms.counters["replacements_refused"] == 2
