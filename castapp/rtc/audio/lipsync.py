"""Lip sync: picture and sound of the same instant come out together on the TV.

Each stream's RTCP sender reports (SR) pair an RTP timestamp with the sender's wall clock
(aiortc stamps an SR with the time its newest packet was sent). With them the TV knows, for
the frame it shows and the sound it plays, when the sender captured each one on one clock;
how long each took to come out (``shown - captured``, ``played - captured``) gives the A/V
offset, the receiver's clock offset cancelling out. ``offset_ms`` is positive when the sound
comes out ahead of the picture.

``LipSync`` then delays whichever stream is early: sound through the playout buffer's
``extra_delay_ms``, the picture through a :class:`VideoDelay` that holds at most a few frames
and drops the oldest. Sound ahead of the picture is corrected from +5 ms, sound behind it only
past -30 ms (so the picture, which a presenter's pointer moves, is rarely held back): well
inside ITU-R BT.1359's detectability window (+45 / -125 ms). The sound's delay moves only in
steps of at least 20 ms, since each move is heard as a splice.

aiortc's sender stamps an SR with the time its newest packet was *sent*, so a stream that is
slow to encode would look on time. :func:`stamp_capture_time` makes castapp's senders pair an
SR's RTP timestamp with the *capture* time of that sample instead, as browsers do (both tracks
stamp their pts from the capture clock).

aiortc keeps the SRs and the RTP timestamp origin private; this reads them from one receiver
(``_handle_rtcp_packet`` wrapped, ``_RTCRtpReceiver__timestamp_mapper``) and one sender
(``_next_encoded_frame`` and ``_send_rtcp`` wrapped, ``_RTCRtpSender__rtp_timestamp``), and
says so in the log when a newer aiortc has moved them: the cast then goes on unsynchronised.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import statistics
import time
from collections.abc import Callable
from typing import Any

from aiortc.rtp import RtcpSrPacket

log = logging.getLogger(__name__)

NTP_UNIX_OFFSET = 2208988800  # seconds from 1900 to 1970
VIDEO_CLOCK = 90_000
AUDIO_CLOCK = 48_000
MAX_AUDIO_DELAY_MS = 250.0
MAX_VIDEO_DELAY_MS = 200.0
AHEAD_OK_MS = 15.0  # sound ahead of the picture by more than this is delayed
BEHIND_OK_MS = 30.0  # sound behind the picture by more than this holds the picture back
GAIN = 0.6
UPDATE_S = 1.0
#: The sound's delay moves only in steps this large: each move is a splice a listener may hear
#: (a short pause to grow, a cut to shrink), while the picture's delay moves silently.
AUDIO_STEP_MS = 20.0
_MAPPER_ATTR = "_RTCRtpReceiver__timestamp_mapper"
_RTP_TS_ATTR = "_RTCRtpSender__rtp_timestamp"


#: aiortc's record of the last SR's NTP time, matched against receiver reports for the RTT.
_LSR_ATTR = "_RTCRtpSender__lsr"


def ntp_seconds(ntp: int) -> float:
    return (ntp >> 32) - NTP_UNIX_OFFSET + (ntp & 0xFFFFFFFF) / 2**32


def ntp_of(unix_s: float) -> int:
    whole = int(unix_s)
    return ((whole + NTP_UNIX_OFFSET) << 32) | int((unix_s - whole) * 2**32) & 0xFFFFFFFF


def stamp_capture_time(sender: Any, track: Any, clock_rate: int) -> bool:
    """Make ``sender``'s RTCP sender reports map RTP time to ``track``'s capture clock.

    ``track`` stamps pts as ``(capture monotonic - track._t0) * clock_rate``. The RTP
    timestamp origin aiortc adds is learnt from the first frame sent. False (and SRs stay
    aiortc's) when this aiortc does not have what this needs."""
    next_frame = getattr(sender, "_next_encoded_frame", None)
    send_rtcp = getattr(sender, "_send_rtcp", None)
    if next_frame is None or send_rtcp is None or not hasattr(sender, _RTP_TS_ATTR):
        log.warning("this aiortc hides its RTP timestamps; sender reports use the send time")
        return False
    last: list[int] = []
    origin: list[int] = []

    async def next_encoded_frame(codec: Any) -> Any:
        if last and not origin:  # the previous frame has been sent whole by now
            origin.append((getattr(sender, _RTP_TS_ATTR) - last[0]) & 0xFFFFFFFF)
        frame = await next_frame(codec)
        if frame is not None and not last:
            last.append(frame.timestamp)
        return frame

    async def send_rtcp_stamped(packets: list[Any]) -> None:
        t0 = getattr(track, "_t0", None)
        for packet in packets:
            if isinstance(packet, RtcpSrPacket) and origin and t0 is not None \
                    and packet.sender_info.ntp_timestamp:
                since = ((packet.sender_info.rtp_timestamp - origin[0]) & 0xFFFFFFFF) / clock_rate
                ntp = ntp_of(time.time() - time.monotonic() + t0 + since)
                packet.sender_info.ntp_timestamp = ntp
                # the receiver's report echoes this SR's middle 32 bits (LSR); aiortc matches
                # that against what it sent to measure the round trip
                if hasattr(sender, _LSR_ATTR):
                    setattr(sender, _LSR_ATTR, (ntp >> 16) & 0xFFFFFFFF)
        await send_rtcp(packets)

    sender._next_encoded_frame = next_encoded_frame
    sender._send_rtcp = send_rtcp_stamped
    return True


class SenderClock:
    """The sender's wall clock for one incoming stream, from its RTCP sender reports."""

    def __init__(self, clock_rate: int) -> None:
        self.clock_rate = clock_rate
        self.report: tuple[float, int] | None = None  # (sender wall seconds, RTP timestamp)
        self.reports = 0
        self._mapper: Any = None

    def watch(self, receiver: Any) -> bool:
        """Read SRs arriving at an aiortc ``RTCRtpReceiver``; False if this aiortc hides them."""
        handle = getattr(receiver, "_handle_rtcp_packet", None)
        self._mapper = getattr(receiver, _MAPPER_ATTR, None)
        if handle is None or self._mapper is None:
            log.warning("this aiortc hides its sender reports; sound and picture are not synced")
            return False

        async def handle_rtcp(packet: Any) -> None:
            if isinstance(packet, RtcpSrPacket):
                self.on_report(packet.sender_info.ntp_timestamp, packet.sender_info.rtp_timestamp)
            await handle(packet)

        receiver._handle_rtcp_packet = handle_rtcp
        return True

    def on_report(self, ntp: int, rtp: int) -> None:
        if ntp:  # aiortc reports 0 before its first packet
            self.report = (ntp_seconds(ntp), rtp)
            self.reports += 1

    def rtp_of(self, pts: int) -> int | None:
        """The RTP timestamp of a decoded frame's pts (aiortc subtracts the first one)."""
        origin = getattr(self._mapper, "_origin", None)
        return None if origin is None else (pts + origin) & 0xFFFFFFFF

    def captured_at(self, rtp: int) -> float | None:
        """The sender's wall time for RTP timestamp ``rtp`` (None before the first SR)."""
        if self.report is None:
            return None
        wall, ref = self.report
        diff = ((rtp - ref + 2**31) % 2**32) - 2**31
        return wall + diff / self.clock_rate


class VideoDelay:
    """Hands decoded frames on ``delay_s`` after they arrive; holds at most ``max_frames``,
    dropping the oldest, and when several are due shows only the newest."""

    def __init__(self, deliver: Callable[[Any], None], max_frames: int = 8) -> None:
        self._deliver = deliver
        self._held: collections.deque[tuple[float, Any]] = collections.deque()
        self._max = max_frames
        self.delay_s = 0.0
        self.dropped = 0

    def __call__(self, frame: Any) -> None:
        if self.delay_s <= 0.0 and not self._held:
            self._deliver(frame)
            return
        due = time.monotonic() + self.delay_s
        self._held.append((due, frame))
        while len(self._held) > self._max:
            self._held.popleft()
            self.dropped += 1
        asyncio.get_running_loop().call_at(
            asyncio.get_running_loop().time() + max(0.0, self.delay_s), self._release)

    def _release(self) -> None:
        now = time.monotonic() + 0.001
        due = None
        while self._held and self._held[0][0] <= now:
            if due is not None:
                self.dropped += 1
            due = self._held.popleft()[1]
        if due is not None:
            self._deliver(due)


class LipSync:
    """Measures the A/V offset of one call and delays the early stream."""

    def __init__(self, video: SenderClock, audio: SenderClock, set_audio_delay: Callable[
            [float], None], video_delay: VideoDelay | None) -> None:
        self.video, self.audio = video, audio
        self._set_audio_delay = set_audio_delay
        self._video_delay = video_delay
        self._video_lag: collections.deque[float] = collections.deque(maxlen=30)
        self._audio_lag: collections.deque[float] = collections.deque(maxlen=50)
        self.correction_ms = 0.0  # > 0: sound delayed; < 0: picture delayed
        self.audio_delay_ms = 0.0  # what the sound's delay is set to
        self._last_update = 0.0

    def video_shown(self, pts: int | None, shown_at: float | None = None) -> None:
        """A decoded frame with ``pts`` (aiortc's, 90 kHz) is shown now (``time.time()``)."""
        rtp = self.video.rtp_of(pts) if pts is not None else None
        sent = self.video.captured_at(rtp) if rtp is not None else None
        if sent is not None:
            self._video_lag.append((time.time() if shown_at is None else shown_at) - sent)
        self.update()

    def audio_played(self, media_s: float, plays_at: float) -> None:
        """The sound of media time ``media_s`` (aiortc's pts in seconds) sounds at ``plays_at``."""
        rtp = self.audio.rtp_of(round(media_s * self.audio.clock_rate))
        sent = self.audio.captured_at(rtp) if rtp is not None else None
        if sent is not None:
            self._audio_lag.append(plays_at - sent)

    @property
    def offset_ms(self) -> float | None:
        """Sound ahead of the picture (ms, > 0) or behind it (< 0); None until measured."""
        if len(self._video_lag) < 3 or len(self._audio_lag) < 3:
            return None
        return (statistics.median(self._video_lag) - statistics.median(self._audio_lag)) * 1e3

    def update(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        offset = self.offset_ms
        if offset is None or now - self._last_update < UPDATE_S:
            return
        self._last_update = now
        if offset > AHEAD_OK_MS:
            error = offset
        elif offset < -BEHIND_OK_MS:
            error = offset + BEHIND_OK_MS / 2
        else:
            return
        self.correction_ms = max(-MAX_VIDEO_DELAY_MS, min(
            MAX_AUDIO_DELAY_MS, self.correction_ms + GAIN * error))
        self._apply()
        # the lags measured so far include the old correction
        self._video_lag.clear()
        self._audio_lag.clear()

    def _apply(self) -> None:
        audio = max(0.0, self.correction_ms)
        if abs(audio - self.audio_delay_ms) >= AUDIO_STEP_MS or (audio == 0.0) != (
                self.audio_delay_ms == 0.0):
            self.audio_delay_ms = audio
            self._set_audio_delay(audio)
        if self._video_delay is not None:
            self._video_delay.delay_s = max(0.0, -self.correction_ms) / 1000.0

    @property
    def video_delay_ms(self) -> float:
        return self._video_delay.delay_s * 1000.0 if self._video_delay is not None else 0.0


def sync_call(pc: Any, on_frame: Callable[[Any], None], playback: Any,
              ) -> Callable[[Any], None]:
    """Lip sync for one received call: the frame callback to use (frames pass through a
    :class:`VideoDelay`), with ``playback.sync`` set; ``on_frame`` itself when there is no
    sound to sync with or this aiortc hides what it needs."""
    if playback is None:
        return on_frame
    receivers = {t.kind: t.receiver for t in reversed(pc.getTransceivers())}
    video, audio = SenderClock(VIDEO_CLOCK), SenderClock(AUDIO_CLOCK)
    if "video" not in receivers or "audio" not in receivers \
            or not (video.watch(receivers["video"]) and audio.watch(receivers["audio"])):
        return on_frame

    def shown(frame: Any) -> None:
        on_frame(frame)
        sync.video_shown(getattr(frame.frame, "pts", None))

    delay = VideoDelay(shown)
    sync = LipSync(video, audio, playback.set_extra_delay, delay)
    playback.player.on_played = sync.audio_played
    playback.sync = sync
    return delay
