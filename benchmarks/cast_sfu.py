"""Sender CPU for one cast to N receivers through a Janus SFU, against the mesh (encode
once, N uploads) and against one receiver, in the same run.

    python benchmarks/cast_sfu.py --receivers 4 --res 1280x720 --fps 30 --seconds 10

Needs root (a private network namespace) and Janus (Debian ``janus``). The benchmark makes a
namespace (loopback plus a veth pair at 198.51.100.1/.2, nothing attached to the host),
enters it, and starts there: Janus (ICE only on 198.51.100.1, API on the namespace's
loopback), a room service in this process handing out the SFU and its tokens, each receiver
(castapp ``ReceiverSession``) in its own child process, and the sender in a child process
whose CPU is read from ``/proc/<pid>/stat``. Cases, in this order: 1 receiver direct
(the reference), N receivers mesh, N receivers through the SFU. Per-receiver fps and
latency, and the spread of one frame's hand-over time across receivers, are measured as in
``cast.py --receivers`` (``cast_multi.py``). The machine is shared and noisy: compare the
ratios of one run, not absolute figures between runs. Janus's own CPU is reported apart.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "benchmarks"
# benchmarks/ holds modules named like packages (av.py): keep it off the import path
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "integration")]
_spec = importlib.util.spec_from_file_location("cast_multi", HERE / "cast_multi.py")
assert _spec is not None and _spec.loader is not None
base = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(base)
# the fan-out helpers of benchmarks/cast.py --receivers (cast_multi.py), by their old names
base.ask, base.tell, base.receiver_main = base._ask, base._tell, base.fan_receiver

SECRET = secrets.token_hex(16)


async def sender_main(url: str, codes: list[str], width: int, height: int, fps: float,
                      via_sfu: bool) -> None:
    from castapp.rtc.capture import SyntheticSource
    from castapp.rtc.encoder import EncoderConfig
    from castapp.session.fanout import FanoutCast
    from castapp.session.sender import SenderState
    from castapp.sfu.relay import SfuFanoutCast

    produced: dict[int, float] = {}

    class Stamped(SyntheticSource):
        def _produce(self, seq: int):  # type: ignore[no-untyped-def]
            produced[self.counter_for(seq)] = time.time()
            return super()._produce(seq)

    source = Stamped(width, height, fps=fps)
    source.start()
    kind = SfuFanoutCast if via_sfu else FanoutCast
    fanout = kind(source, name="bench", encoder=EncoderConfig(change_driven=False,
                                                               max_fps=fps))
    for code in codes:
        await fanout.add(url, code)
    for r in fanout.receivers:
        await r.session.wait_for(SenderState.CASTING, timeout=30)
    print(json.dumps({"ready": True}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    print(json.dumps({"produced": produced, "stats": fanout.stats()}), flush=True)
    await fanout.close()
    source.stop()


def child(role: str, *argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, __file__, "--role", role, *argv],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})


async def run_case(url: str, n: int, args: argparse.Namespace, via_sfu: bool,
                   janus_pid: int) -> dict[str, Any]:
    receivers = [child("receiver", "--url", url, "--index", str(i)) for i in range(n)]
    codes = [str((await base.ask(r))["code"]) for r in receivers]
    sender = child("sender", "--url", url, "--codes", ",".join(codes), "--res", args.res,
                   "--fps", str(args.fps), *(["--via-sfu"] if via_sfu else []))
    await base.ask(sender)
    await asyncio.sleep(args.warmup)
    for r in receivers:
        base.tell(r)
    cpu0, jcpu0, t0 = base.cpu_seconds(sender.pid), base.cpu_seconds(janus_pid), \
        time.monotonic()
    await asyncio.sleep(args.seconds)
    cpu1, jcpu1, t1 = base.cpu_seconds(sender.pid), base.cpu_seconds(janus_pid), \
        time.monotonic()
    shown = [{int(k): v for k, v in (await base.ask(r, ""))["shown"].items()}
             for r in receivers]
    report = await base.ask(sender, "")
    loop = asyncio.get_running_loop()
    for proc in (*receivers, sender):
        await loop.run_in_executor(None, proc.wait)
    produced = {int(k): v for k, v in report["produced"].items()}
    per: list[dict[str, Any]] = []
    for frames in shown:
        lat = [(at - produced[c]) * 1000 for c, at in frames.items() if c in produced]
        per.append({"fps": round(len(frames) / (t1 - t0), 1),
                    "latency_ms": {"p50": base.pct(lat, 0.5), "p95": base.pct(lat, 0.95)}})
    spread: list[float] = []
    if n > 1:
        for c in set.intersection(*(set(f) for f in shown)):
            times = [f[c] for f in shown]
            spread.append((max(times) - min(times)) * 1000)
    return {"receivers": n, "via": "sfu" if via_sfu else "direct" if n == 1 else "mesh",
            "sender_cpu": round((cpu1 - cpu0) / (t1 - t0), 3),
            "sfu_cpu": round((jcpu1 - jcpu0) / (t1 - t0), 3),
            "per_receiver": per,
            "spread_ms": {"p50": base.pct(spread, 0.5), "p95": base.pct(spread, 0.95),
                          "frames": len(spread)} if n > 1 else None,
            "encoder": report["stats"]}


async def main_async(args: argparse.Namespace, janus_url: str,
                     janus_pid: int) -> dict[str, Any]:
    from castapp.sfu.token import SfuConfig
    from castapp.signaling.rooms import RoomConfig
    from castapp.signaling.server import RoomServer, ServiceConfig
    from castapp.signaling.tokens import TokenSigner

    rooms = replace(RoomConfig(), sfu=SfuConfig(url=janus_url, secret=SECRET))
    config = ServiceConfig(host="127.0.0.1", port=0, rooms=rooms)
    server = RoomServer(config, TokenSigner(secrets.token_bytes(32)))
    await server.start()
    try:
        one = await run_case(server.url, 1, args, False, janus_pid)
        mesh = await run_case(server.url, args.receivers, args, False, janus_pid)
        sfu = await run_case(server.url, args.receivers, args, True, janus_pid)
    finally:
        await server.stop()

    def ratio(case: dict[str, Any]) -> float | None:
        return round(case["sender_cpu"] / one["sender_cpu"], 2) if one["sender_cpu"] else None

    return {"benchmark": "cast_sfu", "res": args.res, "fps": args.fps,
            "seconds": args.seconds, "one": one, "mesh": mesh, "sfu": sfu,
            "ratios": {"mesh_sender_cpu": ratio(mesh), "sfu_sender_cpu": ratio(sfu)}}


def bench(args: argparse.Namespace) -> dict[str, Any]:
    from netns import private_namespace
    from sfu_support import entered, free_port

    from castapp.sfu.jcfg import JanusSettings
    from castapp.sfu.process import JanusProcess

    with tempfile.TemporaryDirectory() as tmp, private_namespace() as ns, entered(ns):
        settings = JanusSettings(ws_port=free_port(), token_secret=SECRET,
                                 ice_enforce="198.51.100.1", rtp_ports=(30000, 30999))
        loop = asyncio.new_event_loop()
        janus = loop.run_until_complete(JanusProcess.start(Path(tmp), settings))
        loop.close()
        try:
            return asyncio.run(main_async(args, janus.url, janus.proc.pid))
        finally:
            janus.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--receivers", type=int, default=4)
    ap.add_argument("--res", default="1280x720", metavar="WxH")
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--role", choices=["bench", "sender", "receiver"], default="bench")
    ap.add_argument("--index", type=int, default=0)
    ap.add_argument("--url")
    ap.add_argument("--codes")
    ap.add_argument("--via-sfu", action="store_true")
    args = ap.parse_args(argv)
    if args.role == "sender":
        w, h = (int(x) for x in args.res.split("x"))
        asyncio.run(sender_main(args.url, args.codes.split(","), w, h, args.fps,
                                args.via_sfu))
        return 0
    if args.role == "receiver":
        asyncio.run(base.receiver_main(args.url, args.index))
        return 0
    print(json.dumps(bench(args), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
