"""Feedback on what we send: PLI/FIR/NACK counted per connection, NACKed packets resent again."""

from __future__ import annotations

import asyncio

from aiortc.rtp import (
    RTCP_PSFB_FIR,
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    RtcpPsfbPacket,
    RtcpRtpfbPacket,
)

from castapp.rtc import peer


class FakeRtpSender:
    """Just what count_feedback touches of aiortc's RTCRtpSender."""

    def __init__(self) -> None:
        self.handled: list[object] = []
        self.retransmitted: list[int] = []
        self.transport = object()

    async def _handle_rtcp_packet(self, packet: object) -> None:
        self.handled.append(packet)

    async def _retransmit(self, seq: int) -> None:
        self.retransmitted.append(seq)


async def test_requests_are_counted_and_passed_on(monkeypatch):
    monkeypatch.setattr(peer, "RESEND_AGAIN_S", (0.01, 0.02))
    sender = FakeRtpSender()
    counts = peer.count_feedback(sender)  # type: ignore[arg-type]
    nack = RtcpRtpfbPacket(fmt=RTCP_RTPFB_NACK, ssrc=1, media_ssrc=2)
    nack.lost = [100, 101]
    for packet in (RtcpPsfbPacket(fmt=RTCP_PSFB_PLI, ssrc=1, media_ssrc=2),
                   RtcpPsfbPacket(fmt=RTCP_PSFB_FIR, ssrc=1, media_ssrc=2), nack):
        await sender._handle_rtcp_packet(packet)
    assert (counts.pli, counts.fir, counts.nack) == (1, 1, 1)
    assert len(sender.handled) == 3  # aiortc still handles each (its own resend, keyframes)
    await asyncio.sleep(0.1)
    # two more copies of each NACKed packet, after aiortc's own resend
    assert sorted(sender.retransmitted) == [100, 100, 101, 101] and counts.resent == 4


async def test_each_connection_counts_its_own(monkeypatch):
    a, b = FakeRtpSender(), FakeRtpSender()
    ca, cb = peer.count_feedback(a), peer.count_feedback(b)  # type: ignore[arg-type]
    await a._handle_rtcp_packet(RtcpPsfbPacket(fmt=RTCP_PSFB_PLI, ssrc=1, media_ssrc=2))
    assert ca.pli == 1 and cb.pli == 0
