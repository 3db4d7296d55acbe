"""A QR code drawn crisply at any size: whole pixels per module, a quiet zone, black on white."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

QUIET_ZONE = 4


class QrWidget(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._text = ""
        self._matrix: list[list[bool]] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(120, 120)

    def text(self) -> str:
        return self._text

    def set_text(self, text: str) -> None:
        if text == self._text:
            return
        self._text = text
        if text:
            import segno  # with the first link: the window shows without it (and its writers)

            qr = segno.make(text, error="m", micro=False)
            self._matrix = [[bool(v) for v in row] for row in qr.matrix_iter(border=QUIET_ZONE)]
        else:
            self._matrix = []
        self.setAccessibleDescription(text)
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(320, 320)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return width

    def paintEvent(self, event: QPaintEvent) -> None:
        if not self._matrix:
            return
        n = len(self._matrix)
        side = min(self.width(), self.height())
        module = max(1, side // n)
        size = module * n
        x0 = (self.width() - size) // 2
        y0 = (self.height() - size) // 2
        painter = QPainter(self)
        painter.fillRect(QRect(x0, y0, size, size), QColor("white"))
        black = QColor("black")
        for r, row in enumerate(self._matrix):
            c = 0
            while c < n:  # draw runs of dark modules as one rectangle
                if not row[c]:
                    c += 1
                    continue
                start = c
                while c < n and row[c]:
                    c += 1
                painter.fillRect(
                    x0 + start * module, y0 + r * module, (c - start) * module, module, black)
        painter.end()
