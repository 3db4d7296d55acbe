"""Several peers in one cast, for ``cast.py --senders N`` and ``cast.py --receivers N``.

**N senders, one TV** (``--senders``): in a private network namespace, one receiver process
hosting its own room service in ``open`` admission (what ``castapp receive --headless
--admission open --screen WxH`` runs: a :class:`ReceiverHost` that lays its presenters out
on a ``--screen`` and tells each sender its tile) and N sender processes casting synthetic
patterns (what ``castapp send --synthetic WxH`` runs: the same :class:`Caster`, preset and
encoder). ``--screen none`` asks for no tiles (every sender sends its full size), which is
how a receiver without a window behaved before it laid presenters out; ``--compare
stock-decode`` runs each count again on a receiver that decodes through aiortc's own path
(``--compare queued``: on one that queues every datagram for the DTLS transport's task, as
aiortc does, instead of handling video packets as they are read, :mod:`castapp.rtc.direct`;
``--compare unaligned``: on one that leaves its presenters' capture clocks where they are,
:mod:`castapp.session.phase`)
(a decoder thread per stream, every frame handed to it and back) instead of castapp's
(:mod:`castapp.rtc.decode`), and whose ``FrameReceiver`` awaits each frame from the track
(``recv()``) instead of taking it as it is decoded (:mod:`castapp.rtc.receive`).

**One sender, N TVs** (``--receivers``): on loopback, a room service in the orchestrating
process, each receiver (a ``ReceiverSession`` reading the frame counter) in its own process,
and one sender (``FanoutCast`` over a ``SyntheticSource``, every frame encoded) in another.
The spread of a frame is the latest minus the earliest hand-over of the same counter across
the receivers that showed it.

Latency, both ways: each sender notes the wall time it produced each counter, each receiver
the wall time it was handed the decoded frame carrying it; both run on this machine's one
clock, so the difference is produce-to-decoded latency (capture queue, encode, network,
decode; no screen repaint). CPU is a process's CPU time over the window per second of wall
time (1.0 = one core). Every case is measured against the one-peer case of the same run
(``ratios_to_one_sender`` / ``ratios``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
#: Sender i's counters start at i * BASE, so a frame tells which sender it came from.
BASE = 10_000
CLK_TCK = os.sysconf("SC_CLK_TCK")
ME = [sys.executable, str(Path(__file__).resolve())]


def emit(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def thread_cpu() -> dict[str, list[float]]:
    """This process's CPU seconds so far by thread name: [user, system] (threads of one
    name added up; a pool's workers under the pool's name)."""
    named = {t.native_id: t.name.rsplit("_", 1)[0] for t in threading.enumerate()}
    out: dict[str, list[float]] = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            name = named.get(int(task.name)) or (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the thread ended
        got = out.setdefault(name, [0.0, 0.0])
        got[0] += int(fields[11]) / CLK_TCK
        got[1] += int(fields[12]) / CLK_TCK
    return out


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))], 1)


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a is not None and b else None


def commands() -> asyncio.Queue[str]:
    """Lines from stdin, as they come (a daemon thread reads them); "report" at the end."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str] = asyncio.Queue()

    def pump() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(queue.put_nowait, line.strip())
        loop.call_soon_threadsafe(queue.put_nowait, "report")

    threading.Thread(target=pump, daemon=True).start()
    return queue


def read_counter(frame: Any) -> int | None:
    import numpy as np

    from castapp.rtc import pattern

    plane = frame.frame.planes[0]
    y = np.frombuffer(plane, np.uint8).reshape(frame.height, plane.line_size)
    return pattern.read_counter(y[:, : frame.width])


