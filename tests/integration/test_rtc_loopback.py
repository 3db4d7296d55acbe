"""Two real aiortc peers in one process over 127.0.0.1, exchanging SDP directly.

aioice never offers 127.0.0.1 host candidates, so a fixture restricts host addresses to
loopback for the duration of each test. ICE servers are always ``[]``.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import loopback_peers
import numpy as np
import pytest
from aiortc import RTCPeerConnection
from aiortc.rtp import RtcpRrPacket
from loopback_peers import exchange, receive_into

from castapp.rtc import pattern, peer
from castapp.rtc.capture import SyntheticSource
from castapp.rtc.encoder import ScreenH264Encoder, ScreenVp8Encoder
from castapp.rtc.receive import ReceivedFrame
from castapp.rtc.track import CaptureTrack

pytestmark = pytest.mark.timeout(45)


class TimedSource(SyntheticSource):
    """A synthetic source that remembers when each counter value was produced."""

    def __init__(self, *args: object, **kw: object) -> None:
        super().__init__(*args, **kw)  # type: ignore[arg-type]
        self.produced_at: dict[int, float] = {}

    def _produce(self, seq: int) -> np.ndarray:
        self.produced_at[self.counter_for(seq)] = time.monotonic()
        return super()._produce(seq)


class Harness(loopback_peers.Harness):
    def source(self, width: int, height: int, fps: float) -> TimedSource:
        return self.started(TimedSource(width, height, fps))


@pytest.fixture
async def harness(loopback_only: None) -> AsyncIterator[Harness]:
    h = Harness()
    yield h
    await h.close()


@dataclass
class Readback:
    source: TimedSource
    counters: list[int] = field(default_factory=list)
    unreadable: int = 0
    latency_ms: list[float] = field(default_factory=list)
    sizes: set[tuple[int, int]] = field(default_factory=set)

    def __call__(self, rf: ReceivedFrame) -> None:
        self.sizes.add((rf.width, rf.height))
        y = rf.frame.to_ndarray()[: rf.height]
        counter = pattern.read_counter(y)
        if counter is None:
            self.unreadable += 1
            return
        self.counters.append(counter)
        produced = self.source.produced_at.get(counter)
        if produced is not None:
            self.latency_ms.append((rf.received_monotonic - produced) * 1000.0)


def sender_encoder(pc: RTCPeerConnection) -> object:
    sender = pc.getTransceivers()[0].sender
    return getattr(sender, "_RTCRtpSender__encoder", None)


@pytest.mark.parametrize(
    ("codec", "encoder_cls", "mime"),
    [("h264", ScreenH264Encoder, "video/H264"), ("vp8", ScreenVp8Encoder, "video/VP8")],
)
async def test_pattern_arrives_and_reads_back(
    harness: Harness, codec: peer.Codec, encoder_cls: type, mime: str
) -> None:
    src = harness.source(640, 360, 30)
    sender, receiver = harness.pc(), harness.pc()
    peer.add_video_sender(sender, CaptureTrack(src), codec)
    readback = Readback(src)
    got = receive_into(harness, receiver, readback)
    await exchange(sender, receiver)

    sdp = sender.localDescription.sdp
    candidates = [line for line in sdp.splitlines() if line.startswith("a=candidate")]
    assert candidates and all(" 127.0.0.1 " in c and "typ host" in c for c in candidates)

    frame_receiver = await asyncio.wait_for(got, 10)
    await asyncio.wait_for(frame_receiver.next_frame(), 10)
    await asyncio.sleep(2.5)

    assert sender.connectionState == "connected"
    assert peer.negotiated_codec(sender) == mime
    assert isinstance(sender_encoder(sender), encoder_cls)
    assert readback.sizes == {(640, 360)}
    total = len(readback.counters) + readback.unreadable
    assert len(readback.counters) >= 30, f"only {len(readback.counters)} frames read"
    assert readback.unreadable <= total * 0.05
    assert all(b > a for a, b in zip(readback.counters, readback.counters[1:], strict=False))
    lat = sorted(readback.latency_ms)
    p50, p95 = statistics.median(lat), lat[int(len(lat) * 0.95)]
    enc = sender_encoder(sender)
    print(
        f"{codec}: {len(lat)} frames, latency p50 {p50:.1f} ms, p95 {p95:.1f} ms; "
        f"skipped at receiver {frame_receiver.skipped}, encoder {enc.stats}"  # type: ignore[attr-defined]
    )
    assert p50 < 150.0  # loose: a frame interval late would still pass, a queue would not


async def test_vp8_fallback_when_remote_offers_only_vp8(harness: Harness) -> None:
    """A viewer that only takes VP8 gets VP8 from a sender that prefers H.264."""
    src = harness.source(640, 360, 30)
    viewer, sender = harness.pc(), harness.pc()
    peer.add_video_receiver(viewer, "vp8")
    viewer.getTransceivers()[0].setCodecPreferences(
        [c for c in peer.video_codec_preferences("vp8") if c.mimeType != "video/H264"]
    )
    readback = Readback(src)
    got = receive_into(harness, viewer, readback)
    await viewer.setLocalDescription(await viewer.createOffer())
    await sender.setRemoteDescription(viewer.localDescription)
    transceiver = sender.getTransceivers()[0]
    transceiver.sender.replaceTrack(CaptureTrack(src))
    transceiver.direction = "sendonly"
    await sender.setLocalDescription(await sender.createAnswer())
    await viewer.setRemoteDescription(sender.localDescription)

    frame_receiver = await asyncio.wait_for(got, 10)
    await asyncio.wait_for(frame_receiver.next_frame(), 10)
    await asyncio.sleep(1.0)
    assert peer.negotiated_codec(sender) == "video/VP8"
    assert isinstance(sender_encoder(sender), ScreenVp8Encoder)
    assert len(readback.counters) >= 10


async def test_stats_report_path_codec_and_rates(harness: Harness) -> None:
    src = harness.source(640, 360, 30)
    sender, receiver = harness.pc(), harness.pc()
    peer.add_video_sender(sender, CaptureTrack(src), "h264")
    got = receive_into(harness, receiver, lambda rf: None)
    await exchange(sender, receiver)
    frame_receiver = await asyncio.wait_for(got, 10)
    await asyncio.wait_for(frame_receiver.next_frame(), 10)

    send_stats = peer.StatsSampler(sender)
    recv_stats = peer.StatsSampler(receiver)
    await send_stats.sample()
    await recv_stats.sample()
    await asyncio.sleep(2.0)
    latest = frame_receiver.latest()
    assert latest is not None
    s = await send_stats.sample()
    r = await recv_stats.sample(fps=frame_receiver.fps.fps(), size=(latest.width, latest.height))

    assert s.codec == "video/H264" and r.codec == "video/H264"
    assert s.ice is not None and s.ice.kind == "host"
    assert s.ice.local_address.startswith("127.0.0.1:")
    assert s.ice.remote_address.startswith("127.0.0.1:")
    assert s.packets_sent > 0 and s.send_kbps is not None and s.send_kbps > 0
    assert r.packets_received > 0 and r.recv_kbps is not None and r.recv_kbps > 0
    assert r.fps is not None and 15 < r.fps < 45
    assert (r.width, r.height) == (640, 360)
    if s.rtt_ms is not None:  # receiver reports arrive on aiortc's own schedule
        assert 0 <= s.rtt_ms < 500


async def test_capture_track_skips_stale_frames_and_stamps_wall_clock(harness: Harness) -> None:
    src = harness.source(320, 180, 100)
    track = CaptureTrack(src)
    first = await asyncio.wait_for(track.recv(), 5)
    t0 = time.monotonic()
    await asyncio.sleep(0.25)  # a slow encoder: frames pile up at the source
    second = await asyncio.wait_for(track.recv(), 5)
    elapsed = time.monotonic() - t0
    assert track.frames_skipped >= 5, "stale frames are dropped, not queued"
    newest = src.latest()
    assert newest is not None and track.last_frame is not None
    assert newest.seq - track.last_frame.seq <= 2, "recv returned (nearly) the newest frame"
    delta = (second.pts - first.pts) / 90000
    assert 0.1 <= delta <= elapsed + 0.15  # media time follows capture time, not frame count
    third = await asyncio.wait_for(track.recv(), 5)
    assert third.pts > second.pts
    track.stop()


async def test_a_receiver_whose_reports_are_lost_is_still_heard_from(harness: Harness) -> None:
    """The sender's media watchdog asks when the receiver last sent RTCP. With every
    receiver report lost on the way, its bitrate estimates (every 0.5 s once aiortc's
    estimator has settled, about 3 s in) still say it is alive (a lost report on a lossy
    path once made the sender rebuild a working connection)."""
    src = harness.source(640, 360, 30)
    sender, receiver = harness.pc(), harness.pc()
    feedback = peer.count_feedback(peer.add_video_sender(sender, CaptureTrack(src)).sender)
    got = receive_into(harness, receiver, lambda rf: None)
    await exchange(sender, receiver)
    await asyncio.wait_for((await asyncio.wait_for(got, 10)).next_frame(), 10)
    await asyncio.sleep(3.5)  # the receiver's estimator settles

    rtp_receiver = receiver.getTransceivers()[0].receiver
    send = rtp_receiver._send_rtcp
    lost: list[object] = []

    async def lose_reports(packet: object) -> None:
        if isinstance(packet, RtcpRrPacket):
            lost.append(packet)  # lost on the way
            return
        await send(packet)  # type: ignore[arg-type]

    rtp_receiver._send_rtcp = lose_reports  # type: ignore[method-assign]
    from_now = time.time()
    await asyncio.sleep(3.5)

    reported = await peer.last_report_at(sender)
    heard = await peer.last_heard_at(sender, feedback)
    assert lost, "the receiver sent no report in 3.5 s"
    assert reported is None or reported < from_now + 0.2  # no report got through since
    assert heard is not None and time.time() - heard < 1.0, (heard, time.time())
    assert feedback.heard_at is not None and feedback.heard_at > from_now + 2.5
