"""Limits that hold: guessing from many addresses, concurrent guesses through Redis,
slowloris and idle sockets, and a connection flood that must not stop another address."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import socket
import time

import aiohttp
import pytest

from castapp import protocol as p
from castapp.signaling.client import PinRequiredError, SignalingClient
from castapp.signaling.limits import Scope, Verdict, guard_pin, prefix_of
from castapp.signaling.rooms import RoomConfig
from castapp.signaling.server import RoomServer, ServiceConfig
from castapp.signaling.store_redis import RedisStore
from castapp.signaling.tokens import TokenSigner


async def start(key: bytes, store=None, **kw: object) -> RoomServer:
    rooms = {k: v for k, v in kw.items() if k in RoomConfig.__dataclass_fields__}
    service = {k: v for k, v in kw.items() if k not in rooms}
    server = RoomServer(ServiceConfig(host="127.0.0.1", port=0, rooms=RoomConfig(**rooms),
                                      **service), TokenSigner(key), store)
    await server.start()
    return server


def wrong_codes(real: str, n: int) -> list[str]:
    out: list[str] = []
    while len(out) < n:
        code = f"{secrets.randbelow(10**6):06d}"
        if code != real:
            out.append(code)
    return out


async def guess(url: str, source: str, codes: list[str]) -> list[str]:
    """Join with each code from ``source`` (a loopback address); the answer to each."""
    conn = aiohttp.TCPConnector(local_addr=(source, 0), force_close=True)
    async with aiohttp.ClientSession(connector=conn) as http, http.ws_connect(url) as ws:
        await ws.send_str(json.dumps({"type": "hello", "versions": [p.PROTOCOL_VERSION]}))
        assert json.loads((await ws.receive(timeout=10)).data)["type"] == "welcome"
        answers = []
        for code in codes:
            await ws.send_str(json.dumps({"type": "join", "code": code}))
            reply = json.loads((await ws.receive(timeout=10)).data)
            answers.append(reply.get("code") or reply["type"])
        return answers


def test_prefixes():
    assert prefix_of("192.0.2.77") == "192.0.2.0/24"
    assert prefix_of("::ffff:192.0.2.77") == "192.0.2.0/24"
    assert prefix_of("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64"
    assert prefix_of("unknown") == "unknown"


async def test_guessing_from_1000_addresses_is_bounded_by_the_service_budget(room_key):
    budget = 40
    server = await start(room_key, join_failures=5, join_failures_prefix=5,
                         join_failures_service=budget, guard_window_s=3600.0)
    tv = SignalingClient(server.url, name="tv")
    laptop = SignalingClient(server.url, name="laptop")
    try:
        await tv.connect()
        reg = await tv.register()
        # 1,000 addresses, each in its own /24 of 127.0.0.0/8, two guesses each
        sources = [f"127.{1 + i // 200}.{i % 200}.1" for i in range(1000)]
        answers: list[str] = []
        sem = asyncio.Semaphore(40)

        async def one(src: str) -> None:
            async with sem:
                answers.extend(await guess(server.url, src, wrong_codes(reg.code, 2)))

        await asyncio.gather(*(one(s) for s in sources))
        assert len(answers) == 2000
        # only the budget was ever judged on its code; everything after reads the same
        assert answers.count("unknown_code") == budget
        assert answers.count("pin_required") == 2000 - budget
        assert "joined" not in answers
        # the TV was told its guard PIN; the real sender gets in with code and PIN
        guard = await tv.next_event(5)
        assert isinstance(guard, p.Guard) and guard.until_s > 3000
        await laptop.connect()
        with pytest.raises(PinRequiredError):
            await laptop.join(reg.code)
        with pytest.raises(PinRequiredError):  # a wrong PIN reads like a wrong code
            await laptop.join(reg.code, pin=str((int(guard.pin) + 1) % 10**6).zfill(6))
        joined = await laptop.join(reg.code, pin=guard.pin)
        assert joined.receiver.peer_id == tv.peer_id
        assert server.rooms.counters["guarded_joins"] == 2000 - budget + 3
    finally:
        await laptop.close()
        await tv.close()
        await server.stop()


async def test_a_right_code_does_not_use_up_the_budget(room_key):
    server = await start(room_key, join_failures=2, join_failures_service=3)
    try:
        tv = SignalingClient(server.url)
        await tv.connect()
        reg = await tv.register()
        for _ in range(5):  # successes are given back: no lock-out from joining often
            s = SignalingClient(server.url)
            await s.connect()
            await s.join(reg.code)
            await s.close()
        assert server.rooms.counters["guarded_joins"] == 0
        await tv.close()
    finally:
        await server.stop()


async def test_100_concurrent_wrong_joins_through_redis_count_exactly(redis_server, room_key):
    store = RedisStore(redis_server.url)
    await store.start(_nothing, _nothing0)
    try:  # the store alone: the check and the count are one step
        scopes = [Scope("join:a:x", 10, 60.0), Scope("join:all", 1000, 3600.0, hard=False)]
        got = await asyncio.gather(*(store.attempt(scopes, 1000.0) for _ in range(100)))
        assert sum(a.verdict is Verdict.OK for a in got) == 10
        assert sum(a.verdict is Verdict.REFUSED for a in got) == 90
    finally:
        await store.close()
    # two service instances sharing Redis, 100 wrong joins at once from one address
    servers = [await start(room_key, RedisStore(redis_server.url, prefix="t2:"),
                           join_failures=10, max_connections_per_address=0)
               for _ in range(2)]
    try:
        http = aiohttp.ClientSession()
        sockets = []
        for i in range(100):
            ws = await http.ws_connect(servers[i % 2].url)
            await ws.send_str(json.dumps({"type": "hello", "versions": [2]}))
            await ws.receive(timeout=10)
            sockets.append(ws)
        await asyncio.gather(*(ws.send_str('{"type":"join","code":"000001"}') for ws in sockets))
        replies = [json.loads((await ws.receive(timeout=10)).data)["code"] for ws in sockets]
        assert replies.count("unknown_code") == 10
        assert replies.count("rate_limited") == 90
        for ws in sockets:
            await ws.close()
        await http.close()
    finally:
        for server in servers:
            await server.stop()


async def _nothing(*_: object) -> None:
    return None


async def _nothing0() -> None:
    return None


async def _closed_within(sock: socket.socket, seconds: float) -> float:
    loop = asyncio.get_running_loop()
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        try:
            data = await asyncio.wait_for(loop.sock_recv(sock, 4096), 0.5)
        except TimeoutError:
            continue
        except ConnectionResetError:
            return time.monotonic() - t0
        if not data:
            return time.monotonic() - t0
    raise AssertionError("the connection stayed open")


async def test_slowloris_sockets_are_closed_on_time(room_key):
    server = await start(room_key, first_request_timeout_s=1.0)
    loop = asyncio.get_running_loop()
    socks = []
    try:
        for _ in range(50):
            s = socket.socket()
            s.setblocking(False)
            await loop.sock_connect(s, ("127.0.0.1", server.port))
            await loop.sock_sendall(s, b"GET /ws HTTP/1.1\r\nHost: x\r\n")  # never finished
            socks.append(s)
        took = await asyncio.gather(*(_closed_within(s, 5.0) for s in socks))
        assert max(took) < 3.0, took
        assert server.guard.timed_out == 50
    finally:
        for s in socks:
            s.close()
        await server.stop()


async def test_idle_and_ping_only_websockets_are_closed(room_key):
    server = await start(room_key, room_timeout_s=1.0, heartbeat_s=30.0)
    try:
        async with aiohttp.ClientSession() as http:
            idle = await http.ws_connect(server.url)
            await idle.send_str(json.dumps({"type": "hello", "versions": [2]}))
            pinger = await http.ws_connect(server.url)
            await pinger.send_str(json.dumps({"type": "hello", "versions": [2]}))
            tv = SignalingClient(server.url)
            await tv.connect()
            await tv.register()
            t0 = time.monotonic()

            async def ping_until_closed() -> None:
                while not pinger.closed:
                    await pinger.send_str('{"type":"ping"}')
                    with contextlib.suppress(TimeoutError):
                        await pinger.receive(timeout=0.2)

            async def drain(ws: aiohttp.ClientWebSocketResponse) -> None:
                while (await ws.receive(timeout=10)).type is aiohttp.WSMsgType.TEXT:
                    pass

            await asyncio.gather(drain(idle), ping_until_closed())
            assert time.monotonic() - t0 < 3.0 + 10.0 / 3
            assert tv.connected  # a receiver in its room stays
            await tv.close()
    finally:
        await server.stop()


async def test_a_flood_from_one_address_does_not_stop_another_from_casting(room_key):
    server = await start(room_key, max_connections_per_address=32)
    loop = asyncio.get_running_loop()
    socks = []
    try:
        for _ in range(400):  # far more than the cap, all from 127.0.0.2
            s = socket.socket()
            s.setblocking(False)
            s.bind(("127.0.0.2", 0))
            await loop.sock_connect(s, ("127.0.0.1", server.port))
            socks.append(s)
        await asyncio.sleep(0.5)
        assert server.guard.by_address["127.0.0.2"] <= 32
        assert server.guard.refused >= 400 - 32
        tv = SignalingClient(server.url, name="tv")
        laptop = SignalingClient(server.url, name="laptop")
        await tv.connect()
        reg = await tv.register()
        await laptop.connect()
        joined = await laptop.join(reg.code)
        assert joined.receiver.peer_id == tv.peer_id
        await laptop.send_offer(tv.peer_id or "", "v=0")
        assert isinstance(await tv.next_event(5), p.PeerJoined)
        assert isinstance(await tv.next_event(5), p.RelayedOffer)
        await tv.close()
        await laptop.close()
    finally:
        for s in socks:
            s.close()
        await server.stop()


def test_guard_pin_is_stable_and_keyed():
    a = guard_pin(b"k" * 32, "482913", "owner")
    assert a == guard_pin(b"k" * 32, "482913", "owner") and len(a) == 6 and a.isdigit()
    assert a != guard_pin(b"j" * 32, "482913", "owner")


def test_a_flood_past_the_file_limit_logs_once_per_interval(tmp_path):
    """A standalone service whose process may hold only 64 files, flooded by 600 connections
    from 30 addresses: accept errors are one line per interval, not one per failed accept."""
    import resource
    import subprocess
    import sys

    def low_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))

    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "castapp", "serve", "--port", "0", "--state-dir",
             str(tmp_path)], stdout=subprocess.PIPE, stderr=log_file, preexec_fn=low_limit)
    socks: list[socket.socket] = []
    try:
        line = proc.stdout.readline().decode()  # type: ignore[union-attr]
        port = int(line.rsplit(":", 1)[1].split("/")[0])
        time.sleep(0.3)
        before = log_path.stat().st_size
        t0 = time.monotonic()
        for i in range(600):
            s = socket.socket()
            s.bind((f"127.0.{20 + i % 30}.1", 0))
            s.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                s.connect(("127.0.0.1", port))
            socks.append(s)
        time.sleep(5.0)
        elapsed = time.monotonic() - t0
        flood_log = log_path.read_bytes()[before:]
    finally:
        for s in socks:
            s.close()
        proc.terminate()
        proc.wait(20)
    rate = len(flood_log) / elapsed
    print(f"log bytes per second under the flood: {rate:.0f}")
    assert b"cannot accept connections" in flood_log  # the limit was really reached
    assert b"Traceback" not in log_path.read_bytes()  # not even when stopping after it
    assert flood_log.count(b"cannot accept connections") == 1  # one per 10 s interval
    assert rate < 100, flood_log[-2000:]


def test_the_readme_figures_follow_from_the_enforced_limits():
    from pathlib import Path

    from castapp.signaling.limits import guessing_odds

    cfg = RoomConfig()
    limits = dict(code_space=cfg.codes.space,
                  service=cfg.join_failures_service, service_window=cfg.guard_window_s,
                  per_address=cfg.join_failures, per_prefix=cfg.join_failures_prefix,
                  address_window=cfg.join_window_s)
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    for receivers, networks, shown in ((1, 1, "0.024 %"), (1, 10**4, "0.038 %"),
                                       (100, 1, "2.4 %"), (100, 10**4, "3.8 %")):
        odds = 100 * guessing_odds(receivers=receivers, networks=networks, **limits)
        digits = len(shown.split(".")[1].split()[0])
        assert f"{odds:.{digits}f} %" == shown, (receivers, networks, odds)
        assert shown in readme


async def test_an_idle_client_is_let_go_quietly_and_connects_again_to_cast(room_key):
    server = await start(room_key, room_timeout_s=0.6)
    try:
        tv = SignalingClient(server.url)
        await tv.connect()
        reg = await tv.register()
        laptop = SignalingClient(server.url)
        await laptop.connect()
        for _ in range(40):
            if not laptop.connected:
                break
            await asyncio.sleep(0.1)
        assert not laptop.connected
        await asyncio.sleep(1.0)
        assert not laptop.connected  # it did not reconnect just to be closed again
        await laptop.connect()
        assert (await laptop.join(reg.code)).receiver.peer_id == tv.peer_id
        await laptop.close()
        await tv.close()
    finally:
        await server.stop()
