"""Per-connection encoder settings and packet pacing, between real aiortc peers over
127.0.0.1 (one process, two casts at once, real x264); pacing of the fan-out encoder's
connections too (one encode, each connection paced by its own sender)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import av
import numpy as np
import pytest
from aiortc import RTCPeerConnection
from closing import bounded
from loopback_peers import Harness
from rtp_tap import tap

from castapp.rtc import peer
from castapp.rtc.capture import SyntheticSource
from castapp.rtc.encoder import EncoderConfig
from castapp.rtc.pacer import PacerStats, PacingConfig
from castapp.rtc.receive import FrameReceiver, ReceivedFrame
from castapp.rtc.shared_encoder import SharedEncoderHub, SharedTrack
from castapp.rtc.track import CaptureTrack

pytestmark = pytest.mark.timeout(60)

#: Paced from the first frame (castapp's default waits for the path's first reported loss).
WINDOW_30MS = PacingConfig(factor=2.5, window_s=0.030, burst_bytes=4_000, from_first_loss=False)


class DecoyTrack(CaptureTrack):
    """A capture track that, after each frame, frees another frame that held its link.

    PyAV 18 keeps a frame's ``opaque`` object in one table keyed by the object's id and
    drops the entry when any frame holding it is freed: a frame that carried the link
    would then reach the encoder with ``opaque`` None."""

    async def recv(self) -> av.VideoFrame:
        frame = await super().recv()
        decoy = av.VideoFrame(16, 16, "yuv420p")
        decoy.opaque = self.link
        del decoy
        return frame


class TexturedSource(SyntheticSource):
    """The test pattern with a fixed 320x320 noise patch: keyframes of tens of KB (like a
    screen full of text), small P-frames."""

    def __init__(self, width: int, height: int, fps: float) -> None:
        super().__init__(width, height, fps)
        self._noise = np.random.default_rng(7).integers(0, 256, (320, 320), dtype=np.uint8)

    def _produce(self, seq: int) -> np.ndarray:
        frame = super()._produce(seq)
        frame[self.height - 320:self.height, :320] = self._noise  # Y plane, bottom left
        return frame


class Peers(Harness):
    def __init__(self) -> None:
        super().__init__()
        self.hubs: list[SharedEncoderHub] = []

    async def close(self) -> None:
        for h in self.hubs:
            await bounded("a shared encoder's close", h.close())
        await super().close()

    async def cast(self, track_cls: type[CaptureTrack], config: EncoderConfig,
                   width: int = 640, height: int = 360, fps: float = 30
                   ) -> tuple[CaptureTrack, list[ReceivedFrame]]:
        src = TexturedSource(width, height, fps)
        src.start()
        self.sources.append(src)
        sender, receiver = self.pc(), self.pc()
        track = track_cls(src, encoder=config)
        peer.add_video_sender(sender, track)
        frames: list[ReceivedFrame] = []
        got: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        @receiver.on("track")
        def on_track(remote: object) -> None:
            fr = FrameReceiver(remote, frames.append)  # type: ignore[arg-type]
            fr.start()
            self.receivers.append(fr)
            got.set_result(None)

        await sender.setLocalDescription(await sender.createOffer())
        await receiver.setRemoteDescription(sender.localDescription)
        await receiver.setLocalDescription(await receiver.createAnswer())
        await sender.setRemoteDescription(receiver.localDescription)
        await asyncio.wait_for(got, 10)
        return track, frames


@pytest.fixture
async def peers(loopback_only: None) -> AsyncIterator[Peers]:
    p = Peers()
    yield p
    await p.close()


def sender_encoder(track: CaptureTrack, pcs: list[RTCPeerConnection]) -> object:
    for pc in pcs:
        for t in pc.getTransceivers():
            if t.sender.track is track:
                return getattr(t.sender, "_RTCRtpSender__encoder", None)
    return None


async def test_each_connection_encodes_with_its_own_link_even_when_opaque_is_lost(
    peers: Peers,
) -> None:
    """Two casts in one process, each with its own settings; the frames' opaque objects are
    freed under them, and every frame still counts on (and is encoded with) its own link."""
    sharp = EncoderConfig(max_fps=30, crf=18, hardware=False, change_driven=False,
                          keyframe_interval_s=0.5)
    coarse = EncoderConfig(max_fps=30, crf=40, hardware=False, change_driven=False)
    track_a, frames_a = await peers.cast(DecoyTrack, sharp)
    track_b, frames_b = await peers.cast(DecoyTrack, coarse)
    await asyncio.sleep(3.0)

    assert len(frames_a) >= 30 and len(frames_b) >= 30, (len(frames_a), len(frames_b))
    enc_a = sender_encoder(track_a, peers.pcs)
    enc_b = sender_encoder(track_b, peers.pcs)
    assert enc_a is not None and enc_b is not None and enc_a is not enc_b
    assert enc_a.link is track_a.link and enc_b.link is track_b.link  # type: ignore[attr-defined]
    assert enc_a.config.crf == 18 and enc_b.config.crf == 40  # type: ignore[attr-defined]
    a, b = track_a.link.stats, track_b.link.stats
    # Every frame the sender took from the track was encoded on its own link.
    assert a.frames >= track_a.frames_sent - 1 and b.frames >= track_b.frames_sent - 1
    assert a.frames >= 30 and b.frames >= 30
    assert a.keyframes >= 4 and b.keyframes <= 2, (a.keyframes, b.keyframes)
    assert a.total_bytes / a.frames > 1.2 * b.total_bytes / b.frames, (a, b)


async def test_a_large_frame_is_paced_and_arrives_whole(peers: Peers) -> None:
    """Keyframes of a 1280x720 picture are larger than the burst: their tail is spread
    out, every frame still arrives, and nothing is left queued."""
    pacing = WINDOW_30MS
    config = EncoderConfig(max_fps=30, hardware=False, change_driven=False, pacing=pacing,
                           keyframe_interval_s=0.5)
    track, frames = await peers.cast(CaptureTrack, config, 1280, 720)
    await asyncio.sleep(3.0)
    stats = track.link.pacer_stats
    assert stats is not None
    assert track.link.stats.keyframes >= 3
    assert stats.frames_paced >= 3, stats
    assert 0 < stats.max_delay_ms < 500, stats  # spread out, never stuck (loaded machines)
    assert stats.dropped == 0
    assert len(frames) >= 60
    keyframes = [f for f in frames if f.frame.key_frame]
    assert len(keyframes) >= 3


async def default_paced_cast(peers: Peers) -> tuple[CaptureTrack, list[ReceivedFrame],
                                                    PacerStats, Any]:
    """A 1280x720 cast with castapp's default pacing (from the first reported loss), a
    keyframe every 0.5 s; after 1.5 s nothing has been paced. Returns the track, the frames
    received, the sender's pacer counters and the receiver's RTCRtpReceiver."""
    config = EncoderConfig(max_fps=30, hardware=False, change_driven=False,
                           pacing=PacingConfig(window_s=0.030, burst_bytes=4_000),
                           keyframe_interval_s=0.5)
    track, frames = await peers.cast(CaptureTrack, config, 1280, 720)
    await asyncio.sleep(1.5)
    stats = track.link.pacer_stats
    assert stats is not None and track.link.stats.keyframes >= 2
    assert stats.frames_paced == 0 and stats.losses == 0, stats
    return track, frames, stats, peers.pcs[-1].getTransceivers()[0].receiver


async def paced_from_now_on(track: CaptureTrack, frames: list[ReceivedFrame],
                            stats: PacerStats) -> None:
    """The sender hears of a loss within 2.5 s, and paces the keyframes that follow."""
    for _ in range(50):
        if stats.losses:
            break
        await asyncio.sleep(0.05)
    assert stats.losses >= 1, stats
    keyframes, shown = track.link.stats.keyframes, len(frames)
    await asyncio.sleep(1.5)
    assert track.link.stats.keyframes >= keyframes + 2
    assert stats.frames_paced >= 2, stats
    assert len(frames) >= shown + 30 and stats.dropped == 0


async def test_by_default_frames_are_paced_from_the_first_reported_loss(peers: Peers) -> None:
    """Castapp's default: keyframes leave in one burst while the path loses nothing; the
    receiver's first NACK (sent for real over the connection) turns pacing on."""
    track, frames, stats, rtp_receiver = await default_paced_cast(peers)
    ssrc = rtp_receiver.getSynchronizationSources()[0].source
    await rtp_receiver._send_rtcp_nack(ssrc, [1])
    await paced_from_now_on(track, frames, stats)
    assert stats.losses == 1, stats


