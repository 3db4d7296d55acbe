"""The receiving end of the screen-cast benchmark: a receiver that measures every frame.

Default mode runs castapp's :class:`ReceiverSession` (castapp's adapted aiortc: marker-bit
frame release, newest-frame draining) and measures in its ``on_frame`` callback;
``--naive`` answers with a stock aiortc peer connection instead (see ``cast_naive.py``).
Either way it registers with the room service at ``--server`` and prints the cast code.

Per frame, on the event loop, the probe only reads the stamp from the decoded Y plane
(zero-copy view, a few dozen pixel look-ups) and computes glass-to-glass latency =
wall time the frame was handed over - stamped paint time (one machine, one clock). While
the measurement window is open, Y planes of sample stamps are copied and written by a
background thread for the PSNR check (2-3 frames a second). Nothing is converted or
displayed.

stdin: ``measure`` opens the window, ``stop`` closes it. stdout (JSON lines): ``code``,
``first_frame`` (wall time of the first frame handed over) and ``report``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import os
import time
from pathlib import Path
from typing import Any

import av
from aiortc import RTCPeerConnection
from cast_stamp import (
    SampleWriter,
    StampReader,
    emit,
    latency_ms,
    percentiles,
    plane_y,
    run_on_qasync,
    stdin_commands,
)
from cast_trace import ReceiverTrace

from castapp.signaling.client import SignalingClient


class Meter:
    """Counts and latencies of the frames handed to the application."""

    def __init__(self, samples: SampleWriter) -> None:
        self.samples = samples
        self.reader = StampReader()
        self.frames = 0
        self.decoded = 0  # handed over + discarded in favour of a newer decoded frame
        self.first_at: float | None = None
        self.measuring = False
        self.latencies: list[float] = []
        self.latency_times: list[float] = []
        self.unread = 0  # frames in the window whose stamp could not be read
        self.work_s = 0.0  # time spent in on_frame
        self.size: tuple[int, int] | None = None
        self.frame_log: list[tuple[float, float, bool]] = []  # (received, latency, key)
        self.change_latencies: list[float] = []  # first frame showing each new stamp
        self.last_stamp: int | None = None
        self.trace: ReceiverTrace | None = None

    def on_frame(self, frame: av.VideoFrame, received_at: float, skipped: int = 0) -> None:
        t0 = time.perf_counter()
        self.frames += 1
        self.decoded += 1 + skipped
        if self.first_at is None:
            self.first_at = received_at
            emit("first_frame", t=received_at, width=frame.width, height=frame.height)
        if self.measuring:
            y = plane_y(frame)
            stamp = self.reader.read(y)
            if stamp is None:
                self.unread += 1
            else:
                latency = latency_ms(stamp, received_at * 1000.0)
                if stamp != self.last_stamp:
                    if self.last_stamp is not None:  # not the picture the window opened on
                        self.change_latencies.append(latency)
                    self.last_stamp = stamp
                self.latencies.append(latency)
                self.latency_times.append(received_at)
                self.frame_log.append((round(received_at, 4), round(latency, 2),
                                       bool(frame.key_frame)))
                if self.trace is not None:
                    self.trace.delivered(stamp, received_at)
                self.samples.offer(stamp, y, copy=True)
            self.size = (frame.width, frame.height)
        self.work_s += time.perf_counter() - t0


async def bytes_received(pc: RTCPeerConnection | None) -> int:
    if pc is None:
        return 0
    report = await pc.getStats()
    return sum(getattr(s, "bytesReceived", 0) for s in report.values()
               if type(s).__name__ == "RTCTransportStats")


async def ask_keyframes(period_s: float, current_pc: Any) -> None:
    """Every ``period_s`` ask the sender for a keyframe (an RTCP PLI on each video receiver,
    as a decoder that lost a picture does), whatever the sender's mode."""
    while True:
        await asyncio.sleep(period_s)
        pc = current_pc()
        for receiver in pc.getReceivers() if pc is not None else ():
            if receiver.track is None or receiver.track.kind != "video":
                continue
            for source in receiver.getSynchronizationSources():
                await receiver._send_rtcp_pli(source.source)


