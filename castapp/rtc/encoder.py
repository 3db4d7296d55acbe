"""Screen-tuned video encoders that plug into aiortc's RTP sender.

:class:`ScreenH264Encoder` replaces aiortc's x264 "medium / level 3.1 / 30 fps" setup with
x264 ultrafast + zerolatency, several slice threads, CRF quality capped by a VBV
maxrate/bufsize derived from the bitrate policy, a long GOP, a level computed from the
resolution and frame rate, and 90 kHz wall-clock timestamps. :class:`ScreenVp8Encoder` is
the VP8 fallback (libvpx realtime, high ``cpu-used``, 2 threads from 1080p up).

Settings are per peer connection. The track of each connection owns an
:class:`EncoderLink`; the connection's RTP sender hands it to its encoder
(:meth:`use_link`, see ``castapp.rtc.adapt``) before every frame, so the encoder applies
its :class:`EncoderConfig` and writes its counters into the link's :class:`EncodeStats`,
where the session reads them. Nothing rides on the frames: PyAV 18 drops a frame's
``opaque`` object when any other frame that held the same object is freed.

Both rebuild their codec on a size change, a configuration change, or when the bitrate
policy says the built cap limits the encoder (:meth:`BitratePolicy.should_rebuild`); PyAV
cannot retune an open libx264/libvpx context, and each rebuild costs a keyframe.

Keyframe requests (PLI/FIR) are answered at most once per
:attr:`EncoderConfig.keyframe_request_interval_s`: a burst of requests for one loss yields
one keyframe, and a request inside the interval is answered when it ends.

Encoding runs in aiortc's executor thread; ``target_bitrate`` is set from the event loop.
"""

from __future__ import annotations

import fractions
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import av
from aiortc.codecs.h264 import H264Encoder
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.mediastreams import VIDEO_TIME_BASE, convert_timebase
from av.frame import Frame
from av.video.codeccontext import VideoCodecContext

from castapp.rtc import hwenc
from castapp.rtc.bitrate import H264_BPP, VP8_BPP, BitrateBounds, BitratePolicy, bounds_for
from castapp.rtc.hwenc import HARDWARE_H264, SOFTWARE_H264, CodecChooser, CodecSpec, Opener
from castapp.rtc.pacer import PacerStats, PacingConfig

log = logging.getLogger(__name__)