async def test_a_packet_lost_on_the_way_turns_pacing_on(peers: Peers) -> None:
    """One RTP packet never reaches the receiver (dropped before aiortc reads it, as a cut
    link would): the receiver's own NACK reaches the sender, which retransmits it and paces
    from then on."""
    track, frames, stats, rtp_receiver = await default_paced_cast(peers)
    lost: list[int] = []

    def lose_one(packet: Any) -> bool:
        if not lost:
            lost.append(packet.sequence_number)
            return False
        return True

    tap(rtp_receiver, lose_one)
    await paced_from_now_on(track, frames, stats)
    assert lost


async def test_without_pacing_no_pacer_is_made(peers: Peers) -> None:
    config = EncoderConfig(max_fps=30, hardware=False, change_driven=False, pacing=None)
    track, frames = await peers.cast(CaptureTrack, config, 1280, 720)
    await asyncio.sleep(1.5)
    assert len(frames) >= 20
    assert track.link.pacer_stats is None


async def fan_out(peers: Peers, config: EncoderConfig, receivers: int = 2,
                  width: int = 1280, height: int = 720
                  ) -> tuple[SharedEncoderHub, list[SharedTrack], list[list[ReceivedFrame]]]:
    """One capture and one shared encoder cast to ``receivers`` connections."""
    src = TexturedSource(width, height, 30)
    src.start()
    peers.sources.append(src)
    hub = SharedEncoderHub(src, config)
    peers.hubs.append(hub)
    tracks: list[SharedTrack] = []
    received: list[list[ReceivedFrame]] = []
    for _ in range(receivers):
        sender, receiver = peers.pc(), peers.pc()
        track = hub.track()
        peer.add_video_sender(sender, track)
        frames: list[ReceivedFrame] = []
        got: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def on_track(remote: object, frames: list[ReceivedFrame] = frames,
                     got: asyncio.Future[None] = got) -> None:
            fr = FrameReceiver(remote, frames.append)  # type: ignore[arg-type]
            fr.start()
            peers.receivers.append(fr)
            got.set_result(None)

        receiver.on("track", on_track)
        await sender.setLocalDescription(await sender.createOffer())
        await receiver.setRemoteDescription(sender.localDescription)
        await receiver.setLocalDescription(await receiver.createAnswer())
        await sender.setRemoteDescription(receiver.localDescription)
        await asyncio.wait_for(got, 10)
        tracks.append(track)
        received.append(frames)
    return hub, tracks, received


