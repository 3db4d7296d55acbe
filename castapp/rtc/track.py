"""The outgoing video track: the newest captured frame, stamped from the wall clock."""

from __future__ import annotations

import asyncio

import av
from aiortc.mediastreams import VIDEO_TIME_BASE, MediaStreamError, MediaStreamTrack

from castapp.rtc.capture import FrameSource
from castapp.rtc.mailbox import CapturedFrame, SourceClosedError

CLOCK_RATE = 90_000


class CaptureTrack(MediaStreamTrack):
    """A video track fed by a :class:`~castapp.rtc.capture.FrameSource`.

    Each ``recv()`` waits for the next frame newer than the last one delivered and returns
    the newest; frames produced while the encoder was busy are skipped, never queued. The
    pts is the frame's capture time on the monotonic clock relative to the first frame, in
    90 kHz ticks, forced strictly increasing.

    Create it inside a running event loop (like every aiortc object). ``stop()`` ends the
    track; the source is stopped too only when ``own_source`` is true.
    """

    kind = "video"

    def __init__(self, source: FrameSource, *, own_source: bool = False) -> None:
        asyncio.get_running_loop()  # raises outside a running loop, like aiortc would later
        super().__init__()
        self.source = source
        self.own_source = own_source
        self._last_seq = -1
        self._t0: float | None = None
        self._last_pts = -1
        self.frames_sent = 0
        self.frames_skipped = 0
        self.last_frame: CapturedFrame | None = None

    def pts_for(self, captured_at: float) -> int:
        if self._t0 is None:
            self._t0 = captured_at
        pts = round((captured_at - self._t0) * CLOCK_RATE)
        if pts <= self._last_pts:
            pts = self._last_pts + 1
        self._last_pts = pts
        return pts

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        try:
            captured = await self.source.next_frame(self._last_seq)
        except SourceClosedError as exc:
            self.stop()
            raise MediaStreamError from exc
        if self._last_seq >= 0:
            self.frames_skipped += captured.seq - self._last_seq - 1
        self._last_seq = captured.seq
        self.last_frame = captured
        frame = captured.to_video_frame()
        frame.pts = self.pts_for(captured.monotonic)
        frame.time_base = VIDEO_TIME_BASE
        self.frames_sent += 1
        return frame

    def stop(self) -> None:
        super().stop()
        if self.own_source:
            self.source.stop()
