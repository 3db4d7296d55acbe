"""Room-service load benchmark.

Starts ``castapp serve`` as its own process on a free loopback port, connects N idle
receivers, then pairs M senders with them: each sender connects, joins by code, sends an offer
that the receiver answers. Prints one JSON object:

    receivers, pairs, pairs_per_s, join_ms {p50,p99}, relay_ms {p50,p99}, rss_mb, ...

``--redis`` runs a private ``redis-server`` and ``--instances K`` service processes sharing it;
receivers are spread over the instances in turn and every sender goes to a different instance
than its receiver (the worst case: all negotiation crosses Redis). The JSON then also has
``instances``, ``store`` and ``redis_cpu_cores``; RSS and CPU are summed over the instances.

Senders connect from 16 loopback networks (127.1.k.1), since the service counts join attempts
per /24 while they are in flight. A pairing that fails is counted in ``failed_pairs`` (with
the reasons in ``failures``) instead of stopping the run. ``gc`` sums the instances'
garbage collections during the pairings, by generation, from their ``/metrics``.

``--rate R`` offers the pairings at a fixed R per second (latency at a given load): pairing i
starts at i/R seconds whether or not earlier ones have finished. ``offered_per_s`` is the rate
the generator managed to start them at, ``start_late_ms`` how far behind its schedule they
started, ``pairs_per_s`` the rate they completed at. Without ``--rate`` they run as fast as
``--concurrency`` allows (throughput).

The clients are the lean ones of ``rooms_wire.py`` (``--client aiohttp``: aiohttp's, as before),
on uvloop when it is installed. ``client_cpu_cores`` and ``client_loop_lag_ms`` (how late the
generator's own loop wakes up) show whether the generator itself is what is saturated; relay
latency includes its delays. ``--compare`` runs one in-memory instance right after, as the
reference, and adds ratios. Run ``--help`` for the options.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import resource
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import rooms_wire as wire

SENDER_NETWORKS = 16
HELLO = '{"type":"hello","versions":[2]}'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))], 3)


def rss_mb(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) / 1024
    return round(total, 1)


def cpu_s(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


_GC_LINE = re.compile(
    r'^castapp_gc_(?:pause_seconds_(sum|count|max)|(collected)_objects_total)'
    r'\{generation="(\d)"\} (\S+)$', re.M)


async def gc_pauses(session: aiohttp.ClientSession,
                    urls: list[str]) -> list[dict[tuple[str, int], float]]:
    """Each instance's garbage-collection figures from its /metrics (empty if it has none)."""
    out = []
    for url in urls:
        metrics = url.replace("ws://", "http://").rsplit("/", 1)[0] + "/metrics"
        try:
            async with session.get(metrics) as resp:
                text = await resp.text()
        except aiohttp.ClientError:
            text = ""
        out.append({(m[1] or m[2], int(m[3])): float(m[4]) for m in _GC_LINE.finditer(text)})
    return out


def gc_during(before: list[dict[tuple[str, int], float]],
              after: list[dict[tuple[str, int], float]]) -> dict[str, object] | None:
    """Collections per generation during the pairings, summed over the instances, and the
    longest full (generation 2) pause an instance has had since it started."""
    if not any(after):
        return None
    out: dict[str, object] = {}
    for gen in range(3):
        n = sum(a.get(("count", gen), 0) - b.get(("count", gen), 0)
                for a, b in zip(after, before, strict=True))
        s = sum(a.get(("sum", gen), 0) - b.get(("sum", gen), 0)
                for a, b in zip(after, before, strict=True))
        freed = sum(a.get(("collected", gen), 0) - b.get(("collected", gen), 0)
                    for a, b in zip(after, before, strict=True))
        out[f"gen{gen}"] = {"collections": int(n),
                            "mean_ms": round(s / n * 1000, 2) if n else None,
                            # objects in reference cycles: freed only by a collection
                            "collected_objects": int(freed)}
    out["gen2_max_ms"] = round(max(a.get(("max", 2), 0.0) for a in after) * 1000, 1)
    return out


