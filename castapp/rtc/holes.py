"""A video receiver that never waits long for a lost packet.

aiortc's video receiver holds every frame behind a missing packet in its jitter buffer, and
asks for the packet again (NACK) only when a *later* packet goes missing. So when a packet
and its resends are all lost (a burst, or a NACK lost on the way back), the picture freezes
until hundreds of packets have piled up behind the hole: seconds at screen-content rates,
long enough for the call to be taken for stalled.

:class:`HoleWatch` looks at the buffer a few times a frame interval:

* a hole older than ``renack_s`` is asked for again (the sender keeps its last packets);
* a hole older than ``give_up_s`` is given up: the packets up to the next whole frame are
  dropped, so the frames behind it are released at once, and a keyframe is requested
  (PLI), since those frames refer to the lost one. The picture moves again within about
  one round trip, where it would have stood still for seconds.

The watch looks only while the NACK generator misses a packet: between losses it sleeps
until a packet arrives that leaves one missing (:meth:`HoleWatch.packet_handled`, called
after each packet is handled). Ticking all the time cost every presenter 25 wake-ups of the
TV's event loop a second, 100 of its 430 a second with four tiles.

It reads two private fields of aiortc's receiver (the jitter buffer and the NACK
generator), checked by :func:`watch_receiver`: with another aiortc the watch is not started
and a warning says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiortc.jitterbuffer import JitterBuffer
from aiortc.rtp import RtpPacket
from aiortc.utils import uint16_add

from castapp.rtc.rxpath import path_of

log = logging.getLogger(__name__)

#: How often the buffer is looked at while a packet is missing.
TICK_S = 0.04


@dataclass
class HoleCounts:
    renacks: int = 0
    skipped_frames: int = 0


class HoleWatch:
    """Asks again for, and then gives up on, a packet that holds back a receiver's frames."""

    def __init__(
        self,
        buffer: JitterBuffer,
        missing: set[int],
        send_nack: Callable[[int, list[int]], Awaitable[None]],
        send_pli: Callable[[int], Awaitable[None]],
        *,
        renack_s: float = 0.1,
        give_up_s: float = 0.35,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.buffer = buffer
        self.missing = missing  # the NACK generator's own set: what it still waits for
        self.send_nack = send_nack
        self.send_pli = send_pli
        self.renack_s = renack_s
        self.give_up_s = give_up_s
        self.clock = clock
        self.counts = HoleCounts()
        self._hole: int | None = None  # sequence number of the hole being timed
        self._since = 0.0
        self._asked = 0.0
        self._wake = asyncio.Event()
        """Set while :meth:`run` is looking; cleared while it waits for a missing packet."""
        self._wake.set()
        self.looks = 0
        """Times the buffer was looked at."""

    def _first_hole(self) -> tuple[int, RtpPacket] | None:
        """The offset of the first missing packet before a received one, with a packet
        behind it (for its SSRC); None when nothing waits on a hole.

        Called every tick on every video receiver, so the scans of the (mostly empty)
        512-slot buffer run in C (``count``, ``index``); Python walks only the slots
        between the hole and the next packet."""
        jb = self.buffer
        if jb._origin is None:
            return None
        cap = jb._capacity
        start = jb._origin % cap
        ring = jb._packets[start:] + jb._packets[:start]
        present = cap - ring.count(None)
        if present == 0 or present == cap:
            return None
        hole = ring.index(None)
        if hole >= present:
            return None  # every packet is before the first empty slot: nothing waits
        for i in range(hole + 1, cap):
            packet = ring[i]
            if packet is not None:
                return hole, packet
        return None

    def packet_handled(self) -> None:
        """A packet went through the receiver: wake :meth:`run` if it sleeps while the NACK
        generator misses a packet (cheap enough for every packet)."""
        if self.missing and not self._wake.is_set():
            self._wake.set()

    async def check(self) -> None:
        """Look at the buffer once (every :data:`TICK_S` while a packet is missing)."""
        self.looks += 1
        found = self._first_hole()
        if found is None:
            self._hole = None
            return
        offset, behind = found
        assert self.buffer._origin is not None
        seq = uint16_add(self.buffer._origin, offset)
        now = self.clock()
        if seq != self._hole:
            self._hole, self._since, self._asked = seq, now, now
            return
        age = now - self._since
        if age >= self.give_up_s:
            await self._give_up(offset, behind.ssrc)
        elif now - self._asked >= self.renack_s and self.missing:
            self._asked = now
            self.counts.renacks += 1
            await self.send_nack(behind.ssrc, sorted(self.missing))

    async def _give_up(self, hole: int, ssrc: int) -> None:
        """Drop everything up to the first frame that starts after the hole; ask for a
        keyframe."""
        jb = self.buffer
        assert jb._origin is not None
        cap = jb._capacity
        cut = None
        for i in range(hole + 1, cap):
            before = jb._packets[(jb._origin + i - 1) % cap]
            here = jb._packets[(jb._origin + i) % cap]
            if before is not None and here is not None and (
                    before.marker or before.timestamp != here.timestamp):
                cut = i  # ``here`` starts a frame whose start we have
                break
        if cut is None:
            return  # no frame begins after the hole yet: look again next tick
        dropped = {uint16_add(jb._origin, i) for i in range(cut)}
        jb.remove(cut)
        self.missing.difference_update(dropped)
        self._hole = None
        self.counts.skipped_frames += 1
        log.info("video: gave up on a lost packet after %.0f ms; asked for a keyframe",
                 self.give_up_s * 1000)
        await self.send_pli(ssrc)

    async def run(self) -> None:
        """Look every :data:`TICK_S` while a packet is missing; otherwise sleep until
        :meth:`packet_handled` says one is. (A missing packet that is no hole, one the buffer
        already moved past, keeps the ticks going until the NACK generator forgets it.)"""
        while True:
            await self.check()
            if self._hole is None and not self.missing:
                self._wake.clear()
                await self._wake.wait()
                continue
            await asyncio.sleep(TICK_S)


def watch_receiver(receiver: Any) -> HoleWatch | None:
    """A :class:`HoleWatch` over an aiortc video receiver's buffer; None for audio, or when
    this aiortc keeps its buffer elsewhere (a warning says so)."""
    buffer = getattr(receiver, "_RTCRtpReceiver__jitter_buffer", None)
    nacks = getattr(receiver, "_RTCRtpReceiver__nack_generator", None)
    if isinstance(buffer, JitterBuffer) and not buffer._is_video:
        return None  # sound: no NACKs, and its buffer is a few packets deep
    if not isinstance(buffer, JitterBuffer) or not isinstance(
            getattr(nacks, "missing", None), set):
        log.warning("this aiortc keeps its jitter buffer elsewhere: lost packets are not "
                    "asked for again")
        return None

    async def nack(ssrc: int, lost: list[int]) -> None:
        await receiver._send_rtcp_nack(ssrc, lost)

    async def pli(ssrc: int) -> None:
        await receiver._send_rtcp_pli(ssrc)

    assert nacks is not None
    path = path_of(receiver)
    if path is None:
        log.warning("this aiortc keeps its receiver's parts elsewhere: lost packets are not "
                    "asked for again")
        return None
    watch = HoleWatch(buffer, nacks.missing, nack, pli)
    path.handled.append(watch.packet_handled)
    return watch


def start_watch(receiver: Any) -> asyncio.Task[None] | None:
    """Run :func:`watch_receiver`'s watch in the background; the caller cancels the task."""
    watch = watch_receiver(receiver)
    if watch is None:
        return None
    task = asyncio.ensure_future(watch.run())
    task.add_done_callback(_quiet)
    return task


def _quiet(task: asyncio.Task[None]) -> None:
    with contextlib.suppress(asyncio.CancelledError):
        if (exc := task.exception()) is not None:
            log.warning("the lost-packet watch stopped: %s", exc)
