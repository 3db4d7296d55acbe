"""Sound benchmark: capture → Opus → aiortc → playout, castapp's path against stock aiortc.

A private PulseAudio daemon (null sinks ``laptop`` and ``tv``) plays a click every 500 ms into
the laptop's sink; the sender captures the sink's monitor, the receiver plays into ``tv``. The
two aiortc peers talk over loopback in one process (aioice is limited to 127.0.0.1).

* ``audio_latency_ms``: from the capture of a click's first 10 ms chunk to the moment the
  chunk holding it is handed to the TV's sink plus the sink's own reported latency (what is
  still to be played before it), i.e. glass-to-ear without the laptop's output buffer;
* ``audio_glitches``: playout underruns after a 3 s warm-up;
* ``sender_cpu``: CPU seconds per second of the audio capture+encode thread work cannot be
  told apart in one process, so this is the whole process (both ends) — an upper bound.
* ``av_offset_ms`` and ``video_latency_ms`` are ``null``: lip sync is not measured here.

``--compare naive`` runs stock aiortc audio as the reference in the same run: aiortc's own
Opus encoder (20 ms, ``voip``) fed ``AudioFrame``s and its stock receive jitter buffer
(``prefetch=4``), into the same playout and sink. Prints one JSON object.

``--separate`` runs the sender in a process of its own (the receiver is this process), with
picture and sound: a 1280x720 test pattern at 30 fps that flashes white once a second and a
click at each flash's capture instant (``castapp.rtc.audio.synthetic``). Both processes share
the system's monotonic clock, so each flash gives ``audio_latency_ms`` (capture to the sink's
reported play time), ``video_latency_ms`` (capture to the frame handed to the display) and
``av_offset_ms`` (sound ahead > 0). ``audio_glitches_per_min`` counts playout underruns,
``sender_cpu`` is the sender process alone, ``audio_stalls`` the gaps over 45 ms in the sound
leaving the sender's track, arriving at the TV and entering its playout buffer. The naive
reference there is stock aiortc audio (its Opus encoder and jitter buffer) without lip sync,
with the same picture path; ``--compare all`` also runs castapp without its stall mode, and
castapp casting the picture alone, whose ``sender_cpu`` subtracted from castapp's gives
``audio_sender_cpu``, the sound's share of the sender's CPU.

Beside each ``--separate`` run the fixed-work probe ``cast_stalls.py`` notes the machine's own
stalls: ``machine_stalls`` ({count, total_ms}), ``audio_glitches_outside_machine_stalls`` (an
underrun within a stall or within the playout buffer's length after it is the machine's),
``audio_glitches_at`` (each underrun against the stall before it, and the buffer's mode),
``arrival_gap_causes`` (each gap in the sound arriving at the TV: sent late by the sender, a
machine stall, the TV's garbage collector, the TV's loop busy or waiting for a core; from the
sender's send time of each RTP packet against the TV reading it), ``tv_loop_lag`` (how late
the TV's loop woke and what it was running meanwhile), ``tv_decode_late`` and
``tv_sink_writes_over_40ms``. ``--compare decode`` runs castapp's TV (small pictures decoded
on its event loop until the sound's first underrun, every picture off it from then on) and the
former way (small pictures on the loop throughout), in turn.

``--load N`` keeps N extra processes spinning for the whole run (each wants a full core), so the
same figures can be taken on a busy machine; ``load_average`` is the 1-minute load at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aioice.ice
import av
import numpy as np
from aiortc import RTCPeerConnection
from aiortc.mediastreams import MediaStreamTrack

sys.path.insert(0, str(Path(__file__).parents[1]))
sys.path.insert(1, str(Path(__file__).parent / "av_parts"))
from castapp.rtc import peer
from castapp.rtc.audio import ChunkBuffer
from castapp.rtc.audio.opus_track import TIME_BASE, OpusAudioTrack
from castapp.rtc.audio.playout import AudioPlayer
from castapp.rtc.audio.pulse import PulseSink, open_monitor
from castapp.rtc.audio.rtp import add_audio_receiver, add_audio_sender
from castapp.rtc.audio.source import CAPTURE_MS, SAMPLE_RATE
from tests.pulse_server import RATE, pulse_server

CLICK_EVERY_S = 0.5
THRESHOLD = 3000


def clicks(seconds: float) -> np.ndarray:
    n = int(seconds * RATE)
    mono = np.zeros(n, dtype=np.int16)
    burst = (0.5 * 32767 * np.sin(2 * np.pi * 1000 * np.arange(480) / RATE)).astype(np.int16)
    for start in range(RATE // 2, n - 480, int(CLICK_EVERY_S * RATE)):
        mono[start: start + 480] = burst
    return np.repeat(mono[:, None], 2, axis=1)


class Onsets:
    """Times at which a click starts in a stream of s16 chunks (clicks are 500 ms apart)."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def feed(self, pcm: bytes, at: float, at_end: bool = False) -> None:
        """``at``: when the chunk's first sample (``at_end``: its last) was captured or
        sounds; the onset's own time is counted from there, whatever the chunk's length."""
        loud = np.flatnonzero(np.abs(np.frombuffer(pcm, dtype="<i2")) > THRESHOLD)
        if not len(loud):
            return
        samples = len(pcm) // 4
        onset = (at - samples / RATE if at_end else at) + int(loud[0]) // 2 / RATE
        if not self.times or onset - self.times[-1] > 0.25:
            self.times.append(onset)


