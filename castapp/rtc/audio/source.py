"""The audio-source interface, the bounded chunk buffer and the choice of platform backend.

Every backend delivers 10 ms chunks of 48 kHz stereo signed 16-bit PCM from a thread of its
own into a ``ChunkBuffer``. The buffer holds a few chunks and drops the oldest when the reader
falls behind, so sound never builds up latency.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import sys
import time
from dataclasses import dataclass
from typing import Protocol

SAMPLE_RATE = 48000
CHANNELS = 2
SAMPLE_BYTES = 2
CHUNK_MS = 10
CHUNK_SAMPLES = SAMPLE_RATE * CHUNK_MS // 1000
CHUNK_BYTES = CHUNK_SAMPLES * CHANNELS * SAMPLE_BYTES

NOT_AVAILABLE = "sound is not available on this system"


class AudioUnavailable(RuntimeError):
    """This system has no way (or no permission) to capture what it plays."""


@dataclass(frozen=True)
class Chunk:
    captured_at: float  # time.monotonic() when the chunk's last sample was captured
    pcm: bytes


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

    def put(self, pcm: bytes, captured_at: float | None = None) -> None:
        chunk = Chunk(time.monotonic() if captured_at is None else captured_at, pcm)
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
        """Start delivering chunks into ``sink`` from a thread of the source's own."""

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
