"""aiortc adaptations: pinned version, private internals, marker-bit frame release."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator

import aiortc
import aiortc.rtcrtpsender
import av
import pytest
from aiortc import RTCRtpSender
from aiortc.codecs.g711 import PcmuEncoder
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtcrtpreceiver import RemoteStreamTrack
from aiortc.rtp import RtpPacket

from castapp.rtc import adapt
from castapp.rtc.encoder import ScreenH264Encoder, ScreenVp8Encoder
from castapp.rtc.receive import FrameReceiver, drain_newest

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def stock() -> Iterator[None]:
    was = adapt.installed()
    adapt.uninstall()
    yield
    if was:
        adapt.install()


def test_aiortc_version_is_tested() -> None:
    assert aiortc.__version__ in adapt.TESTED_AIORTC_VERSIONS, (
        f"aiortc {aiortc.__version__} is not in TESTED_AIORTC_VERSIONS "
        f"{adapt.TESTED_AIORTC_VERSIONS}: review castapp/rtc/adapt.py against the new release "
        "(JitterBuffer._remove_frame, rtcrtpsender.get_encoder, H264Encoder/Vp8Encoder "
        "internals, RemoteStreamTrack._queue) before adding it"
    )


def test_private_internals_unchanged() -> None:
    problems = adapt.check_internals()
    assert problems == [], "aiortc internals used by castapp/rtc/adapt.py changed:\n" + "\n".join(
        problems
    )


def test_stock_sources_match_recorded_hashes() -> None:
    assert adapt.stock_source_hashes() == adapt.STOCK_SOURCE_SHA256


def test_a_build_without_one_librarys_source_still_passes_the_checks(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A frozen build can ship aiortc's sources and not aioice's: what cannot be read is
    what the checks passed on when it was built; what can be read is still compared."""
    real = adapt._source
    hidden = adapt._stock_data_received

    monkeypatch.setattr(adapt, "_source", lambda obj: None if obj is hidden else real(obj))
    assert adapt.check_internals() == []
    monkeypatch.setattr(adapt, "_source",
                        lambda obj: None if obj is hidden else real(obj) + "# changed\n"
                        if obj is adapt._stock_erase_old else real(obj))
    problems = adapt.check_internals()
    assert len(problems) == 1 and problems[0].startswith("RateCounter._erase_old changed"), \
        problems


def test_install_is_idempotent_and_reversible() -> None:
    was = adapt.installed()
    try:
        adapt.install()
        adapt.install()
        assert JitterBuffer._remove_frame is adapt._remove_frame_on_marker
        assert aiortc.rtcrtpsender.get_encoder is adapt.castapp_get_encoder
        levels = {
            c.parameters["profile-level-id"]
            for c in RTCRtpSender.getCapabilities("video").codecs
            if c.mimeType == "video/H264"
        }
        assert levels == {"420034", "42e034"}
        adapt.uninstall()
        assert JitterBuffer._remove_frame is adapt._stock_remove_frame
        levels = {
            c.parameters["profile-level-id"]
            for c in RTCRtpSender.getCapabilities("video").codecs
            if c.mimeType == "video/H264"
        }
        assert levels == {"42001f", "42e01f"}
    finally:
        if was:
            adapt.install()


def test_encoder_factory(installed: None) -> None:
    def codec(mime: str, clock: int = 90000) -> RTCRtpCodecParameters:
        return RTCRtpCodecParameters(mimeType=mime, clockRate=clock, payloadType=100)

    get_encoder = aiortc.rtcrtpsender.get_encoder
    assert isinstance(get_encoder(codec("video/H264")), ScreenH264Encoder)
    assert isinstance(get_encoder(codec("video/VP8")), ScreenVp8Encoder)
    assert isinstance(get_encoder(codec("audio/PCMU", 8000)), PcmuEncoder)


# -- marker-bit release, against aiortc's JitterBuffer --------------------------------


def rtp(seq: int, ts: int, marker: bool, data: bytes) -> RtpPacket:
    packet = RtpPacket(payload_type=96, sequence_number=seq % 65536, timestamp=ts)
    packet.marker = int(marker)
    packet._data = data  # type: ignore[attr-defined]  # set by RTCRtpReceiver in aiortc
    return packet


def feed(jb: JitterBuffer, packets: list[RtpPacket]) -> list[JitterFrame | None]:
    return [jb.add(p)[1] for p in packets]


def frames_of(n_frames: int, per_frame: int, marker: bool, seq0: int = 1000) -> list[RtpPacket]:
    out = []
    seq = seq0
    for f in range(n_frames):
        for i in range(per_frame):
            last = i == per_frame - 1
            out.append(rtp(seq, 3000 * (f + 1), marker and last, bytes([f, i])))
            seq += 1
    return out


def test_marker_releases_frame_on_its_last_packet(installed: None) -> None:
    jb = JitterBuffer(capacity=128, is_video=True)
    out = feed(jb, frames_of(3, 3, marker=True))
    released = [(i, f) for i, f in enumerate(out) if f is not None]
    assert [i for i, _ in released] == [2, 5, 8], "each frame leaves with its marker packet"
    for n, (_, frame) in enumerate(released):
        assert frame.timestamp == 3000 * (n + 1)
        assert frame.data == bytes([n, 0, n, 1, n, 2])


def test_stock_releases_one_frame_late(stock: None) -> None:
    jb = JitterBuffer(capacity=128, is_video=True)
    out = feed(jb, frames_of(3, 3, marker=True))
    assert [i for i, f in enumerate(out) if f is not None] == [3, 6]