class StockTrack(MediaStreamTrack):
    """The stock way: raw ``AudioFrame``s for aiortc's own Opus encoder."""

    kind = "audio"

    def __init__(self, buffer: ChunkBuffer) -> None:
        super().__init__()
        self._buffer = buffer
        self._pts = 0

    async def recv(self) -> av.AudioFrame:  # type: ignore[override]
        chunk = await self._buffer.get()
        samples = len(chunk.pcm) // 4
        frame = av.AudioFrame(format="s16", layout="stereo", samples=samples)
        frame.planes[0].update(chunk.pcm)
        frame.sample_rate, frame.time_base, frame.pts = SAMPLE_RATE, TIME_BASE, self._pts
        self._pts += samples
        return frame


async def exchange(a: RTCPeerConnection, b: RTCPeerConnection) -> None:
    await a.setLocalDescription(await a.createOffer())
    await b.setRemoteDescription(a.localDescription)
    await b.setLocalDescription(await b.createAnswer())
    await a.setRemoteDescription(b.localDescription)


async def run_once(pulse: Any, naive: bool, seconds: float,
                   capture_ms: int = CAPTURE_MS) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    sent, heard = Onsets(), Onsets()
    buffer = ChunkBuffer(loop)
    original_put = buffer.put

    def put(pcm: bytes, captured_at: float | None = None) -> None:
        sent.feed(pcm, captured_at or time.monotonic(), at_end=True)
        original_put(pcm, captured_at)

    buffer.put = put  # type: ignore[method-assign]
    source = open_monitor(pulse.server, chunk_ms=capture_ms)
    a, b = peer.make_peer_connection([]), peer.make_peer_connection([])
    if naive:
        source.start(buffer)
        track: MediaStreamTrack = StockTrack(buffer)
        a.addTransceiver(track, direction="sendonly")
        b.addTransceiver("audio", direction="recvonly")
    else:
        track = OpusAudioTrack(source, buffer)
        add_audio_sender(a, track)
        add_audio_receiver(b)
    players: list[AudioPlayer] = []
    tasks: list[asyncio.Future[None]] = []

    class TimedSink(PulseSink):
        def write(self, pcm: bytes) -> None:
            heard.feed(pcm, time.monotonic() + self.latency_ms() / 1000.0)
            super().write(pcm)

    @b.on("track")
    def on_track(remote: MediaStreamTrack) -> None:
        player = AudioPlayer(remote)
        player.play_into(TimedSink(pulse.server, "tv"))
        players.append(player)
        tasks.append(asyncio.ensure_future(player.run()))

    await exchange(a, b)
    proc = pulse.play(clicks(seconds + 6), "laptop")
    await asyncio.sleep(3.0)
    glitches0 = players[0].buffer.glitches if players else 0
    cpu0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    await asyncio.sleep(seconds)
    cpu1, t1 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    glitches = (players[0].buffer.glitches if players else 0) - glitches0
    proc.kill()
    proc.wait()
    for p in players:
        p.stop()
    for task in tasks:
        task.cancel()
    track.stop()
    source.stop()
    await a.close()
    await b.close()
    lat = []
    for s in sent.times:
        after = [h - s for h in heard.times if 0 < h - s < 0.4]
        if after:
            lat.append(min(after) * 1000.0)
    cpu = (cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime) / (t1 - t0)
    q = statistics.quantiles(lat, n=20) if len(lat) >= 2 else [float("nan")] * 19
    return {
        "audio_latency_ms": {"p50": round(statistics.median(lat), 1) if lat else None,
                             "p95": round(q[18], 1) if lat else None},
        "clicks_sent": len(sent.times), "clicks_heard": len(lat),
        "av_offset_ms": {"p50": None, "p95": None},
        "audio_glitches": glitches,
        "video_latency_ms": None,
        "sender_cpu": round(cpu, 3),
        "jitter_buffer_ms": round(players[0].buffer.target_ms, 1) if players else None,
    }


