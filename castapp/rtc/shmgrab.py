"""Whole-screen grabs read in place from mss's MIT-SHM segment (X11).

``mss.grab`` asks the X server for the picture with ``XShmGetImage`` into a shared memory
segment, then copies the segment into a new ``bytearray`` (33 MB at 4K) and draws the
pointer into that copy. Under load the copy into fresh memory took longer than the X
server's own part (11-19 ms against 8-10 ms per 4K grab). :class:`ShmGrabber` does the
``XShmGetImage`` the same way and hands out a read-only numpy view of the segment, which
the BGRA->I420 conversion reads directly; the pointer is then drawn into the converted
frame by converting a small patch around it (:func:`draw_cursor`).

It needs mss's XCB MIT-SHM backend (mss 10.2 on X11) and falls back (``grab`` returns
``None``) whenever that is not what mss uses, so the caller keeps ``mss.grab`` as the
general path.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from castapp.rtc.convert import I420Converter, scale_bgra

log = logging.getLogger(__name__)


class ShmGrabber:
    """Grabs rectangles of the screen of one ``mss.MSS`` into its shared memory segment."""

    def __init__(self, impl: Any, xcb: Any, all_planes: int) -> None:
        self._impl = impl
        self._xcb = xcb
        self._all_planes = all_planes
        self.failed = False

    @classmethod
    def for_mss(cls, sct: Any) -> ShmGrabber | None:
        """A grabber for ``sct`` if mss grabs through its XCB MIT-SHM backend, else None."""
        impl = getattr(sct, "_impl", None)
        needed = ("conn", "drawable", "_shmseg", "_buf", "_bufsize", "shm_status",
                  "drawable_depth", "drawable_visual_id", "cursor")
        if impl is None or not all(hasattr(impl, name) for name in needed):
            return None
        try:
            from mss.linux import xcb
            from mss.linux.base import ALL_PLANES
        except ImportError:
            return None
        if impl._buf is None or impl._shmseg is None or \
                getattr(impl.shm_status, "name", "") == "UNAVAILABLE":
            return None
        return cls(impl, xcb, ALL_PLANES)

    def grab(self, area: dict[str, int]) -> np.ndarray | None:
        """``area`` as a read-only (height, width, 4) BGRA view, valid until the next grab
        through the same mss object; None when the shared memory path cannot be used."""
        impl = self._impl
        w, h = area["width"], area["height"]
        if self.failed or impl.conn is None or impl._buf is None or w * h * 4 > impl._bufsize:
            return None
        try:
            reply = self._xcb.shm_get_image(
                impl.conn, impl.drawable, area["left"], area["top"], w, h, self._all_planes,
                self._xcb.ImageFormat.ZPixmap, impl._shmseg, 0)
            if reply.depth != impl.drawable_depth or reply.visual != impl.drawable_visual_id:
                raise ValueError(f"unexpected image depth {reply.depth}")
        except Exception as exc:  # broad: mss's own path (with its fallbacks) takes over
            log.info("grabbing through shared memory failed (%s); copying instead", exc)
            self.failed = True
            return None
        return np.frombuffer(impl._buf, np.uint8, w * h * 4).reshape(h, w, 4)

    def cursor(self) -> tuple[np.ndarray, int, int] | None:
        """The pointer image (BGRA, straight alpha) and its top-left corner in root
        coordinates, or None when the server cannot say."""
        try:
            shot = self._impl.cursor()
        except Exception:  # broad: no XFixes, or a refused request: no pointer drawn
            return None
        w, h = shot.size
        if not w or not h:
            return None
        img = np.frombuffer(shot.raw, np.uint8).reshape(h, w, 4)
        return img, int(shot.pos[0]), int(shot.pos[1])


def blend(patch: np.ndarray, cursor: np.ndarray, x: int, y: int) -> None:
    """Draw ``cursor`` (BGRA, straight alpha) into the BGRA ``patch`` with its top-left
    corner at (``x``, ``y``), clipped; as mss draws it (opaque pixels copied, others
    mixed, truncated)."""
    ph, pw = patch.shape[:2]
    ch, cw = cursor.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(pw, x + cw), min(ph, y + ch)
    if x1 <= x0 or y1 <= y0:
        return
    c = cursor[y0 - y:y1 - y, x0 - x:x1 - x]
    dst = patch[y0:y1, x0:x1, :3]
    alpha = c[..., 3:4].astype(np.float32) / 255.0
    mixed = (c[..., :3] * alpha + dst * (1.0 - alpha)).astype(np.uint8)
    opaque = c[..., 3:4] == 255
    dst[...] = np.where(opaque, c[..., :3], np.where(alpha > 0, mixed, dst))


def draw_cursor(i420: np.ndarray, view: np.ndarray, area: dict[str, int],
                cursor: tuple[np.ndarray, int, int], converter: I420Converter) -> bool:
    """Draw the pointer into ``i420`` (converted from ``view``, the grab of ``area``, at
    a whole divisor of its size): the patch of ``view`` under the pointer is copied, the
    pointer drawn into it, the patch shrunk by the same divisor and converted in place.
    False when the converter cannot convert patches (swscale)."""
    img, left, top = cursor
    h, w = view.shape[:2]
    out_h, out_w = i420.shape[0] * 2 // 3, i420.shape[1]
    d = max(1, w // out_w) if out_w < w else 1
    unit = 2 * d  # patch corners on this grid land on even output pixels
    cx, cy = left - area["left"], top - area["top"]
    ch, cw = img.shape[:2]
    x0, y0 = max(0, cx) // unit * unit, max(0, cy) // unit * unit
    x1 = min(-(-(cx + cw) // unit) * unit, min(w, out_w * d) // unit * unit)
    y1 = min(-(-(cy + ch) // unit) * unit, min(h, out_h * d) // unit * unit)
    if x1 <= x0 or y1 <= y0:
        return True  # the pointer is outside the grabbed area
    patch = np.array(view[y0:y1, x0:x1])
    blend(patch, img, cx - x0, cy - y0)
    if d > 1:
        patch = scale_bgra(patch, (x1 - x0) // d, (y1 - y0) // d)
    return converter.convert_into(patch, i420, x0 // d, y0 // d)
