"""Choosing what to capture and how: a monitor, a region of one, or one window.

:func:`make_source` turns a :class:`CaptureSpec` (what the user chose in the window or on
the command line) into a :class:`~castapp.rtc.capture.FrameSource`. Mistakes that can be
found before capturing (a region that does not parse, a window that does not exist) raise
:class:`CaptureSpecError` with words meant for the user.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from castapp.rtc.capture import (
    SCREEN_FAILURES,
    FrameSource,
    Region,
    ScreenCapture,
    clip_region,
    list_monitors,
)

__all__ = ["BACKENDS", "CaptureSpec", "CaptureSpecError", "choose_backend", "make_source",
           "parse_region"]

log = logging.getLogger(__name__)


class CaptureSpecError(ValueError):
    """What the user asked to capture cannot be captured; the message says why."""


@dataclass(frozen=True, slots=True)
class CaptureSpec:
    monitor: int = 1
    """mss numbering: 1 = first monitor, 0 = all monitors together."""
    region: Region | None = None
    """A rectangle relative to the monitor's top-left corner."""
    window: str | None = None
    """A window title (or part of one) or id; overrides monitor and region."""
    pointer: bool = True
    """Draw the mouse pointer into the frames."""
    backend: str = "auto"
    """``x11`` (mss: X11, and Windows/macOS), ``portal`` (Wayland), or ``auto``."""


BACKENDS = ("auto", "x11", "portal")


def choose_backend(spec: CaptureSpec) -> str:
    """``portal`` on a Wayland session (or when asked for), else ``x11`` (mss)."""
    if spec.backend not in BACKENDS:
        raise CaptureSpecError(f"unknown capture backend {spec.backend!r} (x11 or portal)")
    if spec.backend != "auto":
        return spec.backend
    from castapp.rtc.capture_portal import wayland_session

    return "portal" if wayland_session() else "x11"


def parse_region(text: str) -> Region:
    """``X,Y,W,H`` in pixels (``x`` also separates W and H: ``10,20,800x600``)."""
    parts = text.replace("x", ",").replace("X", ",").replace(" ", "").split(",")
    try:
        x, y, w, h = (int(p) for p in parts)
    except ValueError:
        raise CaptureSpecError(
            f"a region is X,Y,WIDTH,HEIGHT in pixels, e.g. 0,0,1280,720 (got {text!r})"
        ) from None
    if w < 2 or h < 2:
        raise CaptureSpecError("the region must be at least 2x2 pixels")
    if x < 0 or y < 0:
        raise CaptureSpecError("the region must start inside the screen (X and Y >= 0)")
    return Region(x, y, w, h)


def make_source(spec: CaptureSpec, *, fps: float, max_size: tuple[int, int] | None = None,
                display: str | None = None) -> FrameSource:
    if choose_backend(spec) == "portal":
        from castapp.rtc.capture_portal import PortalCapture, portal_available

        if not portal_available():
            raise CaptureSpecError(
                "capturing a Wayland desktop needs GStreamer's PipeWire plugin "
                "(Debian/Ubuntu: gstreamer1.0-pipewire gstreamer1.0-tools)")
        if spec.window:
            log.info("on Wayland the system's dialog chooses the window; %r is not used",
                     spec.window)
        return PortalCapture(window=spec.window is not None, region=spec.region,
                             with_cursor=spec.pointer, fps=fps, max_size=max_size)
    if spec.window is not None:
        from castapp.rtc.capture_window import WindowCapture, WindowNotFoundError, find_window

        try:
            info = find_window(spec.window, display)
        except WindowNotFoundError as exc:
            raise CaptureSpecError(str(exc)) from None
        return WindowCapture(info.id, with_cursor=spec.pointer, max_size=max_size, fps=fps,
                             display=display)
    try:
        monitors = list_monitors(display)
    except SCREEN_FAILURES:  # reported by the capture thread, in the same words as before
        monitors = []
    if monitors:
        if not 0 <= spec.monitor < len(monitors):
            raise CaptureSpecError(
                f"monitor {spec.monitor} does not exist ({len(monitors) - 1} found)")
        m = monitors[spec.monitor]
        try:
            clip_region({"left": m.left, "top": m.top, "width": m.width, "height": m.height},
                        spec.region)
        except ValueError as exc:
            raise CaptureSpecError(str(exc)) from None
    return ScreenCapture(spec.monitor, region=spec.region, with_cursor=spec.pointer,
                         max_size=max_size, fps=fps, display=display)
