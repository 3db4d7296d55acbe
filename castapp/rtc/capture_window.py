"""Sharing one window on X11: find it by title or id, follow it as it moves.

Windows are looked up and followed with python-xlib (pure Python, speaks the X protocol
over the display socket; no native library beyond what mss already uses). Pixels still
come from mss grabbing the window's rectangle of the screen, so the pointer and the
libyuv conversion work exactly as for a monitor.

What the receiver sees when the window is not fully visible (X11 keeps no copy of hidden
window content unless a compositor redirects it, so castapp does not pretend otherwise):

* **moved or resized**: the capture follows on the next frame; a new size rebuilds the
  encoder once (one keyframe).
* **partly off-screen**: the part outside the screen is black; the frame keeps the
  window's size.
* **covered** by another window: the covering part is sent as it appears on screen, and
  the source reports :attr:`SourceState.COVERED` so the sender can say so.
* **minimised** (unmapped): the last frame stays on the receiver (repeated twice a
  second so the link does not look dead) and the source reports
  :attr:`SourceState.MINIMISED`; capture resumes when the window comes back.
* **closed**: the source stops with "the shared window was closed".
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from castapp.rtc.capture import ScreenCapture, SourceState, fit_size, grab
from castapp.rtc.xerrors import x_failures

__all__ = ["WindowCapture", "WindowInfo", "WindowNotFoundError", "find_window", "list_windows"]

log = logging.getLogger(__name__)

REPEAT_S = 0.5
"""How often the last frame is repeated while the window is minimised."""
COVER_CHECK_S = 0.5
"""How often the stacking order is read to tell whether the window is covered."""


class WindowNotFoundError(ValueError):
    """No window matches what the user asked for (the message says what exists)."""


@dataclass(frozen=True, slots=True)
class WindowInfo:
    id: int
    title: str
    left: int
    top: int
    width: int
    height: int


def _xlib() -> Any:
    if not sys.platform.startswith("linux"):
        raise WindowNotFoundError("window sharing needs X11 (Linux); share a monitor instead")
    try:
        from Xlib import display as xdisplay
    except ImportError as exc:  # pragma: no cover - a dependency on Linux
        raise WindowNotFoundError("window sharing needs the python-xlib package") from exc
    return xdisplay


def _open(display: str | None) -> Any:
    xdisplay = _xlib()
    try:
        return xdisplay.Display(display)
    except x_failures() as exc:
        raise WindowNotFoundError(f"cannot open the X display: {exc}") from exc


def _title(d: Any, win: Any) -> str:
    net_name = d.intern_atom("_NET_WM_NAME")
    utf8 = d.intern_atom("UTF8_STRING")
    try:
        prop = win.get_full_property(net_name, utf8)
        if prop is not None and prop.value:
            value = prop.value
            return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        name = win.get_wm_name()
    except x_failures():  # the window went away meanwhile: no title
        return ""
    if isinstance(name, bytes):
        return name.decode("latin-1")
    return name or ""


def _rect(d: Any, win: Any) -> tuple[int, int, int, int]:
    geom = win.get_geometry()
    pos = d.screen().root.translate_coords(win, 0, 0)  # win (0, 0) in root coordinates
    return pos.x, pos.y, geom.width, geom.height


def _client_windows(d: Any) -> list[Any]:
    """Top-level application windows, bottom to top.

    With a window manager: ``_NET_CLIENT_LIST_STACKING`` (or ``_NET_CLIENT_LIST``). Without
    one: the root's mapped children that carry a title.
    """
    root = d.screen().root
    for name in ("_NET_CLIENT_LIST_STACKING", "_NET_CLIENT_LIST"):
        prop = root.get_full_property(d.intern_atom(name), 0)  # AnyPropertyType
        if prop is not None and len(prop.value):
            return [d.create_resource_object("window", int(w)) for w in prop.value]
    return list(root.query_tree().children)


def list_windows(display: str | None = None) -> list[WindowInfo]:
    """Visible windows with a title, topmost first."""
    d = _open(display)
    try:
        out = []
        for win in reversed(_client_windows(d)):
            try:
                if win.get_attributes().map_state != 2:  # IsViewable
                    continue
                title = _title(d, win)
                if not title:
                    continue
                x, y, w, h = _rect(d, win)
            except x_failures():  # the window went away meanwhile
                continue
            if w > 1 and h > 1:
                out.append(WindowInfo(win.id, title, x, y, w, h))
        return out
    finally:
        d.close()


def parse_window_id(text: str) -> int | None:
    try:
        return int(text, 16) if text.lower().startswith("0x") else int(text)
    except ValueError:
        return None


def find_window(spec: str, display: str | None = None) -> WindowInfo:
    """A window by id (``0x3a00007`` or decimal) or title (exact, else one containing it)."""
    spec = spec.strip()
    if not spec:
        raise WindowNotFoundError("give a window title or id")
    windows = list_windows(display)
    wid = parse_window_id(spec)
    if wid is not None:
        for info in windows:
            if info.id == wid:
                return info
        d = _open(display)  # not listed (no title?): accept any viewable window id
        try:
            win = d.create_resource_object("window", wid)
            if win.get_attributes().map_state == 2:
                x, y, w, h = _rect(d, win)
                return WindowInfo(wid, _title(d, win), x, y, w, h)
        except x_failures():  # no such window: said below
            pass
        finally:
            d.close()
        raise WindowNotFoundError(f"no visible window with id {spec}")
    exact = [w for w in windows if w.title == spec]
    matches = exact or [w for w in windows if spec.lower() in w.title.lower()]
    if len(matches) == 1:
        return matches[0]
    names = ", ".join(f"{w.title!r} ({w.id:#x})" for w in windows[:12]) or "none"
    if not matches:
        raise WindowNotFoundError(f"no window titled {spec!r}; open windows: {names}")
    found = ", ".join(f"{w.title!r} ({w.id:#x})" for w in matches[:12])
    raise WindowNotFoundError(f"several windows match {spec!r}: {found}; give the id instead")


class WindowCapture(ScreenCapture):
    """Captures one X11 window's rectangle of the screen, following it as it moves."""

    def __init__(self, window: int, **kwargs: Any) -> None:
        kwargs.setdefault("monitor", 0)
        super().__init__(**kwargs)
        self._name = f"castapp-capture-window-{window:#x}"
        self.window = window
        self._d: Any = None
        self._win: Any = None
        self._last: np.ndarray | None = None
        self._last_sent = 0.0
        self._covered_at = 0.0
        self._screen: tuple[int, int] = (0, 0)

    def _setup(self) -> None:
        super()._setup()  # mss on this thread; area = the whole desktop for now
        self._d = _open(self.display)
        self._win = self._d.create_resource_object("window", self.window)
        root = self._d.screen().root.get_geometry()
        self._screen = (root.width, root.height)
        self._locate()  # fails now, on the capture thread, if the window is already gone

    def _teardown(self) -> None:
        d, self._d = self._d, None
        try:
            if d is not None:
                d.close()
        except x_failures() as exc:  # the X server went away: nothing is left to close
            log.debug("closing the window's X connection: %s", exc)
        super()._teardown()

    def _locate(self) -> tuple[int, int, int, int] | None:
        """The window's rectangle on the root, or None while it is not viewable."""
        from Xlib import error as xerror

        try:
            if self._win.get_attributes().map_state != 2:
                return None
            return _rect(self._d, self._win)
        except (xerror.BadWindow, xerror.BadDrawable):
            self._set_state(SourceState.CLOSED)
            raise RuntimeError("the shared window was closed") from None

    def _covered(self, rect: tuple[int, int, int, int]) -> bool:
        x, y, w, h = rect
        stack = _client_windows(self._d)
        ids = [win.id for win in stack]
        top = self._toplevel()
        if top not in ids:
            return False
        for win in stack[ids.index(top) + 1 :]:
            try:
                if win.get_attributes().map_state != 2:
                    continue
                ox, oy, ow, oh = _rect(self._d, win)
            except x_failures():  # that window went away meanwhile: it covers nothing
                continue
            if ox < x + w and x < ox + ow and oy < y + h and y < oy + oh:
                return True
        return False

    def _toplevel(self) -> int:
        """Our window, or the root child (the window manager's frame) that holds it."""
        root = self._d.screen().root.id
        win = self._win
        while True:
            parent = win.query_tree().parent
            if parent is None or parent.id == root or parent.id == 0:
                return int(win.id)
            win = parent

    def _produce(self, seq: int) -> np.ndarray | None:  # type: ignore[override]  # may skip
        rect = self._locate()
        now = time.monotonic()
        if rect is None:
            self._set_state(SourceState.MINIMISED)
            if self._last is None or now - self._last_sent < REPEAT_S:
                return None
            self._last_sent = now
            return self._last
        if now - self._covered_at >= COVER_CHECK_S or self.state is SourceState.MINIMISED:
            self._covered_at = now
            self._set_state(SourceState.COVERED if self._covered(rect) else SourceState.LIVE)
        self._last = self._grab_window(rect)
        self._last_sent = now
        return self._last

    def _grab_window(self, rect: tuple[int, int, int, int]) -> np.ndarray:
        x, y, w, h = rect
        sw, sh = self._screen
        x0, y0, x1, y1 = max(0, x), max(0, y), min(sw, x + w), min(sh, y + h)
        if (x0, y0, x1, y1) == (x, y, x + w, y + h):
            self._area = {"left": x, "top": y, "width": w, "height": h}
            return self._grab_convert(self._area)
        # Partly off-screen: what is on screen, on black, at the window's own size.
        assert self._sct is not None and self._converter is not None
        canvas = np.zeros((h, w, 4), np.uint8)
        if x1 > x0 and y1 > y0:
            area = {"left": x0, "top": y0, "width": x1 - x0, "height": y1 - y0}
            self._area = area
            canvas[y0 - y : y1 - y, x0 - x : x1 - x] = np.asarray(grab(self._sct, area))
        return self._converter.convert(canvas, fit_size(w, h, self.max_size))
