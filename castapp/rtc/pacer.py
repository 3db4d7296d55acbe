"""Spreading a large video frame's RTP packets over up to 100 ms.

aiortc sends every packet of a frame back to back: a 1080p keyframe (165-370 KB, up to
~290 packets) leaves the machine in well under a millisecond, and a link with a shallow
buffer (a home router, a Wi-Fi hop, a policer) drops the part that does not fit. A
:class:`Pacer` (one per video sender) lets a frame's first :attr:`PacingConfig.burst_bytes`
go at once and sends the rest at

    rate = max(factor x target bitrate, remaining bytes / window)

so a keyframe is spread over at most ``window_s`` (100 ms) and small frames (typing, a
cursor) are not delayed at all. Measured on a 40 Mbit/s path (README, keyframe delivery): a
30 ms window still sends a 200-330 KB keyframe at 53-88 Mbit/s and lost packets as often as
one burst; 100 ms removed the losses and the keyframe-request loops they start.

That spreading is for paths that drop bursts, and costs a keyframe its window on the ones
that do not (measured on an open path at 1080p60: keyframe frames p95 125 ms paced against
36 ms unpaced, the other frames 26 ms either way). So by default
(:attr:`PacingConfig.from_first_loss`) a connection sends every frame as one burst until the
receiver first reports a lost packet (a NACK: :meth:`Pacer.note_loss`, called by the
sender's retransmission), and paces from then on for the rest of the call. The first
keyframe on a path that drops bursts loses packets, which the receiver gets back by
retransmission or a new keyframe, paced by then.

Packets are queued in order and sent by a task of their own, so the sender goes on
capturing and encoding the next frame while a keyframe is still leaving; a newer frame's
packets queue behind it.

The queue is FIFO and only holds packets handed over by the sender's RTP loop;
retransmissions (NACK/RTX) and RTCP are sent at once.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from castapp.tasks import cancel_and_wait

#: Below this the drain task sends instead of sleeping (asyncio's timers have ~1 ms
#: resolution, so shorter sleeps overshoot anyway).
MIN_SLEEP_S = 0.0005

Send = Callable[[bytes], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class PacingConfig:
    """How one connection's video packets are paced."""

    factor: float = 2.5
    """Pace at this multiple of the encoder's target bitrate ..."""
    window_s: float = 0.100
    """... or faster, so that a frame's paced part leaves within this time."""
    burst_bytes: int = 24_000
    """A frame's first bytes that go at once (a typing or cursor frame is all burst)."""
    from_first_loss: bool = True
    """Pace only once the receiver has reported a lost packet; before that every frame goes
    as one burst. False: pace from the first frame."""


@dataclass(slots=True)
class PacerStats:
    frames_paced: int = 0
    """Frames larger than the burst (their tail was spread out)."""
    packets: int = 0
    max_delay_ms: float = 0.0
    """Longest time a packet waited in the queue."""
    dropped: int = 0
    """Packets dropped because the transport closed while they waited."""
    losses: int = 0
    """Packets the receiver reported lost (NACKed) on this connection."""


