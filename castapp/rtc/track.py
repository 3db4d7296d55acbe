"""The outgoing video track: the newest captured frame, stamped from the wall clock."""

from __future__ import annotations

import asyncio
import math
import time

import av
from aiortc.mediastreams import VIDEO_TIME_BASE, MediaStreamError, MediaStreamTrack

from castapp.layout import divisor_for
from castapp.rtc import change
from castapp.rtc.capture import FrameSource
from castapp.rtc.content import AutoController
from castapp.rtc.encoder import EncoderConfig, EncoderLink
from castapp.rtc.mailbox import CapturedFrame, SourceClosedError
from castapp.tasks import cancel_and_wait

CLOCK_RATE = 90_000

#: A still screen re-sends its last frame this often, so the stream stays alive (receivers
#: and NATs see packets; a lost packet is repaired within this time).
REFRESH_S = 0.5
#: Right after a change the picture is refreshed faster, this many times: x264 sends a
#: new picture within its rate cap and refines it in the frames that follow (measured:
#: 5-10 refreshes until a refresh of a still 1080p desktop costs a few dozen bytes), so
#: text is sharp ~1 s after it appeared instead of ~5 s, for the same bytes. Slower than
#: typing (8 characters a second), so refreshes do not sit in front of keystrokes. The
#: same after a keyframe, which is coded coarse for the frames after it to refine
#: (``EncoderConfig.keyframe_qp_offset``).
FAST_REFRESHES = 5
FAST_REFRESH_S = 0.2


