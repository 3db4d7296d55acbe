"""The Janus client against a hostile server on loopback, and the SFU parts' input checks."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web

from castapp.sfu.janus import JanusError, JanusSession, Jsep
from castapp.sfu.jcfg import JanusSettings, write_config
from castapp.sfu.token import SfuConfig, mint_token
from castapp.sfu.videoroom import SfuFeed

pytestmark = pytest.mark.timeout(30)

Reply = Callable[[web.WebSocketResponse, dict[str, object]], Awaitable[None]]


async def fake_janus(reply: Reply) -> tuple[web.AppRunner, str]:
    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(protocols=("janus-protocol",))
        await ws.prepare(request)
        async for msg in ws:
            await reply(ws, json.loads(msg.data))
        return ws

    app = web.Application()
    app.router.add_get("/", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"ws://127.0.0.1:{port}/"


async def test_junk_from_the_server_is_dropped_and_a_missing_answer_times_out():
    async def reply(ws: web.WebSocketResponse, msg: dict[str, object]) -> None:
        tx = msg["transaction"]
        for junk in ("not json", "[1, 2]", "null", json.dumps({"janus": "event"}),
                     json.dumps({"janus": "event", "sender": "x", "transaction": 5}),
                     json.dumps({"transaction": tx, "janus": "success",
                                 "data": {"id": "not a number"}})):
            await ws.send_str(junk)

    runner, url = await fake_janus(reply)
    try:
        with pytest.raises(JanusError, match="did not open a session"):
            await JanusSession.open(url, "t", timeout_s=1.0)
    finally:
        await runner.cleanup()


async def test_silence_is_a_timeout_in_one_sentence():
    async def reply(ws: web.WebSocketResponse, msg: dict[str, object]) -> None:
        return None

    runner, url = await fake_janus(reply)
    try:
        with pytest.raises(JanusError, match="did not answer in time"):
            await asyncio.wait_for(JanusSession.open(url, "t", timeout_s=0.5), 5)
    finally:
        await runner.cleanup()


async def test_an_error_and_a_plugin_error_are_sentences():
    async def reply(ws: web.WebSocketResponse, msg: dict[str, object]) -> None:
        tx = msg["transaction"]
        if msg["janus"] == "create":
            await ws.send_json({"janus": "success", "transaction": tx, "data": {"id": 7}})
        elif msg["janus"] == "attach":
            await ws.send_json({"janus": "error", "transaction": tx,
                                "error": {"code": 403, "reason": "Unauthorized " + "x" * 5000}})
        elif msg["janus"] == "message":
            await ws.send_json({"janus": "ack", "transaction": tx})
            await ws.send_json({"janus": "event", "transaction": tx, "sender": 9,
                                "plugindata": {"data": {"error_code": 428,
                                                        "error": "No such feed"}}})

    runner, url = await fake_janus(reply)
    try:
        session = await JanusSession.open(url, "t", timeout_s=2.0)
        with pytest.raises(JanusError) as err:
            await session.attach()
        assert len(str(err.value)) < 300 and "Unauthorized" in str(err.value)
        from castapp.sfu.janus import Handle

        with pytest.raises(JanusError) as err2:
            await Handle(session, 9).request({"request": "join"})
        assert err2.value.code == 428
        await session.close()
    finally:
        await runner.cleanup()


async def test_an_unreachable_sfu_is_one_sentence():
    with pytest.raises(JanusError, match="could not be reached"):
        await JanusSession.open("ws://127.0.0.1:9/", "t", timeout_s=1.0)


def test_tokens_are_janus_hmac_tokens():
    token = mint_token("s3cret", 1_800_000_000)
    data, sig = token.split(":")
    assert data == "1800000000,janus,janus.plugin.videoroom"
    assert base64.b64decode(sig) == hmac.new(b"s3cret", data.encode(), hashlib.sha1).digest()
    access = SfuConfig(url="ws://127.0.0.1:8188/", secret="s3cret", ttl_s=120).access(1000.0)
    assert access.expires == 1120 and access.token == mint_token("s3cret", 1120)
    for bad in (dict(url="http://x/", secret="s"), dict(url="ws://x/", secret=""),
                dict(url="ws://x/", secret="s", ttl_s=5)):
        with pytest.raises(ValueError):
            SfuConfig(**bad)  # type: ignore[arg-type]


def test_feeds_and_sdps_from_messages_are_checked():
    good = {"url": "ws://127.0.0.1:1/", "room": 5, "pin": "ab", "feed": 9}
    assert SfuFeed.parse(good) == SfuFeed("ws://127.0.0.1:1/", 5, "ab", 9)
    for bad in (None, [], {**good, "room": True}, {**good, "room": 2**60}, {**good, "feed": -1},
                {**good, "url": "file:///etc/passwd"}, {**good, "pin": "x" * 65},
                {**good, "pin": 5}):
        assert SfuFeed.parse(bad) is None
    assert Jsep.parse({"type": "offer", "sdp": "v=0"}) == Jsep("offer", "v=0")
    for bad in ({"type": "pranswer", "sdp": "v=0"}, {"type": "offer", "sdp": 3}, "x", None):
        assert Jsep.parse(bad) is None


def test_a_setting_cannot_break_out_of_the_janus_config(tmp_path: Path):
    with pytest.raises(ValueError):
        write_config(tmp_path, JanusSettings(token_secret='x"\n}\nadmin_secret = "y'))
    with pytest.raises(ValueError):
        JanusSettings(token_secret="")
    conf = write_config(tmp_path, JanusSettings(token_secret="ok", ice_enforce="eth0"))
    text = conf.read_text()
    assert 'ice_enforce_list = "eth0"' in text and "token_auth = true" in text
    # tokens expire and Janus checks keepalives too: sessions end with their socket instead
    assert "session_timeout = 0" in text