async def run(args: argparse.Namespace) -> int:
    samples = SampleWriter(args.samples)
    links: list[Any] = []  # peer connections the receiver built
    meter = Meter(samples)
    if args.trace:
        meter.trace = ReceiverTrace()
        meter.trace.install()
    commands = await stdin_commands()
    session: Any = None
    client: SignalingClient | None = None
    naive_pc: RTCPeerConnection | None = None
    naive_task: asyncio.Task[RTCPeerConnection] | None = None

    if args.naive:
        from cast_naive import receive

        client = SignalingClient(args.server, name="cast-probe-naive", reconnect=False)
        await client.connect()
        reg = await client.register()
        emit("code", code=reg.code)
        naive_task = asyncio.create_task(receive(client, meter.on_frame))
    else:
        import castapp.rtc.backlog as backlog
        from castapp.rtc.receive import ReceivedFrame
        from castapp.session.receiver import ReceiverSession

        watch = backlog.watch_connection  # looked up there by each new connection

        def counted_watch(pc: Any, receiver: Any) -> Any:
            links.append(pc)  # a rebuilt connection (the sender's stall watchdog) shows here
            # without the catch-up, the receiver reads and decodes every stale datagram
            return None if args.no_catchup else watch(pc, receiver)

        backlog.watch_connection = counted_watch  # type: ignore[assignment]

        def on_frame(rf: ReceivedFrame) -> None:
            meter.on_frame(rf.frame, rf.received_at, rf.skipped)

        session = ReceiverSession(args.server, name="cast-probe", on_frame=on_frame)
        status = await session.start()
        emit("code", code=status.code)

    def current_pc() -> RTCPeerConnection | None:
        if session is not None:  # the first call's peer connection (one sender here)
            links = [getattr(k.link, "pc", None) for k in session.calls.values()]
            return next((pc for pc in links if pc is not None), None)
        return naive_pc

    start: dict[str, float] = {}
    links_at_start = 0
    asker = (asyncio.create_task(ask_keyframes(args.pli_every, current_pc))
             if args.pli_every else None)
    # CASTAPP_RECEIVER_PROFILE=FILE: cProfile the event loop's thread over the window, in
    # CPU time (slower: figures taken with it are for finding where the time goes only)
    profiler = (cProfile.Profile(time.thread_time)
                if os.environ.get("CASTAPP_RECEIVER_PROFILE") else None)
    try:
        while line := (await commands.readline()).decode().strip():
            if naive_task is not None and naive_task.done() and naive_pc is None:
                naive_pc = naive_task.result()
            if line == "measure":
                meter.latencies.clear()
                meter.frame_log.clear()
                meter.change_latencies.clear()
                meter.last_stamp = None
                meter.unread = 0
                if meter.trace is not None:
                    meter.trace.enabled = True
                start = {"t": time.time(), "frames": meter.frames, "decoded": meter.decoded,
                         "bytes": await bytes_received(current_pc()), "work": meter.work_s}
                meter.measuring = samples.enabled = True
                links_at_start = len(links)
                if profiler is not None:
                    profiler.enable()
            elif line == "stop":
                meter.measuring = samples.enabled = False
                t = time.time()
                if profiler is not None:
                    profiler.disable()
                    profiler.dump_stats(os.environ["CASTAPP_RECEIVER_PROFILE"])
                if meter.trace is not None:
                    meter.trace.enabled = False
                    meter.trace.write(args.trace)
                nbytes = await bytes_received(current_pc())
                samples.close()
                report: dict[str, Any] = {"samples": samples.written, "unread": meter.unread,
                                          "backlog": backlog_counts(current_pc()),
                                          "decoder": decoder_counts(current_pc()),
                                          "new_links": len(links) - links_at_start}
                if start:
                    span = max(1e-6, t - start["t"])
                    frames = meter.frames - start["frames"]
                    report.update(
                        window_s=round(span, 2),
                        frames=frames,
                        fps=round(frames / span, 1),
                        decoded_fps=round((meter.decoded - start["decoded"]) / span, 1),
                        kbps=round((nbytes - start["bytes"]) * 8 / 1000 / span),
                        latency_ms=percentiles(meter.latencies),
                        latency_p95_by_minute=by_minute(meter.latencies,
                                                        meter.latency_times),
                        latency_mean_ms=round(sum(meter.latencies)
                                              / max(1, len(meter.latencies)), 1),
                        probe_ms_per_frame=round((meter.work_s - start["work"]) * 1000
                                                 / max(1, frames), 3),
                        size=meter.size,
                        frame_log=meter.frame_log,
                        change_to_glass_ms=(percentiles(meter.change_latencies, (50, 95))
                                            if meter.change_latencies else None),
                        changes=len(meter.change_latencies),
                    )
                emit("report", **report)
                break
    finally:
        if asker is not None:
            asker.cancel()
        if session is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(session.stop(), 5)
        if naive_task is not None:
            if not naive_task.done():
                naive_task.cancel()
            elif naive_task.exception() is None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(naive_task.result().close(), 5)
        if client is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.close(), 5)
    return 0


