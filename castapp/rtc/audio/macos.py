"""macOS 13+: system sound through ScreenCaptureKit (``SCStream`` with ``capturesAudio``).

The stream needs a content filter (the main display), a configuration asking for 48 kHz
stereo audio, and an output object whose ``stream:didOutputSampleBuffer:ofType:`` receives
``CMSampleBuffer``s of float PCM. macOS asks for the Screen Recording permission the first
time; without it, or before macOS 13, this says sound is not available.
"""

from __future__ import annotations

import platform
import threading
import time
from typing import Any

import numpy as np

from castapp.rtc.audio.source import (
    CHANNELS,
    CHUNK_BYTES,
    NOT_AVAILABLE,
    SAMPLE_RATE,
    AudioUnavailable,
    ChunkBuffer,
)
from castapp.rtc.audio.windows import to_s16

SC_STREAM_OUTPUT_AUDIO = 1  # SCStreamOutputTypeAudio


def macos_major(release: str | None = None) -> int:
    text = platform.mac_ver()[0] if release is None else release
    try:
        return int(text.split(".")[0])
    except ValueError:
        return 0


def _frameworks() -> tuple[Any, Any]:
    try:
        import CoreMedia  # type: ignore[import-not-found]
        import ScreenCaptureKit  # type: ignore[import-not-found]
    except (ImportError, OSError) as exc:
        raise AudioUnavailable(f"{NOT_AVAILABLE}: ScreenCaptureKit is not installed") from exc
    return ScreenCaptureKit, CoreMedia


class Rechunker:
    """Cuts PCM of any block size into the 10 ms chunks the rest of the path expects."""

    def __init__(self, sink: ChunkBuffer) -> None:
        self._sink = sink
        self._pending = bytearray()

    def feed(self, pcm: bytes) -> None:
        self._pending += pcm
        while len(self._pending) >= CHUNK_BYTES:
            self._sink.put(bytes(self._pending[:CHUNK_BYTES]), time.monotonic())
            del self._pending[:CHUNK_BYTES]


class ScreenCaptureKitSource:
    def __init__(self, sck: Any, cm: Any) -> None:
        self._sck, self._cm = sck, cm
        self.description = "ScreenCaptureKit system audio"
        self._stream: Any = None
        content = self._shareable_content()
        if content is None or not list(content.displays()):
            raise AudioUnavailable(
                f"{NOT_AVAILABLE}: allow Screen Recording for castapp in System Settings")
        self._filter = sck.SCContentFilter.alloc().initWithDisplay_excludingWindows_(
            content.displays()[0], [])

    def _shareable_content(self) -> Any:
        done = threading.Event()
        result: list[Any] = [None]

        def handler(content: Any, error: Any) -> None:
            result[0] = None if error is not None else content
            done.set()

        self._sck.SCShareableContent.getShareableContentWithCompletionHandler_(handler)
        done.wait(5.0)
        return result[0]

    def pcm_of(self, sample_buffer: Any) -> bytes:
        """Float32 interleaved PCM from a CMSampleBuffer, as s16 stereo."""
        block = self._cm.CMSampleBufferGetDataBuffer(sample_buffer)
        length = self._cm.CMBlockBufferGetDataLength(block)
        _, data = self._cm.CMBlockBufferCopyDataBytes(block, 0, length, None)
        samples = np.frombuffer(bytes(data), dtype=np.float32).reshape(-1, CHANNELS)
        return to_s16(samples)

    def start(self, sink: ChunkBuffer) -> None:
        config = self._sck.SCStreamConfiguration.alloc().init()
        config.setCapturesAudio_(True)
        config.setExcludesCurrentProcessAudio_(True)
        config.setSampleRate_(SAMPLE_RATE)
        config.setChannelCount_(CHANNELS)
        chunker = Rechunker(sink)
        source = self

        class Output:  # the SCStreamOutput protocol, bridged by pyobjc
            def stream_didOutputSampleBuffer_ofType_(self, stream: Any, buf: Any,
                                                     kind: int) -> None:
                if kind == SC_STREAM_OUTPUT_AUDIO:
                    chunker.feed(source.pcm_of(buf))

        self._output = Output()
        self._stream = self._sck.SCStream.alloc().initWithFilter_configuration_delegate_(
            self._filter, config, None)
        self._stream.addStreamOutput_type_sampleHandlerQueue_error_(
            self._output, SC_STREAM_OUTPUT_AUDIO, None, None)
        self._stream.startCaptureWithCompletionHandler_(lambda error: None)

    def stop(self) -> None:
        if self._stream is not None:
            self._stream.stopCaptureWithCompletionHandler_(lambda error: None)
            self._stream = None


def open_screencapturekit(release: str | None = None, frameworks: tuple[Any, Any] | None = None,
                          ) -> ScreenCaptureKitSource:
    if macos_major(release) < 13:
        raise AudioUnavailable(f"{NOT_AVAILABLE}: system sound capture needs macOS 13 or newer")
    sck, cm = frameworks if frameworks is not None else _frameworks()
    return ScreenCaptureKitSource(sck, cm)
