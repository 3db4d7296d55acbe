"""The audio-source interface, the bounded chunk buffer and the choice of platform backend.

Every backend delivers chunks of 48 kHz stereo signed 16-bit PCM (10 or 20 ms) from a thread of
its own into a ``ChunkBuffer``. The buffer holds a few chunks and drops the oldest when the reader
falls behind, so sound never builds up latency. A buffer can also join the chunks into whole
frames and encode them on the capture thread (``framing``): the event loop then wakes once per
ready packet, not once per chunk.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

SAMPLE_RATE = 48000
CHANNELS = 2
SAMPLE_BYTES = 2
CHUNK_MS = 10
CHUNK_SAMPLES = SAMPLE_RATE * CHUNK_MS // 1000
CHUNK_BYTES = CHUNK_SAMPLES * CHANNELS * SAMPLE_BYTES
BYTES_PER_S = SAMPLE_RATE * CHANNELS * SAMPLE_BYTES
#: What a capture thread reads at once where it can choose: one 20 ms Opus frame, so the
#: thread wakes 50 times a second instead of 100 and hands on a whole frame.
CAPTURE_MS = 20
CAPTURE_BYTES = BYTES_PER_S * CAPTURE_MS // 1000

NOT_AVAILABLE = "sound is not available on this system"


class AudioUnavailable(RuntimeError):
    """This system has no way (or no permission) to capture what it plays."""


@dataclass(frozen=True)
class Chunk:
    captured_at: float  # time.monotonic() when the chunk's last sample was captured
    pcm: bytes
    packet: Any = None  # what ``framing``'s encoder made of ``pcm``, when one is set

#: Turns one frame of PCM (and its capture time) into what the reader wants, e.g. an Opus
#: packet; None skips the frame. Runs on the capture thread.
Encode = Callable[[bytes, float], Any]


class ChunkBuffer:
    """A bounded buffer of PCM chunks between a capture thread and the event loop.

    ``put`` may be called from any thread; everything else runs on the loop. When full, the
    oldest chunk is dropped (and counted): a late reader hears the newest sound, never a backlog.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, max_chunks: int = 6) -> None:
        self._loop = loop
        self._chunks: collections.deque[Chunk] = collections.deque()
        self._max = max_chunks
        self._ready = asyncio.Event()
        self.dropped = 0
        self.received = 0
        self._frame_bytes = 0
        self._encode: Encode | None = None
        self._pending = bytearray()  # capture thread only: the start of the next frame

    def framing(self, frame_bytes: int, max_frames: int, encode: Encode | None = None) -> None:
        """From now on ``put`` joins chunks into frames of ``frame_bytes`` and passes each
        through ``encode`` on the calling (capture) thread; the buffer holds ``max_frames``."""
        self._frame_bytes = frame_bytes
        self._max = max_frames
        self._encode = encode

    def put(self, pcm: bytes, captured_at: float | None = None) -> None:
        at = time.monotonic() if captured_at is None else captured_at
        size = self._frame_bytes
        if not size:
            self._hand_on(Chunk(at, pcm))
        elif not self._pending and len(pcm) == size:  # a whole frame: no copy
            self._frame(pcm, at)
        else:
            self._pending += pcm
            while len(self._pending) >= size:
                rest = len(self._pending) - size  # captured after this frame's end
                frame = bytes(self._pending[:size])
                del self._pending[:size]
                self._frame(frame, at - rest / BYTES_PER_S)

    def _frame(self, pcm: bytes, at: float) -> None:
        packet = self._encode(pcm, at) if self._encode is not None else None
        if self._encode is None or packet is not None:
            self._hand_on(Chunk(at, pcm, packet))

    def _hand_on(self, chunk: Chunk) -> None:
        with contextlib.suppress(RuntimeError):  # a closed loop: the cast is over
            self._loop.call_soon_threadsafe(self._append, chunk)

    def _append(self, chunk: Chunk) -> None:
        self.received += 1
        self._chunks.append(chunk)
        while len(self._chunks) > self._max:
            self._chunks.popleft()
            self.dropped += 1
        self._ready.set()

    def __len__(self) -> int:
        return len(self._chunks)

    async def get(self) -> Chunk:
        while not self._chunks:
            self._ready.clear()
            await self._ready.wait()
        return self._chunks.popleft()


class AudioSource(Protocol):
    """Something that captures what this computer plays."""

    description: str

    def start(self, sink: ChunkBuffer) -> None:
        """Start delivering chunks into ``sink`` (``sink.put``) from a thread of the source's
        own."""

    def stop(self) -> None:
        """Stop capturing and release the device; safe to call twice."""


def open_system_audio(server: str | None = None) -> AudioSource:
    """The capture of what this system plays, or ``AudioUnavailable`` saying why not."""
    if sys.platform.startswith("linux"):
        from castapp.rtc.audio.pulse import open_monitor

        return open_monitor(server)
    if sys.platform == "win32":
        from castapp.rtc.audio.windows import open_loopback

        return open_loopback()
    if sys.platform == "darwin":
        from castapp.rtc.audio.macos import open_screencapturekit

        return open_screencapturekit()
    raise AudioUnavailable(f"{NOT_AVAILABLE} ({sys.platform} has no supported way to capture it)")