class Receiver:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse, code: str) -> None:
        self.ws, self.code = ws, code
        self.task: asyncio.Task[None] | None = None
        self.offer_lat: list[float] = []

    async def serve(self) -> None:
        """Answer every offer; record how long it took to arrive."""
        async for frame in self.ws:
            msg = json.loads(frame.data)
            if msg["type"] == "offer":
                sent = float(msg["sdp"])
                self.offer_lat.append((time.perf_counter() - sent) * 1000)
                reply = {"type": "answer", "to": msg["from"], "sdp": repr(time.perf_counter())}
                await self.ws.send_str(json.dumps(reply))


async def connect(session: aiohttp.ClientSession, url: str) -> aiohttp.ClientWebSocketResponse:
    ws = await session.ws_connect(url, autoping=True)
    await ws.send_str(HELLO)
    await ws.receive_json(timeout=30)
    return ws


async def register(session: aiohttp.ClientSession, url: str) -> Receiver:
    ws = await connect(session, url)
    await ws.send_str('{"type":"register","name":"bench"}')
    reg = await ws.receive_json(timeout=30)
    assert reg["type"] == "registered", reg
    return Receiver(ws, reg["code"])


class PairingFailedError(Exception):
    """The service refused a join or the answer did not come (counted, not fatal: on a busy
    machine a receiver can miss its heartbeat and lose its code)."""


async def pair(session: aiohttp.ClientSession, url: str, receiver: Receiver,
               join_ms: list[float], answer_ms: list[float]) -> None:
    ws = await connect(session, url)
    try:
        t0 = time.perf_counter()
        await ws.send_str(json.dumps({"type": "join", "code": receiver.code, "name": "s"}))
        joined = await ws.receive_json(timeout=30)
        join_ms.append((time.perf_counter() - t0) * 1000)
        if joined["type"] != "joined":
            raise PairingFailedError(joined.get("code", joined["type"]))
        to = joined["receiver"]["peer_id"]
        await ws.send_str(json.dumps({"type": "offer", "to": to,
                                      "sdp": repr(time.perf_counter())}))
        answer = await ws.receive_json(timeout=30)
        if answer["type"] != "answer":
            raise PairingFailedError(answer.get("code", answer["type"]))
        answer_ms.append((time.perf_counter() - float(answer["sdp"])) * 1000)
        await ws.send_str('{"type":"leave"}')
    finally:
        await ws.close()


async def keepalive(receivers: list[Receiver]) -> None:
    while True:
        await asyncio.sleep(10)
        for r in receivers:
            if not r.ws.closed:
                await r.ws.send_str('{"type":"ping"}')


