"""The pipelined Redis connection against a real redis-server: login, order, scripts, loss."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

import pytest
from redis_server import RedisServer

from castapp.signaling.redis_wire import (
    ConnectionLostError,
    Endpoint,
    RedisConnection,
    ReplyError,
    Subscriber,
)


def test_endpoint_reads_every_url_form() -> None:
    ep = Endpoint.from_url("redis://:s%40cret@db.example:6380/3")
    assert (ep.host, ep.port, ep.password, ep.username, ep.db, ep.tls) == (
        "db.example", 6380, "s@cret", None, 3, False)
    assert ep.hello() == [("AUTH", "s@cret"), ("SELECT", 3)]
    ep = Endpoint.from_url("rediss://app:pw@cache/0")
    assert ep.tls and ep.hello() == [("AUTH", "app", "pw")]
    ep = Endpoint.from_url("unix:///run/redis/redis.sock?db=2")
    assert (ep.path, ep.db) == ("/run/redis/redis.sock", 2)
    assert Endpoint.from_url("redis://127.0.0.1").hello() == []
    with pytest.raises(ValueError, match="redis://"):
        Endpoint.from_url("http://127.0.0.1:6379")


async def test_concurrent_commands_get_their_own_replies(redis_server: RedisServer) -> None:
    conn = RedisConnection(redis_server.url)
    try:
        keys = [f"k{i}" for i in range(500)]
        await asyncio.gather(*(conn.execute("SET", k, k.upper()) for k in keys))
        got = await asyncio.gather(*(conn.execute("GET", k) for k in keys))
        assert got == [k.upper() for k in keys]
        assert conn.connects == 1  # all of it over one connection
        with pytest.raises(ReplyError, match="WRONGTYPE"):
            await conn.execute("HGET", "k1", "x")
        assert await conn.ping()  # an error reply leaves the connection usable
        assert await conn.hgetall("none") == {}
    finally:
        await conn.aclose()


async def test_scripts_load_once_and_survive_a_flushed_cache(redis_server: RedisServer) -> None:
    conn = RedisConnection(redis_server.url)
    try:
        script = conn.register_script("return {KEYS[1], ARGV[1]}")
        await conn.load_scripts()
        assert await conn.execute("SCRIPT", "EXISTS", script.sha) == [1]
        assert await script(keys=["a"], args=[b"\x00bin"]) == ["a", "\x00bin"]
        await conn.execute("SCRIPT", "FLUSH")
        assert await script(keys=["b"], args=[2]) == ["b", "2"]  # falls back to EVAL
    finally:
        await conn.aclose()


async def test_password_and_database_are_used(tmp_path: Path) -> None:
    server = RedisServer(tmp_path)
    server.start()
    try:
        subprocess.run(["redis-cli", "-p", str(server.port), "CONFIG", "SET", "requirepass",
                        "pw"], check=True, capture_output=True)
        bad = RedisConnection(f"redis://:wrong@127.0.0.1:{server.port}/0")
        with pytest.raises(ConnectionLostError, match="refused the login"):
            await bad.ping()
        await bad.aclose()
        conn = RedisConnection(f"redis://:pw@127.0.0.1:{server.port}/5")
        await conn.execute("SET", "where", "five")
        other = RedisConnection(f"redis://:pw@127.0.0.1:{server.port}/0")
        assert await other.execute("GET", "where") is None
        await other.execute("SELECT", 5)
        assert await other.execute("GET", "where") == "five"
        await conn.aclose()
        await other.aclose()
    finally:
        server.stop()


async def test_a_lost_server_fails_fast_and_the_next_command_reconnects(
    redis_server: RedisServer,
) -> None:
    conn = RedisConnection(redis_server.url)
    try:
        assert await conn.ping()
        redis_server.restart()
        with pytest.raises(ConnectionLostError):
            for _ in range(50):  # the loss is seen as soon as the old connection closes
                await conn.ping()
                await asyncio.sleep(0.02)
        assert await conn.ping()
        assert conn.connects == 2
    finally:
        await conn.aclose()


async def test_a_server_that_stops_answering_times_out(redis_server: RedisServer) -> None:
    conn = RedisConnection(redis_server.url, timeout=0.3)
    try:
        assert await conn.ping()
        assert redis_server.proc is not None
        redis_server.proc.send_signal(19)  # SIGSTOP: the socket stays open, no reply comes
        t0 = time.monotonic()
        with pytest.raises(TimeoutError):
            await conn.ping()
        assert time.monotonic() - t0 < 1.5
    finally:
        if redis_server.proc is not None:
            redis_server.proc.send_signal(18)  # SIGCONT
        await conn.aclose()


async def test_nothing_listens_gives_a_connection_error() -> None:
    from redis_server import free_port

    conn = RedisConnection(f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(OSError):
        await conn.ping()
    await conn.aclose()


async def test_subscriber_gets_messages_in_order_and_sees_the_loss(
    redis_server: RedisServer,
) -> None:
    sub = Subscriber(redis_server.url, "to:me")
    pub = RedisConnection(redis_server.url)
    try:
        await sub.subscribe()
        for i in range(200):
            pub.send(await pub.connection(), "PUBLISH", "to:me", b"m%d\x00" % i)
        got = [await asyncio.wait_for(sub.next(), 5) for _ in range(200)]
        assert got == [b"m%d\x00" % i for i in range(200)]
        redis_server.restart()
        with pytest.raises(ConnectionLostError):
            await asyncio.wait_for(sub.next(), 5)
    finally:
        await sub.aclose()
        await pub.aclose()
