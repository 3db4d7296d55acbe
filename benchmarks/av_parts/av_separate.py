"""``benchmarks/sound.py --separate``: the sender in its own process, picture and sound together.

The two processes exchange SDP through files in a temporary directory (aiortc puts every
candidate in the SDP; both are limited to 127.0.0.1). Times are ``time.monotonic()``, which
is one clock for every process of the machine.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from aiortc import RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack
from av_causes import LoopWatch, StallProbe, arrival_causes, glitch_causes

from castapp.rtc import peer
from castapp.rtc.audio import ChunkBuffer
from castapp.rtc.audio.playout import MAX_TARGET_MS, AudioPlayer
from castapp.rtc.audio.pulse import PulseSink
from castapp.rtc.audio.source import CHUNK_BYTES, SAMPLE_RATE
from castapp.rtc.audio.synthetic import ClickSource, Flashes, FlashVideoSource, click_onsets
from castapp.rtc.ice import IceChooser, IcePlan
from castapp.rtc.offer import OfferRequest, aiortc_offer
from castapp.rtc.receive import FrameReceiver, ReceivedFrame
from castapp.rtc.track import CaptureTrack
from castapp.session.receive_link import AiortcLink, LinkRequest, aiortc_link
from tests.pulse_server import pulse_server

WARMUP_S = 6.0
STALL_S = 0.045  # an audio frame is due every 20 ms: a gap this long empties a 40 ms buffer


class Gaps:
    """Counts gaps longer than ``STALL_S`` between calls of a wrapped method of ``obj``."""

    def __init__(self, obj: Any, name: str) -> None:
        self.count = 0
        self.worst_ms = 0.0
        self._last: float | None = None
        inner = getattr(obj, name)
        if asyncio.iscoroutinefunction(inner):
            async def wrapped_async(*args: Any) -> Any:
                result = await inner(*args)
                self.tick()
                return result
            setattr(obj, name, wrapped_async)
        else:
            def wrapped(*args: Any) -> Any:
                self.tick()
                return inner(*args)
            setattr(obj, name, wrapped)

    def tick(self) -> None:
        now = time.monotonic()
        if self._last is not None and now - self._last > STALL_S:
            self.count += 1
            self.worst_ms = max(self.worst_ms, (now - self._last) * 1000)
        self._last = now

    def reset(self) -> None:
        self.count, self.worst_ms = 0, 0.0

    def report(self) -> dict[str, float]:
        return {"count": self.count, "worst_ms": round(self.worst_ms)}


class GatedClicks(ClickSource):
    """Clicks whose capture thread sleeps while ``on`` is clear: no chunk, no encode, no
    packet, so the cast is the picture alone until it is set again."""

    def __init__(self, flashes: Flashes, on: threading.Event) -> None:
        super().__init__(flashes)
        self.on = on

    def start(self, sink: ChunkBuffer) -> None:
        outer = self

        class Gate:
            def put(self, pcm: bytes, captured_at: float | None = None) -> None:
                while not outer.on.wait(0.1):
                    if outer._stop.is_set():
                        return
                sink.put(pcm, captured_at)

        super().start(Gate())  # type: ignore[arg-type]


def _thread_cpu() -> dict[str, float]:
    """CPU seconds so far of this process's threads, by thread name (Linux)."""
    tick = os.sysconf("SC_CLK_TCK")
    names = {t.native_id: t.name for t in threading.enumerate()}
    out: dict[str, float] = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:  # the thread ended meanwhile
            continue
        name = names.get(int(task.name)) or "other (not Python's)"
        name = name.split(" (")[0] if name.startswith("Thread-") else name
        fields = stat[stat.rindex(")") + 2:].split()
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


