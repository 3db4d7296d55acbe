"""The packet pacer's schedule and the abs-send-time restamp, on a running event loop."""

from __future__ import annotations

import asyncio
import time

from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket

from castapp.rtc.pacer import Pacer, PacingConfig, restamp_abs_send_time

ABS_SEND_TIME = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
MID = "urn:ietf:params:rtp-hdrext:sdes:mid"
#: Paced from the first frame (the default waits for the path's first loss).
WINDOW_30MS = PacingConfig(factor=2.5, window_s=0.030, burst_bytes=24_000, from_first_loss=False)


async def send_frame(pacer: Pacer, sent: list[tuple[float, bytes]], n: int, size: int,
                     target_bps: int) -> None:
    async def send(data: bytes) -> None:
        sent.append((time.monotonic(), data))

    pacer.begin_frame(n * size, target_bps)
    for i in range(n):
        data = i.to_bytes(4, "big") + bytes(size - 4)
        if pacer.must_queue(len(data)):
            pacer.submit(send, data)
        else:
            await send(data)


async def test_small_frame_goes_at_once() -> None:
    pacer = Pacer(PacingConfig(burst_bytes=24_000))
    sent: list[tuple[float, bytes]] = []
    t0 = time.monotonic()
    await send_frame(pacer, sent, 10, 1200, 4_000_000)
    assert len(sent) == 10 and pacer.queued == 0
    assert sent[-1][0] - t0 < 0.002
    assert pacer.stats.frames_paced == 0


async def test_keyframe_is_spread_over_the_window_in_order() -> None:
    """240 KB at a 4 Mbps target: 2.5x is 10 Mbps (190 ms), so the 30 ms window sets the
    rate; the burst goes at once, the rest within ~30 ms, in order."""
    pacer = Pacer(WINDOW_30MS)
    sent: list[tuple[float, bytes]] = []
    t0 = time.monotonic()
    await send_frame(pacer, sent, 200, 1200, 4_000_000)
    burst = len(sent)
    assert 18 <= burst <= 21, burst  # 24 000 bytes of 1200-byte packets
    while pacer.queued:
        await asyncio.sleep(0.005)
    assert len(sent) == 200
    order = [int.from_bytes(d[:4], "big") for _, d in sent]
    assert order == list(range(200))
    span = sent[-1][0] - t0
    assert 0.020 <= span <= 0.250, span  # upper bound: loaded machines oversleep
    # Spread, not bunched: the middle packet leaves about half-way.
    mid = sent[110][0] - t0
    assert 0.008 <= mid <= 0.200, mid
    assert pacer.stats.frames_paced == 1 and pacer.stats.max_delay_ms < 250


async def test_rate_follows_target_when_that_is_slower_than_the_window() -> None:
    """60 KB at 20 Mbps x 2.5 = 50 Mbps: ~36 KB paced takes ~6 ms (the window allows 30)."""
    pacer = Pacer(WINDOW_30MS)
    sent: list[tuple[float, bytes]] = []
    t0 = time.monotonic()
    await send_frame(pacer, sent, 50, 1200, 20_000_000)
    while pacer.queued:
        await asyncio.sleep(0.001)
    span = sent[-1][0] - t0
    assert 0.003 <= span <= 0.200, span


async def test_by_default_frames_go_in_one_burst_until_the_path_loses_a_packet() -> None:
    pacer = Pacer(PacingConfig(factor=2.5, window_s=0.030, burst_bytes=24_000))
    sent: list[tuple[float, bytes]] = []
    await send_frame(pacer, sent, 200, 1200, 4_000_000)  # a 240 KB keyframe
    assert len(sent) == 200 and pacer.queued == 0  # all of it at once
    assert pacer.stats.frames_paced == 0 and not pacer.pacing
    pacer.note_loss()  # the receiver NACKed a packet
    assert pacer.pacing and pacer.stats.losses == 1
    sent.clear()
    await send_frame(pacer, sent, 200, 1200, 4_000_000)
    assert 18 <= len(sent) <= 21 and pacer.queued > 0  # the burst now, the rest spread
    while pacer.queued:
        await asyncio.sleep(0.005)
    assert len(sent) == 200 and pacer.stats.frames_paced == 1


async def test_closed_transport_drops_the_queue() -> None:
    pacer = Pacer(PacingConfig(burst_bytes=1_000, from_first_loss=False))

    async def closed(data: bytes) -> None:
        raise ConnectionError("not connected")

    pacer.begin_frame(12_000, 1_000_000)
    for _ in range(10):
        if pacer.must_queue(1200):
            pacer.submit(closed, bytes(1200))
    await asyncio.sleep(0.05)
    assert pacer.queued == 0 and pacer.stats.dropped > 0
    await pacer.close()


def packet_bytes(ext_ids: dict[str, int], abs_send_time: int) -> tuple[bytes, HeaderExtensionsMap]:
    params = RTCRtpParameters(headerExtensions=[
        RTCRtpHeaderExtensionParameters(id=i, uri=uri) for uri, i in ext_ids.items()])
    xmap = HeaderExtensionsMap()
    xmap.configure(params)
    pkt = RtpPacket(payload_type=96, sequence_number=7, timestamp=1234)
    pkt.ssrc = 42
    pkt.payload = b"payload"
    pkt.extensions.abs_send_time = abs_send_time
    pkt.extensions.mid = "0"
    return pkt.serialize(xmap), xmap


def test_restamp_abs_send_time() -> None:
    data, xmap = packet_bytes({MID: 1, ABS_SEND_TIME: 3}, 0x111111)
    out = restamp_abs_send_time(data, 3, 0xABCDEF)
    parsed = RtpPacket.parse(out, xmap)
    assert parsed.extensions.abs_send_time == 0xABCDEF
    assert parsed.extensions.mid == "0" and parsed.payload == b"payload"
    assert len(out) == len(data)
    # Not negotiated (id 0) or another id: unchanged.
    assert restamp_abs_send_time(data, 0, 5) == data
    assert restamp_abs_send_time(data, 9, 5) == data
    plain, _ = packet_bytes({}, 0)
    assert restamp_abs_send_time(plain, 3, 5) == plain
