"""H.264 codec choice: hardware encoders where they work, x264 otherwise.

PyAV can open FFmpeg's hardware H.264 encoders by name. Whether one works depends on the
machine (a GPU, its driver, the FFmpeg build), so castapp probes them: an encoder is used
only if it opens *and* passes a self-check (one small frame encodes to an Annex-B keyframe).
Probe results are a fact about the machine and are cached per process; the choice itself
belongs to each encoder instance (:class:`CodecChooser`), which also takes a codec that
fails later, mid-cast, out of its candidates and falls back to the next one (x264 last).

Every codec is opened through one function, the *open boundary* (:data:`Opener`, default
:func:`open_context`); tests inject failures there.

Notes on the encoders (see MEDIA-NOTES.md §5.4):

* ``h264_vaapi`` needs hardware frames (``hw_frames_ctx``), which PyAV 18 cannot set up,
  and the PyPI wheels do not include it; it is probed so that a PyAV built against a
  system FFmpeg with VAAPI is noticed, and fails cleanly otherwise.
* ``h264_nvenc`` rejects ``tune=zerolatency``: it takes ``tune=ull``, ``zerolatency=1``.
* ``h264_qsv`` wants NV12 input.
* ``h264_videotoolbox`` (macOS) and ``h264_mf`` (Windows) take ``realtime``/``scenario``
  style options; unverified here.
"""

from __future__ import annotations

import fractions
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import av
import numpy as np
from aiortc.mediastreams import VIDEO_TIME_BASE
from av.video.codeccontext import VideoCodecContext

log = logging.getLogger(__name__)

SOFTWARE_H264 = "libx264"
HARDWARE_H264: tuple[str, ...] = (
    "h264_vaapi",
    "h264_nvenc",
    "h264_qsv",
    "h264_videotoolbox",
    "h264_mf",
)


#: A keyframe is coded this many quantizer steps coarser than the frames that follow it,
#: which refine it (x264 ``ipratio`` 2^(-offset/6); x264's own 1.4 codes it 2.9 steps
#: finer). A keyframe's cost is its size: every one of its packets is sent, read and
#: decoded before the picture shows. On a recorded 1080p desktop 9 steps make a keyframe
#: 43 % smaller (277 -> 158 KB), at 39 dB; the frames after it re-code what it left coarse
#: and are at the other frames' quality (48-49 dB) within about six frames. x264's own
#: ratio keeps what has not changed since the last keyframe sharper than everything drawn
#: since (51 against 48-49 dB) at the price of a keyframe almost twice the size. A stream's
#: first keyframe takes its quantizer from x264's first guess and is about the same size
#: either way. Measured in the README (the latency tail).
KEYFRAME_QP_OFFSET = 9.0


@dataclass(frozen=True, slots=True)
class CodecSpec:
    """What an H.264 context is opened for."""

    width: int
    height: int
    fps: float
    target_bps: int
    level: str
    crf: int = 23
    preset: str = "ultrafast"
    threads: int = 2
    keyint: int = 960
    """Longest GOP in frames; 0 for none (keyframes only when asked for)."""
    vbv_buffer_s: float = 1.0
    qcomp: float | None = None
    intra_refresh: bool = False
    """x264: refresh the picture in a column moving across it over ``keyint`` frames
    instead of sending IDR keyframes (the first frame is still one)."""
    intra_4x4: bool = True
    """x264 ``ultrafast``: let intra blocks use 4×4 prediction (see :data:`ULTRAFAST_4X4`)."""
    keyframe_qp_offset: float | None = KEYFRAME_QP_OFFSET
    """x264: a keyframe's quantizer this much coarser than the frames after it, which
    refine it (see :data:`KEYFRAME_QP_OFFSET`); ``None``: x264's own (about 2.9 finer)."""


#: x264's ``ultrafast`` preset predicts intra blocks only as whole 16×16 blocks, which fits
#: text and window edges badly: a 1080p desktop keyframe took 291-358 KB. With 4×4 intra
#: prediction (in keyframes and in the intra blocks of other frames) the same keyframes took
#: 238-290 KB (-18 %) at 0.5 dB higher PSNR, other frames 10-21 % fewer bytes, for about 1.5 ms
#: more encode per 1080p keyframe and none measurable per other frame. x264 has no option for
#: the intra partitions, so this is ``superfast`` (which analyses them) with everything else
#: set back to ``ultrafast``: the settings x264 writes into the stream differ in
#: ``analyse`` only (``tests/unit/test_rtc_hwenc_intra.py``).
ULTRAFAST_4X4 = ("superfast", ("no-deblock=1", "subme=0", "aq-mode=0", "partitions=i4x4",
                               "weightp=0"))