CLOCK_RATE = 90_000
#: GOP length given to codecs that take no "infinite" (libvpx): about 10 years at 60 fps.
NO_GOP_LIMIT = 1 << 30

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
    """Settings of one connection's encoder."""

    max_fps: float = 60.0
    """Highest frame rate expected; sets the H.264 level and the GOP length."""
    keyframe_interval_s: float = 8.0
    """Periodic keyframe spacing in media time when not ``change_driven`` (PLI requests
    force one at any time)."""
    keyframe_request_interval_s: float = 0.5
    """At most one keyframe per this interval in answer to requests (PLI/FIR)."""
    crf: int = 23
    qcomp: float | None = None
    """x264 quantizer curve compression (``None``: x264's 0.6). At 0.6 a frame with little
    new in it gets a much lower quantizer, so an unchanged screen re-sent as a refresh is
    re-coded for seconds (3-50 KB a refresh); 1.0 keeps the quantizer constant and a
    refresh of a still picture costs a few dozen bytes after one or two frames."""
    preset: str = "ultrafast"
    intra_4x4: bool = True
    """x264 ``ultrafast``: 4×4 intra prediction too (``castapp.rtc.hwenc.ULTRAFAST_4X4``:
    keyframes about a fifth smaller at a higher PSNR); False: 16×16 only, as the preset."""
    keyframe_qp_offset: float | None = hwenc.KEYFRAME_QP_OFFSET
    """x264: code a keyframe this many quantizer steps coarser than the frames after it,
    which refine it: 40 % fewer bytes to send, read and decode at 1080p
    (:data:`castapp.rtc.hwenc.KEYFRAME_QP_OFFSET`). ``None``: x264's own ratio (keyframes
    about 2.9 steps finer than other frames)."""
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
    change_driven: bool = True
    """Capture and encode only frames that changed (castapp.rtc.change); a still screen
    is refreshed every ``CaptureTrack.refresh_s``. False: every captured frame is encoded."""
    auto: bool = False
    """Follow the content (castapp.rtc.content): crf, encode rate and capture scale per
    mode (text, scroll, motion). The Auto preset sets it."""
    hardware: bool = True
    """Try the hardware H.264 encoders (probed and self-checked) before x264."""
    h264_encoders: tuple[str, ...] = HARDWARE_H264
    """Hardware candidates in order of preference; x264 is always the last resort."""
    intra_refresh_s: float | None = None
    """x264 only: instead of IDR keyframes for recovery, refresh the picture continuously
    in a column that crosses it once per this many seconds of encoded frames (x264
    ``intra-refresh``); keyframe requests (PLI/FIR) are then left to the refresh. The first
    frame (and a rebuild) is still an IDR. ``None``: keyframes."""
    pacing: PacingConfig | None = field(default_factory=PacingConfig)
    """Spread a large frame's RTP packets over up to 100 ms (castapp.rtc.pacer); ``None``
    sends each frame in one burst."""
    opener: Opener | None = field(default=None, compare=False, repr=False)
    """Opens codec contexts (``castapp.rtc.hwenc.open_context`` when ``None``); tests
    inject failures here, at the codec-open boundary."""

    @property
    def keyint(self) -> int:
        """The codec's own GOP limit in frames: a backstop at twice the periodic interval;
        0 (none) for change-driven streams, which send keyframes only when needed."""
        if self.intra_refresh_s is not None:
            return max(2, round(self.max_fps * self.intra_refresh_s))
        if self.change_driven:
            return 0
        return max(1, round(self.max_fps * self.keyframe_interval_s * 2))

    def rebuild_key(self) -> tuple[object, ...]:
        """Fields whose change needs a new codec context."""
        return (self.max_fps, self.crf, self.qcomp, self.preset, self.intra_4x4, self.threads,
                self.vbv_buffer_s, self.vp8_cpu_used, self.vp8_threads, self.keyframe_interval_s,
                self.intra_refresh_s, self.keyframe_qp_offset)


@dataclass(slots=True)
class EncodeStats:
    """Counters of one connection's encoder (read them from :attr:`EncoderLink.stats`)."""

    frames: int = 0
    keyframes: int = 0
    rebuilds: int = 0
    """Codec contexts re-created (size, settings or bitrate cap); each costs a keyframe."""
    rebuild_reasons: dict[str, int] = field(default_factory=dict)
    """Rebuilds by reason: ``size`` (a new frame size), ``settings`` (the configuration
    changed, e.g. the Auto preset's mode), ``bitrate`` (the bitrate cap limited the
    encoder), ``fallback`` (a hardware encoder failed)."""
    keyframe_requests: int = 0
    """PLI/FIR packets received from the other end."""
    keyframes_requested: int = 0
    """Keyframes sent in answer to requests (at most one per request interval)."""
    keyframe_bytes: int = 0
    last_ms: float = 0.0
    last_bytes: int = 0
    max_bytes: int = 0
    """The largest encoded frame."""
    last_keyframe: bool = False
    total_ms: float = 0.0
    total_bytes: int = 0
    level: str = ""
    built_target_bps: int = 0
    target_bps: int = 0
    encoder: str = ""
    """The codec in use: ``libx264``, ``libvpx`` or a hardware encoder such as ``h264_nvenc``."""
    fallbacks: int = 0
    """Times a hardware encoder failed and the next candidate (finally x264) took over."""
    refreshes: int = 0
    """Frames re-sent unchanged to keep a still stream alive."""
    mode: str = ""
    """Content mode chosen by the Auto preset (``text``, ``scroll``, ``motion``), if any."""

    @property
    def mean_ms(self) -> float:
        return self.total_ms / self.frames if self.frames else 0.0

    def count_rebuild(self, reason: str) -> None:
        self.rebuilds += 1
        self.rebuild_reasons[reason] = self.rebuild_reasons.get(reason, 0) + 1