def test_without_marker_keeps_stock_rule(installed: None) -> None:
    jb = JitterBuffer(capacity=128, is_video=True)
    out = feed(jb, frames_of(3, 3, marker=False))
    released = [(i, f) for i, f in enumerate(out) if f is not None]
    assert [i for i, _ in released] == [3, 6]
    assert released[0][1].data == bytes([0, 0, 0, 1, 0, 2])


def test_hole_blocks_until_filled(installed: None) -> None:
    jb = JitterBuffer(capacity=128, is_video=True)
    pkts = frames_of(2, 3, marker=True)
    missing = pkts.pop(1)
    out = feed(jb, pkts[:2])
    assert out == [None, None], "frame with a hole is not released even with its marker"
    frame = jb.add(missing)[1]
    assert frame is not None and frame.data == bytes([0, 0, 0, 1, 0, 2])
    # the second frame is complete and goes out with its marker packet
    out = feed(jb, pkts[2:])
    assert [f is not None for f in out] == [False, False, True]


def test_matches_stock_for_audio_and_markerless_video() -> None:
    """Where markers are absent (or audio), the adapted release equals the stock one."""
    rng = random.Random(7)
    for is_video, prefetch, marker in ((False, 4, True), (True, 0, False)):
        packets = []
        seq, ts = 500, 0
        for _ in range(200):
            ts += 960
            for i in range(rng.randint(1, 3) if is_video else 1):
                packets.append((seq, ts, marker and i == 0))
                seq += 1
        rng.shuffle(packets[50:60])
        results = []
        for fn in (adapt._stock_remove_frame, adapt._remove_frame_on_marker):
            jb = JitterBuffer(capacity=16 if not is_video else 128, prefetch=prefetch)
            jb._is_video = is_video
            jb._remove_frame = fn.__get__(jb)  # type: ignore[method-assign]
            out = feed(jb, [rtp(s, t, m, s.to_bytes(2, "big")) for s, t, m in packets])
            results.append([(f.timestamp, f.data) if f else None for f in out])
        assert results[0] == results[1]
        assert sum(r is not None for r in results[0]) > 150


def test_resumed_scan_matches_full_scan_under_loss_and_reordering() -> None:
    """The incremental marker release gives exactly the full scan's frames, packet by packet,
    with large frames, reordering, duplicates, losses and sequence wrap."""
    rng = random.Random(11)
    for trial in range(20):
        packets = []
        seq, ts = 65000 + trial * 50, 0
        for _ in range(60):
            ts += 3000
            n = rng.choice((1, 2, 5, 40, 150))
            packets += [(seq + i, ts, i == n - 1) for i in range(n)]
            seq += n
        arrivals = list(packets)
        for _ in range(30):  # local reordering
            i = rng.randrange(len(arrivals) - 3)
            arrivals[i], arrivals[i + 2] = arrivals[i + 2], arrivals[i]
        arrivals += rng.sample(packets, 10)  # late duplicates
        lost = set(rng.sample(range(len(arrivals)), 4))
        arrivals = [p for i, p in enumerate(arrivals) if i not in lost]
        results = []
        for fn in (adapt._full_scan_remove_frame, adapt._remove_frame_on_marker):
            jb = JitterBuffer(capacity=512, is_video=True)
            jb._remove_frame = fn.__get__(jb)  # type: ignore[method-assign]
            out = feed(jb, [rtp(s % 65536, t, m, (s % 65536).to_bytes(2, "big"))
                            for s, t, m in arrivals])
            results.append([(f.timestamp, f.data) if f else None for f in out])
        assert results[0] == results[1]
        assert sum(r is not None for r in results[0]) > 10


def test_marker_release_with_sequence_wrap(installed: None) -> None:
    jb = JitterBuffer(capacity=128, is_video=True)
    out = feed(jb, frames_of(4, 2, marker=True, seq0=65533))
    assert [i for i, f in enumerate(out) if f is not None] == [1, 3, 5, 7]


# -- draining the decoded-frame queue (RemoteStreamTrack._queue) ----------------------


def gray(value: int) -> av.VideoFrame:
    frame = av.VideoFrame(64, 64, "yuv420p")
    for plane in frame.planes:
        plane.update(bytes([value]) * plane.buffer_size)
    return frame


async def test_receiver_drains_to_newest_frame() -> None:
    track = RemoteStreamTrack(kind="video")
    for v in (10, 20, 30, 40):
        await track._queue.put(gray(v))
    first = await track.recv()
    newest, skipped, ended = drain_newest(track, first)
    assert skipped == 3 and not ended
    assert newest.to_ndarray()[0, 0] == 40


async def test_frame_receiver_newest_and_end() -> None:
    track = RemoteStreamTrack(kind="video")
    got = []
    receiver = FrameReceiver(track, on_frame=got.append)
    for v in (1, 2, 3):
        await track._queue.put(gray(v))
    receiver.start()
    frame = await asyncio.wait_for(receiver.next_frame(), 5)
    assert frame.frame.to_ndarray()[0, 0] == 3 and frame.skipped == 2
    await track._queue.put(gray(4))
    await track._queue.put(None)
    await asyncio.wait_for(receiver.ended.wait(), 5)
    assert [r.frame.to_ndarray()[0, 0] for r in got] == [3, 4]
    assert track.readyState == "ended"
    with pytest.raises(EOFError):
        await receiver.next_frame(after_seq=got[-1].seq)
    await receiver.stop()