class CaptureTrack(MediaStreamTrack):
    """A video track fed by a :class:`~castapp.rtc.capture.FrameSource`.

    Each ``recv()`` waits for the next frame newer than the last one delivered and returns
    the newest; frames produced while the encoder was busy are skipped, never queued. The
    pts is the frame's capture time on the monotonic clock relative to the first frame, in
    90 kHz ticks, forced strictly increasing.

    Sources that publish only changed frames (see :mod:`castapp.rtc.change`) leave the
    track waiting on a still screen; then every ``refresh_s`` it re-sends the last frame
    (an almost empty P-frame) and it re-sends at once when the receiver asks for a keyframe.
    The first change after a still period goes out as soon as it is captured.

    ``encoder`` holds this connection's encoder settings and counters
    (:class:`~castapp.rtc.encoder.EncoderLink`): the connection's RTP sender hands it to
    its encoder before every frame (see :mod:`castapp.rtc.adapt`). Read the counters from
    ``track.link.stats``.

    Create it inside a running event loop (like every aiortc object). ``stop()`` ends the
    track; the source is stopped too only when ``own_source`` is true.
    """

    kind = "video"

    def __init__(
        self,
        source: FrameSource,
        *,
        own_source: bool = False,
        encoder: EncoderConfig | EncoderLink | None = None,
        refresh_s: float = REFRESH_S,
    ) -> None:
        asyncio.get_running_loop()  # raises outside a running loop, like aiortc would later
        super().__init__()
        self.source = source
        self.own_source = own_source
        self.link = encoder if isinstance(encoder, EncoderLink) else EncoderLink(encoder)
        self.refresh_s = refresh_s
        self.auto: AutoController | None = None
        self._own_filter = False
        self.configure(self.link.config)
        self._sent_at = 0.0
        self._new_sent_at = 0.0
        self._due = 0.0  # when the last frame thinned to the view's rate was due
        self._last_seq = -1
        self._t0: float | None = None
        self._last_pts = -1
        self._wake = asyncio.Event()
        self.frames_sent = 0
        self.frames_skipped = 0
        self.refreshes = 0
        self._since_change = 0
        self._keyframes_seen = 0
        self.last_frame: CapturedFrame | None = None
        #: The size of the last frame sent (the capture's, divided to fit the view).
        self.sent_size: tuple[int, int] | None = None
        #: The receiver's view of this connection, (width, height, fps): frames larger are
        #: sent divided by a whole divisor, and changes at most ``fps`` a second.
        self.view: tuple[int, int, int] | None = None

    def limit(self, width: int, height: int, fps: int) -> None:
        """Send at most ``width`` x ``height`` (whole divisors of the capture) at ``fps``."""
        self.view = (max(16, width), max(16, height), max(1, fps))
        self._wake.set()  # apply it from the next frame on

    def configure(self, config: EncoderConfig) -> None:
        """Use ``config`` for this connection's encoder (change detection and Auto with it).

        Call before the first frame (``peer.add_video_sender`` does, with the connection's
        settings)."""
        self.link.config = config
        if self.auto is not None:
            self.auto.detach()
            self.auto = None
        if config.change_driven or config.auto:
            if getattr(self.source, "change", None) is None:
                self._own_filter = True
            flt = change.enable(self.source)
            if config.auto:
                self.auto = AutoController(self.link, self.source)
                self.auto.attach(flt)
        elif self._own_filter:  # this connection wants every frame: take its filter away
            self.source.change = None
            self._own_filter = False

    def pts_for(self, captured_at: float) -> int:
        if self._t0 is None:
            self._t0 = captured_at
        pts = round((captured_at - self._t0) * CLOCK_RATE)
        if pts <= self._last_pts:
            pts = self._last_pts + 1
        self._last_pts = pts
        return pts

    def keyframe_requested(self) -> None:
        """The receiver asked for a keyframe: send the current picture now."""
        self._wake.set()

    async def _next(self) -> CapturedFrame | None:
        """The next newer frame, or ``None`` when the last one should be sent again."""
        latest = self.source.latest()
        if latest is not None and latest.seq > self._last_seq:
            return latest
        if self.last_frame is None:
            return await self.source.next_frame(self._last_seq)
        keyframes = self.link.stats.keyframes
        if keyframes != self._keyframes_seen:  # refine the (coarse) keyframe fast
            self._keyframes_seen = keyframes
            self._since_change = 0
        newer = asyncio.ensure_future(self.source.next_frame(self._last_seq))
        woken = asyncio.ensure_future(self._wake.wait())
        try:
            fast = self._since_change < FAST_REFRESHES
            timeout = min(FAST_REFRESH_S, self.refresh_s) if fast else self.refresh_s
            await asyncio.wait({newer, woken}, timeout=timeout,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not newer.done():
                newer.cancel()
            await cancel_and_wait(woken)
        self._wake.clear()
        if newer.done() and not newer.cancelled():
            return newer.result()  # re-raises SourceClosedError
        return None

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        try:
            captured = await self._next()
            if captured is not None and (self.auto is not None or self.view is not None):
                captured = await self._paced(captured)
        except SourceClosedError as exc:
            self.stop()
            raise MediaStreamError from exc
        self.link.repeat = captured is None
        if captured is None:
            assert self.last_frame is not None
            captured = self.last_frame
            self._since_change += 1
            self.refreshes += 1
            self.link.stats.refreshes += 1
            stamp = time.monotonic()
        else:
            if self._last_seq >= 0:
                self.frames_skipped += captured.seq - self._last_seq - 1
            self._last_seq = captured.seq
            self._since_change = 0
            self.last_frame = captured
            stamp = captured.monotonic
        frame = self._fit(captured.to_video_frame())
        self.sent_size = (frame.width, frame.height)
        frame.pts = self.pts_for(stamp)
        frame.time_base = VIDEO_TIME_BASE
        self.frames_sent += 1
        self._sent_at = time.monotonic()
        if not self.link.repeat:
            self._new_sent_at = self._sent_at
        if self.auto is not None:
            self.auto.tick(self._sent_at, produce_ms=captured.produce_ms)
        return frame

    async def _paced(self, captured: CapturedFrame) -> CapturedFrame:
        """Hold a change until the mode's encode interval has passed since the last change
        sent (refreshes do not count), then send the newest.

        The first change after a quiet moment goes at once."""
        interval = self.auto.min_interval_s if self.auto is not None else 0.0
        rate = getattr(self.source, "fps", math.inf)
        # a cap at or above the capture rate changes nothing; held to it anyway, every frame
        # delayed once (a busy moment) would push all later frames back with it
        if self.view is not None and self.view[2] < rate and self.view[2] * interval <= 1:
            return await self._thinned(captured, 1.0 / self.view[2], 0.5 / rate)
        wait = self._new_sent_at + interval - time.monotonic()
        if wait <= 0:
            return captured
        await asyncio.sleep(wait)
        newest = self.source.latest()
        return newest if newest is not None and newest.seq > captured.seq else captured

    async def _thinned(self, captured: CapturedFrame, interval: float,
                       slack: float) -> CapturedFrame:
        """The view's rate below the capture's: frames are sent as captured, or skipped (25 of
        30 a second: five sent at once, one skipped), not held. Each is due an interval after
        the last one was due, so the rate is the one asked whatever the timing. A frame too
        early waits for a newer one until half a capture interval after it was due, and is
        sent then if none came (a change-driven capture may have nothing newer)."""
        while captured.monotonic < self._due - slack:
            left = self._due + slack - time.monotonic()
            if left <= 0:
                break
            try:
                captured = await asyncio.wait_for(self.source.next_frame(captured.seq), left)
            except TimeoutError:
                break
        # (and at least an interval less a capture interval after this one: no burst
        # after a quiet moment)
        self._due = max(self._due + interval, captured.monotonic + interval - 2 * slack)
        return captured

    def _fit(self, frame: av.VideoFrame) -> av.VideoFrame:
        """The frame divided by the smallest whole divisor that fits the receiver's view."""
        if self.view is None:
            return frame
        d = divisor_for(frame.width, frame.height, self.view[0], self.view[1])
        if d == 1:
            return frame
        return frame.reformat(width=max(2, frame.width // d // 2 * 2),
                              height=max(2, frame.height // d // 2 * 2))

    def stop(self) -> None:
        super().stop()
        if self.auto is not None:
            self.auto.detach()
        if self.own_source:
            self.source.stop()
