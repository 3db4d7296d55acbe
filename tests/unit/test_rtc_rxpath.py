"""castapp's video packet path (:mod:`castapp.rtc.rxpath`) does what aiortc's own
``RTCRtpReceiver._handle_rtp_packet`` does: the same frames to the decoder, the same RTCP
(REMB, NACK, PLI) and the same statistics, packet for packet, on real H.264 packets with
loss, reordering, duplicates and retransmissions."""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Any

import av
import numpy as np
import pytest
from aiortc.codecs.h264 import H264Encoder, h264_depayload
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtcrtpreceiver import RTCRtpReceiver
from aiortc.rtp import RtcpPacket, RtpPacket, wrap_rtx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from castapp.rtc import adapt
from castapp.rtc.rxpath import VideoPath, h264_payload, path_of

SSRC, RTX_SSRC, RTCP_SSRC = 1111, 2222, 3333
H264 = RTCRtpCodecParameters(mimeType="video/H264", clockRate=90000, payloadType=96,
                             parameters={"packetization-mode": "1"})
RTX = RTCRtpCodecParameters(mimeType="video/rtx", clockRate=90000, payloadType=97,
                            parameters={"apt": 96})


def encoded_frames(count: int = 12, size: tuple[int, int] = (640, 360)) -> list[list[bytes]]:
    """RTP payloads of real H.264 frames (a keyframe first, the 7th forced a keyframe)."""
    encoder = H264Encoder()
    rng = np.random.default_rng(3)
    w, h = size
    out = []
    for i in range(count):
        image = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)  # noisy: many packets
        image[:, : w // 2] = 40 + i
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts, frame.time_base = i * 3000, Fraction(1, 90000)
        payloads, _ = encoder.encode(frame, force_keyframe=i == 6)
        out.append(payloads)
    return out


def test_h264_payload_reads_what_aiortc_reads() -> None:
    payloads = [p for frame in encoded_frames(4) for p in frame]
    kinds = {p[0] & 0x1F for p in payloads}
    assert {24, 28} <= kinds  # STAP-A (parameter sets) and FU-A (large slices)
    firsts = [p for p in payloads if p[0] & 0x1F == 28 and p[1] & 0x80]
    assert firsts
    for p in payloads:
        assert h264_payload(p) == h264_depayload(p)
    single = bytes([0x65]) + bytes(range(40))
    assert h264_payload(single) == h264_depayload(single)
    for bad in (b"\x1c", b"\x18\x00\x09\x65", b"\x18\x00", b"\x19\x00\x00", b"\x00\x01"):
        with pytest.raises(ValueError):
            h264_depayload(bad)
        with pytest.raises(ValueError):
            h264_payload(bad)


def packets(frames: list[list[bytes]], seed: int) -> list[RtpPacket]:
    """The frames' packets as a network delivers them: in order mostly, some swapped
    neighbours, a few duplicates, a few lost and resent over RTX a few packets later."""
    rng = random.Random(seed)
    out: list[RtpPacket] = []
    seq, sent_s = 65500, 0.0  # crosses the sequence number wrap
    for i, payloads in enumerate(frames):
        for j, payload in enumerate(payloads):
            p = RtpPacket(payload_type=96, sequence_number=seq, timestamp=i * 3000, ssrc=SSRC,
                          marker=j == len(payloads) - 1, payload=payload)
            p.extensions.abs_send_time = int(sent_s * (1 << 18)) & 0xFFFFFF
            out.append(p)
            seq = (seq + 1) & 0xFFFF
            sent_s += 0.0002
        sent_s += 1 / 30
    delivered: list[RtpPacket] = []
    resend: list[tuple[int, RtpPacket]] = []  # (due after this many more packets, packet)
    for p in out:
        if rng.random() < 0.03:  # lost: resent over RTX a few packets later
            resend.append((rng.randint(2, 8), p))
        else:
            delivered.append(p)
            if rng.random() < 0.03:
                delivered.append(p)  # duplicate
        due = [q for n, q in resend if n <= 0]
        resend = [(n - 1, q) for n, q in resend if n > 0]
        for q in due:
            delivered.append(wrap_rtx(q, payload_type=97, sequence_number=len(delivered),
                                      ssrc=RTX_SSRC))
    delivered.extend(wrap_rtx(q, payload_type=97, sequence_number=len(delivered) + i,
                              ssrc=RTX_SSRC) for i, (_, q) in enumerate(resend))
    for k in range(0, len(delivered) - 1, 17):  # neighbours swapped
        delivered[k], delivered[k + 1] = delivered[k + 1], delivered[k]
    return delivered


def fresh(p: RtpPacket) -> RtpPacket:
    """A copy for each receiver: handlers change the packets they are handed."""
    q = RtpPacket(payload_type=p.payload_type, marker=p.marker,
                  sequence_number=p.sequence_number, timestamp=p.timestamp, ssrc=p.ssrc,
                  payload=p.payload)
    q.extensions.abs_send_time = p.extensions.abs_send_time
    return q


class Transport:
    state = "new"

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    async def _send_rtp(self, data: bytes) -> None:
        self.sent.append(data)


class Frames:
    """Stands in for the decoder's queue: what the receiver hands its decoder."""

    def __init__(self) -> None:
        self.got: list[tuple[str, bytes, int]] = []

    def put(self, task: Any) -> None:
        codec, frame = task
        self.got.append((codec.name, frame.data, frame.timestamp))


def receiver() -> tuple[RTCRtpReceiver, Transport, Frames]:
    transport = Transport()
    r = RTCRtpReceiver("video", transport)  # type: ignore[arg-type]
    r._RTCRtpReceiver__codecs.update({96: H264, 97: RTX})  # type: ignore[attr-defined]
    r._RTCRtpReceiver__rtx_ssrc[RTX_SSRC] = SSRC  # type: ignore[attr-defined]
    frames = Frames()
    r._RTCRtpReceiver__decoder_queue = frames  # type: ignore[attr-defined]
    r._RTCRtpReceiver__decoder_thread = True  # type: ignore[attr-defined]
    r._set_rtcp_ssrc(RTCP_SSRC)
    return r, transport, frames


def summary(r: RTCRtpReceiver, transport: Transport, frames: Frames) -> dict[str, Any]:
    streams = r._RTCRtpReceiver__remote_streams  # type: ignore[attr-defined]
    nacks = r._RTCRtpReceiver__nack_generator  # type: ignore[attr-defined]
    rtcp = [f"{type(p).__name__}({getattr(p, 'fmt', None)}, {getattr(p, 'lost', None)}, "
            f"{getattr(p, 'fci', b'')!r})"
            for data in transport.sent for p in RtcpPacket.parse(data)]
    return {
        "frames": frames.got, "rtcp": rtcp,
        "stats": {ssrc: (s.packets_received, s.max_seq, s.cycles, s.base_seq)
                  for ssrc, s in streams.items()},
        "nack": (nacks.max_seq, sorted(nacks.missing)),
        "sources": sorted(r._RTCRtpReceiver__active_ssrc),  # type: ignore[attr-defined]
    }


@pytest.mark.parametrize("seed", [1, 2])
async def test_the_path_does_what_the_stock_handler_does(seed: int) -> None:
    adapt.install(advertise_level=False)
    trace = packets(encoded_frames(30), seed)
    stock, stock_tx, stock_frames = receiver()
    ours, our_tx, our_frames = receiver()
    path = path_of(ours)
    assert isinstance(path, VideoPath) and path_of(ours) is path
    handled = []
    path.handled.append(lambda: handled.append(1))
    ends: list[int] = []
    path.on_marker.append(lambda p: ends.append(p.timestamp))
    for i, p in enumerate(trace):
        arrival = 10_000 + 15 * i + i % 3
        await stock._handle_rtp_packet(fresh(p), arrival)
        for send in path.handle(fresh(p), arrival) or ():
            await send
    want = summary(stock, stock_tx, stock_frames)
    got = summary(ours, our_tx, our_frames)
    kinds = {r.split("(")[0] for r in want["rtcp"]}
    assert len(want["frames"]) >= 8 and {"RtcpRtpfbPacket", "RtcpPsfbPacket"} <= kinds
    assert got == want
    assert len(handled) == len(trace)
    assert len(ends) == sum(1 for p in trace if p.marker)


async def test_a_dropped_packet_is_not_counted_and_a_decoder_error_asks_for_a_keyframe(
        ) -> None:
    adapt.install(advertise_level=False)
    r, transport, _frames = receiver()
    path = path_of(r)
    assert path is not None
    trace = packets(encoded_frames(3), 9)
    path.admit = lambda p: p.sequence_number % 5 != 0
    for arrival, p in enumerate(trace):
        for send in path.handle(fresh(p), arrival) or ():
            await send
    streams = r._RTCRtpReceiver__remote_streams  # type: ignore[attr-defined]
    kept = sum(1 for p in trace if p.sequence_number % 5 != 0)
    assert 0 < kept < len(trace)
    assert sum(s.packets_received for s in streams.values()) == kept
    r._RTCRtpReceiver__decoder_error.set()  # type: ignore[attr-defined]
    path.admit = None
    sends = path.handle(fresh(trace[-1]), 99_999)
    assert sends is not None
    for send in sends:
        await send
    assert [type(p).__name__ for p in RtcpPacket.parse(transport.sent[-1])] == ["RtcpPsfbPacket"]
    assert not r._RTCRtpReceiver__decoder_error.is_set()  # type: ignore[attr-defined]


def test_sound_gets_no_path() -> None:
    assert path_of(RTCRtpReceiver("audio", Transport())) is None  # type: ignore[arg-type]


async def test_the_transport_hands_a_video_packet_to_its_path() -> None:
    """``RTCDtlsTransport._handle_rtp_data`` as installed: a receiver with a path gets its
    packets there (the stock handler is not called), one without gets them the stock way."""
    adapt.install(advertise_level=False)
    import aiortc.rtcdtlstransport as dtls
    from aiortc.rtp import HeaderExtensionsMap

    from castapp.rtc import rxpath

    assert dtls.RTCDtlsTransport._handle_rtp_data is rxpath.handle_rtp_data

    class Dtls:
        _rtp_header_extensions_map = HeaderExtensionsMap()
        _rtp_router = dtls.RtpRouter()

    with_path, _, with_frames = receiver()
    assert path_of(with_path) is not None
    plain, _, plain_frames = receiver()
    stock_calls: list[int] = []
    stock = plain._handle_rtp_packet

    async def counted(packet: RtpPacket, arrival_time_ms: int) -> None:
        stock_calls.append(packet.sequence_number)
        await stock(packet, arrival_time_ms)

    plain._handle_rtp_packet = counted  # type: ignore[method-assign]

    async def never(packet: RtpPacket, arrival_time_ms: int) -> None:
        raise AssertionError("the stock handler was called")

    with_path._handle_rtp_packet = never  # type: ignore[method-assign]
    router = Dtls._rtp_router
    router.register_receiver(with_path, ssrcs=[SSRC], payload_types=[96])
    router.register_receiver(plain, ssrcs=[SSRC + 1], payload_types=[96])
    frames = encoded_frames(2)
    for ssrc in (SSRC, SSRC + 1):
        seq = 0
        for i, payloads in enumerate(frames):
            for j, payload in enumerate(payloads):
                p = RtpPacket(payload_type=96, sequence_number=seq, timestamp=i * 3000,
                              ssrc=ssrc, marker=j == len(payloads) - 1, payload=payload)
                seq += 1
                await rxpath.handle_rtp_data(Dtls(), p.serialize(), arrival_time_ms=seq)
    await rxpath.handle_rtp_data(Dtls(), b"\x80\x60", arrival_time_ms=0)  # too short: ignored
    assert len(with_frames.got) == len(frames) == len(plain_frames.got)
    assert [f[1] for f in with_frames.got] == [f[1] for f in plain_frames.got]
    assert len(stock_calls) == sum(len(p) for p in frames)


@given(st.binary(max_size=64))
@settings(max_examples=400, deadline=None)
def test_any_payload_reads_as_aiortc_reads_it_or_is_refused_alike(data: bytes) -> None:
    try:
        want: bytes | None = h264_depayload(data)
    except ValueError:
        want = None
    try:
        got: bytes | None = h264_payload(data)
    except ValueError:
        got = None
    assert got == want


@given(st.lists(st.tuples(st.sampled_from([96, 97, 98]), st.integers(0, 65535),
                          st.booleans(), st.binary(max_size=40)), max_size=60))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_hostile_packets_never_break_the_path(packets: list[tuple[int, int, bool, bytes]]
                                              ) -> None:
    """A paired sender can send any RTP it likes: the path drops what it cannot read, keeps
    reading, and asks for nothing it should not (every RTCP it hands back is awaitable)."""
    adapt.install(advertise_level=False)
    r, _transport, _frames = receiver()
    path = path_of(r)
    assert path is not None
    for i, (pt, seq, marker, payload) in enumerate(packets):
        p = RtpPacket(payload_type=pt, sequence_number=seq, timestamp=seq * 90, ssrc=SSRC,
                      marker=int(marker), payload=payload)
        for send in path.handle(p, 1000 + i) or ():
            send.close()  # not sent: no transport here