def backlog_counts(pc: RTCPeerConnection | None) -> dict[str, Any] | None:
    """What the receiver's catch-up (castapp.rtc.backlog) did, when it runs."""
    for t in pc.getTransceivers() if pc is not None else []:
        gate = getattr(t.receiver, "castapp_backlog", None)
        if gate is not None:
            return dict(vars(gate.counts))
    return None


def decoder_counts(pc: RTCPeerConnection | None) -> dict[str, int] | None:
    """How often the receiver's decoder fell behind and skipped to a keyframe
    (castapp.rtc.decode.DecodeQueue), and the frames it dropped doing so."""
    from castapp.rtc.audio.playout import picture_decode_queues

    for queue in picture_decode_queues(pc) if pc is not None else []:
        return {"catchups": queue.episodes, "skipped": queue.skipped, "unseen": queue.unseen}
    return None


def by_minute(latencies: list[float], times: list[float]) -> list[float]:
    """p95 latency of each whole minute of the window (to see build-up over long casts)."""
    if not times:
        return []
    start, out = times[0], []
    buckets: dict[int, list[float]] = {}
    for value, t in zip(latencies, times, strict=True):
        buckets.setdefault(int((t - start) // 60), []).append(value)
    last = int((times[-1] - start) // 60)
    for minute in range(last):  # the last, partial minute is left out
        if buckets.get(minute):
            out.append(percentiles(buckets[minute], (95,))["p95"])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--server", required=True)
    ap.add_argument("--naive", action="store_true", help="stock aiortc receiver")
    ap.add_argument("--samples", type=Path, required=True)
    ap.add_argument("--no-catchup", action="store_true",
                    help="a receiver that decodes every stale datagram after a stall")
    ap.add_argument("--trace", type=Path, help="write per-frame stage times to this file")
    ap.add_argument("--loop", choices=["asyncio", "qasync"], default="asyncio",
                    help="asyncio's own event loop, or asyncio inside Qt through qasync (as "
                    "the TV's windows run it)")
    ap.add_argument("--single-reads", action="store_true",
                    help="ICE sockets read one datagram per pass of the event loop "
                    "(castapp.rtc.batchread off)")
    ap.add_argument("--queued", action="store_true",
                    help="every datagram queued for the DTLS transport's task "
                    "(castapp.rtc.direct off)")
    ap.add_argument("--pli-every", type=float, metavar="S",
                    help="ask the sender for a keyframe every S seconds (RTCP PLI)")
    args = ap.parse_args()
    if args.single_reads or args.queued:
        from castapp.rtc import adapt

        if args.single_reads:
            adapt.use_batched_reads(False)
        if args.queued:
            adapt.use_queued_datagrams()
    if args.loop == "qasync":
        raise SystemExit(run_on_qasync(run(args)))
    raise SystemExit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