def keyframe_ipratio(qp_offset: float) -> float:
    """x264's I/P quantizer-scale ratio for a keyframe ``qp_offset`` steps coarser than the
    frames after it (a quantizer step of 6 doubles the scale)."""
    return float(2.0 ** (-qp_offset / 6.0))


def pix_fmt_for(name: str) -> str:
    return "nv12" if name == "h264_qsv" else "yuv420p"


def options_for(name: str, spec: CodecSpec) -> dict[str, str]:
    """Low-latency options per encoder (quality target plus a rate cap)."""
    kbps = max(1, spec.target_bps // 1000)
    if name == SOFTWARE_H264:
        params = [
            f"vbv-maxrate={kbps}",
            f"vbv-bufsize={max(1, int(kbps * spec.vbv_buffer_s))}",
            f"keyint={spec.keyint or 'infinite'}",
            "scenecut=0",
            "repeat-headers=1",
            *([f"qcomp={spec.qcomp:g}"] if spec.qcomp is not None else []),
            *(["intra-refresh=1"] if spec.intra_refresh else []),
            *([f"ipratio={keyframe_ipratio(spec.keyframe_qp_offset):.3f}"]
              if spec.keyframe_qp_offset is not None else []),
        ]
        preset = spec.preset
        if preset == "ultrafast" and spec.intra_4x4:
            preset, extra = ULTRAFAST_4X4
            params += extra
        return {
            "preset": preset,
            "tune": "zerolatency",
            "profile": "baseline",
            "level": spec.level,
            "crf": str(spec.crf),
            "forced-idr": "1",
            "x264-params": ":".join(params),
        }
    rate = {"maxrate": str(spec.target_bps), "bufsize": str(int(spec.target_bps
                                                                 * spec.vbv_buffer_s))}
    if name == "h264_nvenc":
        return {"preset": "p1", "tune": "ull", "zerolatency": "1", "rc": "vbr",
                "cq": str(spec.crf), "bf": "0", "delay": "0", "forced-idr": "1",
                "profile": "baseline", **rate}
    if name == "h264_qsv":
        return {"preset": "veryfast", "async_depth": "1", "look_ahead": "0",
                "forced_idr": "1", "profile": "baseline", **rate}
    if name == "h264_vaapi":
        return {"rc_mode": "QVBR", "qp": str(spec.crf), "profile": "constrained_baseline",
                **rate}
    if name == "h264_videotoolbox":
        return {"realtime": "1", "profile": "baseline", "allow_sw": "0", **rate}
    if name == "h264_mf":
        return {"scenario": "display_remoting", "rate_control": "quality",
                "hw_encoding": "1", **rate}
    return rate


def open_context(name: str, spec: CodecSpec) -> VideoCodecContext:
    """Create and open an H.264 encoder context (the open boundary)."""
    codec = av.CodecContext.create(name, "w")
    if not isinstance(codec, VideoCodecContext):
        raise TypeError(f"{name} is not a video encoder")
    codec.width = spec.width
    codec.height = spec.height
    codec.pix_fmt = pix_fmt_for(name)
    codec.time_base = VIDEO_TIME_BASE
    codec.framerate = fractions.Fraction(round(spec.fps * 1000), 1000)
    codec.gop_size = spec.keyint or (1 << 30)  # 0: no GOP limit
    codec.max_b_frames = 0
    if name == SOFTWARE_H264:
        codec.thread_count = spec.threads
    else:
        codec.bit_rate = spec.target_bps
    codec.options = options_for(name, spec)
    codec.open()
    return codec


Opener = Callable[[str, CodecSpec], VideoCodecContext]


class SelfCheckError(RuntimeError):
    pass


#: What opening or running an encoder can raise: FFmpeg's errors (a missing device, a
#: refused option), PyAV's (an unknown codec or pixel format) and a failed self-check.
CODEC_FAILURES: tuple[type[Exception], ...] = (
    av.error.FFmpegError, OSError, ValueError, TypeError, RuntimeError)


def self_check(name: str, opener: Opener = open_context) -> None:
    """Open ``name`` at a small size and require one frame to encode to an IDR picture."""
    spec = CodecSpec(width=320, height=240, fps=30.0, target_bps=1_000_000, level="3.1",
                     keyint=30)
    codec = opener(name, spec)
    y = np.full((spec.height, spec.width), 96, np.uint8)
    y[::8, :] = 200  # some structure, so the picture is not trivially flat
    i420 = np.concatenate([y, np.full((spec.height // 2, spec.width), 128, np.uint8)])
    frame = av.VideoFrame.from_numpy_buffer(i420, format="yuv420p")
    if codec.pix_fmt != "yuv420p":
        frame = frame.reformat(format=codec.pix_fmt)
    frame.pts = 0
    frame.time_base = VIDEO_TIME_BASE
    frame.pict_type = av.video.frame.PictureType.I
    data = b"".join(bytes(p) for p in [*codec.encode(frame), *codec.encode(None)])
    if not data:
        raise SelfCheckError(f"{name} produced no output for one frame")
    if not (data.startswith(b"\x00\x00\x01") or data.startswith(b"\x00\x00\x00\x01")):
        raise SelfCheckError(f"{name} output is not an Annex-B byte stream")
    nal_types = {data[i + 3] & 0x1F for i in range(len(data) - 3)
                 if data[i:i + 3] == b"\x00\x00\x01"}
    if 5 not in nal_types:
        raise SelfCheckError(f"{name} did not produce an IDR picture")


_probe_lock = threading.Lock()
_probed: dict[str, str] = {}
"""Encoder name -> "" (works) or the reason it does not; facts about this machine."""


def probe(name: str, opener: Opener = open_context, *, cache: bool = True) -> str:
    """``""`` when ``name`` opens and passes :func:`self_check`, else the reason it fails."""
    with _probe_lock:
        if cache and name in _probed:
            return _probed[name]
    try:
        self_check(name, opener)
        reason = ""
    except CODEC_FAILURES as exc:  # it cannot be used: x264 will be
        reason = f"{type(exc).__name__}: {exc}"
    if cache:
        with _probe_lock:
            _probed[name] = reason
    log.debug("H.264 encoder %s: %s", name, reason or "works")
    return reason


def forget_probes() -> None:
    with _probe_lock:
        _probed.clear()


class CodecChooser:
    """Opens the first candidate that passes its self-check; remembers those that failed.

    ``libx264`` is always the last resort and is not self-checked (it ships with PyAV).
    """

    def __init__(self, candidates: Sequence[str], opener: Opener = open_context,
                 *, cache_probes: bool = True) -> None:
        names = [n for n in candidates if n != SOFTWARE_H264]
        self.candidates: tuple[str, ...] = (*names, SOFTWARE_H264)
        self.opener = opener
        self.cache_probes = cache_probes
        self.failed: dict[str, str] = {}
        self.in_use: str | None = None
        self.fallbacks = 0

    def open(self, spec: CodecSpec) -> tuple[str, VideoCodecContext]:
        for name in self.candidates:
            if name in self.failed:
                continue
            if name != SOFTWARE_H264:
                reason = probe(name, self.opener, cache=self.cache_probes)
                if reason:
                    self.failed[name] = reason
                    continue
            try:
                codec = self.opener(name, spec)
            except CODEC_FAILURES as exc:
                if name == SOFTWARE_H264:
                    raise
                self.failed[name] = f"{type(exc).__name__}: {exc}"
                log.warning("H.264 encoder %s failed to open (%s); trying the next",
                            name, self.failed[name])
                continue
            if self.in_use is not None and self.in_use != name:
                self.fallbacks += 1
            self.in_use = name
            return name, codec
        raise RuntimeError("no H.264 encoder could be opened")  # unreachable: x264 raises

    def mark_failed(self, name: str, reason: str) -> None:
        """Take ``name`` out of the candidates after it failed mid-cast."""
        if name == SOFTWARE_H264:
            return
        self.failed[name] = reason
        log.warning("H.264 encoder %s failed while casting (%s); falling back", name, reason)
