"""Video decoding on the receiver with as few thread hand-overs as a frame allows.

aiortc gives every video receiver a decoder thread: the event loop puts each complete
encoded frame in a ``queue.Queue`` (waking the thread), the thread decodes it and hands the
picture back through ``asyncio.run_coroutine_threadsafe`` (a coroutine, a task and two
futures per frame, and a wake-up of the loop). For a small frame the hand-overs cost more
than the decode: a TV showing four tiles at 30 fps makes 120 of them a second, which is
where most of its CPU beyond one full-screen sender went.

:class:`DecodeQueue` stands in for that queue. A frame whose encoded size is at most
:data:`INLINE_MAX_BYTES` is decoded at once on the event loop, when the thread has nothing
left to decode (so frames stay in order and one decoder is never used by two threads at
once); a larger one (a keyframe, a 4K picture) still goes to the thread, so the loop keeps
reading packets while it decodes. A picture decoded on the loop goes into the track's queue
at once, in the same loop step (no callback scheduled for it: one loop pass fewer per
frame), which is in order because every picture of the thread's is already there: the
count of frames given to the thread only falls, on the loop, once their pictures are in.
:func:`decoder_worker` is the thread's side, with the stock worker's behaviour (decode errors
logged, counted for a keyframe request, and the decoder kept) and a cheaper hand-back (one
``call_soon_threadsafe`` per frame with all of its pictures: the track's queue is unbounded,
so nothing waits there).

A small picture is decoded on one thread. FFmpeg's default splits a frame's slices over
threads, and a sender's x264 cuts each frame into one slice per encoder thread: for a
640×360 tile the hand-overs between those threads cost more than the decode (the tile
pattern: 100-120 µs of CPU a frame against 44 µs on one thread; desktop content 5-20 %
less CPU on one thread up to 1080p). From 1280×720 up the slice threads stay, since they
shorten a keyframe's decode (1080p: 3.3 instead of 5.0 ms). FFmpeg fixes the thread count
when a decoder opens, so a keyframe whose size asks for the other setting is decoded again
by a new decoder opened with it, which takes over from there (keyframes carry the stream's
parameter sets; where that fails, the old decoder stays).

``adapt.install`` puts both in place for video receivers; sound keeps the stock path.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from typing import Any

import av
from aiortc.codecs import get_decoder

log = logging.getLogger(__name__)

#: Encoded frames up to this size are decoded on the event loop (a 1080p screen's P-frame
#: is a few KB and decodes in about a millisecond; a 1080p keyframe is 165-370 KB).
INLINE_MAX_BYTES = 48 * 1024

#: Pictures with fewer pixels than this are decoded on one thread (see the module text).
ONE_THREAD_BELOW_PIXELS = 1280 * 720

Task = tuple[Any, Any]  # (codec parameters, aiortc JitterFrame)


def threads_for(width: int, height: int) -> int:
    """Decoder threads for a picture of this size: 1, or 0 (FFmpeg's choice)."""
    return 1 if width * height < ONE_THREAD_BELOW_PIXELS else 0


class DecodeQueue:
    """The decoder queue of one video receiver: ``put`` on the event loop, ``get`` on the
    receiver's decoder thread; small frames are decoded inside ``put``."""

    def __init__(self, inline_max_bytes: int = INLINE_MAX_BYTES) -> None:
        self.inline_max_bytes = inline_max_bytes
        self._q: queue.SimpleQueue[Task | None] = queue.SimpleQueue()
        #: Frames given to the thread whose pictures are not yet in the track's queue (only
        #: read and changed on the event loop).
        self._queued = 0
        self._decoder: Any = None
        self._codec_name: str | None = None
        #: The thread count the current decoder was opened with (0: FFmpeg's choice).
        self.decoder_threads = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._out: asyncio.Queue[Any] | None = None
        self._error: threading.Event | None = None
        self.inline = 0
        """Frames decoded on the event loop."""
        self.threaded = 0
        """Frames decoded on the decoder thread."""

    def bind(self, loop: asyncio.AbstractEventLoop, out: asyncio.Queue[Any],
             error: threading.Event) -> None:
        """Where decoded frames go (the track's queue) and the flag that asks for a keyframe;
        until bound, every frame goes to the thread."""
        self._loop, self._out, self._error = loop, out, error

    def put(self, task: Task | None) -> None:
        """A complete encoded frame (or ``None``: the end), from the event loop."""
        out = self._out
        if task is not None and out is not None and self._queued == 0 \
                and len(task[1].data) <= self.inline_max_bytes:
            # the thread holds nothing: the decoder is free, and its pictures are all in
            self.inline += 1
            for frame in self.decode(task):
                out.put_nowait(frame)
            return
        self._queued += 1
        self._q.put(task)

    def get(self) -> Task | None:
        return self._q.get()

    def handed(self, frames: list[Any]) -> None:
        """On the event loop: the pictures of one frame the thread decoded (maybe none)."""
        if self._out is not None:
            for frame in frames:
                self._out.put_nowait(frame)
        self._queued -= 1

    def decode(self, task: Task) -> list[Any]:
        codec, encoded = task
        if codec.name != self._codec_name:
            self._decoder = self._new_decoder(codec, self.decoder_threads)
            self._codec_name = codec.name
        try:
            frames = list(self._decoder.decode(encoded))
        except (av.FFmpegError, ValueError, MemoryError) as exc:
            # keep the decoder: a new one could not decode anything before a keyframe. (On
            # the event loop an escaping error would end the connection's packet reading.)
            log.warning("could not decode a %s frame: %s", codec.name, exc)
            if self._error is not None:
                self._error.set()
            return []
        first = frames[0] if frames else None
        if isinstance(first, av.VideoFrame) and first.key_frame:  # sound has no size
            wanted = threads_for(first.width, first.height)
            if wanted != self.decoder_threads:
                frames = self._switch(codec, encoded, wanted) or frames
        return frames

    @staticmethod
    def _new_decoder(codec: Any, threads: int) -> Any:
        decoder = get_decoder(codec)
        context = getattr(decoder, "codec", None)  # aiortc's decoders keep PyAV's context
        if threads and isinstance(context, av.CodecContext):
            context.thread_count = threads
        return decoder

    def _switch(self, codec: Any, encoded: Any, threads: int) -> list[Any]:
        """Decode the keyframe ``encoded`` again on a decoder opened with ``threads``; it
        takes over if it gives a picture (its pictures are returned), else nothing changes."""
        decoder = self._new_decoder(codec, threads)
        try:
            frames = list(decoder.decode(encoded))
        except (av.FFmpegError, ValueError, MemoryError):
            frames = []
        if frames:
            self._decoder, self.decoder_threads = decoder, threads
        else:  # the old decoder goes on; do not try again before the next keyframe
            log.debug("a new %s decoder could not start on a keyframe", codec.name)
        return frames


def decoder_worker(loop: asyncio.AbstractEventLoop, input_q: Any, output_q: asyncio.Queue[Any],
                   decode_error: threading.Event) -> None:
    """The body of a receiver's decoder thread (aiortc's ``decoder_worker`` signature)."""
    ours = input_q if isinstance(input_q, DecodeQueue) else None  # else the stock queue
    decoding = ours or DecodeQueue(inline_max_bytes=-1)
    decoding.bind(loop, output_q, decode_error)
    while True:
        task = input_q.get()
        if task is None:  # the track has ended
            loop.call_soon_threadsafe(output_q.put_nowait, None)
            break
        decoding.threaded += 1
        frames: list[Any] = []
        try:
            frames = decoding.decode(task)
        finally:
            if ours is not None:
                loop.call_soon_threadsafe(ours.handed, frames)
            else:
                for frame in frames:
                    loop.call_soon_threadsafe(output_q.put_nowait, frame)