async def test_the_fan_out_encoder_paces_each_connection(peers: Peers) -> None:
    """One encode to two receivers: each connection's RTP sender paces its own copy of a
    large frame, and every frame still arrives at both."""
    pacing = WINDOW_30MS
    config = EncoderConfig(max_fps=30, hardware=False, change_driven=False, pacing=pacing,
                           keyframe_interval_s=0.5)
    hub, tracks, received = await fan_out(peers, config)
    await asyncio.sleep(3.0)
    (group,) = hub.groups.values()
    assert group.keyframes >= 3
    stats = [t.pacer_stats for t in tracks]
    assert stats[0] is not None and stats[1] is not None and stats[0] is not stats[1]
    for s in stats:
        assert s is not None
        assert s.frames_paced >= 3, s
        assert 0 < s.max_delay_ms < 500, s  # spread out, never stuck (loaded machines)
        assert s.dropped == 0
    for frames in received:
        assert len(frames) >= 60
        assert len([f for f in frames if f.frame.key_frame]) >= 3
    # still one encode per frame for both connections
    assert group.encodes < 0.75 * sum(len(f) for f in received)


async def test_the_fan_out_encoder_without_pacing_sends_in_bursts(peers: Peers) -> None:
    config = EncoderConfig(max_fps=30, hardware=False, change_driven=False, pacing=None)
    _hub, tracks, received = await fan_out(peers, config, receivers=1)
    await asyncio.sleep(1.5)
    assert len(received[0]) >= 20
    assert tracks[0].pacer_stats is None
