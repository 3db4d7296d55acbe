"""An aiortc audio track that encodes real-time Opus itself.

aiortc's own Opus encoder is fixed at 20 ms, 96 kbit/s, ``application=voip`` with no FEC. This
track hands aiortc finished ``av.Packet``s instead (aiortc's sender packs them as they are):
48 kHz stereo, 10 or 20 ms frames, ``application=lowdelay`` or ``audio``, in-band FEC if asked,
a set bitrate and a lower encoder complexity (2 of 10) for the sender's CPU. The capture thread
joins its chunks into frames and encodes them itself (``ChunkBuffer.framing``), reusing one
``AudioFrame``; the event loop only takes one ready packet per frame from a bounded buffer: when
the network side stalls, old packets are dropped, never queued. Muting keeps the stream going
with encoded silence, so the receiver's timing and lip sync stay intact and unmuting is instant.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
from collections.abc import Callable
from dataclasses import dataclass

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from castapp.rtc.audio.source import (
    BYTES_PER_S,
    CHANNELS,
    SAMPLE_RATE,
    AudioSource,
    AudioUnavailable,
    ChunkBuffer,
)

log = logging.getLogger(__name__)

TIME_BASE = fractions.Fraction(1, SAMPLE_RATE)
#: The capture keeps at most this much sound waiting for the network side.
HOLD_MS = 60


@dataclass(frozen=True)
class OpusSettings:
    frame_ms: int = 20  # 10 or 20
    bitrate: int = 96000
    # in-band FEC only helps a decoder that rebuilds a lost packet from the next one's FEC
    # data; the TV's (libopus through PyAV) decodes each packet on its own, so FEC only cost
    # the sender: it keeps libopus in its SILK-hybrid mode, 0.027 against 0.018 core here
    fec: bool = False
    application: str = "audio"  # "audio" keeps FEC possible; "lowdelay" is CELT only
    # libopus's effort, 0-10 (its default 10): 2 encodes 48 kHz stereo noise in 0.6x the CPU
    # of 10 (0.016 against 0.027 core) and keeps the time-frequency analysis (below 2 it goes);
    # a decoded test melody keeps its 22 dB signal-to-noise ratio at 5, 3, 2 and 1
    complexity: int = 2

    def options(self) -> dict[str, str]:
        opts = {"application": self.application, "frame_duration": str(self.frame_ms),
                "vbr": "on", "compression_level": str(self.complexity)}
        if self.fec and self.application != "lowdelay":
            opts.update(fec="1", packet_loss="10")
        return opts


def _encoder(settings: OpusSettings) -> av.AudioCodecContext:
    codec = av.CodecContext.create("libopus", "w")
    assert isinstance(codec, av.AudioCodecContext)
    codec.bit_rate = settings.bitrate
    codec.format = "s16"
    codec.layout = "stereo"
    codec.sample_rate = SAMPLE_RATE
    codec.time_base = TIME_BASE
    codec.options = settings.options()
    codec.open()
    return codec


class OpusAudioTrack(MediaStreamTrack):
    """Sends a source's sound as Opus packets; ``muted`` sends silence instead."""

    kind = "audio"

    def __init__(self, source: AudioSource, buffer: ChunkBuffer,
                 settings: OpusSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or OpusSettings()
        self._source = source
        self._buffer = buffer
        self._codec = _encoder(self.settings)
        frame_bytes = BYTES_PER_S * self.settings.frame_ms // 1000
        self._samples_per_frame = frame_bytes // (CHANNELS * 2)
        self._frame = av.AudioFrame(format="s16", layout="stereo",
                                    samples=self._samples_per_frame)
        self._frame.sample_rate = SAMPLE_RATE
        self._frame.time_base = TIME_BASE
        self._silence = bytes(frame_bytes)
        self._samples = 0  # RTP clock: samples sent so far (rebased by aiortc)
        self._t0: float | None = None
        self.muted = False
        self.frames_sent = 0
        self.bytes_sent = 0
        self.last_capture_at: float | None = None
        buffer.framing(frame_bytes, max(1, HOLD_MS // self.settings.frame_ms), self._encode)
        source.start(buffer)

    @property
    def dropped_chunks(self) -> int:
        return self._buffer.dropped

    def _encode(self, pcm: bytes, captured_at: float) -> av.Packet | None:  # type: ignore[type-arg]
        """One frame into one Opus packet, on the capture thread."""
        samples = self._samples_per_frame
        frame = self._frame  # reused: libopus has copied the samples when ``encode`` returns
        frame.planes[0].update(self._silence if self.muted else pcm)
        # pts follows the capture clock so sound and picture share one timeline; never backwards.
        if self._t0 is None:
            self._t0 = captured_at - samples / SAMPLE_RATE
        wall = round((captured_at - samples / SAMPLE_RATE - self._t0) * SAMPLE_RATE)
        frame.pts = max(self._samples, wall)
        self._samples = frame.pts + samples
        packets = self._codec.encode(frame)
        if not packets:  # libopus emits exactly one packet per full frame
            return None
        packet = packets[-1]
        packet.pts = frame.pts
        packet.time_base = TIME_BASE
        return packet

    async def recv(self) -> av.Packet:  # type: ignore[type-arg]  # PyAV types Packet as generic
        if self.readyState != "live":
            raise MediaStreamError
        chunk = await self._buffer.get()
        packet: av.Packet = chunk.packet  # type: ignore[type-arg]
        self.last_capture_at = chunk.captured_at
        self.frames_sent += 1
        self.bytes_sent += packet.size
        return packet

    def stop(self) -> None:
        super().stop()
        self._source.stop()



def open_audio_track(open_source: Callable[[], AudioSource] | None,
                     muted: bool = False) -> OpusAudioTrack | None:
    """The call's sound track, or None (logged) when there is no sound to share: a cast
    without sound goes on rather than failing."""
    if open_source is None:
        return None
    try:
        source = open_source()
    except AudioUnavailable as exc:
        log.warning("casting without sound: %s", exc)
        return None
    track = OpusAudioTrack(source, ChunkBuffer(asyncio.get_running_loop()))
    track.muted = muted
    return track
