"""Steady relay latency across instances that share Redis, against local relays, in one run.

    python benchmarks/rooms_relay.py [--rate 500] [--seconds 15] [--pairs 200]
                                     [--serve-loop uvloop] [--profile DIR] [--memory]

Starts a private ``redis-server`` and two ``castapp serve --redis`` instances, registers
``--pairs`` receivers spread over both and joins one sender to each: half of the senders on
their receiver's instance (``local``: the relay never touches Redis), half on the other one
(``cross``: client → instance A → Redis script and PUBLISH → instance B's subscriber →
client). Then, for ``--seconds``, the pairs trickle ICE candidates at ``--rate`` messages a
second in all (after a one-second warm-up), round robin over the pairs, sender to receiver
and back in turn; each candidate carries its send time and the side that gets it notes the
latency. Local and cross messages interleave, so both see the same moment's load, and
``cross_over_local`` gives their ratios.

Also measured in the same seconds, so that the tail can be put down to a stage:

- ``redis_hop_ms``: a PUBLISH from this process to a subscription of its own at 100/s (the
  Redis part of a cross relay, with this process's own scheduling);
- ``client_cpu_cores``, ``client_loop_lag_ms`` and ``send_late_ms`` (how far behind its
  schedule the generator sent): a slow generator shows there, not as service latency;
- each instance's CPU and Redis's.

``--memory`` adds a run of one in-memory instance (no Redis at all) with the same pairs, right
after, as a second reference; ``--unix`` a run of the two instances reaching Redis through its
Unix socket instead of TCP (instances on Redis's own machine). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import secrets
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import rooms_wire as wire
from rooms import INSTANCE_ERRORS, _run_loop, cpu_s, pct, running_services

from castapp.signaling.redis_wire import RedisConnection


def _summary(values: list[float]) -> dict[str, float | int]:
    return {"n": len(values), "p50": pct(values, 50), "p95": pct(values, 95),
            "p99": pct(values, 99), "max": round(max(values), 3) if values else float("nan"),
            "over_10ms": sum(1 for v in values if v > 10)}


async def _redis_hop(url: str, stop: asyncio.Event, out: list[float]) -> None:
    """PUBLISH stamped messages at 100/s to a subscription of this process."""
    channel = f"bench-hop-{secrets.token_hex(4)}"

    def push(reply: Any) -> None:
        if isinstance(reply, list) and len(reply) == 3 and reply[0] == b"message":
            out.append((time.perf_counter() - float(reply[2])) * 1000)

    sub = RedisConnection(url, decode=False, timeout=None, on_push=push)
    pub = RedisConnection(url, decode=False)
    await sub.execute("SUBSCRIBE", channel)
    try:
        while not stop.is_set():
            await pub.execute("PUBLISH", channel, repr(time.perf_counter()))
            await asyncio.sleep(0.01)
    finally:
        await sub.aclose()
        await pub.aclose()


async def steady(args: argparse.Namespace, urls: list[str], pids: list[int],
                 redis_pids: list[int], redis_url: str | None) -> dict[str, object]:
    loop = asyncio.get_running_loop()
    lat: dict[str, list[float]] = {"local": [], "cross": []}

    async def open_client(url: str, make: Any) -> Any:
        host, port, path = wire.split_url(url)
        _, proto = await loop.create_connection(lambda: make(f"{host}:{port}", path), host, port)
        return proto

    # pair k: receiver on instance k % n; its sender on the same instance when k is even
    pairs: list[tuple[str, wire.SteadyReceiver, wire.SteadySender]] = []
    for k in range(args.pairs):
        kind = "local" if k % 2 == 0 or len(urls) == 1 else "cross"
        home = k % len(urls)
        r = await open_client(urls[home], lambda h, p, kind=kind: wire.SteadyReceiver(
            h, p, lat[kind]))
        code = await asyncio.wait_for(r.registered, 30)
        other = home if kind == "local" else (home + 1) % len(urls)
        s = await open_client(urls[other], lambda h, p, c=code, kind=kind: wire.SteadySender(
            h, p, c, lat[kind]))
        await asyncio.wait_for(s.joined, 30)
        await asyncio.wait_for(r.joined, 30)
        pairs.append((kind, r, s))

    lag_ms: list[float] = []
    late_ms: list[float] = []
    hop_ms: list[float] = []
    stop = asyncio.Event()

    async def loop_lag() -> None:
        while not stop.is_set():
            t = time.perf_counter()
            await asyncio.sleep(0.005)
            lag_ms.append((time.perf_counter() - t - 0.005) * 1000)

    async def send_all(seconds: float, record: bool) -> int:
        """Send at args.rate for ``seconds``; every wake-up sends what is due by then."""
        t0 = time.perf_counter()
        total = int(seconds * args.rate)
        j = 0
        while j < total:
            now = time.perf_counter()
            due_n = min(total, int((now - t0) * args.rate) + 1)
            while j < due_n:
                _kind, r, s = pairs[j % len(pairs)]
                if record:
                    late_ms.append(max(0.0, now - (t0 + j / args.rate)) * 1000)
                stamp = time.perf_counter()
                if (j // len(pairs)) % 2 == 0:  # to the receiver (its peer id: in joined)
                    s.send(wire.candidate(s.joined.result(), stamp))
                else:  # to the sender (its peer id: in the receiver's peer_joined)
                    r.send(wire.candidate(r.joined.result(), stamp))
                j += 1
            await asyncio.sleep(max(0.0, t0 + j / args.rate - time.perf_counter()))
        return total

    await send_all(1.0, False)  # warm-up
    await asyncio.sleep(0.2)
    for values in lat.values():
        values.clear()
    lagger = asyncio.create_task(loop_lag())
    hopper = (asyncio.create_task(_redis_hop(redis_url, stop, hop_ms))
              if redis_url else None)
    cpu0, redis0, own0 = cpu_s(pids), cpu_s(redis_pids), time.process_time()
    t1 = time.perf_counter()
    sent = await send_all(args.seconds, True)
    await asyncio.sleep(0.5)  # the last ones arrive
    took = time.perf_counter() - t1
    server_cpu = (cpu_s(pids) - cpu0) / took
    redis_cpu = (cpu_s(redis_pids) - redis0) / took
    own_cpu = (time.process_time() - own0) / took
    stop.set()
    lagger.cancel()
    if hopper is not None:
        await hopper
    for _, r, s in pairs:
        s.close()
        r.close()
    got = len(lat["local"]) + len(lat["cross"])
    out: dict[str, object] = {
        "rate_target": args.rate,
        "sent": sent,
        "received": got,
        "sent_per_s": round(sent / args.seconds, 1),
        "pairs": len(pairs),
        "instances": len(urls),
        "store": "redis" if redis_url else "memory",
        "relay_ms": {kind: _summary(values) for kind, values in lat.items() if values},
        "redis_hop_ms": _summary(hop_ms) if hop_ms else None,
        "send_late_ms": {"p50": pct(late_ms, 50), "p99": pct(late_ms, 99)},
        "client_cpu_cores": round(own_cpu, 3),
        "client_loop_lag_ms": {"p50": pct(lag_ms, 50), "p99": pct(lag_ms, 99),
                               "max": round(max(lag_ms), 3) if lag_ms else None},
        "server_cpu_cores": round(server_cpu, 3),
        "server_cpu_ms_per_message": round(server_cpu * took * 1000 / max(1, got), 4),
        "redis_cpu_cores": round(redis_cpu, 3) if redis_url else None,
    }
    relay = out["relay_ms"]
    if isinstance(relay, dict) and "cross" in relay and "local" in relay:
        out["cross_over_local"] = {
            q: round(relay["cross"][q] / relay["local"][q], 2) if relay["local"][q] else None
            for q in ("p50", "p99")}
    return out


def run(args: argparse.Namespace, redis: bool, instances: int,
        env: dict[str, str], unix: bool = False) -> dict[str, object]:
    with running_services(redis, instances, env, unix) as run_:
        result: dict[str, object] = _run_loop(steady(
            args, run_.urls, run_.pids, run_.redis_pids, run_.redis_url))
        result["instance_errors"] = sum(len(INSTANCE_ERRORS.get(pid, [])) for pid in run_.pids)
        return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=float, default=500.0, help="messages per second in all")
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--pairs", type=int, default=200)
    ap.add_argument("--serve-loop", choices=("asyncio", "uvloop"), default="uvloop")
    ap.add_argument("--profile", metavar="DIR",
                    help="run each instance under cProfile, its statistics in DIR")
    ap.add_argument("--memory", action="store_true",
                    help="also run one in-memory instance right after, as a reference")
    ap.add_argument("--unix", action="store_true",
                    help="also run the instances over Redis's Unix socket right after")
    args = ap.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    env = {"CASTAPP_SERVE_LOOP": args.serve_loop}
    if args.profile:
        os.makedirs(args.profile, exist_ok=True)
        env["CASTAPP_BENCH_PROFILE"] = os.path.abspath(args.profile)
    load = os.getloadavg()[0]
    result = run(args, True, 2, env)
    result["loadavg_1m_before"] = round(load, 2)
    if args.memory:
        env.pop("CASTAPP_BENCH_PROFILE", None)
        result["reference_memory_1"] = run(args, False, 1, env)
    if args.unix:
        env.pop("CASTAPP_BENCH_PROFILE", None)
        result["redis_unix_socket"] = run(args, True, 2, env, unix=True)
    result["loadavg_1m_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
