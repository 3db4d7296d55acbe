"""Hostile input thrown at a live service while another room keeps relaying correctly."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import threading
from collections.abc import Coroutine, Iterator
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from castapp import protocol as p
from castapp.signaling.client import SignalingClient
from castapp.signaling.rooms import RoomConfig
from castapp.signaling.server import RoomServer, ServiceConfig
from castapp.signaling.tokens import TokenSigner

KNOWN_ERRORS = {c.value for c in p.ErrorCode}
TYPES = ["hello", "register", "join", "offer", "answer", "candidate", "bye", "leave", "ping",
         "welcome", "error", "", "OFFER"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                  max_size=4),
    max_leaves=12,
)
fields = st.sampled_from(["to", "sdp", "code", "name", "token", "candidate", "versions",
                          "ts", "reason", "from", "type"])
messages = st.builds(
    lambda kind, extra: json.dumps({"type": kind, **extra}),
    st.sampled_from(TYPES) | st.text(max_size=12),
    st.dictionaries(fields, json_values, max_size=5),
)
frames = st.one_of(
    messages,
    st.text(max_size=200),
    st.binary(max_size=200),
    st.integers(p.MAX_MESSAGE_BYTES + 1, p.MAX_MESSAGE_BYTES * 3).map(
        lambda n: json.dumps({"type": "offer", "to": "x", "sdp": "a" * n})),
    st.just('{"type": "join", "code": "' + "9" * 33 + '"}'),
    st.just("\x00" * 64),
    # nesting deep enough to exhaust a recursive decoder, in every place a value may go
    st.integers(33, 20000).map(lambda n: "[" * n + "]" * n),
    st.integers(33, 20000).map(lambda n: "[" * n),
    st.integers(33, 20000).map(
        lambda n: '{"type":"signal","to":"x","body":{"a":' + "[" * n + "]" * n + "}}"),
    st.integers(33, 20000).map(lambda n: '{"type":' + '{"a":' * n + "1" + "}" * n + "}"),
    # tokens of every shape, non-ASCII included
    st.text(min_size=1, max_size=80).map(
        lambda t: json.dumps({"type": "register", "token": "t1.MTIz.abc." + t})),
    st.text(min_size=1, max_size=256).map(lambda t: json.dumps({"type": "register", "token": t})),
)


class LogTrap(logging.Handler):
    """Keeps every record at warning level or above, and any that carries a traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.bad: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info or record.levelno >= logging.ERROR or "Traceback" in record.getMessage():
            self.bad.append(record)