async def bench(args: argparse.Namespace, urls: list[str], pids: list[int],
                redis_pids: list[int]) -> dict[str, object]:
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    # Senders come from SENDER_NETWORKS loopback /24s (127.1.k.1), as senders on many networks
    # would: the service counts join attempts per /24 while they are in flight, and more than
    # 30 at once from one network are refused (see castapp/signaling/limits.py).
    senders = [aiohttp.ClientSession(connector=aiohttp.TCPConnector(
        limit=0, force_close=True, local_addr=(f"127.1.{k}.1", 0)))
        for k in range(SENDER_NETWORKS)] if not getattr(args, "url", None) else []
    async with aiohttp.ClientSession(connector=connector) as session, \
            contextlib.AsyncExitStack() as stack:
        for s in senders:
            await stack.enter_async_context(s)

        def sender_session(i: int) -> aiohttp.ClientSession:
            return senders[i % len(senders)] if senders else session

        rss_before = rss_mb(pids)
        t0 = time.perf_counter()
        receivers: list[Receiver] = []
        home: dict[str, int] = {}  # code -> index of the receiver's instance
        sem = asyncio.Semaphore(args.concurrency)

        async def reg_one(i: int) -> None:
            async with sem:
                r = await register(session, urls[i % len(urls)])
                home[r.code] = i % len(urls)
                receivers.append(r)
                # read from the start: an unread socket misses the service's heartbeat pings
                # and is closed while the others are still registering on a busy machine
                r.task = asyncio.create_task(r.serve())

        def sender_url(r: Receiver) -> str:
            return urls[(home[r.code] + 1) % len(urls)]

        await asyncio.gather(*(reg_one(i) for i in range(args.receivers)))
        register_s = time.perf_counter() - t0
        pinger = asyncio.create_task(keepalive(receivers))
        rss_idle = rss_mb(pids)

        join_ms: list[float] = []
        answer_ms: list[float] = []
        gc0 = await gc_pauses(session, urls)
        cpu0, redis_cpu0, own0 = cpu_s(pids), cpu_s(redis_pids), time.process_time()
        t1 = time.perf_counter()
        if args.rate:
            tasks = []
            for i in range(args.pairs):
                delay = t1 + i / args.rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                r = receivers[i % len(receivers)]
                tasks.append(asyncio.create_task(
                    pair(sender_session(i), sender_url(r), r, join_ms, answer_ms)))
            failed = [x for x in await asyncio.gather(*tasks, return_exceptions=True) if x]
        else:
            async def pair_one(i: int) -> None:
                async with sem:
                    r = receivers[i % len(receivers)]
                    await pair(sender_session(i), sender_url(r), r, join_ms, answer_ms)

            failed = [x for x in await asyncio.gather(
                *(pair_one(i) for i in range(args.pairs)), return_exceptions=True) if x]
        pair_s = time.perf_counter() - t1
        own_cpu = time.process_time() - own0
        server_cpu = (cpu_s(pids) - cpu0) / pair_s if pair_s else 0.0
        redis_cpu = (cpu_s(redis_pids) - redis_cpu0) / pair_s if pair_s else 0.0
        rss_end = rss_mb(pids)
        gc1 = await gc_pauses(session, urls)
        pinger.cancel()
        offer_ms = [v for r in receivers for v in r.offer_lat]
        relay = offer_ms + answer_ms
        for r in receivers:
            await r.ws.close()
        return {
            "receivers": len(receivers),
            "pairs": len(answer_ms),
            "failed_pairs": len(failed),
            "failures": sorted({str(x) or type(x).__name__ for x in failed})[:5],
            "pairs_per_s": round(len(answer_ms) / pair_s, 1) if pair_s else None,
            "rate_target": args.rate or None,
            "join_ms": {"p50": pct(join_ms, 50), "p95": pct(join_ms, 95),
                        "p99": pct(join_ms, 99)},
            "relay_ms": {"p50": pct(relay, 50), "p95": pct(relay, 95), "p99": pct(relay, 99)},
            "relay_over_50ms": sum(1 for v in relay if v > 50),
            "relay_samples": len(relay),
            "register_per_s": round(len(receivers) / register_s, 1),
            "rss_mb": rss_end,
            "rss_mb_start": rss_before,
            "rss_kb_per_idle_receiver": round(
                (rss_idle - rss_before) * 1024 / max(1, len(receivers)), 2),
            "server_cpu_cores": round(server_cpu, 2),
            # service CPU time per pairing: what the store costs, whatever else loads the machine
            "server_cpu_ms_per_pairing": round(server_cpu * pair_s * 1000 / len(join_ms), 3)
            if join_ms else None,
            "median_join_ms": round(statistics.median(join_ms), 3) if join_ms else None,
            "client": "aiohttp",
            "client_cpu_cores": round(own_cpu / pair_s, 2) if pair_s else None,
            "client_cpu_ms_per_pairing": round(own_cpu * 1000 / len(join_ms), 3)
            if join_ms else None,
            "instances": len(urls),
            "store": "redis" if redis_pids else "memory",
            "redis_cpu_cores": round(redis_cpu, 2) if redis_pids else None,
            "gc": gc_during(gc0, gc1),
        }


