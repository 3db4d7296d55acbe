"""The TV's side of sound: a playout buffer sized from measured jitter, volume, mute and a player.

Decoded Opus frames arrive from the receiver's decode thread (``ImmediateRelease.decode_into``,
off the event loop) or, where that is not installed, on the event loop (``AudioPlayer.run``);
a sink pulls 10 ms chunks
from a thread of its own (``PulseSink``) or from a Qt timer (``castapp.gui.audio_out``). The
buffer keeps ``target_ms`` of sound: one frame, one 10 ms sink piece and the larger of 3 × the
interarrival jitter (RFC 3550) and the 95th percentile of the last 5 s of lateness, at most
40 ms, plus whatever delay lip sync asks for. More than that is dropped from the front, so clock
drift or a burst never builds latency; running dry is a glitch, counted, and is filled with
silence until the target is reached again. Latency also never settles above the target: a
burst at the start (or after a stall) can leave the buffer between the target and that limit for
good, since pushes and pulls then balance; when its lowest level over a second of playing
(``TRIM_WINDOW_PULLS`` pulls) stayed ``CHUNK_MS`` or more above the design's low point (the
target less one frame), the excess is cut once at the front, one short splice instead of
tens of milliseconds added to every sound for the rest of the cast.

On a loaded machine the sound does not arrive late by a few ms but in bursts after gaps of
50-400 ms (measured: the receiving process's event loop, which also takes the picture's
packets, is starved of CPU; the sink's thread keeps playing meanwhile), which no 40 ms buffer
covers. So after ``STALL_UNDERRUNS`` underruns within ``STALL_WINDOW_S`` the buffer goes to
"stall mode": the target covers the worst lateness of the last 5 s, up to 120 ms, until a
whole window passes without an underrun. It grows by keeping more of the burst that follows a
stall (never by extra silence: a refill still waits for the usual target only). Lip sync then
holds the picture back to match.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from castapp.logs import failed
from castapp.rtc.audio.rtp import frame_pcm
from castapp.rtc.audio.source import (
    CHANNELS,
    CHUNK_BYTES,
    CHUNK_MS,
    SAMPLE_RATE,
    AudioUnavailable,
)

BYTES_PER_MS = SAMPLE_RATE * CHANNELS * 2 // 1000
MAX_TARGET_MS = 40.0
STALL_MAX_TARGET_MS = 120.0
STALL_UNDERRUNS = 3
STALL_WINDOW_S = 10.0
#: Pulls (10 ms each) over which the buffer's lowest level is watched for a standing excess.
TRIM_WINDOW_PULLS = 100
log = logging.getLogger(__name__)
_DECODER_QUEUE_ATTR = "_RTCRtpReceiver__decoder_queue"


@dataclass(frozen=True)
class PlayoutStats:
    jitter_ms: float
    target_ms: float
    buffered_ms: float
    glitches: int
    dropped_ms: float
    frames: int


class PlayoutBuffer:
    """Thread-safe PCM buffer between the network (``push``) and the sound device (``pull``)."""

    def __init__(self, frame_ms: float = 20.0, max_target_ms: float = MAX_TARGET_MS) -> None:
        self._lock = threading.Lock()
        self._pcm = bytearray()
        self._frame_ms = frame_ms
        self._max_target_ms = max_target_ms
        self.stall_max_target_ms = STALL_MAX_TARGET_MS  # = max_target_ms: no stall mode
        self._jitter_s = 0.0
        self._last: tuple[float, float] | None = None  # (arrival, media time)
        self._playing = False
        self._delays: collections.deque[float] = collections.deque(maxlen=250)  # last 5 s
        self.extra_delay_ms = 0.0  # asked for by lip sync when audio is early
        self.volume = 1.0
        self.muted = False
        self.glitches = 0
        self._underruns: collections.deque[float] = collections.deque(maxlen=STALL_UNDERRUNS)
        #: Called (on the sink's thread) after each underrun.
        self.on_underrun: Callable[[], None] | None = None
        self.dropped_bytes = 0
        self.trimmed_bytes = 0
        """Of ``dropped_bytes``: cut because the buffer stood above its target."""
        self._low = -1  # lowest level (bytes) since the window began; -1: no window yet
        self._window_pulls = 0
        self.frames = 0
        self.last_media_s: float | None = None  # media time of the newest sample pushed
        #: Media time of the first sample of the last chunk ``pull`` returned (None: silence).
        self.pulled_media_s: float | None = None

    @property
    def jitter_ms(self) -> float:
        return self._jitter_s * 1000.0

    @property
    def target_ms(self) -> float:
        return self._target(self.stalled)

    def _target(self, stalled: bool) -> float:
        # a frame arrives whole while the sink takes 10 ms pieces: one frame + one piece, plus
        # the larger of 3 × the smoothed jitter and the 95th percentile of recent lateness
        late = 0.0
        if len(self._delays) >= 10:
            delays = np.asarray(self._delays)
            late = float(np.percentile(delays - delays.min(), 100 if stalled else 95)) * 1000.0
        spread = max(3.0 * self.jitter_ms, late)
        cap = self.stall_max_target_ms if stalled else self._max_target_ms
        base = min(cap, self._frame_ms + CHUNK_MS + spread)
        return base + max(0.0, self.extra_delay_ms)

    @property
    def stalled(self) -> bool:
        """Underruns came often lately: the target may cover stalls (see the module)."""
        return len(self._underruns) == STALL_UNDERRUNS and \
            time.monotonic() - self._underruns[0] < STALL_WINDOW_S

    def buffered_ms(self) -> float:
        with self._lock:
            return len(self._pcm) / BYTES_PER_MS

    def push(self, pcm: bytes, media_s: float, arrival: float | None = None) -> None:
        arrival = time.monotonic() if arrival is None else arrival
        if self._last is not None:
            d = (arrival - self._last[0]) - (media_s - self._last[1])
            self._jitter_s += (abs(d) - self._jitter_s) / 16.0
        self._last = (arrival, media_s)
        self._delays.append(arrival - media_s)
        self.frames += 1
        target = self.target_ms
        limit = int((target + self._frame_ms + 10.0) * BYTES_PER_MS) // 4 * 4
        keep = int(target * BYTES_PER_MS) // 4 * 4
        with self._lock:
            self.last_media_s = media_s + len(pcm) / (BYTES_PER_MS * 1000.0)
            self._pcm += pcm
            if len(self._pcm) > limit:
                cut = len(self._pcm) - keep
                del self._pcm[:cut]
                self.dropped_bytes += cut

    def pull(self, nbytes: int = CHUNK_BYTES) -> bytes:
        """``nbytes`` of sound to play now; silence while (re)filling or muted."""
        # a refill after an underrun waits for the usual target only: in stall mode the
        # buffer grows by keeping more of the burst that follows a stall, not by silence
        start = int(self._target(False) * BYTES_PER_MS)
        with self._lock:
            self.pulled_media_s = None
            if not self._playing and len(self._pcm) >= start:
                self._playing = True
            if self._playing and len(self._pcm) < nbytes:
                self._playing = False
                self.glitches += 1
                self._underruns.append(time.monotonic())
                if self.on_underrun is not None:  # quick: it only sets attributes
                    self.on_underrun()
            if self._playing and self.extra_delay_ms > 0 and \
                    len(self._pcm) + nbytes + 10 * BYTES_PER_MS < start:
                # lip sync asked for more delay than is held: hold back one piece (a
                # deliberate 10 ms pause while the delay grows, not an underrun)
                return bytes(nbytes)
            if not self._playing:
                return bytes(nbytes)
            out = bytes(self._pcm[:nbytes])
            if self.last_media_s is not None:  # counted back from the newest sample held
                self.pulled_media_s = self.last_media_s - len(self._pcm) / (BYTES_PER_MS * 1e3)
            del self._pcm[:nbytes]
            self._watch_level()
        if self.muted or self.volume <= 0.0:
            return bytes(nbytes)
        if self.volume != 1.0:
            samples = np.frombuffer(out, dtype=np.int16).astype(np.float32) * self.volume
            out = np.clip(samples, -32768, 32767).astype(np.int16).tobytes()
        return out

    def _watch_level(self) -> None:
        """After a pull, under the lock: cut a standing excess over the target (see module)."""
        level = len(self._pcm)
        self._low = level if self._low < 0 else min(self._low, level)
        self._window_pulls += 1
        if self._window_pulls < TRIM_WINDOW_PULLS:
            return
        low_point = int((self._target(self.stalled) - self._frame_ms) * BYTES_PER_MS)
        excess = (self._low - max(0, low_point)) // 4 * 4
        self._low, self._window_pulls = -1, 0
        if excess >= CHUNK_MS * BYTES_PER_MS:
            del self._pcm[:excess]
            self.dropped_bytes += excess
            self.trimmed_bytes += excess

    def stats(self) -> PlayoutStats:
        return PlayoutStats(self.jitter_ms, self.target_ms, self.buffered_ms(), self.glitches,
                            self.dropped_bytes / BYTES_PER_MS, self.frames)


class PcmSink(Protocol):
    """What a player writes to: blocking ``write`` paces the writer thread.

    A sink may instead pull by itself (the TV window's ``QAudioSink`` does, from a Qt timer):
    then it has ``attach(player)`` and no writer thread is started."""

    def write(self, pcm: bytes) -> None: ...

    def close(self) -> None: ...


#: Called with (media time of a chunk's first sample, ``time.time()`` when it sounds).
PlayedHook = Callable[[float, float], None]


class AudioPlayer:
    """Plays one remote audio track: network frames into a ``PlayoutBuffer``, pulled by a sink."""

    def __init__(self, track: MediaStreamTrack, buffer: PlayoutBuffer | None = None) -> None:
        self.track = track
        self.buffer = buffer or PlayoutBuffer()
        self._resampler = av.AudioResampler(format="s16", layout="stereo", rate=SAMPLE_RATE)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sink: PcmSink | None = None
        self.codec = "opus"
        self.on_played: PlayedHook | None = None  # lip sync listens here
        self.release: Any = None  # the receiver's ImmediateRelease, when it decodes for us

    async def run(self) -> None:
        """Feed the buffer until the track ends."""
        while True:
            try:
                frame = await self.track.recv()
            except (MediaStreamError, asyncio.CancelledError):
                return
            assert isinstance(frame, av.AudioFrame)
            media_s = (float(frame.pts * frame.time_base)
                       if frame.pts is not None and frame.time_base is not None else 0.0)
            self.buffer.push(frame_pcm(frame, self._resampler), media_s)

    def played(self, media_s: float | None, plays_at: float) -> None:
        """A sink tells when the chunk starting at ``media_s`` sounds (``time.time()``)."""
        hook = self.on_played
        if hook is not None and media_s is not None:
            hook(media_s, plays_at)

    def play_into(self, sink: PcmSink) -> None:
        """Write the buffer into a blocking sink from a thread until ``stop`` (or let a
        pulling sink attach itself)."""
        self._sink = sink
        attach = getattr(sink, "attach", None)
        if attach is not None:
            attach(self)
            return

        def loop() -> None:
            latency = getattr(sink, "latency_ms", None)
            n = 0
            try:
                while not self._stop.is_set():
                    pcm = self.buffer.pull(CHUNK_BYTES)
                    media_s = self.buffer.pulled_media_s
                    sink.write(pcm)
                    n += 1
                    if media_s is not None and latency is not None and n % 5 == 0:
                        # after the write the sink holds this chunk last: it starts to
                        # sound once everything before it has played
                        ahead = latency() / 1000.0 - CHUNK_MS / 1000.0
                        self.played(media_s, time.time() + max(0.0, ahead))
            except Exception as exc:  # broad: any sink's end ends the sound, not the picture
                failed(log, "the sound stopped; the picture goes on", exc, logging.WARNING)
            finally:
                sink.close()

        self._thread = threading.Thread(target=loop, name="audio-playout", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self.release is not None:
            self.release.close()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
        elif self._sink is not None:
            self._sink.close()


def prepare_audio_receivers(pc: object) -> list[Any]:
    """Release incoming Opus packets as they arrive on every audio receiver of ``pc``; once
    its sound runs dry, the connection decodes its pictures off the event loop (see below)."""
    from castapp.rtc.audio.rtp import release_immediately

    releases = [release_immediately(t.receiver)
                for t in pc.getTransceivers()  # type: ignore[attr-defined]
                if t.kind == "audio"]
    queues = picture_decode_queues(pc)

    def ran_dry() -> None:
        decode_pictures_off_loop(queues)

    for release in releases:
        release.on_underrun = ran_dry
    return releases


def picture_decode_queues(pc: object) -> list[Any]:
    """The decoder queues of ``pc``'s video receivers (``castapp.rtc.decode.DecodeQueue``)."""
    queues = (getattr(t.receiver, _DECODER_QUEUE_ATTR, None)
              for t in pc.getTransceivers()  # type: ignore[attr-defined]
              if t.kind == "video")
    return [q for q in queues if hasattr(q, "inline_max_bytes")]


def decode_pictures_off_loop(queues: list[Any]) -> int:
    """From now on every picture is decoded on its receiver's decoder thread, none on the
    event loop (``DecodeQueue`` decodes small ones inline to save thread hand-overs). The
    sound's packets are read on that loop: a decode there, 1-10 ms on a quiet machine and
    30-80 ms when the process waits for a core meanwhile, held them back long enough to
    empty the playout buffer. On a quiet machine the loop keeps them: the hand-over makes
    the picture some 10 ms later, and lip sync the sound with it. Called at the sound's
    first underrun (from the sink's thread: one attribute written, read by the loop).
    Returns how many queues it changed."""
    changed = 0
    for queue in queues:
        if queue.inline_max_bytes >= 0:
            queue.inline_max_bytes = -1
            changed += 1
    return changed


class AudioPlayback:
    """One call's sound on the TV: a player feeding a sink, with mute and volume."""

    def __init__(self, player: AudioPlayer, task: asyncio.Task[None],
                 counter: Any = None) -> None:
        self.player = player
        self._task = task
        self._counter = counter  # has bytes_received (the RTP payload bytes)
        self._last = (time.monotonic(), 0)
        self.sync: Any = None  # the call's LipSync, when both streams are there

    @classmethod
    def start(cls, track: MediaStreamTrack, open_sink: Callable[[], PcmSink],
              muted: bool = False, counter: Any = None) -> AudioPlayback | None:
        try:
            sink = open_sink()
        except (AudioUnavailable, OSError) as exc:  # no sound output: the picture goes on
            log.warning("playing without sound: %s", exc)
            return None
        player = AudioPlayer(track)
        player.buffer.muted = muted
        player.buffer.on_underrun = getattr(counter, "on_underrun", None)
        player.play_into(sink)
        decode_into = getattr(counter, "decode_into", None)
        if decode_into is not None and decode_into(
                lambda pcm, media_s, arrival: player.buffer.push(pcm, media_s, arrival)):
            player.release = counter  # stopped with the player
        return cls(player, asyncio.ensure_future(player.run()), counter)

    @property
    def buffer(self) -> PlayoutBuffer:
        return self.player.buffer

    def set_muted(self, muted: bool) -> None:
        self.player.buffer.muted = muted

    def set_volume(self, volume: float) -> None:
        self.player.buffer.volume = max(0.0, min(1.0, volume))

    def set_extra_delay(self, ms: float) -> None:
        self.player.buffer.extra_delay_ms = ms

    def stats_fields(self) -> dict[str, Any]:
        """Figures for ``--stats`` and the overlay."""
        now, got = time.monotonic(), getattr(self._counter, "bytes_received", 0)
        then, before = self._last
        self._last = (now, got)
        st = self.buffer.stats()
        return {
            "audio_codec": self.player.codec,
            "audio_kbps": round((got - before) * 8 / 1000 / max(now - then, 1e-3)),
            "audio_buffer_ms": round(st.target_ms - self.buffer.extra_delay_ms, 1),
            "audio_jitter_ms": round(st.jitter_ms, 1),
            "audio_glitches": st.glitches,
            "audio_muted": self.buffer.muted,
            "av_offset_ms": (round(off, 1) if self.sync is not None
                             and (off := self.sync.offset_ms) is not None else None),
            # what lip sync delays: the sound (> 0) or the picture (< 0)
            "av_sync_delay_ms": round(self.sync.correction_ms, 1) if self.sync else None,
        }

    def stop(self) -> None:
        self._task.cancel()
        self.player.stop()
