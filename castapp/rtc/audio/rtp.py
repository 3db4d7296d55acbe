"""Putting sound on a peer connection, and the receive-side release of Opus packets.

aiortc holds each incoming audio packet until four more have arrived (``JitterBuffer(capacity=16,
prefetch=4)``: 80 ms at 20 ms frames) before decoding it. An Opus packet is a whole frame, so
``ImmediateRelease`` hands each one to the decoder as it arrives and drops late or duplicate
ones; the timing is left to ``PlayoutBuffer``, which sizes itself from measured jitter. It is
installed on one receiver at a time, never on aiortc's classes.
"""

from __future__ import annotations

from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpTransceiver
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtp import RtpPacket

_RELEASE_ATTR = "_RTCRtpReceiver__jitter_buffer"


class ImmediateRelease:
    """Releases every in-order Opus packet at once; older or repeated ones are dropped."""

    def __init__(self) -> None:
        self._last_seq: int | None = None
        self.late = 0
        self.bytes_received = 0

    @property
    def capacity(self) -> int:  # read by aiortc's stats
        return 1

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        seq = packet.sequence_number
        if self._last_seq is not None:
            ahead = (seq - self._last_seq) & 0xFFFF
            if ahead == 0 or ahead >= 0x8000:
                self.late += 1
                return False, None
        self._last_seq = seq
        self.bytes_received += len(packet.payload)
        return False, JitterFrame(data=packet._data, timestamp=packet.timestamp)  # type: ignore[attr-defined]


def release_immediately(receiver: RTCRtpReceiver) -> ImmediateRelease:
    if not hasattr(receiver, _RELEASE_ATTR):
        raise RuntimeError("this aiortc has no per-receiver jitter buffer to replace")
    release = ImmediateRelease()
    setattr(receiver, _RELEASE_ATTR, release)
    return release


def add_audio_sender(pc: RTCPeerConnection, track: MediaStreamTrack) -> RTCRtpTransceiver:
    """Send ``track`` on its own transceiver, Opus only."""
    from castapp.rtc.audio.lipsync import AUDIO_CLOCK, stamp_capture_time

    transceiver = pc.addTransceiver(track, direction="sendonly")
    _opus_only(transceiver)
    stamp_capture_time(transceiver.sender, track, AUDIO_CLOCK)
    return transceiver


def add_audio_receiver(pc: RTCPeerConnection, *, stock: bool = False) -> RTCRtpTransceiver:
    """Receive one audio track; unless ``stock``, packets are released as they arrive."""
    transceiver = pc.addTransceiver("audio", direction="recvonly")
    _opus_only(transceiver)
    if not stock:
        release_immediately(transceiver.receiver)
    return transceiver


def _opus_only(transceiver: RTCRtpTransceiver) -> None:
    from aiortc import RTCRtpSender

    caps = RTCRtpSender.getCapabilities("audio")
    if caps is not None:
        transceiver.setCodecPreferences([c for c in caps.codecs if c.mimeType == "audio/opus"])