@contextlib.contextmanager
def extra_load(processes: int) -> Any:
    """``processes`` busy loops in processes of their own, until the block ends."""
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
               for _ in range(processes)]
    try:
        yield
    finally:
        for b in burners:
            b.kill()
            b.wait()


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--compare", choices=["naive", "all", "cpu", "tv", "capture", "decode"],
                    help="also run stock aiortc audio (all: and, with --separate, castapp "
                         "without its stall mode); cpu: only the sender's CPU, with the "
                         "sound turned on and off in turn in one cast; tv: the TV decoding "
                         "its sound off the event loop against on it, in turn; capture "
                         "(without --separate): PulseAudio read in 20 against 10 ms chunks; "
                         "decode: the TV moving its picture decoding off its event loop at "
                         "the sound's first underrun against keeping it there, in turn")
    ap.add_argument("--repeat", type=int, default=2, metavar="N",
                    help="--compare tv or decode: pairs of runs (default 2)")
    ap.add_argument("--window", type=float, default=2.5, metavar="S",
                    help="--compare cpu: seconds per sound-on or sound-off window")
    ap.add_argument("--separate", action="store_true",
                    help="sender in its own process, with a synchronised flash and click")
    ap.add_argument("--role", choices=["sender"], help=argparse.SUPPRESS)
    ap.add_argument("--dir", help=argparse.SUPPRESS)
    ap.add_argument("--naive", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--no-audio", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--alternate", type=float, default=0.0, help=argparse.SUPPRESS)
    ap.add_argument("--load", type=int, default=0, metavar="N",
                    help="keep N extra busy processes running meanwhile (default 0)")
    ap.add_argument("--nice", type=int, default=0, metavar="N",
                    help="run both ends (and their sound server) at this niceness, e.g. -10 "
                         "to measure them as on a machine that keeps up (negative: root only)")
    ap.add_argument("--opus-frame-ms", type=int, choices=[10, 20],
                    help="castapp's Opus frame length (default: the app's own)")
    args = ap.parse_args()
    if args.opus_frame_ms:
        import functools

        from castapp.rtc.audio import opus_track

        opus_track.OpusSettings = functools.partial(  # type: ignore[misc]
            opus_track.OpusSettings, frame_ms=args.opus_frame_ms)
    aioice.ice.get_host_addresses = (  # type: ignore[assignment]
        lambda use_ipv4=True, use_ipv6=False: ["127.0.0.1"] if use_ipv4 else [])
    if args.role == "sender":
        from av_separate import run_sender

        await run_sender(Path(args.dir), args.naive, args.seconds, not args.no_audio,
                         args.alternate)
        return
    with extra_load(args.load):
        try:
            os.nice(args.nice)  # after the load started: it keeps the usual niceness
        except PermissionError:
            sys.exit("--nice below 0 needs root")
        result = await run_all(args)
    result["extra_load_processes"] = args.load
    result["nice"] = args.nice
    result["opus_frame_ms"] = args.opus_frame_ms or 20
    result["load_average"] = round(os.getloadavg()[0], 1)
    print(json.dumps(result))


async def compare_decode(seconds: float, pairs: int) -> dict[str, Any]:
    """castapp's TV (pictures off its event loop from the sound's first underrun on) and the
    former way (small pictures decoded on the loop throughout), run in turn."""
    from av_separate import run_separate

    keys = ("audio_glitches", "audio_glitches_outside_machine_stalls", "machine_stalls",
            "audio_latency_ms", "av_offset_abs_ms", "video_latency_ms", "audio_stalls",
            "arrival_gap_causes", "tv_loop_lag", "tv_picture_decodes", "jitter_buffer_ms",
            "receiver_cpu", "flashes", "audio_latency_parts_ms")
    runs: dict[str, list[dict[str, Any]]] = {"off_loop": [], "on_loop": []}
    for _ in range(pairs):
        for name in runs:
            r = await run_separate(False, seconds, pictures_on_loop=name == "on_loop")
            r["arrival_gap_causes"] = (r["arrival_gap_causes"] or {}).get("by_cause")
            runs[name].append({k: r[k] for k in keys})
    summary: dict[str, Any] = {}
    for name, rs in runs.items():
        summary[name] = {
            "glitches": [r["audio_glitches"] for r in rs],
            "glitches_outside_machine_stalls": [r["audio_glitches_outside_machine_stalls"]
                                                for r in rs],
            "arrival_gaps": [r["audio_stalls"]["arrival"]["count"] for r in rs],
            "tv_loop_lag_ms": [r["tv_loop_lag"]["total_ms"] for r in rs],
            "audio_latency_p50": [r["audio_latency_ms"]["p50"] for r in rs],
            # less the part that moves with the flashes' phase against the Opus frame
            "after_packet_p50": [round(sum(v for k, v in r["audio_latency_parts_ms"].items()
                                           if k != "capture_to_packet" and v is not None), 1)
                                 for r in rs],
            "av_offset_abs_p95": [r["av_offset_abs_ms"]["p95"] for r in rs],
            "machine_stalls": [r["machine_stalls"]["count"] for r in rs]}
    total = {name: sum(s["glitches"]) for name, s in summary.items()}
    return {"runs": runs, "summary": summary, "glitches_total": total,
            "glitches_ratio_off_to_on_loop": round(total["off_loop"] / total["on_loop"], 2)
            if total["on_loop"] else None}


