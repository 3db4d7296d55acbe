"""Text boxes that float over the receiver's screen (banner, statistics).

The wall is an ordinary painted widget, so these are plain child widgets kept in a corner
of their anchor; they fade out with an opacity effect. A box is never shown without text.
"""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QEvent, QObject, QPoint, QPropertyAnimation, Qt, QTimer
from PySide6.QtWidgets import QGraphicsOpacityEffect, QLabel, QVBoxLayout, QWidget

_STYLE = (
    "QLabel { color: white; background: rgba(16, 16, 16, 200); border-radius: 10px;"
    " padding: 12px 18px; }"
)


class Overlay(QWidget):
    """A box of text over ``anchor``'s top-left corner (or ``top-right``, or ``top`` centre)."""

    def __init__(self, anchor: QWidget, *, corner: str = "top-left") -> None:
        super().__init__(anchor)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.anchor = anchor
        self.corner = corner
        self.label = QLabel(self)
        self.label.setStyleSheet(_STYLE)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        self._effect = QGraphicsOpacityEffect(self)
        self._effect.setOpacity(1.0)
        self.setGraphicsEffect(self._effect)
        self._fade = QPropertyAnimation(self._effect, b"opacity", self)
        self._fade.finished.connect(self._faded)
        self._hold = QTimer(self)
        self._hold.setSingleShot(True)
        self._hold.timeout.connect(self._start_fade)
        anchor.installEventFilter(self)
        self.hide()

    def text(self) -> str:
        return self.label.text()

    def set_text(self, text: str) -> None:
        self.label.setText(text)
        self.adjustSize()
        self.place()
        if not text:
            self.hide()

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
        if not self.label.text():
            self.hide()
            return
        self._effect.setOpacity(1.0)
        self.adjustSize()
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
        if self._effect.opacity() <= 0.01:
            self.hide()

    def place(self) -> None:
        if not shiboken6.isValid(self.anchor):  # the window is being torn down
            return
        margin = max(12, self.anchor.height() // 40)
        if self.corner == "top-right":
            self.move(QPoint(self.anchor.width() - self.width() - margin, margin))
        elif self.corner == "top":
            self.move(QPoint((self.anchor.width() - self.width()) // 2, margin))
        else:
            self.move(QPoint(margin, margin))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:
            QTimer.singleShot(0, self.place)
        return False
