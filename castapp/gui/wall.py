"""The video wall: up to four presenters' screens in tiles, driven from a keyboard or remote.

Each tile's newest decoded frame is converted and scaled to the tile's size in one swscale
pass (a reformatter kept per tile), then drawn as an image; a frame that arrives before the
previous one was painted replaces it, and repaints are held to the display's refresh rate.
Names, badges, the focus ring and "Reconnecting…" are painted over the pictures, so the
whole wall is one ordinary widget that ``grab()`` reads back.

The wall decides where tiles go (:mod:`castapp.layout`) and tells the window, through
``view_hint``, the size and frame rate each sender should send.

Sound: the session decides whose sound plays (the spotlit presenter's, else the first with
sound) and says so in each ``CallView`` (``sound``, ``heard``); with several on the wall the
heard tile says *Sound*, and every tile of a presenter with sound says *Muted* while the TV
is muted (key M, the remote's mute key or the menu's *Mute sound*, ``act_mute``), which
``sound_muted`` reports. A presenter without sound has no mark.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QPointF, QRect, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QColor,
    QFont,
    QFontMetrics,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QResizeEvent,
    QShowEvent,
)
from PySide6.QtWidgets import QWidget

from castapp import layout as policy
from castapp.gui.code_page import CodeCorner
from castapp.gui.common import text_scale
from castapp.layout import Tile, ViewHint
from castapp.session.room import MAX_PRESENTERS, ON_WALL, CallPhase, CallView, Layout

if TYPE_CHECKING:  # PyAV and NumPy come with the first picture, after the window shows
    import numpy as np
    from av.video.reformatter import VideoReformatter

    from castapp.rtc.receive import ReceivedFrame

__all__ = ["ON_WALL", "Wall"]
# How long a presenter's name stays on a new tile, and the focus ring after a key.
NAME_SECONDS = 4.0
FOCUS_SECONDS = 6.0

_NUMBER_KEYS = {Qt.Key.Key_1: 0, Qt.Key.Key_2: 1, Qt.Key.Key_3: 2, Qt.Key.Key_4: 3}
_ARROWS = {Qt.Key.Key_Left: (-1, 0), Qt.Key.Key_Right: (1, 0), Qt.Key.Key_Up: (0, -1),
           Qt.Key.Key_Down: (0, 1)}
_ENTER = (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Select, Qt.Key.Key_Space)
_STOP = (Qt.Key.Key_Delete, Qt.Key.Key_Backspace)
_MUTE = (Qt.Key.Key_M, Qt.Key.Key_VolumeMute)


def _reformatter() -> VideoReformatter:
    from av.video.reformatter import VideoReformatter

    return VideoReformatter()


@dataclass
class _TileState:
    call: CallView
    frame: ReceivedFrame | None = None
    # The picture drawn, its pixels (kept alive for the QImage) and what it was made from.
    image: QImage | None = None
    pixels: np.ndarray | None = None
    made_from: tuple[int, int, int] = (-1, 0, 0)
    reformatter: VideoReformatter = field(default_factory=_reformatter)
    name_until: float = 0.0
    painted: int = 0
    # Seconds from a frame's arrival to its paint, for the statistics box.
    paint_delay_s: float | None = None


class Wall(QWidget):
    """Tiles of the calls on screen; keys move focus, spotlight, change layout and stop."""

    # (peer_id, ViewHint) whenever the size or rate a sender should send changes.
    view_hint = Signal(str, object)
    # The focused tile's peer asked to be stopped (Delete / Backspace).
    stop_requested = Signal(str)
    # The layout or the spotlit tile changed (the new Layout value).
    layout_changed = Signal(str)
    # The TV's sound was muted (True) or unmuted.
    sound_muted = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("wall")
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._tiles: dict[str, _TileState] = {}
        self._order: list[str] = []
        self.layout_choice = Layout.AUTO
        self.spotlight: str | None = None
        self.focus: str | None = None
        self._focus_until = 0.0
        self._hints: dict[str, ViewHint] = {}
        self._dirty: set[str] = set()
        self._interval = 1.0 / 60.0
        self._last_flush = 0.0
        self._flush = QTimer(self)
        self._flush.setSingleShot(True)
        self._flush.setTimerType(Qt.TimerType.PreciseTimer)
        self._flush.timeout.connect(self._repaint_dirty)
        self._expire = QTimer(self)  # repaints when a name or the focus ring times out
        self._expire.setSingleShot(True)
        self._expire.timeout.connect(self.update)
        self.frames_painted = 0
        self._pills: dict[tuple[str, int, int, float], QImage] = {}
        self.corner = CodeCorner(self)
        self.corner.hide()
        self.muted = False
        self.act_mute = QAction(self, checkable=True)
        self.act_mute.toggled.connect(self.set_muted)
        self.retranslate()

    # ------------------------------------------------------------------ words
    def retranslate(self) -> None:
        self.reconnecting_text = self.tr("Reconnecting…")
        self.connecting_text = self.tr("{name} is connecting…")
        self.browser_text = self.tr("Browser")
        self.unverified_text = self.tr("Not verified")
        self.sound_text = self.tr("Sound")
        self.muted_text = self.tr("Muted")
        self.act_mute.setText(self.tr("Mute sound") + "\tM")
        self._pills.clear()
        self.corner.retranslate()
        self.update()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    # ------------------------------------------------------------------ the code corner
    def set_code(self, display_code: str | None, link: str) -> None:
        """The code and link a next presenter uses, kept in a corner while casting."""
        self.corner.set_code(display_code or "", link)
        self._place_corner()

    def _place_corner(self) -> None:
        corner = self.corner
        wanted = bool(self._order) and len(self._order) < MAX_PRESENTERS and corner.has_code()
        if not wanted:
            corner.hide()
            return
        corner.scale_to(text_scale(self.width(), self.height()))
        corner.layout().invalidate()
        corner.layout().activate()
        corner.resize(corner.sizeHint())
        margin = max(8, self.height() // 60)
        corner.move(self.width() - corner.width() - margin,
                    self.height() - corner.height() - margin)
        corner.show()
        corner.raise_()

    # ------------------------------------------------------------------ calls and frames
    @property
    def frames_shown(self) -> int:
        return self.frames_painted

    def calls(self) -> list[CallView]:
        return [self._tiles[p].call for p in self._order]

    def set_calls(self, calls: Sequence[CallView]) -> None:
        """The calls the session reports; those in a wall phase get (or keep) a tile."""
        shown = [c for c in calls if c.phase in ON_WALL][:MAX_PRESENTERS]
        now = time.monotonic()
        ids = [c.peer_id for c in shown]
        for peer in list(self._tiles):
            if peer not in ids:
                del self._tiles[peer]
                self._hints.pop(peer, None)
                self._dirty.discard(peer)
        for call in shown:
            state = self._tiles.get(call.peer_id)
            if state is None:
                self._tiles[call.peer_id] = _TileState(call, name_until=now + NAME_SECONDS)
            else:
                if state.call.name != call.name:
                    state.name_until = now + NAME_SECONDS
                state.call = call
        changed = ids != self._order
        self._order = ids
        if self.spotlight not in self._tiles:
            self.spotlight = None
        if self.focus not in self._tiles:
            self.focus = ids[0] if ids else None
        if changed:
            self.layout_changed.emit(self.current_layout().value)
        self._relayout()

    def offer(self, peer_id: str, frame: ReceivedFrame) -> None:
        """Take a call's newest frame; one not yet painted is replaced, never queued."""
        state = self._tiles.get(peer_id)
        if state is None:
            return
        old = state.frame
        state.frame = frame
        if old is None or (old.width, old.height) != (frame.width, frame.height):
            self._send_hints()
        self._dirty.add(peer_id)
        if self._flush.isActive():
            return
        wait = self._last_flush + self._interval - time.monotonic()
        if wait <= 0:
            self._repaint_dirty()
        else:
            self._flush.start(max(1, round(wait * 1000)))

    def _repaint_dirty(self) -> None:
        self._last_flush = time.monotonic()
        tiles = {t.peer_id: t for t in self.tiles()}
        for peer in self._dirty:
            tile = tiles.get(peer)
            if tile is not None:
                self.update(self._cell_rect(tile))
        self._dirty.clear()

    def last_frame(self, peer_id: str) -> ReceivedFrame | None:
        state = self._tiles.get(peer_id)
        return state.frame if state else None

    def painted(self, peer_id: str) -> int:
        state = self._tiles.get(peer_id)
        return state.painted if state else 0

    def up_to_date(self, peer_id: str) -> bool:
        """True once the call's newest frame has been drawn."""
        state = self._tiles.get(peer_id)
        return state is not None and state.frame is not None and \
            state.made_from[0] == state.frame.seq

    def paint_delay_s(self, peer_id: str) -> float | None:
        state = self._tiles.get(peer_id)
        return state.paint_delay_s if state else None

    def snapshot(self, peer_id: str | None = None) -> QImage | None:
        """A call's newest frame at full resolution (the focused call's by default)."""
        frame = self.last_frame(peer_id or self.focus or "")
        if frame is None:
            return None
        rgb = frame.frame.to_ndarray(format="rgb24")
        h, w = rgb.shape[:2]
        return QImage(rgb.data, w, h, rgb.strides[0], QImage.Format.Format_RGB888).copy()

    def clear(self) -> None:
        self.set_calls([])

    # ------------------------------------------------------------------ layout
    def current_layout(self) -> Layout:
        return policy.effective(self.layout_choice, len(self._order), self.spotlight)

    def tiles(self) -> list[Tile]:
        """The tiles in widget coordinates (logical pixels)."""
        return policy.arrange(self.layout_choice, self._order, self.width(), self.height(),
                              spotlight=self.spotlight, gap=policy.gap_for(len(self._order)),
                              sources=self._sources())

    def _sources(self) -> dict[str, tuple[int, int]]:
        """Each presenter's picture size, as far as known (the layout follows their shapes)."""
        return {peer: self._source_size(state) for peer, state in self._tiles.items()}

    def set_layout(self, layout: Layout) -> None:
        self.layout_choice = layout
        if layout in (Layout.GRID, Layout.SIDE_BY_SIDE):
            self.spotlight = None
        elif layout in (Layout.SPOTLIGHT, Layout.FULL) and self.spotlight is None:
            self.spotlight = self.focus
        self.layout_changed.emit(self.current_layout().value)
        self._relayout()

    # ------------------------------------------------------------------ sound
    def set_muted(self, muted: bool) -> None:
        if muted == self.muted:
            return
        self.muted = muted
        self.act_mute.setChecked(muted)
        self.sound_muted.emit(muted)
        self.update()

    def sound_mark(self, peer_id: str) -> str | None:
        """What a tile says about sound: *Muted* (the TV muted every presenter), *Sound* (the
        one heard among several); nothing on a presenter that sends no sound."""
        tile = self._tiles.get(peer_id)
        if tile is None or not tile.call.sound:
            return None
        if self.muted:
            return self.muted_text
        if len(self._order) > 1 and tile.call.heard:
            return self.sound_text
        return None

    def set_spotlight(self, peer_id: str | None) -> None:
        """Make one call large (None: back to equal tiles)."""
        if peer_id is not None and peer_id not in self._tiles:
            return
        self.spotlight = peer_id
        if peer_id is None:
            if self.layout_choice in (Layout.SPOTLIGHT, Layout.FULL):
                self.layout_choice = Layout.AUTO
        else:
            self.focus = peer_id
            if self.layout_choice is not Layout.FULL:
                self.layout_choice = Layout.SPOTLIGHT
        self.layout_changed.emit(self.current_layout().value)
        self._relayout()

    def picture_rect(self, peer_id: str) -> QRect | None:
        """Where a call's picture is drawn (aspect ratio kept inside its tile)."""
        for tile in self.tiles():
            if tile.peer_id == peer_id:
                return self._picture_rect(tile, self._tiles[peer_id])
        return None

    def _cell_rect(self, tile: Tile) -> QRect:
        c = tile.cell
        return QRect(c.x, c.y, c.w, c.h)

    def _source_size(self, state: _TileState) -> tuple[int, int]:
        if state.frame is not None:
            return state.frame.width, state.frame.height
        return state.call.width, state.call.height

    def _picture_rect(self, tile: Tile, state: _TileState) -> QRect:
        c = tile.cell
        sw, sh = self._source_size(state)
        if sw <= 0 or sh <= 0:
            return QRect(c.x, c.y, c.w, c.h)
        w, h = policy.fit(sw, sh, c.w, c.h)
        w -= w % 2  # swscale takes a slow path for odd widths (about four times the time)
        return QRect(c.x + (c.w - w) // 2, c.y + (c.h - h) // 2, w, h)

    def _relayout(self) -> None:
        self._send_hints()
        self._place_corner()
        self.update()
        self._schedule_expiry()

    def _send_hints(self) -> None:
        if not self.isVisible() or self.width() <= 1:
            return
        hints = policy.plan(self.layout_choice, self._order, self.width(), self.height(),
                            spotlight=self.spotlight, sources=self._sources(),
                            ratio=self.devicePixelRatioF())
        for peer, hint in hints.items():
            self._hint(peer, hint)

    def _hint(self, peer_id: str, hint: ViewHint) -> None:
        if self._hints.get(peer_id) != hint:
            self._hints[peer_id] = hint
            self.view_hint.emit(peer_id, hint)

    def hints(self) -> dict[str, ViewHint]:
        return dict(self._hints)

    # ------------------------------------------------------------------ keys
    def handle_key(self, event: QKeyEvent) -> bool:
        """Arrows move the focus, Enter spotlights, 1–4 spotlight, 0 the grid, Delete stops."""
        key = Qt.Key(event.key())
        if not self._order:
            return False
        if key in _MUTE:
            self.set_muted(not self.muted)
            return True
        if key in _ARROWS:
            dx, dy = _ARROWS[key]
            self.focus = policy.neighbour(self.tiles(), self.focus, dx, dy)
            self._show_focus()
            return True
        if key in _ENTER:
            if self.focus is not None:
                self.set_spotlight(None if self.spotlight == self.focus else self.focus)
                self._show_focus()
            return True
        if key in _NUMBER_KEYS:
            index = _NUMBER_KEYS[key]
            if index < len(self._order):
                self.set_spotlight(self._order[index])
                self._show_focus()
            return True
        if key == Qt.Key.Key_0:
            self.set_layout(Layout.GRID)
            return True
        if key in _STOP:
            if self.focus is not None:
                self.stop_requested.emit(self.focus)
            return True
        return False

    def mousePressEvent(self, event: QMouseEvent) -> None:
        """A click focuses the tile under the pointer (then Delete or the menu acts on it)."""
        point = event.position().toPoint()
        for tile in self.tiles():
            if self._cell_rect(tile).contains(point):
                self.focus = tile.peer_id
                self._show_focus()
                break
        super().mousePressEvent(event)

    def _show_focus(self) -> None:
        now = time.monotonic()
        self._focus_until = now + FOCUS_SECONDS
        if self.focus in self._tiles:
            self._tiles[self.focus].name_until = now + NAME_SECONDS
        self.update()
        self._schedule_expiry()

    def focus_visible(self) -> bool:
        return len(self._order) > 1 and time.monotonic() < self._focus_until

    def name_visible(self, peer_id: str) -> bool:
        state = self._tiles.get(peer_id)
        return state is not None and time.monotonic() < state.name_until

    def _schedule_expiry(self) -> None:
        now = time.monotonic()
        ends = [s.name_until for s in self._tiles.values() if s.name_until > now]
        if self._focus_until > now:
            ends.append(self._focus_until)
        if ends:
            self._expire.start(max(1, round((min(ends) - now) * 1000) + 20))

    # ------------------------------------------------------------------ painting
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        screen = self.screen()
        hz = screen.refreshRate() if screen is not None else 60.0
        self._interval = 1.0 / (hz if 10.0 <= hz <= 500.0 else 60.0)
        self._send_hints()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._send_hints()
        self._place_corner()

    def _image_for(self, state: _TileState, width: int, height: int) -> QImage | None:
        frame = state.frame
        if frame is None or width <= 0 or height <= 0:
            return state.image
        key = (frame.seq, width, height)
        if key != state.made_from:
            bgra = state.reformatter.reformat(frame.frame, width=width, height=height,
                                              format="bgra", interpolation="BILINEAR",
                                              threads=1)
            plane = bgra.planes[0]
            import numpy as np

            pixels = np.frombuffer(plane, np.uint8).reshape(height, plane.line_size)
            state.pixels = pixels
            state.image = QImage(pixels.data, width, height, plane.line_size,
                                 QImage.Format.Format_RGB32)
            state.made_from = key
            state.painted += 1
            self.frames_painted += 1
            state.paint_delay_s = time.monotonic() - frame.received_monotonic
        return state.image

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(event.rect(), QColor("#000000"))
        ratio = self.devicePixelRatioF()
        tiles = self.tiles()
        several = len(tiles) > 1
        for tile in tiles:
            cell = self._cell_rect(tile)
            if not event.rect().intersects(cell):
                continue
            state = self._tiles[tile.peer_id]
            if several:
                painter.fillRect(cell, QColor("#0b0d10"))
            pic = self._picture_rect(tile, state)
            image = self._image_for(state, round(pic.width() * ratio),
                                    round(pic.height() * ratio))
            if image is not None:
                painter.drawImage(pic, image)
            self._paint_marks(painter, tile, state, pic, several)
        painter.end()

    def _font(self, px: float, bold: bool = False) -> QFont:
        font = QFont(self.font())
        font.setPixelSize(max(11, round(px)))
        font.setBold(bold)
        return font

    def _paint_marks(self, painter: QPainter, tile: Tile, state: _TileState, pic: QRect,
                     several: bool) -> None:
        cell = self._cell_rect(tile)
        unit = max(12.0, min(self.height() / 36, cell.height() / 14))
        pad = round(unit * 0.6)
        call = state.call
        if state.frame is None or call.phase is CallPhase.RECONNECTING:
            if state.frame is not None:  # the last picture stays, dimmed
                painter.fillRect(pic, QColor(0, 0, 0, 130))
            text = self.reconnecting_text if call.phase is CallPhase.RECONNECTING else \
                self.connecting_text.format(name=call.name)
            self._pill(painter, self._fitted(text, unit * 1.3, cell.width() - 2 * pad),
                       cell.center().x(), cell.center().y(), unit * 1.3, centred=True)
        left = pic.left() + pad
        top = pic.top() + pad
        if several:  # the number a key spotlights, before the name
            left += self._pill(painter, str(tile.index + 1), left, top, unit,
                               background=QColor(77, 163, 255, 220)) + pad // 2
        row_end = left
        if several and self.name_visible(call.peer_id) and call.name:  # alone: the banner says
            name = self._fitted(call.name, unit, pic.right() - pad - left)
            row_end = left + self._pill(painter, name, left, top, unit)
        # badges: top-right of the picture, or on the next row when the name needs the room
        badges = []
        if call.browser:
            badges.append((self.browser_text, QColor(40, 90, 170, 220)))
        if not call.verified:
            badges.append((self.unverified_text, QColor(170, 90, 20, 230)))
        if badges:
            small = unit * 0.8
            widths = [self._pill_size(text, small)[0] for text, _ in badges]
            needed = sum(widths) + (pad // 2) * (len(badges) - 1)
            if pic.right() - pad - needed < row_end + pad:
                top += self._pill_size("Ag", unit)[1] + pad // 2
            right = pic.right() - pad
            for (text, colour), width in zip(badges, widths, strict=True):
                self._pill(painter, text, right, top, small, anchor_right=True,
                           background=colour)
                right -= width + pad // 2
        mark = self.sound_mark(call.peer_id)
        if mark is not None:  # bottom-left of the picture
            colour = QColor(170, 40, 40, 230) if self.muted else QColor(30, 120, 60, 220)
            small = unit * 0.8
            self._pill(painter, mark, left, pic.bottom() - pad - self._pill_size(mark, small)[1],
                       small, background=colour)
        if self.focus == call.peer_id and self.focus_visible():
            pen = QPen(QColor("#4da3ff"))
            width = max(3, round(unit / 4))
            pen.setWidth(width)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(cell.adjusted(width // 2, width // 2, -(width + 1) // 2,
                                           -(width + 1) // 2))

    def _fitted(self, text: str, px: float, width: float) -> str:
        """``text``, cut short with an ellipsis so that its pill is no wider than ``width``
        (a long presenter name stays inside its own tile)."""
        if self._pill_size(text, px)[0] <= width:
            return text
        metrics = QFontMetrics(self._font(px, bold=True))
        room = max(0, round(width) - 2 * round(px * 0.6))
        return metrics.elidedText(text, Qt.TextElideMode.ElideRight, room)

    def _pill_size(self, text: str, px: float) -> tuple[int, int]:
        metrics = QFontMetrics(self._font(px, bold=True))
        return (metrics.horizontalAdvance(text) + 2 * round(px * 0.6),
                metrics.height() + 2 * round(px * 0.3))

    def _pill(self, painter: QPainter, text: str, x: float, y: float, px: float, *,
              centred: bool = False, anchor_right: bool = False,
              background: QColor | None = None) -> int:
        """Text on a rounded dark box; returns the box's width.

        Boxes are drawn once into a cached image: antialiased rounded corners cost
        milliseconds each, far more than blitting the finished box with every frame.
        """
        colour = background or QColor(16, 16, 16, 200)
        ratio = self.devicePixelRatioF()
        key = (text, round(px), colour.rgba(), ratio)
        image = self._pills.get(key)
        if image is None:
            if len(self._pills) > 64:
                self._pills.clear()
            image = self._render_pill(text, px, colour, ratio)
            self._pills[key] = image
        w, h = self._pill_size(text, px)
        if centred:
            left, top = x - w / 2, y - h / 2
        elif anchor_right:
            left, top = x - w, y
        else:
            left, top = x, y
        painter.drawImage(QPointF(left, top), image)
        return w

    def _render_pill(self, text: str, px: float, colour: QColor, ratio: float) -> QImage:
        w, h = self._pill_size(text, px)
        image = QImage(round(w * ratio), round(h * ratio),
                       QImage.Format.Format_ARGB32_Premultiplied)
        image.setDevicePixelRatio(ratio)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        box = QRectF(0, 0, w, h)
        painter.drawRoundedRect(box, h / 4, h / 4)
        painter.setFont(self._font(px, bold=True))
        painter.setPen(QColor("white"))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
        painter.end()
        return image
