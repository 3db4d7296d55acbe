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

A decoder that falls behind does not work its way through a backlog. When a frame has
waited :data:`MAX_LAG_S` for the thread to begin it (the machine was short of CPU for a
while, a 4K picture decodes slower than it arrives), everything the thread has not begun is
dropped unseen, the receiver asks for a keyframe (the decode-error flag, which sends a PLI,
again every :data:`ASK_AGAIN_S` while none came) and frames are dropped until one that
decodes on its own (an H.264 IDR, a VP8 key frame); the picture goes on from there, current.
Without that, a 4K30 cast on a machine busy for a moment showed pictures 1.5 s old and took
2 s to decode its way back (measured, README). The picture of a frame the thread was
already decoding is not shown either. Only waiting counts: no new episode starts while the
keyframe that ended one is being decoded, so a machine that needs longer than the limit for
a keyframe still shows each one; a keyframe still waiting for the thread after the limit is
stale like any other frame.

``adapt.install`` puts both in place for video receivers; sound keeps the stock path.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import av
from aiortc.codecs import get_decoder

from castapp.rtc.encoder import has_idr

log = logging.getLogger(__name__)

#: Encoded frames up to this size are decoded on the event loop (a 1080p screen's P-frame
#: is a few KB and decodes in about a millisecond; a 1080p keyframe is 165-370 KB).
INLINE_MAX_BYTES = 48 * 1024

#: Pictures with fewer pixels than this are decoded on one thread (see the module text).
ONE_THREAD_BELOW_PIXELS = 1280 * 720

#: A frame the decoder thread has not begun this long after it was handed over is stale.
MAX_LAG_S = 0.5
#: While frames are dropped up to a keyframe, the keyframe is asked for again this often.
ASK_AGAIN_S = 1.0

Task = tuple[Any, Any]  # (codec parameters, aiortc JitterFrame)


def decodes_alone(codec: Any, data: bytes) -> bool:
    """Whether an encoded frame needs no earlier one: an H.264 IDR, a VP8 key frame, and
    any frame of another kind (sound)."""
    mime = str(getattr(codec, "mimeType", "")).lower()
    if mime == "video/h264":
        return has_idr(data)
    if mime == "video/vp8":
        return bool(data) and not data[0] & 0x01
    return True


class Admit(enum.Enum):
    """What :meth:`DecodeQueue.put` does with a frame."""

    DECODE = "decode"
    RESUME = "resume"
    """Decode it: it ends an episode (it decodes alone)."""
    DROP = "drop"
    """Drop it: a keyframe is awaited."""


def threads_for(width: int, height: int) -> int:
    """Decoder threads for a picture of this size: 1, or 0 (FFmpeg's choice)."""
    return 1 if width * height < ONE_THREAD_BELOW_PIXELS else 0


