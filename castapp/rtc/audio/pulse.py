"""PulseAudio / PipeWire-Pulse capture and playback through ``pasimple``.

Why ``pasimple``: the PyAV wheels ship FFmpeg without the ``pulse`` input device, and the
simple API of libpulse (``libpulse-simple.so.0``, in every desktop Linux and the ``libpulse0``
Debian package) is all this needs: a blocking record stream on ``@DEFAULT_MONITOR@`` (what the
default output plays) and a blocking playback stream, each with its own server and device and
small buffer sizes. ``pasimple`` is a thin ctypes wrapper of exactly that API, with no native
build and no process-wide connection (unlike ``pulsectl``/``soundcard``, which connect at import).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from castapp.rtc.audio.source import (
    BYTES_PER_S,
    CAPTURE_MS,
    CHANNELS,
    CHUNK_BYTES,
    NOT_AVAILABLE,
    SAMPLE_RATE,
    AudioUnavailable,
    ChunkBuffer,
)

log = logging.getLogger(__name__)

DEFAULT_MONITOR = "@DEFAULT_MONITOR@"


def _pasimple() -> Any:
    missing = f"{NOT_AVAILABLE}: the PulseAudio client library is missing"
    try:
        import pasimple
        from pasimple import pa_simple
    except ImportError as exc:
        raise AudioUnavailable(missing) from exc
    try:
        pa_simple.get_libpulse_simple()
    except pasimple.PaSimpleError as exc:  # libpulse-simple is not installed
        raise AudioUnavailable(missing) from exc
    return pasimple


def _open(direction_record: bool, server: str | None, device: str | None,
          name: str, chunks: int = 2, fragment: int = CHUNK_BYTES) -> Any:
    pasimple = _pasimple()
    direction = pasimple.PA_STREAM_RECORD if direction_record else pasimple.PA_STREAM_PLAYBACK
    extra = (
        {"fragsize": fragment, "maxlength": CHUNK_BYTES * 8}
        if direction_record
        else {"tlength": CHUNK_BYTES * chunks, "prebuf": CHUNK_BYTES, "minreq": CHUNK_BYTES,
              "maxlength": CHUNK_BYTES * (chunks + 2)}
    )
    try:
        return pasimple.PaSimple(direction, pasimple.PA_SAMPLE_S16LE, CHANNELS, SAMPLE_RATE,
                                 app_name="castapp", stream_name=name, server_name=server,
                                 device_name=device, **extra)
    except pasimple.PaSimpleError as exc:
        raise AudioUnavailable(
            f"{NOT_AVAILABLE}: no PulseAudio or PipeWire sound server answered"
            + (f" on {device}" if device and device != DEFAULT_MONITOR else "")
        ) from exc


class PulseMonitorSource:
    """Captures a Pulse source (by default the monitor of the default output) in chunks of
    ``chunk_ms`` (20 ms: one Opus frame per read, so the thread wakes 50 times a second)."""

    def __init__(self, server: str | None = None, device: str = DEFAULT_MONITOR,
                 chunk_ms: int = CAPTURE_MS) -> None:
        self.server = server
        self.device = device
        self.description = "PulseAudio monitor of the default output" if device == DEFAULT_MONITOR \
            else f"PulseAudio source {device}"
        self._chunk_bytes = BYTES_PER_S * chunk_ms // 1000
        self._stream = _open(True, server, device, "castapp sound capture",
                             fragment=self._chunk_bytes)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: str | None = None

    def start(self, sink: ChunkBuffer) -> None:
        self._thread = threading.Thread(target=self._run, args=(sink,), name="audio-capture",
                                        daemon=True)
        self._thread.start()

    def _run(self, sink: ChunkBuffer) -> None:
        try:
            while not self._stop.is_set():
                pcm = self._stream.read(self._chunk_bytes)
                sink.put(pcm, time.monotonic())
        except (OSError, _pasimple().PaSimpleError) as exc:  # the server went away
            if not self._stop.is_set():  # the cast goes on without sound
                self.error = f"sound capture stopped: {exc}"
                log.warning("%s; the cast goes on without sound", self.error)
        finally:
            self._stream.close()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
        else:
            self._stream.close()


def open_monitor(server: str | None = None, device: str = DEFAULT_MONITOR,
                 chunk_ms: int = CAPTURE_MS) -> PulseMonitorSource:
    return PulseMonitorSource(server, device, chunk_ms)


class PulseSink:
    """A blocking playback stream into a Pulse sink, holding about two chunks (20 ms)."""

    def __init__(self, server: str | None = None, device: str | None = None) -> None:
        self._stream = _open(False, server, device, "castapp sound")

    def write(self, pcm: bytes) -> None:
        self._stream.write(pcm)

    def latency_ms(self) -> float:
        return float(self._stream.get_latency()) / 1000.0

    def close(self) -> None:
        self._stream.close()
