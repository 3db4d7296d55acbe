"""Text boxes that float over the video.

The video widget draws in a native window of its own, which ordinary child widgets cannot
cover; these boxes are small frameless tool windows kept in place over a corner of it.
"""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QEvent, QObject, QPoint, QPropertyAnimation, Qt, QTimer
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

_STYLE = (
    "QLabel { color: white; background: rgba(16, 16, 16, 200); border-radius: 10px;"
    " padding: 12px 18px; }"
)


class Overlay(QWidget):
    """A box of text over ``anchor``'s top-left (or top-right) corner."""

    def __init__(self, anchor: QWidget, *, corner: str = "top-left") -> None:
        super().__init__(anchor.window(), Qt.WindowType.Tool | Qt.WindowType.FramelessWindowHint
                         | Qt.WindowType.WindowDoesNotAcceptFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_TranslucentBackground)
        self.anchor = anchor
        self.corner = corner
        self.label = QLabel(self)
        self.label.setStyleSheet(_STYLE)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        self._fade = QPropertyAnimation(self, b"windowOpacity", self)
        self._fade.finished.connect(self._faded)
        self._hold = QTimer(self)
        self._hold.setSingleShot(True)
        self._hold.timeout.connect(self._start_fade)
        anchor.window().installEventFilter(self)

    def text(self) -> str:
        return self.label.text()

    def set_text(self, text: str) -> None:
        self.label.setText(text)
        self.adjustSize()
        self.place()

    def set_font_px(self, px: int) -> None:
        font = self.label.font()
        font.setPixelSize(max(10, px))
        self.label.setFont(font)
        self.adjustSize()
        self.place()

    def show_for(self, seconds: float | None) -> None:
        """Show now; fade out after ``seconds`` (None: stay until hidden)."""
        self._fade.stop()
        self._hold.stop()
        self.setWindowOpacity(1.0)
        self.place()
        self.show()
        self.raise_()
        if seconds is not None:
            self._hold.start(round(seconds * 1000))

    def _start_fade(self) -> None:
        self._fade.setDuration(800)
        self._fade.setStartValue(1.0)
        self._fade.setEndValue(0.0)
        self._fade.start()

    def _faded(self) -> None:
        if self.windowOpacity() <= 0.01:
            self.hide()

    def place(self) -> None:
        if not shiboken6.isValid(self.anchor):  # the window is being torn down
            return
        margin = max(12, self.anchor.height() // 40)
        if self.corner == "top-right":
            local = QPoint(self.anchor.width() - self.width() - margin, margin)
        else:
            local = QPoint(margin, margin)
        self.move(self.anchor.mapToGlobal(local))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.Move, QEvent.Type.Resize, QEvent.Type.WindowStateChange):
            QTimer.singleShot(0, self.place)
        elif event.type() == QEvent.Type.Hide:
            self.hide()
        return False