class DecodeQueue:
    """The decoder queue of one video receiver: ``put`` on the event loop, ``take`` on the
    receiver's decoder thread; small frames are decoded inside ``put``, stale ones dropped
    there (see the module's description)."""

    def __init__(self, inline_max_bytes: int = INLINE_MAX_BYTES, max_lag_s: float = MAX_LAG_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.inline_max_bytes = inline_max_bytes
        self.max_lag_s = max_lag_s
        self.clock = clock
        self._q: queue.SimpleQueue[tuple[int, int, Task | None]] = queue.SimpleQueue()
        #: Frames given to the thread whose pictures are not yet in the track's queue (only
        #: read and changed on the event loop).
        self._queued = 0
        self._seq = 0  # numbers the frames given to the thread
        #: (number, when handed over) of each frame of the current generation still with
        #: the thread, oldest first.
        self._handed_at: deque[tuple[int, float]] = deque()
        self.begun = 0
        """The number of the last frame the thread began (written by the thread)."""
        #: Frames queued under an older generation are dropped by the thread unseen.
        self.generation = 0
        self._skipping = False  # dropping frames up to one that decodes alone
        #: The number of the frame that ended the last episode while it is with the thread.
        self._resume: int | None = None
        self._asked = 0.0
        self.episodes = 0
        """Times the decoder fell :attr:`max_lag_s` behind and skipped to a keyframe."""
        self.skipped = 0
        """Frames dropped on their way in while a keyframe was awaited."""
        self.unseen = 0
        """Frames queued before an episode began, dropped by the thread undecoded."""
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
        admit = Admit.DECODE if task is None else self._admit(task)
        if admit is Admit.DROP:
            return
        if task is not None and out is not None and self._queued == 0 \
                and len(task[1].data) <= self.inline_max_bytes:
            # the thread holds nothing: the decoder is free, and its pictures are all in
            self.inline += 1
            for frame in self.decode(task):
                out.put_nowait(frame)
            return
        self._queued += 1
        self._seq += 1
        if admit is Admit.RESUME:
            self._resume = self._seq
        self._handed_at.append((self._seq, self.clock()))
        self._q.put((self.generation, self._seq, task))

    def lag(self, now: float) -> float:
        """How long the oldest frame the thread has not begun has waited for it (0: none
        waits, or the frame that ended the last episode is being decoded)."""
        begun = self.begun
        if self._resume is not None and self._resume <= begun:
            return 0.0  # a slow keyframe does not start the next episode
        for seq, at in self._handed_at:
            if seq > begun:
                return now - at
        return 0.0

    def _admit(self, task: Task) -> Admit:
        """Whether ``task`` is to be decoded, ends an episode, or is dropped."""
        now = self.clock()
        if not self._skipping:
            lag = self.lag(now)
            if lag <= self.max_lag_s:
                return Admit.DECODE
            self._skipping = True
            self.episodes += 1
            self.generation += 1  # the thread drops what it has not begun
            self._handed_at.clear()
            self._resume = None
            self._asked = -1e18
            log.info("the picture fell %.1f s behind in decoding: skipping to the next "
                     "keyframe", lag)
        codec, encoded = task
        if decodes_alone(codec, encoded.data):
            self._skipping = False
            return Admit.RESUME
        self.skipped += 1
        if now - self._asked >= ASK_AGAIN_S and self._error is not None:
            self._asked = now
            self._error.set()  # the receiver sends a keyframe request with its next packet
        return Admit.DROP

    def get(self) -> Task | None:
        """The next frame for a decoder thread that does not know generations."""
        return self._q.get()[2]

    def take(self) -> tuple[int, Task | None]:
        """On the thread: the next frame, noted as begun, and the generation it was queued
        in (one older than :attr:`generation` is not to be decoded)."""
        generation, seq, task = self._q.get()
        self.begun = seq
        return generation, task

    def handed(self, frames: list[Any], generation: int) -> None:
        """On the event loop: the pictures of one frame the thread decoded (maybe none),
        queued in ``generation``."""
        current = generation == self.generation
        if self._out is not None and current:  # else as stale as the frames dropped with it
            for frame in frames:
                self._out.put_nowait(frame)
        self._queued -= 1
        if current and self._handed_at:
            seq, _ = self._handed_at.popleft()
            if seq == self._resume:
                self._resume = None

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
        generation, task = ours.take() if ours is not None else (0, input_q.get())
        if task is None:  # the track has ended
            loop.call_soon_threadsafe(output_q.put_nowait, None)
            break
        frames: list[Any] = []
        try:
            if ours is None or generation == ours.generation:
                decoding.threaded += 1
                frames = decoding.decode(task)
            else:  # queued before the decoder fell behind: stale, dropped unseen
                ours.unseen += 1
        finally:
            if ours is not None:
                loop.call_soon_threadsafe(ours.handed, frames, generation)
            else:
                for frame in frames:
                    loop.call_soon_threadsafe(output_q.put_nowait, frame)
