"""A monitor picker that draws the monitors where they really are, with live thumbnails.

Monitors are laid out from their real geometry (the pixel rectangles capture uses), scaled
uniformly to fit the widget: side-by-side, stacked, portrait or of mixed resolution and
DPI, each tile has its monitor's true proportions and position, and tiles never overlap
because monitors do not. A rectangle that merely contains other monitors (the whole
desktop that RandR can list as one more monitor) and exact mirror copies are left out.

The last choice is remembered by a key (output name and geometry), so a reordered or
replugged set of monitors still opens on the same screen when it is there.
"""

from __future__ import annotations

import asyncio
import logging

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFocusEvent,
    QIcon,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from castapp.rtc.capture import SCREEN_FAILURES, MonitorInfo, list_monitors, thumbnails

log = logging.getLogger(__name__)

THUMB_WIDTH = 240
GAP = 4.0  # pixels between neighbouring tiles
MARGIN = 6.0


def bgra_to_image(bgra: np.ndarray) -> QImage:
    """A QImage owning a copy of a BGRA array (``Format_RGB32`` is BGRA in memory)."""
    h, w = bgra.shape[:2]
    image = QImage(bgra.data, w, h, bgra.strides[0], QImage.Format.Format_RGB32)
    return image.copy()


def monitor_key(mon: MonitorInfo) -> str:
    return f"{mon.name}|{mon.width}x{mon.height}+{mon.left}+{mon.top}"


def _contains(a: MonitorInfo, b: MonitorInfo) -> bool:
    return (a.left <= b.left and a.top <= b.top and a.left + a.width >= b.left + b.width
            and a.top + a.height >= b.top + b.height)


def real_monitors(listed: list[MonitorInfo]) -> list[MonitorInfo]:
    """The physical monitors among ``list_monitors()[1:]``: no aggregates, no mirrors."""
    out: list[MonitorInfo] = []
    for mon in listed:
        if mon.width < 1 or mon.height < 1:
            continue
        others = [m for m in listed if m is not mon]
        if any(_contains(mon, m) and (m.width, m.height) != (mon.width, mon.height)
               for m in others):
            continue  # the whole desktop listed as one more monitor
        if any(_contains(m, mon) and _contains(mon, m) for m in out):
            continue  # a mirror of one already kept
        out.append(mon)
    return out


def layout(monitors: list[MonitorInfo], area: QRectF) -> list[QRectF]:
    """Tiles for ``monitors`` inside ``area``: real positions, one uniform scale."""
    if not monitors:
        return []
    x0 = min(m.left for m in monitors)
    y0 = min(m.top for m in monitors)
    x1 = max(m.left + m.width for m in monitors)
    y1 = max(m.top + m.height for m in monitors)
    scale = min(area.width() / (x1 - x0), area.height() / (y1 - y0))
    off = QPointF(area.x() + (area.width() - (x1 - x0) * scale) / 2,
                  area.y() + (area.height() - (y1 - y0) * scale) / 2)
    tiles = []
    for m in monitors:
        r = QRectF(off.x() + (m.left - x0) * scale, off.y() + (m.top - y0) * scale,
                   m.width * scale, m.height * scale)
        tiles.append(r.adjusted(GAP / 2, GAP / 2, -GAP / 2, -GAP / 2))
    return tiles


class _Tile:
    """What a list row used to offer: the label and the thumbnail."""

    def __init__(self, text: str, pixmap: QPixmap | None) -> None:
        self._text = text
        self._pixmap = pixmap

    def text(self) -> str:
        return self._text

    def icon(self) -> QIcon:
        return QIcon(self._pixmap) if self._pixmap is not None else QIcon()