class EncoderLink:
    """One connection's encoder settings and counters, shared by its track and encoder.

    The connection's sender hands it to its encoder. :attr:`config` may be
    replaced while casting (the Auto preset does); the encoder applies it on the next
    frame, rebuilding its codec only when :meth:`EncoderConfig.rebuild_key` changed.
    """

    def __init__(self, config: EncoderConfig | None = None) -> None:
        self.config = config or EncoderConfig()
        self.stats = EncodeStats()
        self._lock = threading.Lock()
        self.keyframe_wanted = False
        """Set by the track when a receiver joined; the next frame is a keyframe."""
        self.repeat = False
        """Set by the track while the frame being encoded repeats the previous picture."""
        self.pacer_stats: PacerStats | None = None
        """The connection's packet pacer's counters, once it paces."""

    def request_keyframe(self) -> None:
        with self._lock:
            self.keyframe_wanted = True

    def take_keyframe_request(self) -> bool:
        with self._lock:
            wanted, self.keyframe_wanted = self.keyframe_wanted, False
            return wanted

    def as_dict(self) -> dict[str, object]:
        """Counters for ``--stats`` and benchmarks."""
        s = self.stats
        return {"encoder": s.encoder, "frames": s.frames, "keyframes": s.keyframes,
                "rebuilds": s.rebuilds, "rebuild_reasons": dict(s.rebuild_reasons),
                "keyframe_requests": s.keyframe_requests,
                "keyframes_requested": s.keyframes_requested, "fallbacks": s.fallbacks,
                "refreshes": s.refreshes, "mode": s.mode, "target_bps": s.target_bps,
                "encode_ms": round(s.mean_ms, 2)}


