"""Video RTP datagrams handled as they are read (castapp.rtc.direct), between real aiortc
peers on loopback: the picture arrives whole and in order, losses are still asked for
again, and whatever the direct path must not take goes the stock way."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest
from loopback_peers import Harness, exchange, receive_into
from rtp_tap import tap

from castapp.rtc import direct, pattern, peer, rxpath
from castapp.rtc.capture import SyntheticSource
from castapp.rtc.encoder import EncoderConfig
from castapp.rtc.receive import ReceivedFrame
from castapp.rtc.track import CaptureTrack

pytestmark = pytest.mark.timeout(60)


class Cast(Harness):
    async def start(self, width: int = 640, height: int = 360) -> tuple[Any, list[ReceivedFrame]]:
        """A synthetic cast; the receiving peer's RTCRtpReceiver and the frames it shows."""
        src = self.started(SyntheticSource(width, height, 30))
        sender, receiver = self.pc(), self.pc()
        peer.add_video_sender(sender, CaptureTrack(src, encoder=EncoderConfig()))
        frames: list[ReceivedFrame] = []
        got = receive_into(self, receiver, frames.append)
        await exchange(sender, receiver)
        await asyncio.wait_for(got, 10)
        rtp_receiver = next(t.receiver for t in receiver.getTransceivers()
                            if t.receiver.track is not None and t.kind == "video")
        assert rxpath.path_of(rtp_receiver) is not None  # as castapp's receive links make it
        return rtp_receiver, frames


@pytest.fixture
async def cast(loopback_only: None) -> AsyncIterator[Cast]:
    c = Cast()
    yield c
    await c.close()


def direct_of(rtp_receiver: Any) -> direct.DirectRtp | None:
    connection = rtp_receiver.transport.transport._connection
    found = connection.__dict__.get("castapp_direct")
    return found if isinstance(found, direct.DirectRtp) else None


async def frames_until(frames: list[ReceivedFrame], count: int, timeout: float = 15) -> None:
    async def wait() -> None:
        while len(frames) < count:
            await asyncio.sleep(0.02)

    await asyncio.wait_for(wait(), timeout)


def counters(frames: list[ReceivedFrame]) -> list[int]:
    out = []
    for f in frames:
        plane = f.frame.planes[0]
        y = np.frombuffer(plane, np.uint8).reshape(f.height, plane.line_size)[:, : f.width]
        value = pattern.read_counter(y)
        if value is not None:
            out.append(value)
    return out


async def test_video_packets_are_handled_as_they_are_read_and_the_picture_stays_in_order(
        cast: Cast) -> None:
    rtp_receiver, frames = await cast.start()
    await frames_until(frames, 5)
    path = direct_of(rtp_receiver)
    assert path is not None, "the connection's first video packet sets the direct path up"
    start_taken = path.taken
    transport = rtp_receiver.transport
    packets0 = transport._RTCDtlsTransport__rx_packets
    await frames_until(frames, 45)
    taken = path.taken - start_taken
    read = transport._RTCDtlsTransport__rx_packets - packets0
    assert taken > 0.8 * read, (taken, read)  # RTCP and a queued datagram now and then aside
    seen = counters(frames[5:])
    assert len(seen) >= 30
    assert seen == sorted(seen) and len(set(seen)) == len(seen), seen


async def test_a_lost_packet_is_still_asked_for_and_resent(cast: Cast) -> None:
    """One packet never reaches the receiver's path: its NACK (sent by the direct path's
    task) brings the retransmission, and the picture goes on without a gap."""
    rtp_receiver, frames = await cast.start()
    await frames_until(frames, 5)
    media = rtp_receiver.getSynchronizationSources()[0].source
    lost: list[int] = []
    resent: list[int] = []

    def lose_one(packet: Any) -> bool:
        if packet.ssrc != media:
            resent.append(packet.sequence_number)  # RTX: a retransmission
        elif not lost:
            lost.append(packet.sequence_number)
            return False
        return True

    tap(rtp_receiver, lose_one)
    nacks: list[list[int]] = []
    stock_nack = rtp_receiver._send_rtcp_nack

    async def noted(media_ssrc: int, lost_seqs: list[int]) -> None:
        nacks.append(list(lost_seqs))
        await stock_nack(media_ssrc, lost_seqs)

    rtp_receiver._send_rtcp_nack = noted
    count = len(frames)
    await frames_until(frames, count + 30)
    assert lost and any(lost[0] in n for n in nacks), (lost, nacks)
    assert resent, "the retransmission (RTX) arrived"
    assert direct_of(rtp_receiver) is not None


async def test_hostile_datagrams_on_the_direct_path_change_nothing(cast: Cast) -> None:
    """Datagrams that look like RTP of the cast's own SSRC but are not SRTP the peers agreed
    on are dropped where they are read; the picture goes on."""
    rtp_receiver, frames = await cast.start()
    await frames_until(frames, 5)
    path = direct_of(rtp_receiver)
    assert path is not None
    ssrc = rtp_receiver.getSynchronizationSources()[0].source
    rng = np.random.default_rng(3)
    for size in (12, 13, 40, 200, 1200):
        for _ in range(20):
            body = bytearray(rng.integers(0, 256, size, dtype=np.uint8).tobytes())
            body[0] = 0x80
            body[1] = 96
            body[8:12] = ssrc.to_bytes(4, "big")
            assert path.take(bytes(body)) is True
    for junk in (b"", b"\x80", bytes(11), b"\x16\xfe\xfd" + os.urandom(40),
                 b"\x80\xc9" + os.urandom(30), b"\x00\x01" + os.urandom(30)):
        assert path.take(junk) is False  # short, DTLS, RTCP, STUN: the stock way
    count = len(frames)
    await frames_until(frames, count + 15)


async def test_a_datagram_read_while_others_wait_in_the_queue_waits_behind_them() -> None:
    """Order: the direct path takes a datagram only while nothing read before it is still
    queued for the DTLS transport's task."""

    class Connection:
        def __init__(self) -> None:
            self._queue: asyncio.Queue[tuple[bytes, int] | None] = asyncio.Queue()

    class Taker:
        def __init__(self) -> None:
            self.taken: list[bytes] = []

        def take(self, data: bytes) -> bool:
            self.taken.append(data)
            return True

    connection, taker = Connection(), Taker()
    direct.data_received(connection, b"first", 1)  # no path yet: queued
    assert connection._queue.qsize() == 1 and not taker.taken
    connection.castapp_direct = taker  # type: ignore[attr-defined]
    direct.data_received(connection, b"second", 1)  # "first" still waits: queued behind it
    assert connection._queue.qsize() == 2 and not taker.taken
    while not connection._queue.empty():
        connection._queue.get_nowait()
    direct.data_received(connection, b"third", 1)
    assert taker.taken == [b"third"] and connection._queue.empty()
