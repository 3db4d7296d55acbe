"""One cast to N receivers against one receiver, in the same run: sender CPU, per-receiver
fps and latency, and how far apart the receivers get the same frame.

    python benchmarks/cast_fanout.py --receivers 4 --res 1920x1080 --fps 30 --seconds 15

Everything stays on loopback: a room service in this process on 127.0.0.1, each receiver
(castapp ``ReceiverSession``, reading the frame counter from the decoded Y plane) in its own
child process, and the sender (``FanoutCast`` over a
``SyntheticSource``, every frame encoded: no change detection) in a child process whose CPU
is read from ``/proc/<pid>/stat``. aiortc never offers 127.0.0.1 as a host candidate, so
both processes restrict host candidates to it (as the integration tests do).

Latency is the receiver's hand-over wall time minus the time the sender produced the
frame with that counter (both on this machine's clock). The spread of a frame is the
latest minus the earliest hand-over of the same counter across all receivers that showed
it. The first run is 1 receiver (the reference), the second N; ``ratios`` compares them.
The machine is shared and noisy: compare ratios from one run, not absolute figures
between runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import aioice.ice

ROOT = Path(__file__).resolve().parents[1]


def loopback_only() -> None:
    aioice.ice.get_host_addresses = (  # type: ignore[assignment]
        lambda use_ipv4=True, use_ipv6=False: ["127.0.0.1"] if use_ipv4 else [])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return round(s[min(len(s) - 1, int(q * len(s)))], 1)


# ------------------------------------------------------------------ sender (child)
async def sender_main(url: str, codes: list[str], width: int, height: int, fps: float) -> None:
    from castapp.rtc.capture import SyntheticSource
    from castapp.rtc.encoder import EncoderConfig
    from castapp.session.fanout import FanoutCast
    from castapp.session.sender import SenderState

    produced: dict[int, float] = {}

    class Stamped(SyntheticSource):
        def _produce(self, seq: int):  # type: ignore[no-untyped-def]
            produced[self.counter_for(seq)] = time.time()
            return super()._produce(seq)

    source = Stamped(width, height, fps=fps)
    source.start()
    fanout = FanoutCast(source, name="bench",
                        encoder=EncoderConfig(change_driven=False, max_fps=fps))
    for code in codes:
        await fanout.add(url, code)
    for r in fanout.receivers:
        await r.session.wait_for(SenderState.CASTING, timeout=30)
    print(json.dumps({"ready": True}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    print(json.dumps({"produced": produced, "stats": fanout.stats()}), flush=True)
    await fanout.close()
    source.stop()


# ------------------------------------------------------------------ receiver (child)
async def receiver_main(url: str, index: int) -> None:
    import numpy as np

    from castapp.rtc import pattern
    from castapp.session.receiver import ReceiverSession

    shown: dict[int, float] = {}
    recording = {"on": False}

    def handle(frame: Any) -> None:
        if not recording["on"]:
            return
        f = frame.frame
        plane = f.planes[0]
        y = np.frombuffer(plane, np.uint8).reshape(f.height, plane.line_size)[:, :f.width]
        value = pattern.read_counter(y)
        if value is not None:
            shown.setdefault(value, frame.received_at)

    receiver = ReceiverSession(url, name=f"TV{index}", on_frame=handle)
    status = await receiver.start()
    print(json.dumps({"code": status.code}), flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.readline)  # start recording
    recording["on"] = True
    await loop.run_in_executor(None, sys.stdin.readline)  # stop
    recording["on"] = False
    print(json.dumps({"shown": shown}), flush=True)
    await receiver.stop()


# ------------------------------------------------------------------ orchestrator
def child(role: str, *argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, __file__, "--role", role, *argv],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})


async def ask(proc: subprocess.Popen[str], line: str | None = None) -> dict[str, Any]:
    assert proc.stdin is not None and proc.stdout is not None
    if line is not None:
        proc.stdin.write(line + "\n")
        proc.stdin.flush()
    text = await asyncio.get_running_loop().run_in_executor(None, proc.stdout.readline)
    if not text:
        raise SystemExit("a benchmark process ended early")
    return dict(json.loads(text))


def tell(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.write("\n")
    proc.stdin.flush()


async def run_case(url: str, n: int, args: argparse.Namespace) -> dict[str, Any]:
    receivers = [child("receiver", "--url", url, "--index", str(i)) for i in range(n)]
    codes = [str((await ask(r))["code"]) for r in receivers]
    sender = child("sender", "--url", url, "--codes", ",".join(codes), "--res", args.res,
                   "--fps", str(args.fps))
    await ask(sender)
    await asyncio.sleep(args.warmup)
    for r in receivers:
        tell(r)
    cpu0, t0 = cpu_seconds(sender.pid), time.monotonic()
    rcpu0 = [cpu_seconds(r.pid) for r in receivers]
    await asyncio.sleep(args.seconds)
    cpu1, t1 = cpu_seconds(sender.pid), time.monotonic()
    rcpu = [round((cpu_seconds(r.pid) - c) / (t1 - t0), 3) for r, c in zip(receivers, rcpu0,
                                                                           strict=True)]
    shown = [{int(k): v for k, v in (await ask(r, ""))["shown"].items()} for r in receivers]
    report = await ask(sender, "")
    loop = asyncio.get_running_loop()
    for proc in (*receivers, sender):
        await loop.run_in_executor(None, proc.wait)
    produced = {int(k): v for k, v in report["produced"].items()}
    per: list[dict[str, Any]] = []
    for frames, cpu in zip(shown, rcpu, strict=True):
        lat = [(at - produced[c]) * 1000 for c, at in frames.items() if c in produced]
        per.append({"fps": round(len(frames) / (t1 - t0), 1), "cpu": cpu,
                    "latency_ms": {"p50": pct(lat, 0.5), "p95": pct(lat, 0.95)}})
    spread: list[float] = []
    if n > 1:
        for c in set.intersection(*(set(f) for f in shown)):
            times = [f[c] for f in shown]
            spread.append((max(times) - min(times)) * 1000)
    return {"receivers": n, "sender_cpu": round((cpu1 - cpu0) / (t1 - t0), 3),
            "per_receiver": per,
            "spread_ms": {"p50": pct(spread, 0.5), "p95": pct(spread, 0.95),
                          "frames": len(spread)} if n > 1 else None,
            "encoder": report["stats"]}


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    from castapp.signaling.rooms import RoomConfig
    from castapp.signaling.server import RoomServer, ServiceConfig
    from castapp.signaling.tokens import TokenSigner

    config = ServiceConfig(host="127.0.0.1", port=0, rooms=replace(RoomConfig()))
    server = RoomServer(config, TokenSigner(secrets.token_bytes(32)))
    await server.start()
    try:
        one = await run_case(server.url, 1, args)
        many = await run_case(server.url, args.receivers, args)
    finally:
        await server.stop()
    ratio = round(many["sender_cpu"] / one["sender_cpu"], 2) if one["sender_cpu"] else None
    return {"benchmark": "cast_fanout", "res": args.res, "fps": args.fps,
            "seconds": args.seconds, "one": one, "many": many,
            "ratios": {"sender_cpu": ratio}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--receivers", type=int, default=4)
    ap.add_argument("--res", default="1920x1080", metavar="WxH")
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--warmup", type=float, default=4.0)
    ap.add_argument("--role", choices=["bench", "sender", "receiver"], default="bench")
    ap.add_argument("--index", type=int, default=0)
    ap.add_argument("--url")
    ap.add_argument("--codes")
    args = ap.parse_args(argv)
    loopback_only()
    if args.role == "sender":
        w, h = (int(x) for x in args.res.split("x"))
        asyncio.run(sender_main(args.url, args.codes.split(","), w, h, args.fps))
        return 0
    if args.role == "receiver":
        asyncio.run(receiver_main(args.url, args.index))
        return 0
    print(json.dumps(asyncio.run(main_async(args)), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
