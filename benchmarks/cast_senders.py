"""Several senders on one receiver: per-sender frame rate, latency and size, receiver CPU.

``--senders 1,2,3,4`` runs each count in turn (new processes each time) in a private network
namespace: one receiver process hosting its own room service in ``open`` admission (what
``castapp receive --headless --admission open`` runs, a :class:`ReceiverHost`), and N sender
processes casting synthetic patterns (what ``castapp send --synthetic WxH`` runs: the same
:class:`Caster`, preset and encoder). After ``--warmup`` seconds, frames are counted for
``--seconds``.

Latency: each sender's pattern counts from its own base (sender i from i * 10000); the sender
notes the wall time each counter was produced, the receiver the wall time each was handed on
decoded; both run on this machine's one clock, so their difference is produce-to-decoded
latency (capture queue, encode, network, decode; not the screen's repaint).
``receiver_cpu`` is the receiver process's CPU time over the window per second of wall time
(1.0 = one core), less the time its counter reading took. Prints one JSON object; the
figures of N senders are also given as ratios to those of one sender measured in the same run.

Needs root and iproute2 (a namespace); run with the project's virtualenv Python:
``.venv/bin/python benchmarks/cast_senders.py --senders 1,4``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT / "tests"))
BASE = 10_000
CLK_TCK = os.sysconf("SC_CLK_TCK")


def emit(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


def commands() -> asyncio.Queue[str]:
    """Lines from stdin, as they come (a daemon thread reads them)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str] = asyncio.Queue()

    def pump() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(queue.put_nowait, line.strip())
        loop.call_soon_threadsafe(queue.put_nowait, "report")

    threading.Thread(target=pump, daemon=True).start()
    return queue


# ---------------------------------------------------------------------- receiver role
async def receiver(out: Path) -> None:
    from castapp.app.host import ReceiverHost, ReceiverOptions
    from castapp.rtc import pattern

    got: list[tuple[str, int, float, int, int]] = []
    names: dict[str, str] = {}
    tap_s = [0.0]
    on = [False]

    def on_call_frame(peer_id: str, frame: Any) -> None:
        if not on[0]:
            return
        t = time.time()
        t0 = time.thread_time()
        plane = frame.frame.planes[0]
        import numpy as np

        y = np.frombuffer(plane, np.uint8).reshape(frame.height, plane.line_size)
        value = pattern.read_counter(y[:, : frame.width])
        tap_s[0] += time.thread_time() - t0
        if value is not None:
            got.append((peer_id, value, t, frame.width, frame.height))

    showing = [0]

    def on_status(st: Any) -> None:
        for call in st.calls or ():
            names[call.peer_id] = call.name
        count = sum(1 for c in st.calls or () if c.phase.value == "showing")
        if count != showing[0]:
            showing[0] = count
            emit(event="showing", count=count)

    with tempfile.TemporaryDirectory() as state:
        host = ReceiverHost(ReceiverOptions(state_dir=Path(state), listen=("0.0.0.0", 0),
                                            advertise=False, admission="open", name="TV"),
                            on_status=on_status, on_call_frame=on_call_frame)
        status = await host.start()
        assert host.embedded is not None
        emit(event="ready", port=host.embedded.port, code=status.code)
        queue = commands()
        cpu0 = wall0 = 0.0
        while (line := await queue.get()) != "report":
            if line == "mark":
                on[0], got[:], tap_s[0] = True, [], 0.0
                cpu0, wall0 = time.process_time(), time.monotonic()
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
        out.write_text(json.dumps({"frames": got, "names": names, "cpu_s": cpu,
                                   "tap_s": tap_s[0], "wall_s": wall}))
        emit(event="done")
        await host.stop()


# ---------------------------------------------------------------------- sender role
async def sender(url: str, code: str, size: tuple[int, int], fps: float, first: int,
                 name: str, out: Path) -> None:
    from castapp.app.target import Caster, parse_target, send_preset, start_source
    from castapp.rtc.capture import SyntheticSource

    made: dict[int, float] = {}

    class Noted(SyntheticSource):
        def _produce(self, seq: int) -> Any:
            frame = super()._produce(seq)
            made[self.counter_for(seq)] = time.time()
            return frame

    chosen = send_preset(None, fps, None)
    source = Noted(*size, fps=chosen.fps, first_counter=first)
    await start_source(source)
    caster = Caster(name=name, session_args={"codec": "h264", "encoder": chosen.encoder()})
    session = await caster.cast(parse_target(code), url, source)
    emit(event="casting")
    queue = commands()
    while await queue.get() != "report":
        pass
    out.write_text(json.dumps({"made": made, "view": session.status.view}))
    emit(event="done")
    await session.close()
    source.stop()


# ---------------------------------------------------------------------- orchestrator
def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))], 1)