async def bench_raw(args: argparse.Namespace, urls: list[str], pids: list[int],
                    redis_pids: list[int]) -> dict[str, object]:
    """The same pairings with the lean clients of rooms_wire (the default): see there."""
    loop = asyncio.get_running_loop()
    lag_ms: list[float] = []

    async def loop_lag() -> None:  # how late this process's own loop runs (its saturation)
        while True:
            t = time.perf_counter()
            await asyncio.sleep(0.005)
            lag_ms.append((time.perf_counter() - t - 0.005) * 1000)

    async def open_client(url: str, make: Callable[[str, str], wire.Client],
                          local: tuple[str, int] | None = None) -> wire.Client:
        host, port, path = wire.split_url(url)
        _, proto = await loop.create_connection(lambda: make(f"{host}:{port}", path), host, port,
                                                local_addr=local)
        return proto

    rss_before = rss_mb(pids)
    t0 = time.perf_counter()
    home: dict[str, int] = {}
    receivers: list[wire.Receiver] = []
    sem = asyncio.Semaphore(args.concurrency)

    async def reg_one(i: int) -> None:
        async with sem:
            r = await asyncio.wait_for(open_client(urls[i % len(urls)], wire.Receiver), 30)
            assert isinstance(r, wire.Receiver)
            code = await asyncio.wait_for(r.registered, 30)
            home[code] = i % len(urls)
            receivers.append(r)

    await asyncio.gather(*(reg_one(i) for i in range(args.receivers)))
    register_s = time.perf_counter() - t0

    async def keepalive_raw() -> None:
        while True:
            await asyncio.sleep(10)
            for r in receivers:
                r.send('{"type":"ping"}')

    pinger = asyncio.create_task(keepalive_raw())
    rss_idle = rss_mb(pids)
    join_ms: list[float] = []
    answer_ms: list[float] = []
    late_ms: list[float] = []  # how far behind its schedule each pairing started
    failed: list[BaseException] = []
    pending = 0
    all_done = loop.create_future()

    def finished(s: wire.Sender, exc: BaseException | None) -> None:
        nonlocal pending
        if exc is None and s.answer_ms is not None and s.join_ms is not None:
            join_ms.append(s.join_ms)
            answer_ms.append(s.answer_ms)
        else:
            failed.append(exc or ConnectionError("no answer"))
        pending -= 1
        if pending == 0 and started_all and not all_done.done():
            all_done.set_result(None)

    async with aiohttp.ClientSession() as session:
        gc0 = await gc_pauses(session, urls)
        cpu0, redis_cpu0, own0 = cpu_s(pids), cpu_s(redis_pids), time.process_time()
        lagger = asyncio.create_task(loop_lag())
        started_all = False
        free = asyncio.Semaphore(args.concurrency) if not args.rate else None
        t1 = time.perf_counter()
        for i in range(args.pairs):
            if args.rate:
                due = t1 + i / args.rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                late_ms.append(max(0.0, time.perf_counter() - due) * 1000)
            else:
                assert free is not None
                await free.acquire()
            r = receivers[i % len(receivers)]
            url = urls[(home[r.code] + 1) % len(urls)]
            pending += 1

            def done(s: wire.Sender, exc: BaseException | None) -> None:
                if free is not None:
                    free.release()
                finished(s, exc)

            local = (f"127.1.{i % SENDER_NETWORKS}.1", 0)
            try:
                await open_client(url, lambda h, path, c=r.code: wire.Sender(h, path, c, done),
                                  local)
            except OSError as exc:
                pending -= 1
                failed.append(exc)
                if free is not None:
                    free.release()
        offered_s = time.perf_counter() - t1
        started_all = True
        if pending:
            await asyncio.wait_for(all_done, 120)
        pair_s = time.perf_counter() - t1
        own_cpu = (time.process_time() - own0) / pair_s
        server_cpu = (cpu_s(pids) - cpu0) / pair_s
        redis_cpu = (cpu_s(redis_pids) - redis_cpu0) / pair_s
        lagger.cancel()
        rss_end = rss_mb(pids)
        gc1 = await gc_pauses(session, urls)
    pinger.cancel()
    relay = [v for r in receivers for v in r.offer_lat] + answer_ms
    for r in receivers:
        r.close()
    return {
        "client": "raw",
        "receivers": len(receivers),
        "pairs": len(answer_ms),
        "failed_pairs": len(failed),
        "failures": sorted({str(x) or type(x).__name__ for x in failed})[:5],
        "rate_target": args.rate or None,
        # pairings started per second (what the generator managed to offer) and completed
        "offered_per_s": round(args.pairs / offered_s, 1) if offered_s else None,
        "pairs_per_s": round(len(answer_ms) / pair_s, 1),
        "start_late_ms": {"p50": pct(late_ms, 50), "p99": pct(late_ms, 99)} if late_ms else None,
        "join_ms": {"p50": pct(join_ms, 50), "p95": pct(join_ms, 95), "p99": pct(join_ms, 99)},
        "relay_ms": {"p50": pct(relay, 50), "p95": pct(relay, 95), "p99": pct(relay, 99)},
        "relay_over_10ms": sum(1 for v in relay if v > 10),
        "relay_samples": len(relay),
        "client_cpu_cores": round(own_cpu, 2),
        # the generator's CPU time per pairing: what it costs, whatever else loads the machine
        "client_cpu_ms_per_pairing": round(own_cpu * pair_s * 1000 / len(join_ms), 3)
        if join_ms else None,
        "client_loop_lag_ms": {"p50": pct(lag_ms, 50), "p99": pct(lag_ms, 99)},
        "register_per_s": round(len(receivers) / register_s, 1),
        "rss_mb": rss_end,
        "rss_mb_start": rss_before,
        "rss_kb_per_idle_receiver": round(
            (rss_idle - rss_before) * 1024 / max(1, len(receivers)), 2),
        "server_cpu_cores": round(server_cpu, 2),
        "server_cpu_ms_per_pairing": round(server_cpu * pair_s * 1000 / len(join_ms), 3)
        if join_ms else None,
        "instances": len(urls),
        "store": "redis" if redis_pids else "memory",
        "redis_cpu_cores": round(redis_cpu, 2) if redis_pids else None,
        "gc": gc_during(gc0, gc1),
    }


