"""System sound for a cast: capture what the laptop plays, send it as Opus, play it on the TV.

- ``source``: the audio-source interface, a bounded drop-oldest chunk buffer and the choice of
  platform backend (``open_system_audio``).
- ``pulse``: Linux capture of the default output's monitor through PulseAudio or PipeWire's
  Pulse server, and playback into a Pulse sink (both through the ``pasimple`` binding).
- ``windows`` / ``macos``: WASAPI loopback and ScreenCaptureKit recipes.
- ``opus_track``: the aiortc audio track that encodes real-time Opus itself.
- ``playout``: the receiver's jitter-sized playout buffer, volume and mute.
"""

from castapp.rtc.audio.source import (
    CHANNELS,
    CHUNK_BYTES,
    CHUNK_MS,
    SAMPLE_RATE,
    AudioSource,
    AudioUnavailable,
    ChunkBuffer,
    open_system_audio,
)

__all__ = [
    "CHANNELS",
    "CHUNK_BYTES",
    "CHUNK_MS",
    "SAMPLE_RATE",
    "AudioSource",
    "AudioUnavailable",
    "ChunkBuffer",
    "open_system_audio",
]
