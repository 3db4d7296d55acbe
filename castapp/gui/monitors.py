"""A monitor picker with live thumbnails, refreshed off the UI thread."""

from __future__ import annotations

import asyncio
import logging

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QWidget

from castapp.rtc.capture import MonitorInfo, list_monitors, thumbnails

log = logging.getLogger(__name__)

THUMB_WIDTH = 240


def bgra_to_image(bgra: np.ndarray) -> QImage:
    """A QImage owning a copy of a BGRA array (``Format_RGB32`` is BGRA in memory)."""
    h, w = bgra.shape[:2]
    image = QImage(bgra.data, w, h, bgra.strides[0], QImage.Format.Format_RGB32)
    return image.copy()


class MonitorPicker(QListWidget):
    # The chosen monitor's mss index (1 = first).
    chosen = Signal(int)

    def __init__(self, display: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.display = display
        self.setViewMode(QListWidget.ViewMode.IconMode)
        self.setIconSize(QSize(THUMB_WIDTH, THUMB_WIDTH * 9 // 16))
        self.setMovement(QListWidget.Movement.Static)
        self.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.setFlow(QListWidget.Flow.LeftToRight)
        self.setWrapping(False)
        self.setFixedHeight(THUMB_WIDTH * 9 // 16 + 64)
        self.monitors: list[MonitorInfo] = []
        self.currentRowChanged.connect(self._row_changed)
        self.error: str | None = None

    def load(self, selected: int = 1) -> None:
        """List the monitors (fast); thumbnails come with :meth:`refresh`."""
        try:
            self.monitors = list_monitors(self.display)[1:]
            self.error = None
        except Exception as exc:  # no X server, Wayland, permissions
            log.warning("cannot list monitors: %s", exc)
            self.monitors = []
            self.error = str(exc)
        self.blockSignals(True)
        self.clear()
        for mon in self.monitors:
            item = QListWidgetItem(self._label(mon))
            item.setData(Qt.ItemDataRole.UserRole, mon.index)
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter)
            self.addItem(item)
        self.blockSignals(False)
        rows = [i for i, m in enumerate(self.monitors) if m.index == selected]
        self.setCurrentRow(rows[0] if rows else 0)

    def _label(self, mon: MonitorInfo) -> str:
        name = mon.name or self.tr("Screen {n}").format(n=mon.index)
        text = f"{name}\n{mon.width}×{mon.height}"
        return text + (" ★" if mon.is_primary else "")

    def retranslate(self) -> None:
        for row, mon in enumerate(self.monitors):
            item = self.item(row)
            if item is not None:
                item.setText(self._label(mon))

    def selected_index(self) -> int:
        item = self.currentItem()
        return int(item.data(Qt.ItemDataRole.UserRole)) if item is not None else 1

    def _row_changed(self, row: int) -> None:
        if 0 <= row < len(self.monitors):
            self.chosen.emit(self.monitors[row].index)

    async def refresh(self) -> None:
        """Grab fresh thumbnails in a worker thread and show them."""
        loop = asyncio.get_running_loop()
        try:
            shots = await loop.run_in_executor(None, thumbnails, THUMB_WIDTH, self.display)
        except Exception as exc:
            log.warning("cannot grab monitor thumbnails: %s", exc)
            return
        for row, mon in enumerate(self.monitors):
            item = self.item(row)
            shot = shots.get(mon.index)
            if item is not None and shot is not None:
                item.setIcon(QIcon(QPixmap.fromImage(bgra_to_image(shot))))
