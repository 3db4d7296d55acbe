"""Encode once, send to several receivers.

One cast to N receivers has N peer connections but one capture and one encoder per
(codec, size): an :class:`EncoderGroup` pulls frames from one
:class:`~castapp.rtc.track.CaptureTrack`, encodes each once (in aiortc's executor) and
hands the RTP payloads (already packetised: STAP-A/FU-A or VP8 descriptors) to every
subscribed connection. Each connection's ``RTCRtpSender`` then builds its own RTP packets
from them: its own SSRC, sequence numbers, timestamp origin and SRTP context (see the
shared-encoder adaptation in :mod:`castapp.rtc.adapt`).

- A subscriber starts with a keyframe; the frames before its first keyframe are skipped.
- A subscriber never holds up the encoder: it keeps at most :data:`MAX_BEHIND` frames;
  one that falls further behind (a stalled connection) drops them, waits for the next
  keyframe and asks for one.
- A keyframe request (PLI/FIR) from any receiver makes the next frame a keyframe for all,
  at most once per ``keyframe_request_interval_s`` (the encoder's rate limit).
- Each connection's packets are paced by its own RTP sender (:mod:`castapp.rtc.pacer`,
  the cast's ``EncoderConfig.pacing``), as a single connection's are: a keyframe's tail is
  spread out per receiver, and one receiver's queue never delays another's packets.
- The bitrate follows the weakest receiver's estimate (REMB) in the group, within the
  encoder's floor for legible screen text. A receiver whose estimate stays far below the
  floor while the others' do not is moved to its own group at half the size
  (:data:`SLOW_SCALE`), so it does not drag the others down.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from castapp.rtc.capture import FrameSource
from castapp.rtc.encoder import EncoderConfig, ScreenH264Encoder, ScreenVp8Encoder
from castapp.rtc.pacer import PacerStats, PacingConfig
from castapp.tasks import cancel_and_wait

log = logging.getLogger(__name__)

#: Encoded frames a connection may be behind before it is resynchronised with a keyframe.
MAX_BEHIND = 8
#: A receiver is "far slower" when its estimate is below this share of the floor ...
SLOW_FLOOR_SHARE = 0.7
#: ... and below this share of the median of the other receivers' estimates ...
SLOW_MEDIAN_SHARE = 0.4
#: ... in this many estimates in a row.
SLOW_REPORTS = 3
#: A slow receiver's group encodes at 1/SLOW_SCALE of the width and height.
SLOW_SCALE = 2


@dataclass(frozen=True, slots=True)
class EncodedFrame:
    seq: int
    payloads: list[bytes]
    timestamp: int
    keyframe: bool
    nbytes: int


GroupKey = tuple[str, int]  # (codec mime type, lowercase; scale divisor)


class Subscription:
    """One connection's view of a group's encoded frames (bounded, keyframe-aligned)."""

    def __init__(self, group: EncoderGroup) -> None:
        self.group = group
        self.active = False
        self.closed = False
        self.waiting_key = True
        self.queue: deque[EncodedFrame] = deque()
        self.event = asyncio.Event()
        self.frames = 0
        self.resyncs = 0
        self.estimate_bps: int | None = None
        self.slow_reports = 0

    def activate(self) -> None:
        """The connection's RTP loop started: send from the next keyframe on."""
        if not self.active:
            self.active = True
            self.group.request_keyframe()

    def offer(self, frame: EncodedFrame) -> None:
        if not self.active or self.closed:
            return
        if self.waiting_key:
            if not frame.keyframe:
                return
            self.waiting_key = False
        if len(self.queue) >= MAX_BEHIND:
            self.queue.clear()
            self.waiting_key = True
            self.resyncs += 1
            self.group.request_keyframe()
            return
        self.queue.append(frame)
        self.event.set()

    async def next(self) -> EncodedFrame | None:
        """The next frame, or ``None`` once this subscription is closed."""
        while not self.queue:
            if self.closed:
                return None
            self.event.clear()
            await self.event.wait()
        self.frames += 1
        return self.queue.popleft()

    def close(self) -> None:
        self.closed = True
        self.event.set()


