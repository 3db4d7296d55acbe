"""Losing an instance or Redis itself: clients move on, codes are kept, casts re-pair."""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
import time
from pathlib import Path

import aiohttp
import pytest
import redis
from events import next_of
from redis_server import RedisServer, free_port
from tcp_balancer import TcpBalancer

from castapp import protocol as p
from castapp.signaling.client import Reconnected


class EventLog:
    """Keeps every event of a client, so a test can look for one whenever it happened."""

    def __init__(self, client) -> None:
        self.events: list[object] = []
        self._changed = asyncio.Event()
        self._task = asyncio.create_task(self._collect(client))

    async def _collect(self, client) -> None:
        async for ev in client.events():
            self.events.append(ev)
            self._changed.set()

    def close(self) -> None:
        self._task.cancel()

    async def find(self, kind, where=lambda ev: True, timeout: float = 15.0):
        deadline = time.monotonic() + timeout
        while True:
            for ev in self.events:
                if isinstance(ev, kind) and where(ev):
                    return ev
            self._changed.clear()
            left = deadline - time.monotonic()
            assert left > 0, f"no {kind.__name__} among {self.events}"
            await asyncio.wait_for(self._changed.wait(), left)


class Instance:
    """``castapp serve --redis`` as its own process, its output kept for inspection."""

    def __init__(self, proc: asyncio.subprocess.Process, port: int) -> None:
        self.proc, self.port, self.lines = proc, port, list[str]()
        self._drain: asyncio.Task[None] | None = None

    @classmethod
    async def spawn(cls, redis_url: str, key: str, state: Path) -> Instance:
        port = free_port()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "castapp", "serve", "--port", str(port),
            "--state-dir", str(state), "--redis", redis_url, "--instance-ttl", "1",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "CASTAPP_ROOM_KEY": key},
        )
        inst = cls(proc, port)
        assert proc.stdout is not None
        while True:  # the banner says it listens
            line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
            assert line, "the instance exited before listening:\n" + "".join(inst.lines)
            inst.lines.append(line)
            if "room service on" in line:
                break
        inst._drain = asyncio.create_task(inst._read())
        return inst

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            self.lines.append(line.decode())

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.terminate()
            await asyncio.wait_for(self.proc.wait(), 10)
        if self._drain is not None:
            await self._drain


@pytest.mark.timeout(90)
async def test_killing_an_instance_moves_its_clients_and_casts_re_pair(
    redis_server: RedisServer, make_client, tmp_path
):
    key = secrets.token_hex(32)
    a = await Instance.spawn(redis_server.url, key, tmp_path / "a")
    b = await Instance.spawn(redis_server.url, key, tmp_path / "b")
    lb = TcpBalancer([a.port, b.port])
    await lb.start()
    shared = redis.Redis.from_url(redis_server.url, decode_responses=True)
    seen: dict[object, EventLog] = {}
    try:
        fast = {"backoff": (0.05, 0.5)}
        receiver = await make_client(lb.url, name="TV", **fast)
        sender_b = await make_client(lb.url, name="on B", **fast)
        sender_a = await make_client(lb.url, name="on A", **fast)
        assert lb.placed == [a.port, b.port, a.port]
        reg = await receiver.register()
        await sender_b.join(reg.code)
        await sender_a.join(reg.code)
        old_receiver, old_sender_a = receiver.peer_id, sender_a.peer_id
        seen.update({c: EventLog(c) for c in (receiver, sender_a, sender_b)})
        await sender_b.send_offer(old_receiver, "before")
        await seen[receiver].find(p.RelayedOffer, lambda ev: ev.sdp == "before")

        a.proc.kill()  # no goodbye: the process is gone mid-session
        await a.proc.wait()

        # the receiver comes back through B and keeps its code
        again = await seen[receiver].find(p.Registered)
        assert again.code == reg.code and receiver.peer_id != old_receiver
        assert lb.placed[3:4] == [b.port]
        # the sender on B is told its receiver left, then meets the new connection
        left = await seen[sender_b].find(p.PeerLeft, lambda ev: ev.peer_id == old_receiver)
        assert left.reason is p.LeaveReason.DISCONNECTED
        await seen[sender_b].find(p.PeerJoined, lambda ev: ev.peer.peer_id == receiver.peer_id)
        await sender_b.send_offer(receiver.peer_id, "after")
        got = await seen[receiver].find(p.RelayedOffer, lambda ev: ev.sdp == "after")
        assert got.from_ == sender_b.peer_id
        # the sender that was on A joins again through B and reaches the receiver
        await seen[sender_a].find(Reconnected)
        await seen[sender_a].find(p.Joined)
        assert sender_a.peer_id != old_sender_a
        await seen[receiver].find(p.PeerJoined, lambda ev: ev.peer.peer_id == sender_a.peer_id)
        await sender_a.send_offer(receiver.peer_id, "from A")
        got = await seen[receiver].find(p.RelayedOffer, lambda ev: ev.sdp == "from A")
        assert got.from_ == sender_a.peer_id
        # A's leftovers are taken over: only live senders remain in the room
        live = {sender_a.peer_id, sender_b.peer_id}
        deadline = time.monotonic() + 10
        while set(shared.hkeys(f"castapp:senders:{reg.code}")) != live:
            assert time.monotonic() < deadline, "the dead instance's sender stayed in the room"
            await asyncio.sleep(0.05)
        assert shared.scard("castapp:instances") == 1
    finally:
        for log in seen.values():
            log.close()
        shared.close()
        await lb.stop()
        for inst in (a, b):
            await inst.stop()
    out = "".join(a.lines + b.lines)
    assert reg.code not in out and reg.token not in out  # secrets never logged
    assert "taken over" in out or "stopped instance" in out


