"""Screen-tuned video encoders that plug into aiortc's RTP sender.

:class:`ScreenH264Encoder` replaces aiortc's x264 "medium / level 3.1 / 30 fps" setup with
x264 ultrafast + zerolatency, several slice threads, CRF quality capped by a VBV
maxrate/bufsize derived from the bitrate policy, a long GOP, a level computed from the
resolution and frame rate, and 90 kHz wall-clock timestamps. :class:`ScreenVp8Encoder` is
the VP8 fallback (libvpx realtime, high ``cpu-used``, 2 threads from 1080p up).

Both rebuild their codec only on a size change or when the policy's target moves more
than :attr:`EncoderConfig.rebuild_hysteresis` away from the target the codec was built
with; PyAV cannot retune an open libx264/libvpx context, and each rebuild costs a keyframe.
Encoding runs in aiortc's executor thread; ``target_bitrate`` is set from the event loop.
"""

from __future__ import annotations

import fractions
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import av
from aiortc.codecs.h264 import H264Encoder
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.mediastreams import VIDEO_TIME_BASE, convert_timebase
from av.frame import Frame
from av.video.codeccontext import VideoCodecContext

from castapp.rtc.bitrate import H264_BPP, VP8_BPP, BitrateBounds, BitratePolicy, bounds_for

log = logging.getLogger(__name__)

CLOCK_RATE = 90_000

# H.264 Annex A limits: (level, MaxMBPS, MaxFS, MaxBR for Baseline in kbit/s).
H264_LEVELS: tuple[tuple[str, int, int, int], ...] = (
    ("3.1", 108_000, 3_600, 14_000),
    ("3.2", 216_000, 5_120, 20_000),
    ("4", 245_760, 8_192, 20_000),
    ("4.1", 245_760, 8_192, 50_000),
    ("4.2", 522_240, 8_704, 50_000),
    ("5", 589_824, 22_080, 135_000),
    ("5.1", 983_040, 36_864, 240_000),
    ("5.2", 2_073_600, 36_864, 240_000),
)