class EncoderGroup:
    """One capture track and one encoder for every subscriber of one (codec, size)."""

    def __init__(self, hub: SharedEncoderHub, key: GroupKey) -> None:
        from castapp.rtc.track import CaptureTrack  # track imports encoder settings only

        self.hub = hub
        self.key = key
        self.scale = key[1]
        self.track = CaptureTrack(hub.source, encoder=hub.config)
        self.track._t0 = hub.t0  # one pts clock for every group: moving keeps time
        mime = key[0]
        self.encoder: ScreenH264Encoder | ScreenVp8Encoder = (
            ScreenVp8Encoder() if mime == "video/vp8" else ScreenH264Encoder())
        # The group's encoder uses its track's link directly (settings, counters and
        # keyframe requests); frames carry no link (see _encode).
        self.encoder.link = self.track.link
        self.subs: list[Subscription] = []
        self.encodes = 0
        self.keyframes = 0
        self._seq = 0
        self._task: asyncio.Task[None] | None = None

    @property
    def link_stats(self) -> dict[str, object]:
        return self.track.link.as_dict()

    def subscribe(self) -> Subscription:
        sub = Subscription(self)
        self.subs.append(sub)
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._pump())
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        sub.close()
        if sub in self.subs:
            self.subs.remove(sub)
        self._retarget()

    def request_keyframe(self) -> None:
        """Next frame is a keyframe (the encoder rate-limits requests); wakes a still track."""
        self.track.link.stats.keyframe_requests += 1
        self.track.link.request_keyframe()
        self.track.keyframe_requested()

    def on_estimate(self, sub: Subscription, bps: int) -> None:
        sub.estimate_bps = int(bps)
        if self._maybe_move_slow(sub):
            return
        self._retarget()

    def _retarget(self) -> None:
        estimates = [s.estimate_bps for s in self.subs if s.estimate_bps is not None]
        if estimates:
            self.encoder.target_bitrate = min(estimates)  # clamped to the text floor

    def _maybe_move_slow(self, sub: Subscription) -> bool:
        others = [s.estimate_bps for s in self.subs
                  if s is not sub and s.estimate_bps is not None]
        floor = self.encoder.policy.bounds.floor_bps
        bps = sub.estimate_bps or 0
        slow = (bool(others) and self.scale == 1 and bps < SLOW_FLOOR_SHARE * floor
                and bps < SLOW_MEDIAN_SHARE * statistics.median(others))
        sub.slow_reports = sub.slow_reports + 1 if slow else 0
        if sub.slow_reports < SLOW_REPORTS:
            return False
        self.hub.move(sub, self.key[0], SLOW_SCALE)
        return True

    def _encode(self, frame: av.VideoFrame, force: bool) -> tuple[list[bytes], int]:
        # PyAV 18 keeps opaque objects in one dict keyed by id(obj) and drops the key when
        # any frame holding it is freed, so a newer frame carrying the same link can read
        # back None (av/opaque.py: key_free). The group's encoder has its link already.
        frame.opaque = None
        if self.scale != 1:
            w = max(2, frame.width // self.scale // 2 * 2)
            h = max(2, frame.height // self.scale // 2 * 2)
            scaled = frame.reformat(width=w, height=h, format="yuv420p")
            scaled.pts, scaled.time_base = frame.pts, frame.time_base
            frame = scaled
        return self.encoder.encode(frame, force)

    async def _pump(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                frame = await self.track.recv()
                if not any(s.active for s in self.subs):
                    continue  # nobody is sending yet: do not encode
                payloads, timestamp = await loop.run_in_executor(None, self._encode, frame,
                                                                 False)
                if not payloads:
                    continue
                stats = self.encoder.stats
                self.encodes += 1
                self.keyframes += int(stats.last_keyframe)
                self._seq += 1
                encoded = EncodedFrame(self._seq, payloads, timestamp, stats.last_keyframe,
                                       stats.last_bytes)
                for sub in list(self.subs):
                    sub.offer(encoded)
        except (MediaStreamError, asyncio.CancelledError):
            pass
        finally:
            for sub in list(self.subs):
                sub.close()

    async def close(self) -> None:
        await cancel_and_wait(self._task)
        self.track.stop()
        for sub in list(self.subs):
            sub.close()


class BitrateSink:
    """Stands in for aiortc's per-sender encoder: REMB and PLI land here."""

    def __init__(self, track: SharedTrack) -> None:
        self._track = track
        self._bps = 0

    @property
    def target_bitrate(self) -> int:
        return self._bps

    @target_bitrate.setter
    def target_bitrate(self, bitrate: int) -> None:
        self._bps = int(bitrate)
        self._track.sub.group.on_estimate(self._track.sub, self._bps)

    def note_keyframe_request(self) -> None:
        self._track.keyframe_requests += 1


class SharedTrack(MediaStreamTrack):
    """The track one connection sends: encoded frames from a shared group.

    The adapted ``RTCRtpSender`` calls :meth:`castapp_next_encoded` instead of ``recv()``
    and encoding; ``recv()`` itself is never used."""

    kind = "video"

    def __init__(self, hub: SharedEncoderHub, mime: str) -> None:
        super().__init__()
        self.hub = hub
        self.sub = hub.group(mime, 1).subscribe()
        self.bitrate_sink = BitrateSink(self)
        self.keyframe_requests = 0
        self.frames_sent = 0
        self.on_stop: Callable[[], None] | None = None
        self.pacer_stats: PacerStats | None = None
        """This connection's pacer counters (set by its RTP sender; None: not paced)."""

    @property
    def last_frame(self) -> object | None:
        return self.sub.group.track.last_frame

    async def recv(self) -> av.VideoFrame:
        raise MediaStreamError("a shared track is read through castapp_next_encoded")

    def castapp_pacing(self) -> tuple[PacingConfig | None, int]:
        """How this connection's packets are paced: the cast's pacing settings, at the rate
        its group encodes (the weakest receiver's estimate, within the text floor)."""
        group = self.sub.group
        return self.hub.config.pacing, int(group.encoder.target_bitrate or 0)

    def keyframe_requested(self) -> None:
        self.sub.group.request_keyframe()

    async def castapp_next_encoded(self, codec: RTCRtpCodecParameters) -> tuple[list[bytes],
                                                                                 int]:
        if self.sub.group.key[0] != codec.mimeType.lower():
            self.hub.move(self, codec.mimeType.lower(), self.sub.group.scale)
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            sub = self.sub
            sub.activate()
            frame = await sub.next()
            if frame is None:
                if sub is self.sub:  # the group ended, not moved
                    self.stop()
                    raise MediaStreamError
                continue
            self.frames_sent += 1
            return frame.payloads, frame.timestamp

    def stop(self) -> None:
        if self.readyState == "live":
            self.sub.group.unsubscribe(self.sub)
            self.hub.tracks.discard(self)
        super().stop()


class SharedEncoderHub:
    """The groups of one cast; :meth:`track` gives each new connection its track."""

    def __init__(self, source: FrameSource, config: EncoderConfig | None = None) -> None:
        asyncio.get_running_loop()
        self.source = source
        self.config = config or EncoderConfig()
        self.t0 = time.monotonic()
        self.groups: dict[GroupKey, EncoderGroup] = {}
        self.tracks: set[SharedTrack] = set()
        self.moves = 0

    def group(self, mime: str, scale: int) -> EncoderGroup:
        key = (mime.lower(), scale)
        found = self.groups.get(key)
        if found is None:
            found = self.groups[key] = EncoderGroup(self, key)
        return found

    def track(self, mime: str = "video/h264") -> SharedTrack:
        """A track for a new connection (the codec is corrected once negotiated)."""
        t = SharedTrack(self, mime)
        self.tracks.add(t)
        return t

    def move(self, who: Subscription | SharedTrack, mime: str, scale: int) -> None:
        """Move a connection to the group of (mime, scale); it restarts at a keyframe."""
        track = who if isinstance(who, SharedTrack) else next(
            (t for t in self.tracks if t.sub is who), None)
        if track is None:
            return
        old = track.sub
        track.sub = self.group(mime, scale).subscribe()
        if old.active:
            track.sub.activate()
        old.group.unsubscribe(old)
        self.moves += 1
        log.info("a receiver moved to its own encoder (%s, 1/%d size)", mime, scale)

    @property
    def encodes(self) -> int:
        return sum(g.encodes for g in self.groups.values())

    def stats(self) -> dict[str, object]:
        return {"groups": [{"codec": k[0], "scale": k[1], "encodes": g.encodes,
                            "keyframes": g.keyframes, "subscribers": len(g.subs),
                            **g.link_stats} for k, g in self.groups.items()],
                "moves": self.moves}

    async def close(self) -> None:
        for t in list(self.tracks):
            t.stop()
        for g in list(self.groups.values()):
            await g.close()
        self.groups.clear()