class LiveService:
    """A real service on its own event-loop thread, plus one healthy, paired room."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def start(self) -> None:
        rooms = RoomConfig(registrations=10**6, join_failures=10**6)
        config = ServiceConfig(port=0, rooms=rooms, message_rate=1e6, message_burst=10**6)
        self.server = RoomServer(config, TokenSigner(secrets.token_bytes(32)))
        await self.server.start()
        self.receiver = SignalingClient(self.server.url, name="tv")
        self.sender = SignalingClient(self.server.url, name="laptop")
        await self.receiver.connect()
        await self.sender.connect()
        reg = await self.receiver.register()
        await self.sender.join(reg.code)
        assert isinstance(await self.receiver.next_event(5), p.PeerJoined)
        self.session = aiohttp.ClientSession()
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.rounds = 0

    async def fuzz_connection(self) -> aiohttp.ClientWebSocketResponse:
        if self.ws is None or self.ws.closed:
            self.ws = await self.session.ws_connect(self.server.url, max_msg_size=0)
            await self.ws.send_str('{"type":"hello","versions":[2]}')
            assert json.loads((await self.ws.receive(timeout=5)).data)["type"] == "welcome"
        return self.ws

    async def throw(self, batch: list[str | bytes]) -> None:
        ws = await self.fuzz_connection()
        for frame in batch:
            if isinstance(frame, bytes):
                await ws.send_bytes(frame)
            else:
                await ws.send_str(frame)
        marker = float(self.rounds)
        self.rounds += 1
        await ws.send_str(json.dumps({"type": "ping", "ts": marker}))
        while True:  # every reply is well-formed; the connection answers the ping
            frame = await ws.receive(timeout=10)
            assert frame.type is aiohttp.WSMsgType.TEXT, frame
            reply = json.loads(frame.data)
            if reply["type"] == "error":
                assert reply["code"] in KNOWN_ERRORS and reply["code"] != "internal_error"
                assert isinstance(reply["message"], str) and reply["message"]
            elif reply == {"type": "pong", "ts": marker}:
                break
        await self.check_healthy_room(marker)

    async def errors_for(self, frames: list[str]) -> list[dict[str, Any]]:
        return await self.replies_for(frames, "error")

    async def replies_for(self, frames: list[str], kind: str) -> list[dict[str, Any]]:
        """Send each frame on a fresh connection; the first reply of ``kind`` to each."""
        out = []
        for frame in frames:
            async with self.session.ws_connect(self.server.url, max_msg_size=0) as ws:
                await ws.send_str('{"type":"hello","versions":[2]}')
                assert json.loads((await ws.receive(timeout=5)).data)["type"] == "welcome"
                await ws.send_str(frame)
                while True:
                    reply = json.loads((await ws.receive(timeout=10)).data)
                    if reply["type"] == kind:
                        out.append(reply)
                        break
        return out

    async def check_healthy_room(self, marker: float) -> None:
        sdp = f"v=0 round {marker}"
        await self.sender.send_offer(self.receiver.peer_id or "", sdp)
        got = await self.receiver.next_event(5)
        assert got == p.RelayedOffer(from_=self.sender.peer_id or "", sdp=sdp)
        await self.receiver.send_answer(self.sender.peer_id or "", sdp)
        got = await self.sender.next_event(5)
        assert got == p.RelayedAnswer(from_=self.receiver.peer_id or "", sdp=sdp)

    async def stop(self) -> None:
        await self.session.close()
        await self.receiver.close()
        await self.sender.close()
        await self.server.stop()


@pytest.fixture(scope="module")
def live() -> Iterator[LiveService]:
    service = LiveService()
    service.trap = LogTrap()
    logging.getLogger().addHandler(service.trap)
    service.run(service.start())
    yield service
    logging.getLogger().removeHandler(service.trap)
    service.run(service.stop())
    service.loop.call_soon_threadsafe(service.loop.stop)
    service.thread.join(5)


@pytest.mark.timeout(300)
@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(batch=st.lists(frames, min_size=1, max_size=6))
def test_hostile_frames_never_break_the_service(live, batch):
    live.run(live.throw(batch))
    assert not any(t.done() for t in live.server._tasks)  # background work still alive
    assert not live.trap.bad, [r.getMessage() for r in live.trap.bad]  # no traceback logged


def test_deep_nesting_is_a_bad_message_without_a_traceback(live):
    frames = ["[" * 60000, '{"type":"join","code":' + "[" * 30000 + "]" * 30000 + "}",
              '{"type":"signal","to":"x","body":' + '{"a":' * 9000 + "0" + "}" * 9000 + "}"]
    errors = live.run(live.errors_for(frames))
    assert [e["code"] for e in errors] == ["bad_message"] * 3
    assert all("nested" in e["message"] for e in errors)
    assert not live.trap.bad, [r.getMessage() for r in live.trap.bad]


def test_a_token_with_a_non_ascii_mac_is_just_not_a_token(live):
    frame = json.dumps({"type": "register", "token": "t1.MTIzNDU2.bm9uY2U.é" + "x" * 20})
    (reply,) = live.run(live.replies_for([frame], "registered"))
    assert reply["type"] == "registered"  # a new code instead of internal_error
    assert not live.trap.bad, [r.getMessage() for r in live.trap.bad]


@settings(max_examples=300, deadline=None)
@given(value=json_values)
def test_nesting_depth_agrees_with_the_structure(value):
    def depth(v: Any) -> int:
        if isinstance(v, list):
            return 1 + max(map(depth, v), default=0)
        if isinstance(v, dict):
            return 1 + max(map(depth, v.values()), default=0)
        return 0

    assert p.nesting_depth(json.dumps(value)) == depth(value)
    assert p.nesting_depth("[" * 40 + "]" * 40) is None
    assert p.nesting_depth('["]]]]", {"a": "[[[\\""}]') == 2