def one_run(ns: str, n: int, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    from castproc import JsonProc, castapp_env
    from netns import in_namespace

    me = [sys.executable, str(Path(__file__).resolve())]
    env = castapp_env()
    rx_file = tmp / f"rx-{n}.json"
    rx = JsonProc(in_namespace(ns, [*me, "receiver", "--out", str(rx_file)]), env,
                  subprocess.PIPE)
    senders: list[JsonProc] = []
    try:
        ready = rx.expect("ready", timeout=30)
        url = f"ws://127.0.0.1:{ready['port']}/ws"
        w, h = args.size
        for i in range(n):
            tx = JsonProc(in_namespace(ns, [
                *me, "sender", "--url", url, "--code", ready["code"], "--size", f"{w}x{h}",
                "--fps", str(args.fps), "--first", str(i * BASE), "--name", f"Laptop {i + 1}",
                "--out", str(tmp / f"tx-{n}-{i}.json")]), env, subprocess.PIPE)
            senders.append(tx)
            tx.expect("casting", timeout=40)
        try:
            rx.expect("showing", timeout=90, count=n)
        except AssertionError as exc:
            said = " | ".join("".join(tx.other)[-300:] for tx in senders)
            raise AssertionError(f"{str(exc).splitlines()[0]}; senders said: {said}") from None
        time.sleep(args.warmup)
        rx.type("mark")
        rx_cpu0 = cpu_seconds(rx.proc.pid)
        time.sleep(args.seconds)
        rx_cpu = cpu_seconds(rx.proc.pid) - rx_cpu0
        for proc in (rx, *senders):
            proc.type("report")
        for proc in (rx, *senders):
            proc.expect("done", timeout=30)
    finally:
        for proc in (*senders, rx):
            proc.stop()
    got = json.loads(rx_file.read_text())
    out: list[dict[str, Any]] = []
    for i in range(n):
        sent = json.loads((tmp / f"tx-{n}-{i}.json").read_text())
        made = {int(k): v for k, v in sent["made"].items()}
        mine = [f for f in got["frames"] if f[1] // BASE == i]
        lat = [(t - made[c]) * 1000 for _, c, t, _, _ in mine if c in made]
        sizes = Counter(f"{fw}x{fh}" for *_, fw, fh in mine)
        out.append({"fps": round(len(mine) / got["wall_s"], 1),
                    "latency_ms": {"p50": pct(lat, 0.5), "p95": pct(lat, 0.95)},
                    "size": sizes.most_common(1)[0][0] if sizes else None,
                    "asked": sent["view"]})
    tap = got["tap_s"]
    return {"n": n, "senders": out,
            "receiver_cpu": round((rx_cpu - tap) / got["wall_s"], 3),
            "receiver_cpu_in_process": round((got["cpu_s"] - tap) / got["wall_s"], 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="role")
    r = sub.add_parser("receiver")
    r.add_argument("--out", type=Path, required=True)
    s = sub.add_parser("sender")
    for flag in ("--url", "--code", "--name"):
        s.add_argument(flag, required=True)
    s.add_argument("--size", required=True)
    s.add_argument("--fps", type=float, default=30)
    s.add_argument("--first", type=int, default=0)
    s.add_argument("--out", type=Path, required=True)
    parser.add_argument("--senders", default="1,4", help="counts to run, e.g. 1,2,3,4")
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--fps", type=float, default=30)
    parser.add_argument("--warmup", type=float, default=8)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    if args.role == "receiver":
        asyncio.run(receiver(args.out))
        return
    if args.role == "sender":
        w, h = (int(v) for v in args.size.split("x"))
        asyncio.run(sender(args.url, args.code, (w, h), args.fps, args.first, args.name,
                           args.out))
        return
    from netns import private_namespace

    args.size = tuple(int(v) for v in args.size.split("x"))
    counts = [int(c) for c in args.senders.split(",")]
    if any(not 1 <= c <= 4 for c in counts):
        parser.error("--senders takes counts from 1 to 4")
    runs = []
    with tempfile.TemporaryDirectory() as tmp, private_namespace() as ns:
        for n in counts:
            failed: list[str] = []
            for _attempt in range(2):  # once more if a sender never reached the screen
                try:
                    runs.append({**one_run(ns, n, args, Path(tmp)), "failed_attempts": failed})
                    break
                except AssertionError as exc:
                    failed.append(str(exc)[:1500])
            else:  # the machine could not carry it: say so, go on
                runs.append({"n": n, "error": failed})
    result: dict[str, Any] = {"size": "x".join(map(str, args.size)), "fps": args.fps,
                              "seconds": args.seconds, "runs": runs}
    one = next((r for r in runs if r["n"] == 1 and "error" not in r), None)
    if one is not None:
        base = one["receiver_cpu"]
        p95_1 = one["senders"][0]["latency_ms"]["p95"]
        result["ratios_to_one_sender"] = {
            str(r["n"]): {
                "receiver_cpu": round(r["receiver_cpu"] / base, 2) if base else None,
                "worst_p95_latency": round(max((s["latency_ms"]["p95"] or 0)
                                               for s in r["senders"]) / p95_1, 2)
                if p95_1 else None,
                "min_fps": round(min(s["fps"] for s in r["senders"]) /
                                 one["senders"][0]["fps"], 2) if one["senders"][0]["fps"]
                else None,
            } for r in runs if "error" not in r}
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
