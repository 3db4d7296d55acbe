"""Newest-frame consumption of a remote video track, and the age of what it shows.

aiortc's decoder thread pushes every decoded frame into the track's unbounded
``asyncio.Queue`` (``RemoteStreamTrack._queue``). If the consumer is slower, frames pile up
and latency grows without limit. :class:`FrameReceiver` therefore takes each frame as it is
put there: on an aiortc remote track it replaces that queue's ``put_nowait`` with its own
hand-over, so a picture decoded on the event loop (:mod:`castapp.rtc.decode`) reaches the
consumer in the same loop step, without a queue, a future and a task step per frame (a TV
showing four tiles hands on 120 frames a second). On any other track it awaits ``recv()``
and drains the queue after each, keeping only the newest frame. ``None`` in the queue means
the track ended.

:class:`FrameAge` estimates how long ago the sender captured a frame, on the receiver's own
clock (the two machines' clocks need not agree). The sender's RTCP sender reports pair an
RTP timestamp with the sender's time of that picture (castapp's senders stamp the capture
time), which dates every frame on the sender's clock. To carry that onto the receiver's
clock, each video packet's abs-send-time (the sender's clock when the packet left, 6.18 bits
of seconds) is compared with the packet's arrival: ``lead = arrival - sent`` is the clock
offset plus the one-way delay, and the smallest lead of the last few seconds is the one
least delayed by queues. With the one-way delay taken as half the round trip,
``offset = min(lead) - rtt / 2`` and a frame's age is
``now - (sender_time(rtp) + offset)``: capture, encode, network and decode included. A
sender without abs-send-time falls back to the reports' own arrival, which dates a picture
only from when its report left (a while after the capture).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av.sidedata.sidedata import Type as SideDataType

from castapp.logs import failed
from castapp.rtc.audio.lipsync import VIDEO_CLOCK, SenderClock, ntp_seconds
from castapp.rtc.encoder import parse_sender_info
from castapp.rtc.rxpath import path_of
from castapp.tasks import cancel_and_wait

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReceivedFrame:
    frame: av.VideoFrame
    seq: int
    """Position among frames handed to the consumer, from 0."""
    received_at: float
    """Wall-clock time (``time.time()``) when the frame was taken from the track."""
    received_monotonic: float
    skipped: int
    """Decoded frames discarded just before this one because a newer one was ready."""
    age_s: float | None = None
    """How long ago the sender captured it, when its sender reports tell (:class:`FrameAge`)."""

    @property
    def width(self) -> int:
        return self.frame.width

    @property
    def height(self) -> int:
        return self.frame.height


class FpsCounter:
    """Events per second over a sliding window."""

    def __init__(self, window_s: float = 1.0) -> None:
        self.window_s = window_s
        self._times: deque[float] = deque()

    def tick(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._times.append(now)
        self._trim(now)

    def _trim(self, now: float) -> None:
        while self._times and now - self._times[0] > self.window_s:
            self._times.popleft()

    def fps(self, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        self._trim(now)
        if len(self._times) < 2:
            return 0.0
        span = max(now - self._times[0], self._times[-1] - self._times[0])
        return (len(self._times) - 1) / span if span > 0 else 0.0


class FrameAge(SenderClock):
    """The age of received frames since their capture, from the sender's RTCP reports, the
    packets' abs-send-time and the round trip (see the module's description)."""

    #: Reports (fallback) and packets whose lead is looked at for the least delayed one.
    REPORTS = 8
    PACKETS = 120

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(VIDEO_CLOCK)
        self.clock = clock
        self.rtt_s: float | None = None
        """The latest round trip measured on the connection (None: counted as 0)."""
        self._report_lead: deque[float] = deque(maxlen=self.REPORTS)
        # Of the last PACKETS packets' leads, those that may still become the least:
        # (packet number, lead), leads increasing, so the least is the first (each frame asks
        # for it; a min() over the whole window every frame cost more).
        self._least_leads: deque[tuple[int, float]] = deque()
        self._packets = 0

    def watch(self, receiver: Any) -> bool:
        """Read the SRs and the last packet of each frame arriving at an aiortc video
        ``RTCRtpReceiver``; False if this aiortc hides its reports."""
        if not super().watch(receiver):
            return False
        path = path_of(receiver)
        if path is not None:
            path.on_marker.append(lambda packet: self.on_packet(packet.extensions.abs_send_time))
        return True

    def on_report(self, ntp: int, rtp: int) -> None:
        super().on_report(ntp, rtp)
        if ntp:
            self._report_lead.append(self.clock() - ntp_seconds(ntp))

    def on_packet(self, abs_send_time: int | None) -> None:
        """A packet arrived now that left the sender at ``abs_send_time`` (6.18 fixed-point
        seconds of its NTP clock, which is its Unix clock modulo 64 s)."""
        if abs_send_time is None or self.report is None:
            return
        base = self.report[0]  # a sender time within seconds of this packet's
        mod = abs_send_time / 2**18
        sent = base + ((mod - base + 32.0) % 64.0 - 32.0)
        lead = self.clock() - sent
        least, n = self._least_leads, self._packets
        while least and least[-1][1] >= lead:
            least.pop()
        least.append((n, lead))
        if least[0][0] <= n - self.PACKETS:  # left the window
            least.popleft()
        self._packets = n + 1

    def age_of(self, pts: int | None, now: float | None = None) -> float | None:
        """Seconds since the sender captured the frame with ``pts`` (aiortc's, 90 kHz);
        None before the first report, or without a pts."""
        if pts is None or not (self._least_leads or self._report_lead):
            return None
        rtp = self.rtp_of(pts)
        captured = self.captured_at(rtp) if rtp is not None else None
        if captured is None:
            return None
        least = self._least_leads[0][1] if self._least_leads else min(self._report_lead)
        offset = least - (self.rtt_s or 0.0) / 2
        now = self.clock() if now is None else now
        return max(0.0, now - (captured + offset))


def drain_newest(track: MediaStreamTrack, frame: av.VideoFrame) -> tuple[av.VideoFrame, int, bool]:
    """Take every frame already decoded after ``frame``; return (newest, skipped, ended)."""
    queue: asyncio.Queue[av.VideoFrame | None] | None = getattr(track, "_queue", None)
    skipped = 0
    if queue is None:
        return frame, 0, False
    while True:
        try:
            item = queue.get_nowait()
        except asyncio.QueueEmpty:
            return frame, skipped, False
        if item is None:
            return frame, skipped, True
        frame = item
        skipped += 1


def udp_receive_errors(snmp: str = "/proc/net/snmp") -> int | None:
    """UDP datagrams this network namespace dropped because a socket's receive buffer was
    full (``RcvbufErrors``; Linux only, ``None`` elsewhere). Compare two readings."""
    try:
        with open(snmp) as f:
            rows = [line.split() for line in f if line.startswith("Udp:")]
    except OSError:
        return None
    if len(rows) < 2 or "RcvbufErrors" not in rows[0]:
        return None
    return int(rows[1][rows[0].index("RcvbufErrors")])


FrameCallback = Callable[[ReceivedFrame], None]


class FrameReceiver:
    """Pulls a remote video track, always handing on the newest decoded frame.

    Consumers either pass ``on_frame`` (called on the event loop, keep it short: on a remote
    track it runs inside the packet handling that decoded the frame) or poll :meth:`latest` /
    await :meth:`next_frame`.
    """

    #: Take frames as the track's queue is given them (False: await ``recv()`` like any
    #: consumer of a track, which is how the receiver handed frames on before).
    direct = True

    def __init__(self, track: MediaStreamTrack, on_frame: FrameCallback | None = None,
                 age: FrameAge | None = None) -> None:
        self.track = track
        self.on_frame = on_frame
        self.age = age
        """Gives each frame its ``age_s`` (None: frames carry none)."""
        self.fps = FpsCounter()
        self.frames = 0
        self.skipped = 0
        self.keyframes = 0
        self.sender_info: dict[str, str] = {}
        """What the sender says about its stream, in-band (H.264 only): ``mode`` (the Auto
        preset's content mode: text, scroll, motion) and ``enc`` (the encoder in use)."""
        self.ended = asyncio.Event()
        self._latest: ReceivedFrame | None = None
        self._changed = asyncio.Event()  # set (and replaced) at a frame or the end, if awaited
        self._waiting = 0  # tasks awaiting _changed
        self._task: asyncio.Task[None] | None = None
        self._queue: asyncio.Queue[Any] | None = None  # whose put_nowait is ours
        self._callback_failed = False

    def start(self) -> None:
        if self._task is not None or self._queue is not None or self.ended.is_set():
            return
        queue = getattr(self.track, "_queue", None)
        if self.direct and type(queue) is asyncio.Queue:
            self._attach(queue)
        else:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._queue is not None:
            self._detach()
            self._end()
        task, self._task = self._task, None
        await cancel_and_wait(task)

    def latest(self) -> ReceivedFrame | None:
        return self._latest

    async def next_frame(self, after_seq: int = -1) -> ReceivedFrame:
        """Await the newest frame with ``seq > after_seq``; raises ``EOFError`` at end."""
        while self._latest is None or self._latest.seq <= after_seq:
            if self.ended.is_set():
                raise EOFError("track ended")
            self._waiting += 1
            try:
                await self._changed.wait()
            finally:
                self._waiting -= 1
        return self._latest

    def _wake(self) -> None:
        if self._waiting or self.ended.is_set():
            changed, self._changed = self._changed, asyncio.Event()
            changed.set()

    def _end(self) -> None:
        self.ended.set()
        self._wake()

    def _attach(self, queue: asyncio.Queue[Any]) -> None:
        """Take the frames put in the track's queue from now on, and those already there."""
        frame: av.VideoFrame | None = None
        skipped = 0
        while not queue.empty():
            item = queue.get_nowait()
            if item is None:
                if frame is not None:
                    self._deliver(frame, skipped - 1)
                self.track.stop()
                self._end()
                return
            if isinstance(item, av.VideoFrame):
                frame, skipped = item, skipped + 1
        self._queue = queue
        queue.put_nowait = self._put  # type: ignore[method-assign]
        if frame is not None:
            self._deliver(frame, skipped - 1)

    def _detach(self) -> None:
        queue, self._queue = self._queue, None
        if queue is not None:
            vars(queue).pop("put_nowait", None)  # the class's own again

    def _put(self, item: Any) -> None:
        """The track's queue is given ``item`` (on the event loop)."""
        if item is None:  # the track ended
            self._detach()
            self.track.stop()
            self._end()
        elif isinstance(item, av.VideoFrame):
            self._deliver(item, 0)

    def _read_side_data(self, frame: av.VideoFrame) -> None:
        if frame.key_frame:
            self.keyframes += 1
        side_data: Any = frame.side_data  # PyAV's stubs type its items as str
        for item in side_data:
            if item.type == SideDataType.SEI_UNREGISTERED:
                info = parse_sender_info(bytes(item))
                if info is not None:
                    self.sender_info = info

    def _deliver(self, frame: av.VideoFrame, skipped: int) -> None:
        self._read_side_data(frame)
        now_wall, now = time.time(), time.monotonic()
        age = self.age.age_of(frame.pts) if self.age is not None else None
        received = ReceivedFrame(frame, self.frames, now_wall, now, skipped, age)
        self.frames += 1
        self.skipped += skipped
        self.fps.tick(now)
        self._latest = received
        if self.on_frame is not None:
            try:
                self.on_frame(received)
            except Exception as exc:  # broad: a consumer's bug must not stop the picture
                if not self._callback_failed:  # once, not for every frame after it
                    self._callback_failed = True
                    failed(log, "handing on a frame failed", exc)
        self._wake()

    async def _run(self) -> None:
        try:
            while True:
                try:
                    frame = await self.track.recv()
                except MediaStreamError:
                    break
                if not isinstance(frame, av.VideoFrame):
                    continue
                frame, skipped, ended = drain_newest(self.track, frame)
                self._deliver(frame, skipped)
                if ended:
                    self.track.stop()
                    break
        finally:
            self._end()