# ====================================================================== N senders, one TV
async def room_receiver(out: Path, screen: tuple[int, int] | None, variant: str = "") -> None:
    """``variant`` "spotlight": the first presenter ("Laptop 1") is spotlit on ``screen``, the
    others in the column beside it, as the TV's window lays them out on key 1 (the receiver
    session is asked for each one's view as the window asks it, ``Screen.changes``);
    otherwise the receiver lays them out itself, as one without a window does (``--screen``).
    "stock-decode", "queued", "unaligned": see the module's description."""
    from castapp.app.host import ReceiverHost, ReceiverOptions
    from castapp.layout import Screen
    from castapp.rtc import adapt

    spotlight = variant == "spotlight"
    if variant == "stock-decode":
        from castapp.rtc.receive import FrameReceiver

        adapt.use_stock_decoding()
        FrameReceiver.direct = False
    if variant == "queued":
        adapt.use_queued_datagrams()

    got: list[tuple[str, int, float, int, int]] = []
    names: dict[str, str] = {}
    tap_s = [0.0]
    on = [False]

    def on_call_frame(peer_id: str, frame: Any) -> None:
        if not on[0]:
            return
        t = time.time()
        t0 = time.thread_time()
        value = read_counter(frame)
        tap_s[0] += time.thread_time() - t0
        if value is not None:
            got.append((peer_id, value, t, frame.width, frame.height))

    showing = [0]
    hosts: list[Any] = []
    wall = Screen(*screen) if spotlight and screen is not None else None

    def lay_out(calls: Any) -> None:
        session = hosts[0].session if hosts else None
        if wall is None or session is None:
            return
        for key, hint in wall.changes(calls, spotlight="Laptop 1"):
            session.set_view(key, hint.width, hint.height, hint.fps, hint.tile, hint.tiles,
                             hint.spotlit)

    def on_status(st: Any) -> None:
        for call in st.calls or ():
            names[call.peer_id] = call.name
        if st.calls is not None:
            lay_out(st.calls)
        count = sum(1 for c in st.calls or () if c.phase.value == "showing")
        if count != showing[0]:
            showing[0] = count
            emit(event="showing", count=count)

    with tempfile.TemporaryDirectory() as state:
        host = ReceiverHost(ReceiverOptions(state_dir=Path(state), listen=("0.0.0.0", 0),
                                            advertise=False, admission="open", name="TV",
                                            screen=None if spotlight else screen,
                                            session={"align": variant != "unaligned"}),
                            on_status=on_status, on_call_frame=on_call_frame)
        hosts.append(host)
        status = await host.start()
        assert host.embedded is not None
        emit(event="ready", port=host.embedded.port, code=status.code)
        queue = commands()
        cpu0 = wall0 = 0.0
        threads0: dict[str, list[float]] = {}
        # CASTAPP_RECEIVER_PROFILE=FILE: cProfile the event loop's thread over the window, in
        # CPU time (slower: figures taken with it are for finding where the time goes only)
        profiler = (cProfile.Profile(time.thread_time)
                    if os.environ.get("CASTAPP_RECEIVER_PROFILE") else None)
        while (line := await queue.get()) != "report":
            if line == "mark":
                on[0], got[:], tap_s[0] = True, [], 0.0
                cpu0, wall0 = time.process_time(), time.monotonic()
                threads0 = thread_cpu()
                if profiler is not None:
                    profiler.enable()
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
        threads = {name: [round((u - threads0.get(name, [0.0, 0.0])[0]) / wall, 3),
                          round((k - threads0.get(name, [0.0, 0.0])[1]) / wall, 3)]
                   for name, (u, k) in thread_cpu().items()}
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(os.environ["CASTAPP_RECEIVER_PROFILE"])
        # each presenter's frames arrive this long after the first presenter's (wrapped)
        offsets: dict[str, float] = {}
        session = host.session
        if session is not None and session.phase is not None:
            offsets = {session.calls[key].name: round(o * 1000, 1)
                       for key, o in session.phase.offsets().items() if key in session.calls}
        out.write_text(json.dumps({"frames": got, "names": names, "cpu_s": cpu,
                                   "offsets_ms": offsets,
                                   "tap_s": tap_s[0], "wall_s": wall,
                                   "threads": threads}))
        emit(event="done")
        await host.stop()


