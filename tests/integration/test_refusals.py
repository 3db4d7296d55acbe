"""What the service refuses, and how it says so: clear errors, connection kept."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from castapp import protocol as p
from castapp.signaling.client import (
    AlreadyInRoomError,
    RateLimitedError,
    RoomFullError,
    UnknownCodeError,
    UnsupportedVersionError,
)


async def raw_ws(url: str, hello: bool = True):
    session = aiohttp.ClientSession()
    ws = await session.ws_connect(url, max_msg_size=p.HARD_FRAME_LIMIT)
    if hello:
        await ws.send_str(json.dumps({"type": "hello", "versions": [p.PROTOCOL_VERSION]}))
        welcome = json.loads((await ws.receive(timeout=5)).data)
        assert welcome["type"] == "welcome" and welcome["version"] == p.PROTOCOL_VERSION
    return session, ws


async def recv_json(ws, timeout: float = 5.0) -> dict:
    msg = await ws.receive(timeout=timeout)
    assert msg.type is aiohttp.WSMsgType.TEXT, msg
    return json.loads(msg.data)


async def test_unknown_code_is_a_clear_error(server, make_client):
    sender = await make_client(server.url)
    with pytest.raises(UnknownCodeError) as info:
        await sender.join("000 000")
    assert "cast code" in info.value.message
    with pytest.raises(UnknownCodeError):
        await sender.join("not a code")
    assert sender.connected  # the connection survives


async def test_room_full(start_server, make_client):
    server = await start_server(max_senders=2)
    receiver = await make_client(server.url)
    reg = await receiver.register()
    for _ in range(2):
        await (await make_client(server.url)).join(reg.code)
    late = await make_client(server.url)
    with pytest.raises(RoomFullError) as info:
        await late.join(reg.code)
    assert "2 senders" in info.value.message


async def test_join_rate_limit_kicks_in_and_expires(start_server, make_client):
    server = await start_server(join_failures=3, join_window_s=1.0)
    receiver = await make_client(server.url)
    reg = await receiver.register()
    wrong = "111111" if reg.code != "111111" else "222222"
    sender = await make_client(server.url)
    for _ in range(3):
        with pytest.raises(UnknownCodeError):
            await sender.join(wrong)
    # now even the right code is refused: guessing must not go on
    with pytest.raises(RateLimitedError) as info:
        await sender.join(reg.code)
    assert 0 < info.value.retry_after_s <= 1.0
    await asyncio.sleep(info.value.retry_after_s + 0.05)
    joined = await sender.join(reg.code)
    assert joined.receiver.peer_id == receiver.peer_id


async def test_unsupported_version(server, make_client):
    client = await make_client(server.url, connect=False, versions=(99,))
    with pytest.raises(UnsupportedVersionError) as info:
        await client.connect()
    assert f"version {p.PROTOCOL_VERSION}" in info.value.message


async def test_a_version_1_client_is_told_to_update(server, make_client):
    client = await make_client(server.url, connect=False, versions=(1,))
    with pytest.raises(UnsupportedVersionError) as info:
        await client.connect()
    assert "please update castapp" in info.value.message


async def test_hello_is_required_first(server):
    session, ws = await raw_ws(server.url, hello=False)
    try:
        await ws.send_str(json.dumps({"type": "join", "code": "123456"}))
        err = await recv_json(ws)
        assert err["type"] == "error" and err["code"] == "hello_required"
        await ws.send_str(json.dumps({"type": "hello", "versions": [7, p.PROTOCOL_VERSION]}))
        assert (await recv_json(ws))["type"] == "welcome"
    finally:
        await session.close()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{not json", "bad_message"),
        ("[1, 2]", "bad_message"),
        ('{"no": "type"}', "bad_message"),
        ('{"type": "teleport"}', "unknown_type"),
        ('{"type": "join", "code": 123456}', "bad_message"),
        ('{"type": "offer", "to": "../../etc", "sdp": "x"}', "bad_message"),
        ('{"type": "offer", "to": "someone", "sdp": "x"}', "not_in_room"),
        ('{"type": "leave"}', "not_in_room"),
        ('{"type": "hello", "versions": [2]}', "bad_message"),
    ],
)
async def test_bad_messages_get_errors_and_keep_the_connection(server, frame, code):
    session, ws = await raw_ws(server.url)
    try:
        await ws.send_str(frame)
        err = await recv_json(ws)
        assert err["type"] == "error" and err["code"] == code, err
        assert err["message"]
        await ws.send_str(json.dumps({"type": "ping", "ts": 1.5}))
        assert await recv_json(ws) == {"type": "pong", "ts": 1.5}
    finally:
        await session.close()


async def test_binary_and_oversized_frames(server):
    session, ws = await raw_ws(server.url)
    try:
        await ws.send_bytes(b'{"type": "ping"}')
        err = await recv_json(ws)
        assert err["code"] == "bad_message" and "Binary" in err["message"]
        big = json.dumps({"type": "offer", "to": "x", "sdp": "a" * (p.MAX_MESSAGE_BYTES + 1)})
        await ws.send_str(big)
        err = await recv_json(ws)
        assert err["code"] == "too_large"
        await ws.send_str(json.dumps({"type": "ping"}))
        assert (await recv_json(ws))["type"] == "pong"
        # beyond the hard frame limit the frame is not even read: close 1009
        await ws.send_str("x" * (p.HARD_FRAME_LIMIT + 10))
        msg = await ws.receive(timeout=5)
        assert msg.type is aiohttp.WSMsgType.CLOSE and msg.data == 1009
    finally:
        await session.close()


async def test_already_in_room(server, make_client):
    receiver = await make_client(server.url)
    reg = await receiver.register()
    with pytest.raises(AlreadyInRoomError):
        await receiver.join(reg.code)


async def test_flooding_connection_is_throttled_not_dropped(start_server):
    server = await start_server()
    server.config.message_rate, server.config.message_burst = 5.0, 10
    session, ws = await raw_ws(server.url)
    try:
        for i in range(30):
            await ws.send_str(json.dumps({"type": "ping", "ts": i}))
        kinds = []
        while True:
            try:
                kinds.append((await recv_json(ws, timeout=0.5))["type"])
            except TimeoutError:
                break
        assert "error" in kinds and kinds.count("pong") < 30
        await asyncio.sleep(0.3)
        await ws.send_str(json.dumps({"type": "ping"}))
        assert (await recv_json(ws))["type"] == "pong"
    finally:
        await session.close()