class _ScreenEncoderMixin:
    """Settings, policy, pts fix-up, keyframe and rebuild decisions shared by both encoders."""

    _bpp: tuple[float, float, float] = H264_BPP
    codec: VideoCodecContext | None

    def _init_screen(self, config: EncoderConfig | None, link: EncoderLink | None) -> None:
        self.link = link or EncoderLink(config)
        self.config = self.link.config
        self.policy = BitratePolicy(self._bounds(1280, 720))
        self._last_pts: int | None = None
        self._last_keyframe_pts: int | None = None
        self._last_keyframe_at: float | None = None
        self._request_pending = False
        self._changed_since_key = False
        self._t0: float | None = None
        self._size: tuple[int, int] | None = None
        self._built_key: tuple[object, ...] | None = None

    @property
    def stats(self) -> EncodeStats:
        return self.link.stats

    def use_link(self, link: EncoderLink) -> None:
        """Encode for the connection that owns ``link`` from the next frame on (its
        settings, its counters). Called by the connection's sender on the event loop."""
        if link is not self.link:
            link.stats.keyframe_requests += self.link.stats.keyframe_requests
            self.link = link

    def _apply_config(self) -> None:
        """Follow a configuration replaced on the link (the Auto preset does that)."""
        if self.link.config is not self.config:
            self.config = self.link.config
            if self._size is not None:
                self.policy.set_bounds(self._bounds(*self._size))

    def note_keyframe_request(self) -> None:
        """A PLI/FIR arrived (called on the event loop by the adapted RTP sender)."""
        self.link.stats.keyframe_requests += 1

    def _policy_for(self, bounds: BitrateBounds) -> BitratePolicy:
        return BitratePolicy(bounds, rebuild_hysteresis=self.config.rebuild_hysteresis)

    def _bounds(self, width: int, height: int) -> BitrateBounds:
        c = self.config
        b = bounds_for(width, height, c.max_fps, self._bpp)
        floor = c.floor_bps if c.floor_bps is not None else b.floor_bps
        ceiling = c.ceiling_bps if c.ceiling_bps is not None else b.ceiling_bps
        ceiling = max(ceiling, floor)
        return BitrateBounds(floor, min(max(b.start_bps, floor), ceiling), ceiling)

    def _prepare(self, frame: av.VideoFrame) -> av.VideoFrame:
        """yuv420p, 90 kHz time base and strictly increasing pts (wall clock if missing)."""
        self._apply_config()
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

    def _needs_rebuild(self, codec: VideoCodecContext | None,
                       frame: av.VideoFrame) -> str | None:
        """Why the codec must be (re)built for ``frame``: ``size``, ``settings``,
        ``bitrate``; ``None``: it need not."""
        size = (frame.width, frame.height)
        if size != self._size:
            old = self._size
            if old is None:
                self.policy = self._policy_for(self._bounds(*size))
            else:
                self.policy.set_bounds(self._bounds(*size))
            self._size = size
            log.debug("encoder rebuild: size %s -> %dx%d", old, *size)
            return "size"
        if codec is None:
            return "settings"
        key = self.config.rebuild_key()
        if self._built_key != key:
            log.debug("encoder rebuild: settings %s -> %s", self._built_key, key)
            return "settings"
        built = self.stats.built_target_bps
        if self.policy.should_rebuild(built):
            self.policy.note_rebuild()
            log.debug("encoder rebuild: bitrate cap %d -> %d bps (output %s bps)", built,
                      self.policy.target_bps, self.policy.output_bps())
            return "bitrate"
        return None

    def _built(self, target: int) -> None:
        self.stats.built_target_bps = target
        self._built_key = self.config.rebuild_key()

    @property
    def target_bitrate(self) -> int:
        return self.policy.target_bps

    @target_bitrate.setter
    def target_bitrate(self, bitrate: int) -> None:
        self.stats.target_bps = self.policy.on_estimate(int(bitrate))

    def _open_codec(self, frame: av.VideoFrame) -> VideoCodecContext:
        raise NotImplementedError

    def _codec_for(self, frame: av.VideoFrame, force_keyframe: bool) -> bool:
        """Open (or reopen) the codec that ``frame`` needs; whether the frame is to be a
        keyframe (asked for, due, or the first of a new codec)."""
        rebuilt = False
        reason = self._needs_rebuild(self.codec, frame)
        if reason is not None:
            if self.codec is not None:
                self.stats.count_rebuild(reason)
            self.codec = self._open_codec(frame)
            rebuilt = True
        return self._want_keyframe(frame.pts, force_keyframe) or rebuilt

    def _want_keyframe(self, pts: int | None, requested: bool) -> bool:
        """Periodic keyframes by media time; requests at most once per request interval."""
        if self.link.take_keyframe_request():
            requested = True  # a receiver joined (shared encoder): it needs an IDR
        elif self.config.intra_refresh_s is not None and self.codec_refreshes():
            return False  # lost pictures are repaired by the refresh wave, not by an IDR
        if not self.link.repeat:
            self._changed_since_key = True
        last = self._last_keyframe_pts
        interval = self.config.keyframe_interval_s * CLOCK_RATE
        # Periodic keyframes only when every captured frame is encoded. A change-driven
        # stream sends pictures only as they change: a 240 KB keyframe every 8 s would be
        # most of a still or typing screen's bytes; receivers that lost data ask (PLI).
        if (pts is not None and last is not None and pts - last >= interval
                and self._changed_since_key and not self.config.change_driven):
            return True
        if requested:
            self._request_pending = True
        if not self._request_pending:
            return False
        at = self._last_keyframe_at
        if at is not None and time.monotonic() - at < self.config.keyframe_request_interval_s:
            return False  # answered recently: answer again when the interval ends
        self._request_pending = False
        self.stats.keyframes_requested += 1
        return True

    def codec_refreshes(self) -> bool:
        """Whether the codec in use repairs pictures by intra refresh (x264 only)."""
        return False

    def _account(self, t0: float, nbytes: int, keyframe: bool, pts: int | None) -> None:
        if keyframe:
            self._last_keyframe_pts = pts
            self._last_keyframe_at = time.monotonic()
            self._request_pending = False
            self._changed_since_key = False
        ms = (time.perf_counter() - t0) * 1000.0
        s = self.stats
        s.frames += 1
        s.keyframes += int(keyframe)
        s.keyframe_bytes += nbytes if keyframe else 0
        s.last_ms, s.last_bytes, s.last_keyframe = ms, nbytes, keyframe
        s.max_bytes = max(s.max_bytes, nbytes)
        s.total_ms += ms
        s.total_bytes += nbytes
        s.target_bps = self.policy.target_bps
        self.policy.record_output(nbytes, keyframe=keyframe)


