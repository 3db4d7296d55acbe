"""Windows: WASAPI loopback of the default output through ``soundcard``.

``soundcard`` exposes each output device as a loopback "microphone"
(``get_microphone(id, include_loopback=True)``) and records it through WASAPI in shared
loopback mode: exactly what the speakers play, at 48 kHz stereo float, converted here to s16.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np

from castapp.rtc.audio.source import (
    CHANNELS,
    CHUNK_SAMPLES,
    NOT_AVAILABLE,
    SAMPLE_RATE,
    AudioUnavailable,
    ChunkBuffer,
)


def _soundcard() -> Any:
    try:
        import soundcard  # type: ignore[import-not-found]
    except (ImportError, OSError, RuntimeError) as exc:  # missing, or its DLLs/COM refuse
        raise AudioUnavailable(
            f"{NOT_AVAILABLE}: the WASAPI binding (soundcard) is missing") from exc
    return soundcard


def to_s16(block: np.ndarray) -> bytes:
    """Float samples in [-1, 1] (frames × channels) as interleaved s16 stereo bytes."""
    if block.ndim == 1:
        block = block[:, None]
    if block.shape[1] == 1:
        block = np.repeat(block, CHANNELS, axis=1)
    return bytes((np.clip(block[:, :CHANNELS], -1.0, 1.0) * 32767).astype("<i2").tobytes())


class WasapiLoopbackSource:
    def __init__(self, soundcard: Any) -> None:
        speaker = soundcard.default_speaker()
        if speaker is None:
            raise AudioUnavailable(f"{NOT_AVAILABLE}: Windows reports no output device")
        self._mic = soundcard.get_microphone(str(speaker.id), include_loopback=True)
        self.description = f"WASAPI loopback of {speaker.name}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, sink: ChunkBuffer) -> None:
        def run() -> None:
            with self._mic.recorder(samplerate=SAMPLE_RATE, channels=CHANNELS,
                                    blocksize=CHUNK_SAMPLES) as rec:
                while not self._stop.is_set():
                    sink.put(to_s16(rec.record(numframes=CHUNK_SAMPLES)), time.monotonic())

        self._thread = threading.Thread(target=run, name="audio-capture", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)


def open_loopback(soundcard: Any | None = None) -> WasapiLoopbackSource:
    return WasapiLoopbackSource(soundcard if soundcard is not None else _soundcard())
