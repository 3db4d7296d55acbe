"""The TV window's sound output: a ``QAudioSink`` fed from a call's ``PlayoutBuffer``.

QtMultimedia objects live on the GUI thread, so instead of a blocking writer thread a 5 ms
timer tops the sink up with 10 ms pieces while it has room; the sink's own buffer is kept to
about 40 ms (fewer underruns in PulseAudio on a loaded machine), so the playout buffer, not
Qt, decides the latency.

As a call's sound output (``qt_sound_out``) it is a sink that pulls by itself: the call's
player attaches it, and it tells the player when each chunk will sound, for lip sync.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QIODevice, QObject, QTimer
from PySide6.QtMultimedia import QAudio, QAudioFormat, QAudioSink, QMediaDevices

from castapp.rtc.audio.playout import BYTES_PER_MS, PlayoutBuffer
from castapp.rtc.audio.source import CHANNELS, CHUNK_BYTES, NOT_AVAILABLE, SAMPLE_RATE

SINK_BUFFER_BYTES = CHUNK_BYTES * 4


def pcm_format() -> QAudioFormat:
    fmt = QAudioFormat()
    fmt.setSampleRate(SAMPLE_RATE)
    fmt.setChannelCount(CHANNELS)
    fmt.setSampleFormat(QAudioFormat.SampleFormat.Int16)
    return fmt


class QtAudioOut(QObject):
    """Plays one ``PlayoutBuffer`` through the default output device."""

    def __init__(self, buffer: PlayoutBuffer | None = None, parent: QObject | None = None,
                 ) -> None:
        super().__init__(parent)
        self.buffer = buffer or PlayoutBuffer()
        self._player: Any = None
        device = QMediaDevices.defaultAudioOutput()
        if device.isNull():
            raise RuntimeError(f"{NOT_AVAILABLE}: this TV has no sound output")
        fmt = pcm_format()
        if not device.isFormatSupported(fmt):
            raise RuntimeError(f"{NOT_AVAILABLE}: the sound output cannot play 48 kHz stereo")
        self._sink = QAudioSink(device, fmt, self)
        self._sink.setBufferSize(SINK_BUFFER_BYTES)
        self._io: QIODevice | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(5)
        self._timer.timeout.connect(self._top_up)

    def start(self) -> None:
        self._io = self._sink.start()
        self._timer.start()

    def attach(self, player: Any) -> None:
        """Play a call's ``AudioPlayer`` (its buffer), telling it when each chunk sounds."""
        self._player = player
        self.buffer = player.buffer
        self.start()

    def _top_up(self) -> None:
        if self._io is None or self._sink.state() == QAudio.State.StoppedState:
            return
        while self._sink.bytesFree() >= CHUNK_BYTES:
            queued = self._sink.bufferSize() - self._sink.bytesFree()
            self._io.write(self.buffer.pull(CHUNK_BYTES))
            if self._player is not None:  # it sounds after what Qt holds before it
                self._player.played(self.buffer.pulled_media_s,
                                    time.time() + queued / BYTES_PER_MS / 1000.0)

    def set_volume(self, volume: float) -> None:
        self.buffer.volume = max(0.0, min(1.0, volume))

    def stop(self) -> None:
        self._timer.stop()
        self._sink.stop()
        self._io = None

    def close(self) -> None:  # as a call's sink
        self.stop()
        self.deleteLater()

    def write(self, pcm: bytes) -> None:  # never called: this sink pulls (``attach``)
        raise NotImplementedError


def qt_sound_out() -> QtAudioOut:
    """A call's sound output in the TV window (raises when the TV has no usable output)."""
    return QtAudioOut()


