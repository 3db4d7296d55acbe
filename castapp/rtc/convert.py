"""BGRA screen grabs to I420 (yuv420p) of any size, optionally downscaled.

I420 stores one chroma sample per 2x2 block, so H.264 and VP8 encoders take only even
widths and heights. A grab of odd size is padded by one column and/or row that repeats the
last one: every captured pixel stays where it was (text does not move by half a pixel) and
nothing is cut off; the receiver shows the padding as a one-pixel edge.

Two backends give the same geometry:

* ``libyuv`` (``ARGBScale`` + ``ARGBToI420`` through ctypes; Debian/Ubuntu package
  ``libyuv0``): SIMD row functions, ~0.5 ms for 1080p on the reference machine. ctypes
  releases the GIL for the call, so the capture thread does not hold up the event loop.
* ``swscale`` (PyAV's :class:`~av.video.reformatter.VideoReformatter`, reused): always
  present, 3-8x slower; used where libyuv is not installed (Windows, macOS).

Colour is BT.601 limited range in both, which is what the receiver assumes. Chroma is the
mean of each 2x2 block.

``i420_frame`` wraps an I420 array as an ``av.VideoFrame`` without copying; unlike
``VideoFrame.from_numpy_buffer(..., "yuv420p")`` it keeps heights that are not a multiple
of 4 (PyAV 18 rounds those down, shifting the chroma planes).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys
from typing import Literal

import av
import numpy as np
from av.video.reformatter import VideoReformatter

__all__ = [
    "Backend",
    "I420Converter",
    "even_up",
    "i420_frame",
    "i420_planes",
    "libyuv_available",
    "scale_bgra",
    "scale_filter",
]

log = logging.getLogger(__name__)

Backend = Literal["libyuv", "swscale"]
Filter = Literal["box", "bilinear"]

# libyuv's FilterMode values.
_LIBYUV_FILTER = {"bilinear": 2, "box": 3}
_SWS_FILTER = {"bilinear": "BILINEAR", "box": "AREA"}

_LIBYUV_NAMES = {
    "linux": ("libyuv.so.0", "libyuv.so"),
    "darwin": ("libyuv.dylib", "libyuv.0.dylib"),
    "win32": ("libyuv.dll", "yuv.dll"),
}


def _load_libyuv() -> ctypes.CDLL | None:
    names = list(_LIBYUV_NAMES.get(sys.platform, ()))
    found = ctypes.util.find_library("yuv")
    if found:
        names.insert(0, found)
    for name in names:
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        try:
            p, i = ctypes.c_void_p, ctypes.c_int
            lib.ARGBToI420.argtypes = [p, i, p, i, p, i, p, i, i, i]
            lib.ARGBToI420.restype = i
            lib.ARGBScale.argtypes = [p, i, i, i, p, i, i, i, i]
            lib.ARGBScale.restype = i
        except AttributeError:
            continue
        return lib
    return None


_LIBYUV = _load_libyuv()
_HAS_DLPACK = hasattr(av.VideoFrame, "from_dlpack")


def libyuv_available() -> bool:
    return _LIBYUV is not None


def even_up(value: int) -> int:
    """The next even number at or above ``value`` (at least 2)."""
    return max(2, value + (value % 2))


def scale_filter(src_w: int, src_h: int, dst_w: int, dst_h: int) -> Filter:
    """Box for whole-number ratios (its fast path) and strong shrinks; bilinear otherwise.

    Bilinear is cheaper and only starts to alias text once the shrink exceeds 2x.
    """
    if src_w % dst_w == 0 and src_h % dst_h == 0 and src_w // dst_w == src_h // dst_h:
        return "box"
    if dst_w * 2 >= src_w and dst_h * 2 >= src_h:
        return "bilinear"
    return "box"


def i420_planes(i420: np.ndarray, width: int, height: int) -> tuple[np.ndarray, ...]:
    """Views of the Y, U and V planes of a contiguous I420 array of even size."""
    flat = i420.reshape(-1)
    ys = width * height
    cs = ys // 4
    y = flat[:ys].reshape(height, width)
    u = flat[ys : ys + cs].reshape(height // 2, width // 2)
    v = flat[ys + cs : ys + 2 * cs].reshape(height // 2, width // 2)
    return y, u, v


def i420_frame(i420: np.ndarray, width: int, height: int) -> av.VideoFrame:
    """Wrap an I420 array as a yuv420p ``av.VideoFrame`` without copying.

    The frame keeps the array alive through its DLPack references.
    """
    if width % 2 or height % 2:
        raise ValueError(f"I420 needs an even size, not {width}x{height}")
    if i420.size != width * height * 3 // 2 or not i420.flags.c_contiguous:
        raise ValueError("not a contiguous I420 buffer of that size")
    planes = i420_planes(i420, width, height)
    if _HAS_DLPACK:
        return av.VideoFrame.from_dlpack(planes, format="yuv420p", width=width, height=height)
    frame = av.VideoFrame(width, height, "yuv420p")  # older PyAV: one copy
    for plane, src in zip(frame.planes, planes, strict=True):
        dst = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)
        dst[: src.shape[0], : src.shape[1]] = src
    return frame


def scale_bgra(bgra: np.ndarray, width: int, height: int) -> np.ndarray:
    """A new BGRA array of ``width x height``, box-filtered (for thumbnails)."""
    if bgra.strides[1:] != (4, 1):
        bgra = np.ascontiguousarray(bgra)
    h, w = bgra.shape[:2]
    out = np.empty((height, width, 4), np.uint8)
    if _LIBYUV is not None:
        rc = _LIBYUV.ARGBScale(bgra.ctypes.data, bgra.strides[0], w, h, out.ctypes.data,
                               width * 4, width, height, _LIBYUV_FILTER["box"])
        if rc != 0:
            raise RuntimeError(f"libyuv ARGBScale failed ({rc})")
        return out
    src = av.VideoFrame.from_numpy_buffer(bgra, format="bgra")
    frame = src.reformat(width=width, height=height, format="bgra", interpolation="AREA")
    rows = np.frombuffer(frame.planes[0], np.uint8).reshape(height, -1)
    out[:] = rows[:, : width * 4].reshape(height, width, 4)
    return out


class I420Converter:
    """Converts BGRA arrays to new I420 arrays; one instance per capture thread.

    ``convert(bgra)`` keeps the size (odd sizes padded to even); ``convert(bgra, (w, h))``
    scales to an even ``w x h`` first. Every call returns a fresh array, so a frame handed
    on is never overwritten by the next one.
    """

    def __init__(self, backend: Backend | None = None) -> None:
        if backend is None:
            backend = "libyuv" if _LIBYUV is not None else "swscale"
        if backend == "libyuv" and _LIBYUV is None:
            raise RuntimeError("libyuv is not installed (Debian/Ubuntu package libyuv0)")
        if backend not in ("libyuv", "swscale"):
            raise ValueError(f"unknown conversion backend {backend!r}")
        self.backend: Backend = backend
        self._scratch: np.ndarray | None = None
        self._reformatter: VideoReformatter | None = None

    def convert(self, bgra: np.ndarray, size: tuple[int, int] | None = None) -> np.ndarray:
        if bgra.ndim != 3 or bgra.shape[2] != 4 or bgra.dtype != np.uint8:
            raise ValueError(f"expected an (h, w, 4) uint8 BGRA array, got {bgra.shape}")
        if bgra.strides[1:] != (4, 1):
            bgra = np.ascontiguousarray(bgra)
        h, w = bgra.shape[:2]
        if size is None:
            size = (even_up(w), even_up(h))
        out_w, out_h = size
        if out_w % 2 or out_h % 2 or out_w < 2 or out_h < 2:
            raise ValueError(f"output size must be even, not {out_w}x{out_h}")
        if self.backend == "libyuv":
            return self._libyuv(bgra, w, h, out_w, out_h)
        return self._swscale(bgra, w, h, out_w, out_h)

    def convert_into(self, bgra: np.ndarray, out: np.ndarray, left: int, top: int) -> bool:
        """Convert ``bgra`` in place into the rectangle of the I420 array ``out`` whose
        top-left corner is (``left``, ``top``); unscaled, all four even. Chroma is the
        mean of each 2x2 block, so the rectangle comes out as a whole-frame conversion
        would. False (``out`` untouched) on the swscale backend."""
        lib = _LIBYUV
        if self.backend != "libyuv" or lib is None:
            return False
        h, w = bgra.shape[:2]
        out_h = out.shape[0] * 2 // 3
        out_w = out.shape[1]
        if (left | top | w | h) % 2 or left + w > out_w or top + h > out_h \
                or not out.flags.c_contiguous:
            raise ValueError(f"a {w}x{h}+{left}+{top} patch does not fit {out_w}x{out_h} I420")
        if bgra.strides[1:] != (4, 1):
            bgra = np.ascontiguousarray(bgra)
        base = out.ctypes.data
        ys, cw = out_w * out_h, out_w // 2
        chroma = (top // 2) * cw + left // 2
        rc = lib.ARGBToI420(bgra.ctypes.data, bgra.strides[0], base + top * out_w + left,
                            out_w, base + ys + chroma, cw, base + ys + ys // 4 + chroma, cw,
                            w, h)
        if rc != 0:
            raise RuntimeError(f"libyuv ARGBToI420 failed ({rc})")
        return True

    # -- libyuv ------------------------------------------------------------------------
    def _libyuv(self, bgra: np.ndarray, w: int, h: int, out_w: int, out_h: int) -> np.ndarray:
        lib = _LIBYUV
        assert lib is not None
        # Content size inside the (even) output: the source size, or the scaled size.
        same = (even_up(w), even_up(h)) == (out_w, out_h)
        cw, ch = (w, h) if same else (out_w, out_h)
        src, stride = bgra, bgra.strides[0]
        if not same:
            if self._scratch is None or self._scratch.shape != (out_h, out_w, 4):
                self._scratch = np.empty((out_h, out_w, 4), np.uint8)
            scratch = self._scratch
            d = w // out_w
            if d >= 2 and h // out_h == d:
                # A whole divisor (what fit_size picks): box-average exactly d x d blocks.
                # The 0..2d-1 leftover columns/rows at the right/bottom edge are dropped;
                # libyuv's box filter at a fractional ratio darkens flat areas by ~1 %.
                w, h = out_w * d, out_h * d
                filt = _LIBYUV_FILTER["box"]
            else:
                filt = _LIBYUV_FILTER[scale_filter(w, h, out_w, out_h)]
            rc = lib.ARGBScale(bgra.ctypes.data, stride, w, h,
                               scratch.ctypes.data, out_w * 4, out_w, out_h, filt)
            if rc != 0:
                raise RuntimeError(f"libyuv ARGBScale failed ({rc})")
            src, stride = scratch, out_w * 4
        out = np.empty((out_h * 3 // 2, out_w), np.uint8)
        base = out.ctypes.data
        ys = out_w * out_h
        rc = lib.ARGBToI420(src.ctypes.data, stride, base, out_w, base + ys, out_w // 2,
                            base + ys + ys // 4, out_w // 2, cw, ch)
        if rc != 0:
            raise RuntimeError(f"libyuv ARGBToI420 failed ({rc})")
        if (cw, ch) != (out_w, out_h):
            # Odd source: libyuv wrote the chroma of the half block; repeat the last luma
            # column/row into the padding.
            y = out[:out_h]
            if cw < out_w:
                y[:ch, cw] = y[:ch, cw - 1]
            if ch < out_h:
                y[ch] = y[ch - 1]
        return out

    # -- swscale -----------------------------------------------------------------------
    def _swscale(self, bgra: np.ndarray, w: int, h: int, out_w: int, out_h: int) -> np.ndarray:
        if w % 2 or h % 2:
            bgra = np.pad(bgra, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
            h, w = bgra.shape[:2]
        if self._reformatter is None:
            self._reformatter = VideoReformatter()
        src = av.VideoFrame.from_numpy_buffer(bgra, format="bgra")
        interpolation = _SWS_FILTER[scale_filter(w, h, out_w, out_h)]
        frame = self._reformatter.reformat(
            src, format="yuv420p", width=out_w, height=out_h, interpolation=interpolation,
            src_colorspace="ITU601", dst_colorspace="ITU601", dst_color_range="MPEG",
        )
        out = np.empty((out_h * 3 // 2, out_w), np.uint8)
        for plane, dst in zip(frame.planes, i420_planes(out, out_w, out_h), strict=True):
            rows, cols = dst.shape
            src_rows = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)
            dst[:] = src_rows[:rows, :cols]
        return out
