"""Room-service load benchmark.

Starts ``castapp serve`` as its own process on a free loopback port, connects N idle
receivers, then pairs M senders with them: each sender connects, joins by code, sends an offer
that the receiver answers. Prints one JSON object:

    receivers, pairs, pairs_per_s, join_ms {p50,p99}, relay_ms {p50,p99}, rss_mb, ...

``--rate R`` paces the pairings at R per second (latency at a given load); without it they run
as fast as ``--concurrency`` allows (throughput). Run ``--help`` for the options.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

HELLO = '{"type":"hello","versions":[1]}'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))], 3)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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


async def pair(session: aiohttp.ClientSession, url: str, receiver: Receiver,
               join_ms: list[float], answer_ms: list[float]) -> None:
    ws = await connect(session, url)
    try:
        t0 = time.perf_counter()
        await ws.send_str(json.dumps({"type": "join", "code": receiver.code, "name": "s"}))
        joined = await ws.receive_json(timeout=30)
        join_ms.append((time.perf_counter() - t0) * 1000)
        assert joined["type"] == "joined", joined
        to = joined["receiver"]["peer_id"]
        await ws.send_str(json.dumps({"type": "offer", "to": to,
                                      "sdp": repr(time.perf_counter())}))
        answer = await ws.receive_json(timeout=30)
        assert answer["type"] == "answer", answer
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


async def bench(args: argparse.Namespace, url: str, pid: int) -> dict[str, object]:
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    async with aiohttp.ClientSession(connector=connector) as session:
        rss_before = rss_mb(pid)
        t0 = time.perf_counter()
        receivers: list[Receiver] = []
        sem = asyncio.Semaphore(args.concurrency)

        async def reg_one() -> None:
            async with sem:
                receivers.append(await register(session, url))

        await asyncio.gather(*(reg_one() for _ in range(args.receivers)))
        register_s = time.perf_counter() - t0
        pinger = asyncio.create_task(keepalive(receivers))
        for r in receivers:
            r.task = asyncio.create_task(r.serve())
        rss_idle = rss_mb(pid)

        join_ms: list[float] = []
        answer_ms: list[float] = []
        cpu0 = cpu_s(pid)
        t1 = time.perf_counter()
        if args.rate:
            tasks = []
            for i in range(args.pairs):
                delay = t1 + i / args.rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(
                    pair(session, url, receivers[i % len(receivers)], join_ms, answer_ms)))
            await asyncio.gather(*tasks)
        else:
            async def pair_one(i: int) -> None:
                async with sem:
                    await pair(session, url, receivers[i % len(receivers)], join_ms, answer_ms)

            await asyncio.gather(*(pair_one(i) for i in range(args.pairs)))
        pair_s = time.perf_counter() - t1
        server_cpu = (cpu_s(pid) - cpu0) / pair_s if pair_s else 0.0
        rss_end = rss_mb(pid)
        pinger.cancel()
        offer_ms = [v for r in receivers for v in r.offer_lat]
        relay = offer_ms + answer_ms
        for r in receivers:
            await r.ws.close()
        return {
            "receivers": len(receivers),
            "pairs": len(join_ms),
            "pairs_per_s": round(len(join_ms) / pair_s, 1) if pair_s else None,
            "rate_target": args.rate or None,
            "join_ms": {"p50": pct(join_ms, 50), "p99": pct(join_ms, 99)},
            "relay_ms": {"p50": pct(relay, 50), "p99": pct(relay, 99)},
            "relay_samples": len(relay),
            "register_per_s": round(len(receivers) / register_s, 1),
            "rss_mb": rss_end,
            "rss_mb_start": rss_before,
            "rss_kb_per_idle_receiver": round(
                (rss_idle - rss_before) * 1024 / max(1, len(receivers)), 2),
            "server_cpu_cores": round(server_cpu, 2),
            "median_join_ms": round(statistics.median(join_ms), 3) if join_ms else None,
        }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--receivers", type=int, default=2000)
    ap.add_argument("--pairs", type=int, default=2000)
    ap.add_argument("--rate", type=float, default=0.0, help="pairings per second (0 = max)")
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--url", help="benchmark an already running service instead")
    args = ap.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.url:
        print(json.dumps(asyncio.run(bench(args, args.url, os.getpid()))))
        return
    port = free_port()
    with tempfile.TemporaryDirectory() as state:
        proc = subprocess.Popen(
            [sys.executable, "-m", "castapp", "--log-level", "WARNING", "serve",
             "--port", str(port), "--state-dir", state, "--registrations", "1000000",
             "--failed-joins", "1000000", "--message-rate", "1000"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if "room service on" not in line:
                raise SystemExit(f"the service did not start: {line}{proc.stdout.read()}")
            url = f"ws://127.0.0.1:{port}/ws"
            result = asyncio.run(bench(args, url, proc.pid))
        finally:
            proc.terminate()
            proc.wait(10)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