def h264_level(width: int, height: int, fps: float, max_bitrate_bps: int = 0) -> str:
    """The lowest level (3.1 or above) that allows this size, rate and peak bitrate."""
    mbs = ((width + 15) // 16) * ((height + 15) // 16)
    max_dim_mbs = max((width + 15) // 16, (height + 15) // 16)
    for name, max_mbps, max_fs, max_br in H264_LEVELS:
        if (
            mbs <= max_fs
            and max_dim_mbs**2 <= 8 * max_fs
            and mbs * fps <= max_mbps
            and max_bitrate_bps <= max_br * 1000
        ):
            return name
    log.warning("%dx%d@%.0f exceeds H.264 level 5.2; signalling 5.2", width, height, fps)
    return H264_LEVELS[-1][0]


def level_idc(level: str) -> int:
    """``"4.2"`` -> 42, as used in ``profile-level-id``."""
    major, _, minor = level.partition(".")
    return int(major) * 10 + int(minor or 0)


def vp8_threads(width: int, height: int, configured: int | None) -> int:
    if configured is not None:
        return configured
    return 2 if width * height >= 1920 * 1080 else 1


def _default_threads() -> int:
    return max(2, min(4, os.cpu_count() or 2))


@dataclass(frozen=True, slots=True)
class EncoderConfig:
    """Settings shared by the encoders aiortc creates for castapp."""

    max_fps: float = 60.0
    """Highest frame rate expected; sets the H.264 level and the GOP length."""
    keyframe_interval_s: float = 8.0
    """Periodic keyframe spacing in media time (PLI requests force one at any time)."""
    crf: int = 23
    preset: str = "ultrafast"
    threads: int = field(default_factory=_default_threads)
    vbv_buffer_s: float = 1.0
    """VBV buffer as seconds at the cap: how large a single burst (keyframe) may be.
    Half a second left dense 1080p text at ~23 dB for the first second after a keyframe;
    one second starts it at ~34 dB."""
    rebuild_hysteresis: float = 0.25
    floor_bps: int | None = None
    ceiling_bps: int | None = None
    vp8_cpu_used: int = 12
    vp8_threads: int | None = None
    """``None``: 1 thread below 1080p (waking a second one costs more than it saves
    there), 2 from 1080p up."""

    @property
    def keyint(self) -> int:
        """The codec's own GOP limit in frames: a backstop at twice the periodic interval."""
        return max(1, round(self.max_fps * self.keyframe_interval_s * 2))


@dataclass(slots=True)
class EncodeStats:
    frames: int = 0
    keyframes: int = 0
    rebuilds: int = 0
    last_ms: float = 0.0
    last_bytes: int = 0
    last_keyframe: bool = False
    total_ms: float = 0.0
    level: str = ""
    built_target_bps: int = 0

    @property
    def mean_ms(self) -> float:
        return self.total_ms / self.frames if self.frames else 0.0


class _ScreenEncoderMixin:
    """Policy, pts fix-up and rebuild decisions shared by both encoders."""

    _bpp: tuple[float, float, float] = H264_BPP

    def _init_screen(self, config: EncoderConfig | None) -> None:
        self.config = config or EncoderConfig()
        self.policy = BitratePolicy(self._bounds(1280, 720))
        self.stats = EncodeStats()
        self._last_pts: int | None = None
        self._last_keyframe_pts: int | None = None
        self._t0: float | None = None
        self._size: tuple[int, int] | None = None

    def _bounds(self, width: int, height: int) -> BitrateBounds:
        c = self.config
        b = bounds_for(width, height, c.max_fps, self._bpp)
        floor = c.floor_bps if c.floor_bps is not None else b.floor_bps
        ceiling = c.ceiling_bps if c.ceiling_bps is not None else b.ceiling_bps
        ceiling = max(ceiling, floor)
        return BitrateBounds(floor, min(max(b.start_bps, floor), ceiling), ceiling)

    def _prepare(self, frame: av.VideoFrame) -> av.VideoFrame:
        """yuv420p, 90 kHz time base and strictly increasing pts (wall clock if missing)."""
        if frame.format.name != "yuv420p":
            frame = frame.reformat(format="yuv420p")
        if frame.pts is None or frame.time_base is None:
            now = time.monotonic()
            if self._t0 is None:
                self._t0 = now
            pts = int((now - self._t0) * CLOCK_RATE)
        else:
            pts = convert_timebase(frame.pts, frame.time_base, VIDEO_TIME_BASE)
        if self._last_pts is not None and pts <= self._last_pts:
            pts = self._last_pts + 1
        self._last_pts = pts
        frame.pts = pts
        frame.time_base = VIDEO_TIME_BASE
        return frame

    def _needs_rebuild(self, codec: VideoCodecContext | None, frame: av.VideoFrame) -> bool:
        size = (frame.width, frame.height)
        if size != self._size:
            if self._size is None:
                self.policy = BitratePolicy(self._bounds(*size))
            else:
                self.policy.set_bounds(self._bounds(*size))
            self._size = size
            return True
        if codec is None:
            return True
        built = self.stats.built_target_bps
        change = abs(self.policy.target_bps - built) / built
        return change > self.config.rebuild_hysteresis

    @property
    def target_bitrate(self) -> int:
        return self.policy.target_bps

    @target_bitrate.setter
    def target_bitrate(self, bitrate: int) -> None:
        self.policy.on_estimate(int(bitrate))

    def _keyframe_due(self, pts: int | None) -> bool:
        """Periodic keyframe by media time, so it does not depend on the frame rate."""
        last = self._last_keyframe_pts
        interval = self.config.keyframe_interval_s * CLOCK_RATE
        return pts is not None and last is not None and pts - last >= interval

    def _account(self, t0: float, nbytes: int, keyframe: bool, pts: int | None) -> None:
        if keyframe:
            self._last_keyframe_pts = pts
        ms = (time.perf_counter() - t0) * 1000.0
        s = self.stats
        s.frames += 1
        s.keyframes += int(keyframe)
        s.last_ms, s.last_bytes, s.last_keyframe = ms, nbytes, keyframe
        s.total_ms += ms
        self.policy.record_output(nbytes)


class ScreenH264Encoder(_ScreenEncoderMixin, H264Encoder):
    """libx264 ultrafast/zerolatency with CRF + VBV cap, for desktop content."""

    def __init__(self, config: EncoderConfig | None = None) -> None:
        super().__init__()
        self._init_screen(config)

    def _open_codec(self, frame: av.VideoFrame) -> VideoCodecContext:
        c = self.config
        target = self.policy.target_bps
        # The level covers the policy's ceiling so it stays valid whatever the target does.
        level = h264_level(frame.width, frame.height, c.max_fps, self.policy.bounds.ceiling_bps)
        codec = av.CodecContext.create("libx264", "w")
        assert isinstance(codec, VideoCodecContext)
        codec.width = frame.width
        codec.height = frame.height
        codec.pix_fmt = "yuv420p"
        codec.time_base = VIDEO_TIME_BASE
        codec.framerate = fractions.Fraction(round(c.max_fps * 1000), 1000)
        codec.gop_size = c.keyint
        codec.max_b_frames = 0
        codec.thread_count = c.threads
        kbps = max(1, target // 1000)
        params = [
            f"vbv-maxrate={kbps}",
            f"vbv-bufsize={max(1, int(kbps * c.vbv_buffer_s))}",
            f"keyint={c.keyint}",
            "scenecut=0",
            "repeat-headers=1",
        ]
        codec.options = {
            "preset": c.preset,
            "tune": "zerolatency",
            "profile": "baseline",
            "level": level,
            "crf": str(c.crf),
            "forced-idr": "1",
            "x264-params": ":".join(params),
        }
        codec.open()
        self.stats.level = level
        self.stats.built_target_bps = target
        return codec

    def _encode_frame(self, frame: av.VideoFrame, force_keyframe: bool) -> Iterator[bytes]:
        t0 = time.perf_counter()
        if self._needs_rebuild(self.codec, frame):
            if self.codec is not None:
                self.stats.rebuilds += 1
            self.codec = self._open_codec(frame)
        force_keyframe = force_keyframe or self._keyframe_due(frame.pts)
        frame.pict_type = (
            av.video.frame.PictureType.I if force_keyframe else av.video.frame.PictureType.NONE
        )
        assert self.codec is not None
        chunks: list[bytes] = []
        keyframe = False
        for packet in self.codec.encode(frame):
            chunks.append(bytes(packet))
            keyframe = keyframe or packet.is_keyframe
        data = b"".join(chunks)
        self._account(t0, len(data), keyframe, frame.pts)
        if data:
            yield from self._split_bitstream(data)

    def encode_nals(self, frame: av.VideoFrame, force_keyframe: bool = False) -> list[bytes]:
        """Encode one frame to NAL units (no RTP packetization)."""
        return list(self._encode_frame(self._prepare(frame), force_keyframe))

    def encode(self, frame: Frame, force_keyframe: bool = False) -> tuple[list[bytes], int]:
        assert isinstance(frame, av.VideoFrame)
        frame = self._prepare(frame)
        payloads = self._packetize(self._encode_frame(frame, force_keyframe))
        assert frame.pts is not None
        return payloads, frame.pts


class ScreenVp8Encoder(_ScreenEncoderMixin, Vp8Encoder):
    """libvpx VP8 realtime with high ``cpu-used``; 2 threads from 1080p up."""

    _bpp = VP8_BPP

    def __init__(self, config: EncoderConfig | None = None) -> None:
        super().__init__()
        self._init_screen(config)

    def _open_codec(self, frame: av.VideoFrame) -> VideoCodecContext:
        c = self.config
        target = self.policy.target_bps
        codec = av.CodecContext.create("libvpx", "w")
        assert isinstance(codec, VideoCodecContext)
        codec.width = frame.width
        codec.height = frame.height
        codec.pix_fmt = "yuv420p"
        codec.time_base = VIDEO_TIME_BASE
        codec.framerate = fractions.Fraction(round(c.max_fps * 1000), 1000)
        codec.bit_rate = target
        codec.gop_size = c.keyint
        codec.qmin = 2
        codec.qmax = 56
        codec.thread_count = vp8_threads(frame.width, frame.height, c.vp8_threads)
        codec.options = {
            "bufsize": str(int(target * c.vbv_buffer_s)),
            "minrate": str(target),
            "maxrate": str(target),
            "cpu-used": str(c.vp8_cpu_used),
            "deadline": "realtime",
            "lag-in-frames": "0",
            "auto-alt-ref": "0",
            "noise-sensitivity": "0",
            "static-thresh": "1",
            "undershoot-pct": "100",
            "overshoot-pct": "15",
            "partitions": "0",
        }
        codec.open()
        self.stats.built_target_bps = target
        return codec

    def encode(self, frame: Frame, force_keyframe: bool = False) -> tuple[list[bytes], int]:
        assert isinstance(frame, av.VideoFrame)
        t0 = time.perf_counter()
        frame = self._prepare(frame)
        if self._needs_rebuild(self.codec, frame):
            if self.codec is not None:
                self.stats.rebuilds += 1
            self.codec = self._open_codec(frame)
        force_keyframe = force_keyframe or self._keyframe_due(frame.pts)
        frame.pict_type = (
            av.video.frame.PictureType.I if force_keyframe else av.video.frame.PictureType.NONE
        )
        keyframe = False
        chunks: list[bytes] = []
        for packet in self.codec.encode(frame):
            chunks.append(bytes(packet))
            keyframe = keyframe or packet.is_keyframe
        data = b"".join(chunks)
        self._account(t0, len(data), keyframe, frame.pts)
        payloads = self._packetize(data, self.picture_id) if data else []
        self.picture_id = (self.picture_id + 1) % (1 << 15)
        assert frame.pts is not None
        return payloads, frame.pts