async def _alternate(on: threading.Event, seconds: float, window_s: float) -> list[
        dict[str, Any]]:
    """The sender's CPU in windows of ``window_s`` with the sound on and off in turn (the
    first 0.3 s after each switch not counted)."""
    windows = []
    for i in range(max(2, int(seconds / window_s) // 2 * 2)):
        sound = i % 2 == 0
        (on.set if sound else on.clear)()
        await asyncio.sleep(0.3)
        cpu0, t0, th0 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic(), _thread_cpu()
        await asyncio.sleep(window_s - 0.3)
        cpu1, t1, th1 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic(), _thread_cpu()
        windows.append({"sound": sound, "cpu": (cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime
                                                - cpu0.ru_stime) / (t1 - t0),
                        "threads": {k: (v - th0.get(k, 0.0)) / (t1 - t0)
                                    for k, v in th1.items()}})
    on.set()
    return windows


def alternation_summary(windows: list[dict[str, Any]]) -> dict[str, Any]:
    """The sound's share from on/off windows: each on window against the mean of the off
    windows beside it, so a load that drifts during the run cancels out."""
    cpu = [w["cpu"] for w in windows]
    diffs = []
    for i, w in enumerate(windows):
        if w["sound"]:
            near = [cpu[j] for j in (i - 1, i + 1) if 0 <= j < len(cpu)
                    and not windows[j]["sound"]]
            if near:
                diffs.append(cpu[i] - sum(near) / len(near))
    names = {k for w in windows for k in w.get("threads", {})}
    by_thread = {}
    for name in sorted(names):  # the sound's share of each thread: on minus off, medians
        t_on = [w["threads"].get(name, 0.0) for w in windows if w["sound"]]
        t_off = [w["threads"].get(name, 0.0) for w in windows if not w["sound"]]
        share = statistics.median(t_on) - statistics.median(t_off)
        if abs(share) >= 0.002:
            by_thread[name] = round(share, 3)
    on = [c for c, w in zip(cpu, windows, strict=True) if w["sound"]]
    off = [c for c, w in zip(cpu, windows, strict=True) if not w["sound"]]
    share = statistics.median(diffs)
    q = statistics.quantiles(diffs, n=4) if len(diffs) >= 2 else [share] * 3
    return {
        "windows": len(windows),
        "sender_cpu_sound_on": round(statistics.median(on), 3),
        "sender_cpu_sound_off": round(statistics.median(off), 3),
        "audio_sender_cpu": round(share, 3),
        "audio_sender_cpu_quartiles": [round(x, 3) for x in (q[0], q[2])],
        "audio_sender_cpu_range": [round(min(diffs), 3), round(max(diffs), 3)],
        "audio_share_of_picture": round(share / statistics.median(off), 2),
        "audio_sender_cpu_by_thread": by_thread,  # /proc's 10 ms ticks: a rough split
    }


async def _wait_file(path: Path, timeout: float = 30.0) -> str:
    end = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > end:
            raise TimeoutError(f"{path.name} never came")
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.05)
    return path.read_text()


async def run_sender(folder: Path, naive: bool, seconds: float, audio: bool = True,
                     alternate_s: float = 0.0) -> None:
    """The sender process: offer, wait for the answer, cast, report flashes and CPU (with
    ``alternate_s``, in windows of that length with the sound on and off in turn)."""
    sound_on = threading.Event()
    sound_on.set()
    flashes = Flashes(period_s=1.0)
    video = FlashVideoSource(flashes, 1280, 720, fps=30.0)
    video.start()
    times: list[float] = []
    original_add = flashes.add

    def add(at: float) -> None:
        times.append(at)
        original_add(at)

    flashes.add = add  # type: ignore[method-assign]
    if naive:
        StockTrack = sys.modules["__main__"].StockTrack  # benchmarks/sound.py's

        pc = peer.make_peer_connection([])
        peer.add_video_sender(pc, CaptureTrack(video))
        buffer = ChunkBuffer(asyncio.get_running_loop())
        clicks = ClickSource(flashes)
        clicks.start(buffer)
        track = StockTrack(buffer)
        pc.addTransceiver(track, direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        offer = pc.localDescription.sdp
        close: Any = pc.close
    else:
        sender = await aiortc_offer(OfferRequest(
            servers=[], relay_only=False, source=video, codec="h264", encoder=None,
            on_state=lambda state: None,
            audio=(lambda: GatedClicks(flashes, sound_on)) if audio else None))
        offer, close = sender.offer_sdp, sender.close
        track = sender.audio  # type: ignore[attr-defined]
    sent_gaps = Gaps(track, "recv") if track is not None else None  # frames leaving the track
    packets: list[tuple[float, float]] = []  # (handed to aiortc, capture time of its end)
    if not naive and track is not None:
        inner = track.recv

        async def timed_recv() -> Any:
            packet = await inner()
            packets.append((time.monotonic(), track.last_capture_at))
            return packet

        track.recv = timed_recv
    (folder / "offer.sdp").write_text(offer)
    answer = await _wait_file(folder / "answer.sdp")
    if naive:
        await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    else:
        await sender.apply_answer(answer)
    rtp_sent = _note_sent_rtp(pc if naive else sender.pc)  # type: ignore[attr-defined]
    await asyncio.sleep(WARMUP_S)
    if sent_gaps is not None:
        sent_gaps.reset()
    cpu0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    windows = await _alternate(sound_on, seconds, alternate_s) if alternate_s else None
    if not alternate_s:
        await asyncio.sleep(seconds)
    cpu1, t1 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    cpu = (cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime) / (t1 - t0)
    gaps = sent_gaps.report() if sent_gaps is not None else None
    # per flash: from its capture to the Opus packet holding it leaving the track
    to_packet = [next(((at - t) * 1000 for at, end in packets if end >= t), None) for t in times]
    (folder / "sender.part").write_text(json.dumps({"flashes": times, "cpu": cpu, "gaps": gaps,
                                                    "to_packet_ms": to_packet,
                                                    "rtp_sent": rtp_sent,
                                                    "windows": windows}))
    (folder / "sender.part").rename(folder / "sender.json")  # whole when it appears
    await asyncio.sleep(1.0)
    await close()
    if naive:
        clicks.stop()
    video.stop()


def _note_sent_rtp(pc: Any) -> list[tuple[int, float]]:
    """``(sequence number, time.monotonic())`` of each audio RTP packet as it is sent (its
    header is clear text before and after SRTP)."""
    sent: list[tuple[int, float]] = []
    audio = [s for s in pc.getSenders() if s.track is not None and s.track.kind == "audio"]
    if not audio:
        return sent
    ssrc = audio[0]._ssrc.to_bytes(4, "big")
    transport = audio[0].transport
    inner = transport._send_rtp

    async def send_rtp(data: bytes) -> None:
        if data[8:12] == ssrc:
            sent.append((int.from_bytes(data[2:4], "big"), time.monotonic()))
        await inner(data)

    transport._send_rtp = send_rtp
    return sent


def _top_luma(frame: Any) -> float:
    """Mean luma of a frame's top half, every 8th pixel: read straight from the Y plane when
    there is one (no conversion of the whole frame on the TV's event loop)."""
    if frame.format.name in ("yuv420p", "yuvj420p", "nv12"):
        plane = frame.planes[0]
        y = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)
        luma = float(y[: frame.height // 2: 8, : frame.width: 8].mean())
        return (luma - 16.0) * 255.0 / 219.0  # limited range, as the gray conversion gives
    y = frame.to_ndarray(format="gray")[::8, ::8]
    return float(y[: len(y) // 2].mean())


def _picture_decoding(pc: Any) -> dict[str, int]:
    out = {"inline": 0, "threaded": 0}
    for t in pc.getTransceivers():
        queue = getattr(t.receiver, "_RTCRtpReceiver__decoder_queue", None)
        for key in out:
            out[key] += getattr(queue, key, 0)
    return out


def _where(t: float, stalls: list[tuple[float, float]]) -> dict[str, Any]:
    """A glitch's place against the nearest machine stall before it (ms after its end)."""
    before = [(a, b) for a, b in stalls if a <= t]
    if not before:
        return {"after_stall_end_ms": None}
    a, b = max(before)
    return {"after_stall_end_ms": round((t - b) * 1000.0), "stall_ms": round((b - a) * 1000.0)}


def _opus_frame_ms() -> int | None:
    """The Opus frame length the benchmark was told to use (passed on to the sender)."""
    from castapp.rtc.audio import opus_track

    keywords = getattr(opus_track.OpusSettings, "keywords", {})
    return keywords.get("frame_ms") if isinstance(keywords, dict) else None


def _quantiles(values: list[float]) -> dict[str, float | None]:
    if len(values) < 2:
        return {"p50": round(values[0], 1) if values else None, "p95": None}
    q = statistics.quantiles(values, n=20)
    return {"p50": round(statistics.median(values), 1), "p95": round(q[18], 1)}


async def run_separate(naive: bool, seconds: float, stall_mode: bool = True,
                       audio: bool = True, alternate_s: float = 0.0,
                       decode_on_loop: bool = False,
                       pictures_on_loop: bool = False) -> dict[str, Any]:
    """See ``_run_separate``; ``decode_on_loop`` makes the TV decode its sound the former way,
    through aiortc's decoder thread and back on the event loop; ``pictures_on_loop`` the
    former way for the picture beside sound: its small frames decoded on the event loop."""
    from castapp.rtc.audio import playout

    off_loop = playout.decode_pictures_off_loop
    if pictures_on_loop:
        playout.decode_pictures_off_loop = lambda queues: 0  # type: ignore[assignment]
    from castapp.rtc.audio.rtp import ImmediateRelease

    decode_into = ImmediateRelease.decode_into
    if decode_on_loop:
        ImmediateRelease.decode_into = lambda self, push: False  # type: ignore[method-assign]
    try:
        return await _run_separate(naive, seconds, stall_mode, audio, alternate_s)
    finally:
        ImmediateRelease.decode_into = decode_into  # type: ignore[method-assign]
        playout.decode_pictures_off_loop = off_loop  # type: ignore[assignment]


async def _run_separate(naive: bool, seconds: float, stall_mode: bool = True,
                        audio: bool = True, alternate_s: float = 0.0) -> dict[str, Any]:
    """One run; ``audio=False`` casts the picture alone (for the sound's share of the CPU);
    ``alternate_s`` turns the sender's sound on and off in windows of that length and gives
    the sound's share from them (``cpu_alternation``)."""
    shown: list[float] = []
    played: list[float] = []
    sink_ms: list[float] = []
    targets: list[float] = []
    pushed_at: list[float] = []  # a decoded frame with a click went into the playout buffer
    written_at: list[float] = []  # a chunk with a click was taken by the sink
    glitch_at: list[tuple[float, float]] = []  # (monotonic, playout target ms) per underrun
    glitch_mode: list[bool] = []  # the buffer was in stall mode at that underrun
    slow_writes: list[float] = []  # sink writes that blocked over 40 ms (s)
    decode_late: list[float] = []  # a packet's sound entered the buffer this late (s), > 20 ms
    arrivals: list[tuple[float, int]] = []  # (monotonic, RTP sequence number) at the TV

    class TimedSink(PulseSink):
        def write(self, pcm: bytes) -> None:
            if players and players[0].buffer.glitches > len(glitch_at) + glitches_before:
                glitch_at.append((time.monotonic(), players[0].buffer.target_ms))
                glitch_mode.append(players[0].buffer.stalled)
            began = time.monotonic()
            super().write(pcm)
            if time.monotonic() - began > 0.040:
                slow_writes.append(time.monotonic() - began)
            starts = click_onsets(pcm)
            if starts:
                written_at.append(time.monotonic())
                sink_ms.append(self.latency_ms())
                ends_at = time.monotonic() + sink_ms[-1] / 1000.0
                played.extend(ends_at - (CHUNK_BYTES // 4 - s) / SAMPLE_RATE for s in starts)
                if players:
                    targets.append(players[0].buffer.target_ms)

    def on_frame(frame: ReceivedFrame) -> None:
        white = _top_luma(frame.frame) > 200  # the top half: above the counter band
        if white and (not shown or time.monotonic() - shown[-1] > 0.5):
            shown.append(time.monotonic())

    glitches_before = 0
    with tempfile.TemporaryDirectory() as tmp, pulse_server(Path(tmp) / "pulse") as pulse:
        folder = Path(tmp)
        child = subprocess.Popen(
            [sys.executable, str(Path(__file__).parents[1] / "sound.py"), "--role", "sender",
             "--dir", tmp, "--seconds", str(seconds)] + (["--naive"] if naive else [])
            + ([] if audio else ["--no-audio"])
            + ([f"--alternate={alternate_s}"] if alternate_s else [])
            + ([f"--opus-frame-ms={frame_ms}"] if (frame_ms := _opus_frame_ms()) else []),
            env=pulse.env)
        offer = await _wait_file(folder / "offer.sdp")
        players: list[AudioPlayer] = []
        tasks: list[asyncio.Future[None]] = []
        if naive:
            pc = peer.make_peer_connection([])
            frames: list[FrameReceiver] = []

            @pc.on("track")
            def on_track(remote: MediaStreamTrack) -> None:
                if remote.kind == "video":
                    frames.append(FrameReceiver(remote, on_frame))
                    frames[-1].start()
                else:
                    player = AudioPlayer(remote)
                    player.play_into(TimedSink(pulse.server, "tv"))
                    players.append(player)
                    tasks.append(asyncio.ensure_future(player.run()))

            await pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
            await pc.setLocalDescription(await pc.createAnswer())
            answer = pc.localDescription.sdp
        else:
            link = await aiortc_link(LinkRequest(
                offer_sdp=offer, chooser=IceChooser(IcePlan()), on_frame=on_frame,
                on_failed=lambda: None, audio_out=lambda: TimedSink(pulse.server, "tv")))
            assert isinstance(link, AiortcLink) and (link.audio is not None) == audio
            if link.audio is not None:
                players.append(link.audio.player)
                # RTP packets on the receiver's loop
                arrived: Gaps | None = Gaps(link.audio._counter, "add")
                add = link.audio._counter.add

                def timed_add(packet: Any) -> Any:
                    arrivals.append((time.monotonic(), packet.sequence_number))
                    return add(packet)

                link.audio._counter.add = timed_add
            answer = link.answer_sdp
        (folder / "answer.sdp").write_text(answer)
        while audio and not players:
            await asyncio.sleep(0.05)
        if players and not stall_mode:
            players[0].buffer.stall_max_target_ms = MAX_TARGET_MS
        # decoded frames into the playout buffer
        pushed = Gaps(players[0].buffer, "push") if players else None
        if players:
            push = players[0].buffer.push

            def timed_push(pcm: bytes, *args: Any) -> None:
                if len(args) == 2 and time.monotonic() - args[1] > 0.020:
                    decode_late.append(time.monotonic() - args[1])
                if click_onsets(pcm):
                    pushed_at.append(time.monotonic())
                push(pcm, *args)

            players[0].buffer.push = timed_push  # type: ignore[method-assign]
        watch = LoopWatch()
        await asyncio.sleep(WARMUP_S - 1.0)
        probe = StallProbe()
        await probe.ready()
        await asyncio.sleep(1.0)
        for gaps in (pushed, None if naive or not audio else arrived):
            if gaps is not None:
                gaps.reset()
        glitches_before = glitches0 = players[0].buffer.glitches if players else 0
        glitch_at.clear()
        glitch_mode.clear()
        slow_writes.clear()
        decode_late.clear()
        arrivals.clear()
        watch.reset()
        cpu0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
        start = time.monotonic()
        sent = json.loads(await _wait_file(folder / "sender.json", seconds + 60))
        cpu1, t1 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
        glitches = (players[0].buffer.glitches if players else 0) - glitches0
        stalls = await probe.stop()
        watch.stop()
        decoding = {} if naive else _picture_decoding(link.pc)
        if naive:
            for f in frames:
                await f.stop()
            for p in players:
                p.stop()
            for task in tasks:
                task.cancel()
            await pc.close()
        else:
            await link.close()
        child.wait(30)
    audio_lat, video_lat, offsets = [], [], []
    parts: dict[str, list[float]] = {"capture_to_packet": [], "packet_to_buffer": [],
                                     "in_buffer": [], "in_sink": []}
    for flash, to_packet in zip(sent["flashes"], sent["to_packet_ms"], strict=True):
        if flash < start:
            continue
        marks = [next((m for m in seen if 0 <= m - flash < 0.8), None)
                 for seen in (pushed_at, written_at, played)]
        if to_packet is not None and None not in marks:
            into, out, sounds = (1000 * (m - flash) for m in marks)  # type: ignore[operator]
            parts["capture_to_packet"].append(to_packet)
            parts["packet_to_buffer"].append(into - to_packet)
            parts["in_buffer"].append(out - into)
            parts["in_sink"].append(sounds - out)
    for flash in (t for t in sent["flashes"] if t >= start):
        a = [p - flash for p in played if 0 <= p - flash < 0.8]
        v = [s - flash for s in shown if 0 <= s - flash < 0.8]
        if a:
            audio_lat.append(min(a) * 1000)
        if v:
            video_lat.append(min(v) * 1000)
        if a and v:
            offsets.append((min(v) - min(a)) * 1000)
    minutes = (t1 - t0) / 60.0
    stalls = [(a, b) for a, b in stalls if b >= t0 and a <= t1]
    kept = [i for i, (t, _) in enumerate(glitch_at) if t <= t1]  # not the closing's
    glitch_at, glitch_mode = [glitch_at[i] for i in kept], [glitch_mode[i] for i in kept]
    sent_at = {seq: at for seq, at in sent.get("rtp_sent", [])}
    arrivals = [(t, seq) for t, seq in arrivals if t <= t1]  # not the closing's
    watch.lags[:] = [lag for lag in watch.lags if lag[0] <= t1]
    watch.samples[:] = [x for x in watch.samples if x[0] <= t1]
    causes = arrival_causes(arrivals, sent_at, stalls, watch, STALL_S) if arrivals else None
    if sent.get("windows"):
        return {"cpu_alternation": alternation_summary(sent["windows"]),
                "receiver_cpu": round((cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime
                                       - cpu0.ru_stime) / (t1 - t0), 3)}
    return {
        "audio_latency_ms": _quantiles(audio_lat),
        "video_latency_ms": _quantiles(video_lat),
        "av_offset_ms": _quantiles(offsets),
        "av_offset_abs_ms": _quantiles([abs(o) for o in offsets]),
        "av_offset_within_bt1359": sum(-125 <= o <= 45 for o in offsets),
        "flashes": len(offsets),
        "audio_glitches": glitches,
        "audio_glitches_per_min": round(glitches / minutes, 1),
        "audio_stalls": {"sender": sent["gaps"],
                         "arrival": None if naive or not audio else arrived.report(),
                         "into_buffer": pushed.report() if pushed else None},
        "machine_stalls": {"count": len(stalls),
                           "total_ms": round(sum(b - a for a, b in stalls) * 1000.0)},
        **{k: v for k, v in glitch_causes(glitch_at, stalls).items() if k != "outside_at"},
        "audio_glitches_at": [{"s": round(t - t0, 2), "target_ms": round(target),
                               "stall_mode": mode, **_where(t, stalls)}
                              for (t, target), mode in zip(glitch_at, glitch_mode, strict=True)],
        "arrival_gap_causes": causes,
        "tv_loop_lag": watch.report(),
        "tv_decode_late": {"count": len(decode_late),
                           "worst_ms": round(max(decode_late, default=0.0) * 1000.0)},
        "tv_sink_writes_over_40ms": {"count": len(slow_writes),
                                     "worst_ms": round(max(slow_writes, default=0.0) * 1000)},
        "sender_cpu": round(sent["cpu"], 3),
        "jitter_buffer_ms": _quantiles(targets),  # the playout target when a click played
        "sink_latency_ms": _quantiles(sink_ms),  # what the sink held when a click went in
        # where a click's audio latency goes (medians, ms), flash by flash
        "audio_latency_parts_ms": {k: round(statistics.median(v), 1) if v else None
                                   for k, v in parts.items()},
        "receiver_cpu": round((cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime)
                              / (t1 - t0), 3),
        "tv_picture_decodes": decoding,  # on the event loop (inline) or the decoder thread
    }