async def _health(session: aiohttp.ClientSession, port: int) -> int:
    async with session.get(f"http://127.0.0.1:{port}/healthz") as resp:
        body = await resp.json()
        assert body["status"] == ("ok" if resp.status == 200 else "unhealthy")
        return resp.status


async def _until_health(session: aiohttp.ClientSession, port: int, status: int) -> None:
    deadline = time.monotonic() + 15
    while await _health(session, port) != status:
        assert time.monotonic() < deadline, f"/healthz never answered {status}"
        await asyncio.sleep(0.05)


@pytest.mark.timeout(60)
async def test_redis_restart_makes_healthz_unhealthy_then_everything_recovers(
    redis_server: RedisServer, redis_instances, make_client
):
    a = await redis_instances(instance_ttl_s=0.6)
    b = await redis_instances(instance_ttl_s=0.6)
    receiver = await make_client(a.url, backoff=(0.05, 0.5))
    sender = await make_client(b.url, backoff=(0.05, 0.5))
    reg = await receiver.register()
    await sender.join(reg.code)
    async with aiohttp.ClientSession() as http:
        assert await _health(http, a.port) == 200
        redis_server.stop()
        await _until_health(http, a.port, 503)
        await _until_health(http, b.port, 503)
        redis_server.start()  # back, but empty: no persistence
        await _until_health(http, a.port, 200)
        await _until_health(http, b.port, 200)
    # the instances noticed Redis forgot them and sent their clients round again
    assert (await next_of(receiver, p.Registered, 15.0)).code == reg.code
    joined = await next_of(sender, p.Joined, 15.0)
    assert joined.receiver.peer_id == receiver.peer_id
    await sender.send_offer(receiver.peer_id, "after the outage")
    assert (await next_of(receiver, p.RelayedOffer, 15.0)).sdp == "after the outage"
    assert a.rooms.counters["store_resets"] == 1 and b.rooms.counters["store_resets"] == 1


async def _serve(*argv: str, tmp_path: Path) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "castapp", "serve", "--port", "0", "--state-dir", str(tmp_path),
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def test_serve_says_clearly_when_redis_cannot_be_used(tmp_path):
    url = f"redis://:sekrit@127.0.0.1:{free_port()}/0"
    code, out = await _serve("--redis", url, tmp_path=tmp_path)
    assert code == 1 and "cannot reach Redis" in out and "sekrit" not in out
    assert "Traceback" not in out
    code, out = await _serve("--redis", "http://127.0.0.1:6379", tmp_path=tmp_path)
    assert code == 2 and "redis://" in out