async def compare_tv(seconds: float, pairs: int) -> dict[str, Any]:
    """The TV decoding sound off its event loop (castapp's way) and on it, run in turn."""
    from av_separate import run_separate

    keys = ("audio_glitches", "audio_latency_ms", "av_offset_abs_ms", "video_latency_ms",
            "audio_stalls", "jitter_buffer_ms", "receiver_cpu", "flashes")
    runs: dict[str, list[dict[str, Any]]] = {"off_loop": [], "on_loop": []}
    for _ in range(pairs):
        for name in runs:
            r = await run_separate(False, seconds, decode_on_loop=name == "on_loop")
            runs[name].append({k: r[k] for k in keys})
    total = {name: sum(r["audio_glitches"] for r in rs) for name, rs in runs.items()}
    return {"runs": runs, "glitches_total": total,
            "glitches_ratio_off_to_on_loop": round(total["off_loop"] / total["on_loop"], 2)
            if total["on_loop"] else None}


async def run_all(args: argparse.Namespace) -> dict[str, Any]:
    if args.separate:
        from av_separate import run_separate

        if args.compare == "cpu":
            return await run_separate(False, args.seconds, alternate_s=args.window)
        if args.compare == "tv":
            return await compare_tv(args.seconds, args.repeat)
        if args.compare == "decode":
            return await compare_decode(args.seconds, args.repeat)
        result: dict[str, Any] = {"castapp": await run_separate(False, args.seconds)}
        if args.compare:
            result["naive"] = await run_separate(True, args.seconds)
            c, n = result["castapp"], result["naive"]
            for key in ("audio_latency_ms", "av_offset_abs_ms"):
                if c[key]["p50"] and n[key]["p50"]:
                    result[f"ratio_{key}_p50"] = round(c[key]["p50"] / n[key]["p50"], 2)
            result["glitches_per_min_ratio"] = round(
                c["audio_glitches_per_min"] / n["audio_glitches_per_min"], 2) \
                if n["audio_glitches_per_min"] else None
        if args.compare == "all":
            result["no_stall_mode"] = off = await run_separate(False, args.seconds, False)
            result["glitches_per_min_ratio_to_no_stall_mode"] = round(
                c["audio_glitches_per_min"] / off["audio_glitches_per_min"], 2) \
                if off["audio_glitches_per_min"] else None
            silent = await run_separate(False, args.seconds, audio=False)
            result["picture_only"] = {k: silent[k] for k in ("video_latency_ms", "sender_cpu",
                                                             "receiver_cpu")}
            result["audio_sender_cpu"] = round(
                result["castapp"]["sender_cpu"] - silent["sender_cpu"], 3)
        return result
    with tempfile.TemporaryDirectory() as tmp, pulse_server(Path(tmp)) as pulse:
        if args.compare == "capture":  # in turn, so a drifting load hits both alike
            runs: dict[str, list[dict[str, Any]]] = {"read_20ms": [], "read_10ms": []}
            for _ in range(args.repeat):
                for name in runs:
                    runs[name].append(await run_once(pulse, False, args.seconds,
                                                     int(name[5:7])))
            return {"runs": runs, **{f"{name}_latency_p50_median": statistics.median(
                r["audio_latency_ms"]["p50"] for r in rs) for name, rs in runs.items()}}
        result = {"castapp": await run_once(pulse, False, args.seconds)}
        if args.compare:
            result["naive"] = await run_once(pulse, True, args.seconds)
            c, n = result["castapp"]["audio_latency_ms"], result["naive"]["audio_latency_ms"]
            if c["p50"] and n["p50"]:
                result["ratio_latency_p50"] = round(c["p50"] / n["p50"], 2)
    return result


if __name__ == "__main__":
    asyncio.run(main())
