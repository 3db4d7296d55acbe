"""Drag a rectangle on a monitor to choose the part of the screen to share.

A frameless window covers the chosen monitor and shows a still picture of it, dimmed; the
rectangle being dragged shows at full brightness with its size in pixels. Releasing the
mouse (or Enter) accepts, Esc cancels. The result is in the monitor's pixels, relative to
its top-left corner, whatever the display's scale factor.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QRect, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QGuiApplication,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QScreen,
)
from PySide6.QtWidgets import QWidget

from castapp.rtc.capture import MonitorInfo, Region

MIN_SIZE = 8


def _span(a: QPoint, b: QPoint) -> QRect:
    """The rectangle between two drag points (the end point excluded, like a ruler)."""
    return QRect(min(a.x(), b.x()), min(a.y(), b.y()), abs(b.x() - a.x()), abs(b.y() - a.y()))


def screen_for(monitor: MonitorInfo) -> QScreen | None:
    """The Qt screen showing ``monitor`` (geometry compared in device pixels)."""
    for screen in QGuiApplication.screens():
        g = screen.geometry()
        r = screen.devicePixelRatio()
        native = (round(g.x() * r), round(g.y() * r), round(g.width() * r),
                  round(g.height() * r))
        if native == (monitor.left, monitor.top, monitor.width, monitor.height):
            return screen
    return QGuiApplication.primaryScreen()


class RegionSelector(QWidget):
    # The chosen rectangle, in monitor pixels; or nothing when cancelled.
    selected = Signal(object)
    cancelled = Signal()

    def __init__(self, monitor: MonitorInfo, picture: np.ndarray | None = None) -> None:
        super().__init__(None, Qt.WindowType.FramelessWindowHint
                         | Qt.WindowType.WindowStaysOnTopHint | Qt.WindowType.Tool)
        self.monitor = monitor
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._picture: QImage | None = None
        if picture is not None:
            h, w = picture.shape[:2]
            self._picture = QImage(picture.data, w, h, picture.strides[0],
                                   QImage.Format.Format_RGB32).copy()
        self._origin: QPoint | None = None
        self._rect = QRect()
        screen = screen_for(monitor)
        if screen is not None:
            self.setGeometry(screen.geometry())

    def open(self) -> None:
        self.show()
        self.raise_()
        self.activateWindow()
        self.setFocus()

    def _scale(self) -> tuple[float, float]:
        return (self.monitor.width / max(1, self.width()),
                self.monitor.height / max(1, self.height()))

    def region(self) -> Region | None:
        """The dragged rectangle in monitor pixels, or None if it is too small."""
        r = self._rect.normalized().intersected(self.rect())
        sx, sy = self._scale()
        region = Region(round(r.x() * sx), round(r.y() * sy), round(r.width() * sx),
                        round(r.height() * sy))
        return region if region.width >= MIN_SIZE and region.height >= MIN_SIZE else None

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._origin = event.position().toPoint()
            self._rect = _span(self._origin, self._origin)
            self.update()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._origin is not None:
            self._rect = _span(self._origin, event.position().toPoint())
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._origin is not None and event.button() == Qt.MouseButton.LeftButton:
            self._rect = _span(self._origin, event.position().toPoint())
            self._origin = None
            self._finish()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.cancelled.emit()
            self.close()
        elif event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._finish()
        else:
            super().keyPressEvent(event)

    def _finish(self) -> None:
        region = self.region()
        if region is None:
            self.update()
            return
        self.selected.emit(region)
        self.close()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        if self._picture is not None:
            painter.drawImage(QRectF(self.rect()), self._picture)
        else:
            painter.fillRect(self.rect(), QColor(40, 40, 40))
        painter.fillRect(self.rect(), QColor(0, 0, 0, 140))
        r = self._rect.normalized()
        if r.width() > 0 and r.height() > 0:
            if self._picture is not None:
                sx = self._picture.width() / max(1, self.width())
                sy = self._picture.height() / max(1, self.height())
                src = QRectF(r.x() * sx, r.y() * sy, r.width() * sx, r.height() * sy)
                painter.drawImage(QRectF(r), self._picture, src)
            else:
                painter.fillRect(r, QColor(90, 90, 90))
            pen = QPen(QColor(0, 170, 255))
            pen.setWidth(2)
            painter.setPen(pen)
            painter.drawRect(r.adjusted(0, 0, -1, -1))
            region = self.region()
            if region is not None:
                painter.setPen(QColor(255, 255, 255))
                painter.drawText(r.adjusted(4, 4, -4, -4), Qt.AlignmentFlag.AlignLeft,
                                 f"{region.width}×{region.height}")
        painter.setPen(QColor(255, 255, 255))
        painter.drawText(self.rect().adjusted(0, 24, 0, 0), Qt.AlignmentFlag.AlignHCenter,
                         self.tr("Drag over the part of the screen to share. Esc cancels."))