def start_redis(workdir: str, unix: bool = False) -> tuple[subprocess.Popen[bytes], str]:
    """A private redis-server on a free loopback port, without persistence (``unix``: the URL
    given is its Unix socket in ``workdir``)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is missing: run scripts/setup.sh as root")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", workdir, "--protected-mode", "yes", "--daemonize", "no",
         "--unixsocket", os.path.join(workdir, "redis.sock"), "--unixsocketperm", "700"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5) as s:
            s.sendall(b"PING\r\n")
            if s.recv(16).startswith(b"+PONG"):
                if unix:
                    return proc, f"unix://{os.path.join(workdir, 'redis.sock')}"
                return proc, f"redis://127.0.0.1:{port}/0"
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("redis-server did not start")
        time.sleep(0.02)


def start_instance(state: str, redis_url: str | None, key: str,
                   env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    profile = (env or {}).get("CASTAPP_BENCH_PROFILE")  # a folder: each instance's cProfile
    run_as = (["-m", "cProfile", "-o", f"{profile}/instance-{port}.prof"] if profile else [])
    argv = [sys.executable, *run_as, "-m", "castapp", "--log-level", "WARNING", "serve",
            "--port", str(port), "--state-dir", state, "--registrations", "1000000",
            "--failed-joins", "1000000", "--message-rate", "1000",
            "--failed-joins-service", "1000000",
            "--max-connections-per-address", "0"]  # every client is on 127.0.0.1
    if redis_url:
        argv += ["--redis", redis_url]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, **(env or {}), "CASTAPP_ROOM_KEY": key})
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "room service on" not in line:
        proc.kill()
        raise SystemExit(f"the service did not start: {line}{proc.stdout.read()}")
    # keep reading what it logs: a full pipe would stop the instance at its next warning
    threading.Thread(target=_drain, args=(proc,), daemon=True).start()
    return proc, f"ws://127.0.0.1:{port}/ws"


#: Error lines each instance logged during a run, by process id.
INSTANCE_ERRORS: dict[int, list[str]] = {}


def _drain(proc: subprocess.Popen[str]) -> None:
    assert proc.stdout is not None
    errors = INSTANCE_ERRORS.setdefault(proc.pid, [])
    for line in proc.stdout:
        if " ERROR " in line:
            errors.append(line.split(" ERROR ", 1)[1].strip())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--receivers", type=int, default=2000)
    ap.add_argument("--pairs", type=int, default=2000)
    ap.add_argument("--rate", type=float, default=0.0, help="pairings per second (0 = max)")
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--url", help="benchmark an already running service instead")
    ap.add_argument("--redis", action="store_true", help="share rooms through a private Redis")
    ap.add_argument("--instances", type=int, default=1, help="service processes (needs --redis)")
    ap.add_argument("--client", choices=("raw", "aiohttp"), default="raw",
                    help="the lean clients of rooms_wire.py (default) or aiohttp's")
    ap.add_argument("--serve-loop", choices=("asyncio", "uvloop"), default="asyncio",
                    help="the instances' event loop (uvloop: CASTAPP_SERVE_LOOP=uvloop)")
    ap.add_argument("--profile", metavar="DIR",
                    help="run each instance under cProfile, its statistics in DIR")
    ap.add_argument("--compare", action="store_true",
                    help="also run one in-memory instance right after, as the reference")
    args = ap.parse_args()
    if args.instances < 1 or (args.instances > 1 and not args.redis):
        ap.error("--instances above 1 needs --redis")
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.url:
        print(json.dumps(asyncio.run(bench(args, [args.url], [os.getpid()], []))))
        return
    env = {"CASTAPP_SERVE_LOOP": args.serve_loop}
    if args.profile:
        os.makedirs(args.profile, exist_ok=True)
        env["CASTAPP_BENCH_PROFILE"] = os.path.abspath(args.profile)
    result = run(args, args.redis, args.instances, env)
    if args.compare:
        ref = run(args, False, 1, env)
        result["reference_memory_1"] = ref
        result["relay_p99_over_memory"] = _ratio(result, ref, "relay_ms", "p99")
        result["pairs_per_s_over_memory"] = _ratio(result, ref, "pairs_per_s")
    print(json.dumps(result))


def _ratio(a: dict[str, object], b: dict[str, object], *path: str) -> float | None:
    x: object = a
    y: object = b
    for key in path:
        x = x.get(key) if isinstance(x, dict) else None
        y = y.get(key) if isinstance(y, dict) else None
    if isinstance(x, int | float) and isinstance(y, int | float) and y:
        return round(x / y, 3)
    return None


def _run_loop(coro: Any) -> Any:
    """Run on uvloop when it is installed (a cheaper generator), else on asyncio's loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


