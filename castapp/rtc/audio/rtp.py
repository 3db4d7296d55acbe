"""Putting sound on a peer connection, and the receive-side release of Opus packets.

aiortc holds each incoming audio packet until four more have arrived (``JitterBuffer(capacity=16,
prefetch=4)``: 80 ms at 20 ms frames) before decoding it. An Opus packet is a whole frame, so
``ImmediateRelease`` hands each one to the decoder as it arrives and drops late or duplicate
ones; the timing is left to ``PlayoutBuffer``, which sizes itself from measured jitter. It is
installed on one receiver at a time, never on aiortc's classes.

Once a player is attached (``decode_into``), packets skip aiortc's decoder and the track: the
event loop only notes each packet's arrival and hands it to a thread that decodes it and feeds
the playout buffer. aiortc's way costs the loop a second wake-up per packet (its decoder thread
hands every frame back), and a player task that converts and buffers it; on a busy TV the
loop is late for those too, and the sound with it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import av
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpTransceiver
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtp import RtpPacket

from castapp.rtc.audio.source import CHANNELS, SAMPLE_RATE

_RELEASE_ATTR = "_RTCRtpReceiver__jitter_buffer"
#: aiortc's map from RTP timestamps to its frames' pts (lip sync reads its origin).
_MAPPER_ATTR = "_RTCRtpReceiver__timestamp_mapper"
log = logging.getLogger(__name__)

#: Takes (interleaved s16 48 kHz stereo PCM, media time in s, arrival ``time.monotonic()``).
Push = Callable[[bytes, float, float], None]


def frame_pcm(frame: av.AudioFrame, resampler: av.AudioResampler | None = None) -> bytes:
    """Interleaved s16 48 kHz stereo bytes of a decoded frame (converted only if need be)."""
    if frame.format.name == "s16" and frame.layout.name == "stereo" \
            and frame.sample_rate == SAMPLE_RATE:
        return bytes(frame.planes[0])[: frame.samples * CHANNELS * 2]
    resampler = resampler or av.AudioResampler(format="s16", layout="stereo", rate=SAMPLE_RATE)
    out = bytearray()
    for f in resampler.resample(frame):
        out += bytes(f.planes[0])[: f.samples * CHANNELS * 2]
    return bytes(out)


class OpusDecodeThread:
    """Decodes Opus payloads on a thread of its own and pushes the PCM to a playout buffer."""

    def __init__(self, push: Push) -> None:
        self._push = push
        self._inbox: queue.SimpleQueue[tuple[bytes, int, float] | None] = queue.SimpleQueue()
        self._codec = av.CodecContext.create("libopus", "r")
        assert isinstance(self._codec, av.AudioCodecContext)
        self._codec.format = "s16"  # as aiortc's decoder: libopus hands out s16 itself
        self._codec.layout = "stereo"
        self._codec.sample_rate = SAMPLE_RATE
        self._resampler = av.AudioResampler(format="s16", layout="stereo", rate=SAMPLE_RATE)
        self._thread = threading.Thread(target=self._run, name="audio-decode", daemon=True)
        self._thread.start()

    def put(self, payload: bytes, pts: int, arrival: float) -> None:
        self._inbox.put((payload, pts, arrival))

    def _run(self) -> None:
        while (item := self._inbox.get()) is not None:
            payload, pts, arrival = item
            packet = av.Packet(payload)
            packet.pts = pts
            try:
                frames = self._codec.decode(packet)
            except av.FFmpegError as exc:  # one bad packet: the next ones still decode
                log.debug("an Opus packet did not decode: %s", exc)
                continue
            for frame in frames:
                self._push(frame_pcm(frame, self._resampler), pts / SAMPLE_RATE, arrival)

    def stop(self) -> None:
        self._inbox.put(None)
        self._thread.join(timeout=1.0)


class ImmediateRelease:
    """Releases every in-order Opus packet at once; older or repeated ones are dropped."""

    def __init__(self, mapper: Any = None) -> None:
        self._last_seq: int | None = None
        self._mapper = mapper  # aiortc's TimestampMapper of the receiver, if it has one
        self._decoder: OpusDecodeThread | None = None
        self.late = 0
        self.bytes_received = 0
        #: Called when the sound this feeds runs dry (set by ``prepare_audio_receivers``).
        self.on_underrun: Callable[[], None] | None = None

    def decode_into(self, push: Push) -> bool:
        """From now on decode packets off the event loop and ``push`` their sound; False
        (aiortc's decoder and the track go on) when this aiortc hides its timestamp map."""
        if self._mapper is None or not hasattr(self._mapper, "map"):
            return False
        self._decoder = OpusDecodeThread(push)
        return True

    def close(self) -> None:
        decoder, self._decoder = self._decoder, None
        if decoder is not None:
            decoder.stop()

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
        data: bytes = packet._data  # type: ignore[attr-defined]  # aiortc's depayloaded frame
        if self._decoder is not None:
            # the same pts aiortc's decoder would give (lip sync maps it back to RTP time)
            self._decoder.put(data, self._mapper.map(packet.timestamp), time.monotonic())
            return False, None
        return False, JitterFrame(data=data, timestamp=packet.timestamp)


def release_immediately(receiver: RTCRtpReceiver) -> ImmediateRelease:
    if not hasattr(receiver, _RELEASE_ATTR):
        raise RuntimeError("this aiortc has no per-receiver jitter buffer to replace")
    release = ImmediateRelease(getattr(receiver, _MAPPER_ATTR, None))
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