def record_scene(path: Path, size: tuple[int, int], scene: str, frames: int = 150,
                 fps: float = 30.0) -> None:
    """Grab ``frames`` pictures of ``cast_content.py --scene SCENE`` at ``fps`` from a
    private Xvfb screen of ``size``, convert them to I420 as a sender's capture does, and
    save them to ``path`` (one ``.npy`` array, frames first) for the senders to replay."""
    import mss
    import numpy as np
    from xvfb import xvfb

    from castapp.rtc.convert import I420Converter

    w, h = size
    with contextlib.ExitStack() as stack:
        try:
            display = stack.enter_context(xvfb(w, h))
        except BaseException as exc:  # the helper's pytest failures included: say it in words
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            raise RuntimeError(f"no Xvfb screen to record the {scene} scene on: "
                               f"{str(exc).splitlines()[0] if str(exc) else exc!r}") from None
        content = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("cast_content.py")), "--display",
             display, "--width", str(w), "--height", str(h), "--fps", "59.5", "--scene", scene],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            assert content.stdout is not None
            if "ready" not in content.stdout.readline():
                raise RuntimeError(f"the {scene} scene did not start on {display}")
            converter = I420Converter()
            clip = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8,
                                             shape=(frames, h * 3 // 2, w))
            with mss.mss(display=display) as sct:
                start = time.monotonic()
                for i in range(frames):
                    time.sleep(max(0.0, start + i / fps - time.monotonic()))
                    clip[i] = converter.convert(np.asarray(sct.grab(sct.monitors[1])))
            clip.flush()
        finally:
            content.terminate()
            content.wait(10)


async def room_sender(url: str, code: str, size: tuple[int, int], fps: float, first: int,
                      name: str, out: Path, replay: Path | None = None) -> None:
    """``replay``: frames recorded by :func:`record_scene` (looped, each sender from its own
    place in the loop, the counter drawn in) instead of the synthetic pattern."""
    import numpy as np

    from castapp.app.target import Caster, parse_target, send_preset, start_source
    from castapp.rtc import pattern
    from castapp.rtc.capture import SyntheticSource

    made: dict[int, float] = {}
    clip = None if replay is None else np.load(replay, mmap_mode="r")

    class Noted(SyntheticSource):
        def _produce(self, seq: int) -> Any:
            if clip is None:
                frame = super()._produce(seq)
            else:
                base = clip[(seq + 37 * (first // BASE)) % len(clip)]
                frame = pattern.draw_frame(base, self.width, self.height, self.counter_for(seq))
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
    out.write_text(json.dumps({"made": made, "view": session.status.view,
                               "shifts": source.shifts}))
    emit(event="done")
    await session.close()
    source.stop()


def pinned(args: argparse.Namespace, role: str) -> list[str]:
    """With ``--pin``, the receiver runs on the first core and the senders on the others,
    as a TV and the laptops casting to it are different machines (``taskset``)."""
    if not getattr(args, "pin", False):
        return []
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        raise SystemExit("--pin needs at least two cores")
    mine = cores[:1] if role == "receiver" else cores[1:]
    return ["taskset", "-c", ",".join(map(str, mine))]


def room_run(ns: str, n: int, args: argparse.Namespace, tmp: Path,
             screen_size: tuple[int, int] | None, variant: str = "") -> dict[str, Any]:
    """One count's run; with ``args.replay`` the senders replay ``tmp/scene.npy``."""
    from castproc import JsonProc, castapp_env
    from netns import in_namespace

    env = castapp_env()
    rx_file = tmp / f"rx-{n}.json"
    screen = "none" if screen_size is None else "x".join(map(str, screen_size))
    rx = JsonProc(in_namespace(ns, [*pinned(args, "receiver"), *ME, "room-receiver",
                                    "--out", str(rx_file),
                                    "--screen", screen, "--variant", variant]),
                  env, subprocess.PIPE)
    senders: list[JsonProc] = []
    try:
        ready = rx.expect("ready", timeout=30)
        url = f"ws://127.0.0.1:{ready['port']}/ws"
        w, h = args.size
        for i in range(n):
            tx = JsonProc(in_namespace(ns, [
                *pinned(args, "sender"), *ME, "room-sender", "--url", url, "--code",
                ready["code"], "--size", f"{w}x{h}",
                "--fps", str(args.fps), "--first", str(i * BASE), "--name", f"Laptop {i + 1}",
                "--out", str(tmp / f"tx-{n}-{i}.json"),
                *(["--replay", str(tmp / "scene.npy")] if args.replay else [])]),
                env, subprocess.PIPE)
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
                    "asked": sent["view"],
                    # times the TV moved this sender's capture clock (castapp.session.phase)
                    "clock_moves": sent["shifts"],
                    "arrival_offset_ms": got["offsets_ms"].get(f"Laptop {i + 1}")})
    tap = got["tap_s"]
    frames = len(got["frames"])
    return {"n": n, "senders": out,
            "receiver_cpu": round((rx_cpu - tap) / got["wall_s"], 3),
            "receiver_cpu_ms_per_frame": round((rx_cpu - tap) * 1000 / frames, 3)
            if frames else None,
            "receiver_cpu_in_process": round((got["cpu_s"] - tap) / got["wall_s"], 3),
            # by thread name: [user, system] cores (the tap is in the main thread's)
            "receiver_threads": {k: v for k, v in got["threads"].items() if sum(v) > 0}}


def _measured(ns: str, n: int, args: argparse.Namespace, tmp: Path,
              screen: tuple[int, int] | None, variant: str = "") -> dict[str, Any]:
    failed: list[str] = []
    for _attempt in range(2):  # once more if a sender never reached the screen
        try:
            return {**room_run(ns, n, args, tmp, screen, variant),
                    "failed_attempts": failed}
        except AssertionError as exc:
            failed.append(str(exc)[:1500])
    return {"n": n, "error": failed}  # the machine could not carry it: say so, go on


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The largest count's figures, and every count's against one sender."""
    result: dict[str, Any] = {"runs": runs}
    last = next((r for r in reversed(runs) if "error" not in r), None)
    if last is not None:
        result["senders"], result["receiver_cpu"] = last["senders"], last["receiver_cpu"]
    one = next((r for r in runs if r["n"] == 1 and "error" not in r), None)
    if one is not None:
        base, first = one["receiver_cpu"], one["senders"][0]
        result["ratios_to_one_sender"] = {
            str(r["n"]): {
                "receiver_cpu": ratio(r["receiver_cpu"], base),
                "worst_p95_latency": ratio(max((s["latency_ms"]["p95"] or 0)
                                               for s in r["senders"]),
                                           first["latency_ms"]["p95"]),
                "min_fps": ratio(min(s["fps"] for s in r["senders"]), first["fps"]),
                # "Laptop 1": the spotlit one in a spotlight
                "first_sender_p50_latency": ratio(r["senders"][0]["latency_ms"]["p50"],
                                                  first["latency_ms"]["p50"]),
                "first_sender_p95_latency": ratio(r["senders"][0]["latency_ms"]["p95"],
                                                  first["latency_ms"]["p95"]),
            } for r in runs if "error" not in r}
    return result


def _repeats(series: list[list[dict[str, Any]]]) -> dict[str, Any]:
    """Each series' receiver CPU against its own one-sender run, per count, with the median
    and range over the series (the machine's load moves single runs by ±15 %)."""
    by_count: dict[str, list[float]] = {}
    for runs in series:
        for n, got in (_summary(runs).get("ratios_to_one_sender") or {}).items():
            if got["receiver_cpu"] is not None:
                by_count.setdefault(n, []).append(got["receiver_cpu"])
    return {n: {"receiver_cpu_ratios": values,
                "receiver_cpu_ratio_median": round(statistics.median(values), 2),
                "receiver_cpu_ratio_range": [min(values), max(values)]}
            for n, values in by_count.items()}


def run_senders(args: argparse.Namespace) -> dict[str, Any]:
    """``args``: senders (counts), size, fps, warmup, seconds, screen (None: no layout),
    compare ("no-layout": each count again without a layout, right after; "stock-decode":
    each count again on a receiver decoding through aiortc's own path)."""
    from netns import private_namespace

    counts = sorted(set(args.senders) | {1})  # one sender is the reference
    other = {"no-layout": "no_layout", "stock-decode": "stock_decode", "spotlight": "spotlight",
             "queued": "queued", "unaligned": "unaligned"}.get(args.compare or "")
    if other in ("no_layout", "spotlight") and args.screen is None:
        other = None
    runs: list[dict[str, Any]] = []
    plain: list[dict[str, Any]] = []
    repeats: list[list[dict[str, Any]]] = []
    with tempfile.TemporaryDirectory() as tmp, private_namespace() as ns:
        if args.replay:
            record_scene(Path(tmp) / "scene.npy", args.size, args.replay)
        for _ in range(getattr(args, "repeat", 1) - 1):  # --repeat K: K-1 series first
            repeats.append([_measured(ns, n, args, Path(tmp), args.screen) for n in counts])
        for n in counts:
            runs.append(_measured(ns, n, args, Path(tmp), args.screen))
            if other == "no_layout":
                plain.append(_measured(ns, n, args, Path(tmp), None))
            elif other is not None:
                plain.append(_measured(ns, n, args, Path(tmp), args.screen,
                                       variant=args.compare))
    result: dict[str, Any] = {
        "benchmark": "senders", "size": "x".join(map(str, args.size)), "fps": args.fps,
        "content": f"replayed {args.replay} scene" if args.replay else "synthetic pattern",
        "screen": "x".join(map(str, args.screen)) if args.screen else None,
        "seconds": args.seconds, **_summary(runs)}
    if repeats:
        result["repeats"] = _repeats([*repeats, runs])
    if other is not None:
        result[other] = _summary(plain)
        pairs = [(r, q) for r, q in zip(runs, plain, strict=True)
                 if "error" not in r and "error" not in q]
        result[f"ratios_over_{other}"] = {
            str(r["n"]): {
                "receiver_cpu": ratio(r["receiver_cpu"], q["receiver_cpu"]),
                "receiver_cpu_per_frame": ratio(r["receiver_cpu_ms_per_frame"],
                                                q["receiver_cpu_ms_per_frame"]),
                "worst_p95_latency": ratio(max(s["latency_ms"]["p95"] or 0 for s in r["senders"]),
                                           max(s["latency_ms"]["p95"] or 0
                                               for s in q["senders"])),
                "worst_p50_latency": ratio(max(s["latency_ms"]["p50"] or 0 for s in r["senders"]),
                                           max(s["latency_ms"]["p50"] or 0
                                               for s in q["senders"])),
                "min_fps": ratio(min(s["fps"] for s in r["senders"]),
                                 min(s["fps"] for s in q["senders"])),
            } for r, q in pairs}
    return result


# ====================================================================== one sender, N TVs
def loopback_only() -> None:
    import aioice.ice

    aioice.ice.get_host_addresses = (  # type: ignore[assignment]
        lambda use_ipv4=True, use_ipv6=False: ["127.0.0.1"] if use_ipv4 else [])


async def fan_sender(url: str, codes: list[str], width: int, height: int, fps: float) -> None:
    from castapp.rtc.capture import SyntheticSource
    from castapp.rtc.encoder import EncoderConfig
    from castapp.session.fanout import FanoutCast
    from castapp.session.sender import SenderState

    produced: dict[int, float] = {}

    class Stamped(SyntheticSource):
        def _produce(self, seq: int) -> Any:
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
    emit(ready=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    emit(produced=produced, stats=fanout.stats())
    await fanout.close()
    source.stop()


async def fan_receiver(url: str, index: int) -> None:
    from castapp.session.receiver import ReceiverSession

    shown: dict[int, float] = {}
    recording = {"on": False}

    def handle(frame: Any) -> None:
        if recording["on"] and (value := read_counter(frame)) is not None:
            shown.setdefault(value, frame.received_at)

    receiver = ReceiverSession(url, name=f"TV{index}", on_frame=handle)
    status = await receiver.start()
    emit(code=status.code)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.readline)  # start recording
    recording["on"] = True
    await loop.run_in_executor(None, sys.stdin.readline)  # stop
    recording["on"] = False
    emit(shown=shown)
    await receiver.stop()


def _child(role: str, *argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen([*ME, role, *argv], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})


async def _ask(proc: subprocess.Popen[str], line: str | None = None) -> dict[str, Any]:
    assert proc.stdin is not None and proc.stdout is not None
    if line is not None:
        proc.stdin.write(line + "\n")
        proc.stdin.flush()
    text = await asyncio.get_running_loop().run_in_executor(None, proc.stdout.readline)
    if not text:
        raise RuntimeError("a benchmark process ended early")
    return dict(json.loads(text))


def _tell(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.write("\n")
    proc.stdin.flush()


async def fan_case(url: str, n: int, args: argparse.Namespace) -> dict[str, Any]:
    w, h = args.size
    receivers = [_child("fan-receiver", "--url", url, "--index", str(i)) for i in range(n)]
    codes = [str((await _ask(r))["code"]) for r in receivers]
    sender = _child("fan-sender", "--url", url, "--codes", ",".join(codes),
                    "--size", f"{w}x{h}", "--fps", str(args.fps))
    await _ask(sender)
    await asyncio.sleep(args.warmup)
    for r in receivers:
        _tell(r)
    cpu0, t0 = cpu_seconds(sender.pid), time.monotonic()
    rcpu0 = [cpu_seconds(r.pid) for r in receivers]
    await asyncio.sleep(args.seconds)
    cpu1, t1 = cpu_seconds(sender.pid), time.monotonic()
    rcpu = [round((cpu_seconds(r.pid) - c) / (t1 - t0), 3)
            for r, c in zip(receivers, rcpu0, strict=True)]
    shown = [{int(k): v for k, v in (await _ask(r, ""))["shown"].items()} for r in receivers]
    report = await _ask(sender, "")
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


async def _fan_all(args: argparse.Namespace) -> dict[str, Any]:
    from castapp.signaling.server import RoomServer, ServiceConfig
    from castapp.signaling.tokens import TokenSigner

    server = RoomServer(ServiceConfig(host="127.0.0.1", port=0),
                        TokenSigner(secrets.token_bytes(32)))
    await server.start()
    try:
        one = await fan_case(server.url, 1, args)
        many = await fan_case(server.url, args.receivers, args)
    finally:
        await server.stop()
    worst = [r["latency_ms"]["p95"] for r in many["per_receiver"]]
    return {"benchmark": "receivers", "size": "x".join(map(str, args.size)), "fps": args.fps,
            "seconds": args.seconds, "one": one, "many": many,
            "per_receiver": many["per_receiver"], "sender_cpu": many["sender_cpu"],
            "ratios": {"sender_cpu": ratio(many["sender_cpu"], one["sender_cpu"]),
                       "worst_p95_latency": ratio(max((p or 0) for p in worst),
                                                  one["per_receiver"][0]["latency_ms"]["p95"]),
                       "min_fps": ratio(min(r["fps"] for r in many["per_receiver"]),
                                        one["per_receiver"][0]["fps"])}}


def run_receivers(args: argparse.Namespace) -> dict[str, Any]:
    """``args``: receivers (N), size, fps, warmup, seconds."""
    loopback_only()
    return asyncio.run(_fan_all(args))


# ====================================================================== child processes
def _size(text: str) -> tuple[int, int]:
    w, h = text.split("x")
    return int(w), int(h)


def main() -> None:
    """The roles the orchestrators start (the benchmark itself runs from cast.py)."""
    parser = argparse.ArgumentParser(description="a process of cast.py --senders/--receivers")
    sub = parser.add_subparsers(dest="role", required=True)
    r = sub.add_parser("room-receiver")
    r.add_argument("--out", type=Path, required=True)
    r.add_argument("--screen", required=True)
    r.add_argument("--variant", default="",
                   choices=("", "stock-decode", "spotlight", "queued", "unaligned"))
    s = sub.add_parser("room-sender")
    for flag in ("--url", "--code", "--name", "--size"):
        s.add_argument(flag, required=True)
    s.add_argument("--fps", type=float, default=30)
    s.add_argument("--first", type=int, default=0)
    s.add_argument("--out", type=Path, required=True)
    s.add_argument("--replay", type=Path)
    fs = sub.add_parser("fan-sender")
    for flag in ("--url", "--codes", "--size"):
        fs.add_argument(flag, required=True)
    fs.add_argument("--fps", type=float, default=30)
    fr = sub.add_parser("fan-receiver")
    fr.add_argument("--url", required=True)
    fr.add_argument("--index", type=int, default=0)
    args = parser.parse_args()
    if args.role == "room-receiver":
        asyncio.run(room_receiver(args.out, None if args.screen == "none"
                                  else _size(args.screen), args.variant))
    elif args.role == "room-sender":
        asyncio.run(room_sender(args.url, args.code, _size(args.size), args.fps, args.first,
                                args.name, args.out, args.replay))
    elif args.role == "fan-sender":
        loopback_only()
        w, h = _size(args.size)
        asyncio.run(fan_sender(args.url, args.codes.split(","), w, h, args.fps))
    else:
        loopback_only()
        asyncio.run(fan_receiver(args.url, args.index))


if __name__ == "__main__":
    main()