class MonitorPicker(QWidget):
    # The chosen monitor's mss index (1 = first).
    chosen = Signal(int)

    def __init__(self, display: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.display = display
        self.monitors: list[MonitorInfo] = []
        self.error: str | None = None
        self._row = -1
        self._thumbs: dict[int, QPixmap] = {}
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(THUMB_WIDTH * 9 // 16 + 64)

    def sizeHint(self) -> QSize:
        return QSize(THUMB_WIDTH * 2, THUMB_WIDTH * 9 // 16 + 64)

    # ------------------------------------------------------------------ model
    def load(self, selected: int = 1, key: str = "") -> None:
        """List the monitors (fast); thumbnails come with :meth:`refresh`.

        ``key`` (from :meth:`selected_key`) wins over the index when that monitor exists.
        """
        try:
            self.monitors = real_monitors(list_monitors(self.display)[1:])
            self.error = None
        except SCREEN_FAILURES as exc:  # no X server, Wayland, permissions
            log.warning("cannot list monitors: %s", exc)
            self.monitors = []
            self.error = str(exc)
        self._thumbs = {}
        row = next((i for i, m in enumerate(self.monitors) if key and monitor_key(m) == key), -1)
        if row < 0 and key:
            name = key.split("|", 1)[0]
            row = next((i for i, m in enumerate(self.monitors) if name and m.name == name), -1)
        if row < 0:
            row = next((i for i, m in enumerate(self.monitors) if m.index == selected), -1)
        self._row = -1
        self.setCurrentRow(max(0, row) if self.monitors else -1, emit=False)
        self.update()

    def count(self) -> int:
        return len(self.monitors)

    def item(self, row: int) -> _Tile | None:
        if not 0 <= row < len(self.monitors):
            return None
        mon = self.monitors[row]
        return _Tile(self._label(mon), self._thumbs.get(mon.index))

    def currentRow(self) -> int:
        return self._row

    def setCurrentRow(self, row: int, emit: bool = True) -> None:
        if row == self._row or not -1 <= row < len(self.monitors):
            return
        self._row = row
        self.update()
        if emit and row >= 0:
            self.chosen.emit(self.monitors[row].index)

    def selected_index(self) -> int:
        return self.monitors[self._row].index if 0 <= self._row < len(self.monitors) else 1

    def selected_key(self) -> str:
        return monitor_key(self.monitors[self._row]) if 0 <= self._row < len(self.monitors) \
            else ""

    def _label(self, mon: MonitorInfo) -> str:
        name = mon.name or self.tr("Screen {n}").format(n=mon.index)
        text = f"{name}\n{mon.width}×{mon.height}"
        return text + (" ★" if mon.is_primary else "")

    def retranslate(self) -> None:
        self.update()

    def tiles(self) -> list[QRectF]:
        """Where each monitor is drawn, in widget coordinates."""
        area = QRectF(self.rect()).adjusted(MARGIN, MARGIN, -MARGIN, -MARGIN)
        return layout(self.monitors, area)

    # ------------------------------------------------------------------ input
    def mousePressEvent(self, event: QMouseEvent) -> None:
        for row, tile in enumerate(self.tiles()):
            if tile.contains(event.position()):
                self.setCurrentRow(row)
                return
        super().mousePressEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        step = {Qt.Key.Key_Left: -1, Qt.Key.Key_Up: -1, Qt.Key.Key_Right: 1,
                Qt.Key.Key_Down: 1}.get(Qt.Key(event.key()))
        if step is None or not self.monitors:
            super().keyPressEvent(event)
            return
        # Move in reading order of the real layout (left to right, then top to bottom).
        order = sorted(range(len(self.monitors)),
                       key=lambda i: (self.monitors[i].left, self.monitors[i].top))
        pos = order.index(self._row) if self._row in order else 0
        self.setCurrentRow(order[(pos + step) % len(order)])

    def focusInEvent(self, event: QFocusEvent) -> None:
        super().focusInEvent(event)
        self.update()

    # ------------------------------------------------------------------ drawing
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        pal = self.palette()
        if not self.monitors:
            painter.setPen(pal.color(pal.ColorRole.PlaceholderText))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter,
                             self.tr("No screen to capture was found."))
            return
        for row, (mon, tile) in enumerate(zip(self.monitors, self.tiles(), strict=True)):
            thumb = self._thumbs.get(mon.index)
            if thumb is not None:
                painter.drawPixmap(tile, thumb, QRectF(thumb.rect()))
            else:
                painter.fillRect(tile, QColor(60, 60, 60))
            selected = row == self._row
            pen = QPen(pal.color(pal.ColorRole.Highlight) if selected else QColor(128, 128, 128))
            pen.setWidthF(3.0 if selected else 1.0)
            painter.setPen(pen)
            painter.drawRect(tile.adjusted(1, 1, -1, -1))
            label = self._label(mon)
            metrics = painter.fontMetrics()
            lines = label.split("\n")
            box_w = min(tile.width() - 6, max(metrics.horizontalAdvance(t) for t in lines) + 10)
            box_h = metrics.height() * len(lines) + 4
            box = QRectF(tile.center().x() - box_w / 2, tile.bottom() - box_h - 4, box_w, box_h)
            painter.fillRect(box, QColor(0, 0, 0, 170))
            painter.setPen(QColor(255, 255, 255))
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, label)

    async def refresh(self) -> None:
        """Grab fresh thumbnails in a worker thread and show them."""
        loop = asyncio.get_running_loop()
        tiles = self.tiles()
        widest = max((t.width() for t in tiles), default=THUMB_WIDTH)
        width = max(16, round(widest * self.devicePixelRatioF()))
        wanted = [m.index for m in self.monitors]
        try:
            shots = await loop.run_in_executor(None, thumbnails, width, self.display, wanted)
        except SCREEN_FAILURES as exc:
            log.warning("cannot grab monitor thumbnails: %s", exc)
            return
        self._thumbs = {index: QPixmap.fromImage(bgra_to_image(shot))
                        for index, shot in shots.items()}
        self.update()