@dataclass
class Services:
    """Running service processes: ``(process, url)`` each, Redis's URL and pid (if any)."""

    instances: list[tuple[subprocess.Popen[str], str]]
    redis_url: str | None
    redis_pids: list[int]

    @property
    def urls(self) -> list[str]:
        return [url for _, url in self.instances]

    @property
    def pids(self) -> list[int]:
        return [proc.pid for proc, _ in self.instances]


@contextlib.contextmanager
def running_services(redis: bool, instances: int, env: dict[str, str] | None = None,
                     unix: bool = False) -> Iterator[Services]:
    """Redis (if asked) and ``instances`` service processes, stopped at the end (instances
    first, Redis last)."""
    key = secrets.token_hex(32)
    procs: list[subprocess.Popen[str] | subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory() as state:
        try:
            redis_url = None
            if redis:
                redis_proc, redis_url = start_redis(state, unix)
                procs.append(redis_proc)
            services = [start_instance(state, redis_url, key, env) for _ in range(instances)]
            procs.extend(proc for proc, _ in services)
            yield Services(services, redis_url, [procs[0].pid] if redis else [])
        finally:
            for proc in reversed(procs):
                proc.terminate()
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:  # a loaded machine: do not hang the run
                    proc.kill()
                    proc.wait(10)


def run(args: argparse.Namespace, redis: bool, instances: int,
        env: dict[str, str] | None = None) -> dict[str, object]:
    """Start Redis (if asked) and the instances, benchmark them, stop everything."""
    with running_services(redis, instances, env) as run_:
        driver = bench if getattr(args, "client", "raw") == "aiohttp" else bench_raw
        result: dict[str, object] = _run_loop(driver(
            args, run_.urls, run_.pids, run_.redis_pids))
        logged = [e for pid in run_.pids for e in INSTANCE_ERRORS.get(pid, [])]
        result["instance_errors"] = len(logged)
        result["instance_error_kinds"] = sorted({e.split(" (", 1)[-1] for e in logged})[:5]
        return result


if __name__ == "__main__":
    main()