class ScreenH264Encoder(_ScreenEncoderMixin, H264Encoder):
    """H.264 for desktop content: a working hardware encoder, else x264 ultrafast/zerolatency
    with CRF + VBV cap."""

    def __init__(self, config: EncoderConfig | None = None, *,
                 opener: Opener | None = None, link: EncoderLink | None = None) -> None:
        super().__init__()
        self._init_screen(config, link)
        self._opener = opener
        self.chooser: CodecChooser | None = None
        self._codec_name = ""
        self._info_sent: tuple[str, str] | None = None
        self._info_at = 0.0

    def _make_chooser(self) -> CodecChooser:
        candidates = self.config.h264_encoders if self.config.hardware else ()
        opener = self._opener or self.config.opener
        if opener is None:
            return CodecChooser(candidates)
        return CodecChooser(candidates, opener, cache_probes=False)

    def _open_codec(self, frame: av.VideoFrame) -> VideoCodecContext:
        c = self.config
        if self.chooser is None:
            self.chooser = self._make_chooser()
        target = self.policy.target_bps
        # The level covers the policy's ceiling so it stays valid whatever the target does.
        level = h264_level(frame.width, frame.height, c.max_fps, self.policy.bounds.ceiling_bps)
        spec = CodecSpec(width=frame.width, height=frame.height, fps=c.max_fps,
                         target_bps=target, level=level, crf=c.crf, preset=c.preset,
                         threads=c.threads, keyint=c.keyint, vbv_buffer_s=c.vbv_buffer_s,
                         qcomp=c.qcomp, intra_refresh=c.intra_refresh_s is not None,
                         intra_4x4=c.intra_4x4, keyframe_qp_offset=c.keyframe_qp_offset)
        name, codec = self.chooser.open(spec)
        self._codec_name = name
        self.stats.encoder = name
        self.stats.fallbacks = self.chooser.fallbacks
        self.stats.level = level
        self._built(target)
        return codec

    def codec_refreshes(self) -> bool:
        return self._codec_name == SOFTWARE_H264

    def _encode_with(self, frame: av.VideoFrame, keyframe: bool) -> bytes:
        assert self.codec is not None
        frame.pict_type = (
            av.video.frame.PictureType.I if keyframe else av.video.frame.PictureType.NONE
        )
        if self.codec.pix_fmt != "yuv420p":
            frame = frame.reformat(format=self.codec.pix_fmt)
        return b"".join(bytes(p) for p in self.codec.encode(frame))

    def _encode_frame(self, frame: av.VideoFrame, force_keyframe: bool) -> Iterator[bytes]:
        t0 = time.perf_counter()
        keyframe = self._codec_for(frame, force_keyframe)
        try:
            data = self._encode_with(frame, keyframe)
        except hwenc.CODEC_FAILURES as exc:
            if self._codec_name == SOFTWARE_H264 or self.chooser is None:
                raise
            # A hardware encoder failed mid-cast: carry on with the next one (x264 last).
            self.chooser.mark_failed(self._codec_name, f"{type(exc).__name__}: {exc}")
            log.debug("encoder rebuild: %s failed, falling back", self._codec_name)
            self.stats.count_rebuild("fallback")
            self.codec = self._open_codec(frame)
            data = self._encode_with(frame, True)
        keyframe = has_idr(data)
        info = (self.stats.mode, self.stats.encoder)
        now = time.monotonic()
        if data and (keyframe or info != self._info_sent
                     or now - self._info_at >= SENDER_INFO_EVERY_S):
            fields = {"enc": info[1]} | ({"mode": info[0]} if info[0] else {})
            data = sender_info_nal(fields) + data
            self._info_sent, self._info_at = info, now
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


