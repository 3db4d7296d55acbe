"""CPU per Redis command: castapp's pipelined connection against redis-py's pooled client.

    python benchmarks/redis_store.py [--ops 3000]

Starts a private ``redis-server`` on a free loopback port and issues the room store's commands
(``HMGET`` as in ``get_peer``, the ``FORWARD`` script, ``PING``) one at a time and 16 at once,
through castapp's :class:`~castapp.signaling.redis_wire.RedisConnection` and, in the same run,
through redis-py's asyncio client over a blocking pool of 32 connections (what the store used
before). Prints one JSON object: CPU and wall microseconds per command for each, and the ratio
(redis-py / castapp). CPU time is the process's, so the figures hold up on a loaded machine
better than wall times do.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from rooms import start_redis

from castapp.signaling import redis_scripts as lua
from castapp.signaling.redis_wire import RedisConnection


async def per_op(fn: Callable[[], Awaitable[Any]], ops: int, conc: int) -> dict[str, float]:
    async def worker() -> None:
        for _ in range(ops // conc):
            await fn()

    await asyncio.gather(*(worker() for _ in range(conc)))  # warm up
    c0, t0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(conc)))
    return {"cpu_us": round((time.process_time() - c0) / ops * 1e6, 1),
            "wall_us": round((time.perf_counter() - t0) / ops * 1e6, 1)}


async def measure(url: str, ops: int) -> dict[str, Any]:
    import redis.asyncio as aioredis

    ours = RedisConnection(url)
    pool = aioredis.BlockingConnectionPool.from_url(url, max_connections=32, timeout=5.0,
                                                    decode_responses=True, socket_timeout=2.0)
    theirs = aioredis.Redis(connection_pool=pool)
    await ours.execute("HSET", "castapp:peer:p1", "role", "receiver", "name", "tv", "code",
                       "123456", "inst", "i1")
    our_fwd, their_fwd = ours.register_script(lua.FORWARD), theirs.register_script(lua.FORWARD)
    await ours.load_scripts()
    payload = b"x" * 300
    fields = ["role", "name", "code"]
    cases: dict[str, tuple[Callable[[], Awaitable[Any]], Callable[[], Awaitable[Any]]]] = {
        "hmget": (lambda: ours.hmget("castapp:peer:p1", fields),
                  lambda: theirs.hmget("castapp:peer:p1", fields)),
        "forward": (lambda: our_fwd(keys=["castapp:peer:p1"], args=["castapp:", "p1", payload]),
                    lambda: their_fwd(keys=["castapp:peer:p1"],
                                      args=["castapp:", "p1", payload])),
        "ping": (ours.ping, theirs.ping),
    }
    out: dict[str, Any] = {}
    for name, (mine, ref) in cases.items():
        for conc in (1, 16):
            a = await per_op(mine, ops, conc)
            b = await per_op(ref, ops, conc)
            out[f"{name}_x{conc}"] = {"castapp": a, "redis_py": b,
                                      "cpu_ratio": round(b["cpu_us"] / a["cpu_us"], 1)}
    await ours.aclose()
    await theirs.aclose(close_connection_pool=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=3000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_redis(tmp)
        try:
            result = asyncio.run(measure(url, args.ops))
        finally:
            proc.terminate()
            proc.wait(10)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