class Pacer:
    """One video sender's outgoing RTP packets, spread out as :class:`PacingConfig` says.

    :meth:`begin_frame` sets the rate for the packets of the frame about to be handed over
    with :meth:`submit`. Lives on the sender's event loop."""

    def __init__(self, config: PacingConfig | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config or PacingConfig()
        self.stats = PacerStats()
        self._clock = clock
        self._queue: deque[tuple[float, float, Send, bytes]] = deque()
        self._task: asyncio.Task[None] | None = None
        self._rate_Bps = 0.0  # bytes per second for the current frame's paced part
        self._burst_left = 0
        self._free_at = 0.0  # when the last queued paced byte is due out
        self.abs_send_time_id = 0
        """The abs-send-time extension id negotiated for this sender (0: none)."""

    @property
    def pacing(self) -> bool:
        """Whether frames larger than the burst are spread out now: from the first frame, or
        once the receiver has reported a lost packet."""
        return self.stats.losses > 0 or not self.config.from_first_loss

    def note_loss(self) -> None:
        """The receiver reported a packet lost (the sender retransmits it)."""
        self.stats.losses += 1

    def begin_frame(self, nbytes: int, target_bps: int) -> None:
        """The next ``nbytes`` handed to :meth:`submit` form one frame."""
        c = self.config
        paced = max(0, nbytes - c.burst_bytes) if self.pacing else 0
        if paced == 0:
            self._burst_left = 1 << 40  # all of it (RTP headers come on top of nbytes)
            return
        self._burst_left = c.burst_bytes
        self.stats.frames_paced += 1
        self._rate_Bps = max(c.factor * target_bps / 8.0, paced / max(c.window_s, 1e-3))

    def must_queue(self, nbytes: int) -> bool:
        """Whether a packet of ``nbytes`` has to wait (else the caller sends it at once:
        it is part of the frame's burst and nothing is queued ahead of it)."""
        self.stats.packets += 1
        if self._queue:
            return True  # keep the order
        if self._burst_left > 0 or self._rate_Bps <= 0:
            self._burst_left -= nbytes
            return False
        return True

    def submit(self, send: Send, data: bytes) -> None:
        """Queue one packet; it goes out through ``send`` when its time comes."""
        now = self._clock()
        if self._burst_left > 0 or self._rate_Bps <= 0:
            self._burst_left -= len(data)
            due = now  # part of the burst: only waits for what is queued ahead of it
        else:
            due = max(now, self._free_at)
            self._free_at = due + len(data) / self._rate_Bps
        self._queue.append((due, now, send, data))
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._drain())

    @property
    def queued(self) -> int:
        return len(self._queue)

    async def _drain(self) -> None:
        while self._queue:
            due, queued_at, send, data = self._queue[0]
            wait = due - self._clock()
            if wait > MIN_SLEEP_S:
                await asyncio.sleep(wait)
                continue
            self._queue.popleft()
            delay_ms = (self._clock() - queued_at) * 1000.0
            self.stats.max_delay_ms = max(self.stats.max_delay_ms, delay_ms)
            try:
                await send(data)
            except ConnectionError:
                self.stats.dropped += len(self._queue) + 1
                self._queue.clear()
                return

    async def close(self) -> None:
        """Drop what is still queued and stop the drain task."""
        self._queue.clear()
        task, self._task = self._task, None
        await cancel_and_wait(task)


def restamp_abs_send_time(data: bytes, ext_id: int, value: int) -> bytes:
    """``data`` (a serialised RTP packet) with its abs-send-time header extension set to
    ``value`` (24 bits); unchanged when it carries none.

    aiortc stamps abs-send-time when it builds the packet; a packet that waited in the
    pacer must carry the time it actually left, or the receiver's bandwidth estimator (which
    compares send and arrival spacing) reads the pacing as a growing queue on the path."""
    if ext_id <= 0 or len(data) < 12 or not data[0] & 0x10:
        return data
    i = 12 + 4 * (data[0] & 0x0F)
    if len(data) < i + 4:
        return data
    profile = (data[i] << 8) | data[i + 1]
    end = i + 4 + 4 * ((data[i + 2] << 8) | data[i + 3])
    i += 4
    while i < min(end, len(data)):
        if profile == 0xBEDE:
            if data[i] == 0:
                i += 1
                continue
            x_id, length, head = data[i] >> 4, (data[i] & 0x0F) + 1, 1
            if x_id == 15:
                break
        elif (profile & 0xFFF0) == 0x1000:
            if data[i] == 0:
                i += 1
                continue
            if i + 1 >= len(data):
                break
            x_id, length, head = data[i], data[i + 1], 2
        else:
            break
        if x_id == ext_id and length == 3:
            start = i + head
            return data[:start] + (value & 0xFFFFFF).to_bytes(3, "big") + data[start + 3:]
        i += head + length
    return data