#: Identifies castapp's in-band sender information (H.264 SEI "user data unregistered").
SENDER_INFO_UUID = bytes.fromhex("6c1f6a3e1d5b4f0e9a53636173746170")
SENDER_INFO_EVERY_S = 2.0


def sender_info_nal(info: dict[str, str]) -> bytes:
    """An SEI NAL (with start code) carrying ``key=value;...``; FFmpeg's decoder hands it
    to the receiver as frame side data (``SEI_UNREGISTERED``)."""
    body = SENDER_INFO_UUID + ";".join(f"{k}={v}" for k, v in sorted(info.items())).encode()
    sei = bytearray([6, 5])  # NAL type 6 (SEI), payload type 5 (user data unregistered)
    n = len(body)
    while n >= 255:
        sei.append(255)
        n -= 255
    sei.append(n)
    sei += body
    sei.append(0x80)  # rbsp trailing bits
    out = bytearray()
    zeros = 0
    for b in sei:  # emulation prevention
        if zeros >= 2 and b <= 3:
            out.append(3)
            zeros = 0
        out.append(b)
        zeros = zeros + 1 if b == 0 else 0
    return b"\x00\x00\x00\x01" + bytes(out)


def parse_sender_info(data: bytes) -> dict[str, str] | None:
    """The ``key=value`` pairs of a castapp SEI payload (side data bytes), else ``None``."""
    if not data.startswith(SENDER_INFO_UUID):
        return None
    text = data[len(SENDER_INFO_UUID):].decode("utf-8", "replace")
    pairs = (item.partition("=") for item in text.split(";") if item)
    return {k[:32]: v[:64] for k, _, v in pairs}


def has_idr(data: bytes) -> bool:
    """Whether an Annex-B access unit holds an IDR slice (checks the NAL after each start
    code; the scan stops at the first slice, so it is cheap even for large frames)."""
    i = data.find(b"\x00\x00\x01")
    while i >= 0 and i + 3 < len(data):
        nal = data[i + 3] & 0x1F
        if nal == 5:
            return True
        if nal == 1:
            return False
        i = data.find(b"\x00\x00\x01", i + 3)
    return False


class ScreenVp8Encoder(_ScreenEncoderMixin, Vp8Encoder):
    """libvpx VP8 realtime with high ``cpu-used``; 2 threads from 1080p up."""

    _bpp = VP8_BPP

    def __init__(self, config: EncoderConfig | None = None, *,
                 link: EncoderLink | None = None) -> None:
        super().__init__()
        self._init_screen(config, link)

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
        codec.gop_size = c.keyint or NO_GOP_LIMIT
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
        self.stats.encoder = "libvpx"
        self._built(target)
        return codec

    def encode(self, frame: Frame, force_keyframe: bool = False) -> tuple[list[bytes], int]:
        assert isinstance(frame, av.VideoFrame)
        t0 = time.perf_counter()
        frame = self._prepare(frame)
        keyframe = self._codec_for(frame, force_keyframe)
        frame.pict_type = (
            av.video.frame.PictureType.I if keyframe else av.video.frame.PictureType.NONE
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


