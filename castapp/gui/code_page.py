"""The cast code on the TV: the idle page (code, QR code, name, help) and the corner of it
kept on the wall while casting, so a next presenter can join."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from castapp.app import words
from castapp.gui.qr import QrWidget
from castapp.gui.texts import render


class CodePage(QWidget):
    """Idle screen: title, the code large and grouped, a QR code, name, help and status."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("codePage")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet("#codePage { background: #101418; } QLabel { color: #f2f2f2; }")
        self.title = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.code = QLabel("", alignment=Qt.AlignmentFlag.AlignCenter)
        self.code.setObjectName("code")
        self.code.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.qr = QrWidget()
        self.name = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.help = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.help.setWordWrap(True)
        self.address = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.address.setStyleSheet("color: #9aa4ad;")
        #: With HTTPS: the start of the certificate's SHA-256 fingerprint, for guests who
        #: compare it with their browser's warning.
        self.fingerprint = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.fingerprint.setObjectName("fingerprint")
        self.fingerprint.setStyleSheet("color: #9aa4ad;")
        self.fingerprint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.fingerprint.hide()
        self._fingerprint: str | None = None
        self.status = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.status.setObjectName("status")
        self.status.setStyleSheet("color: #ffb347;")
        self.status.setWordWrap(True)

        middle = QHBoxLayout()
        middle.addStretch(1)
        middle.addWidget(self.code, 3)
        middle.addWidget(self.qr, 2)
        middle.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(self.title)
        layout.addLayout(middle, 6)
        layout.addWidget(self.name)
        layout.addWidget(self.help)
        layout.addWidget(self.address)
        layout.addWidget(self.fingerprint)
        layout.addWidget(self.status)
        layout.addStretch(1)

    def set_fingerprint(self, fingerprint: str | None) -> None:
        """Show (or, without HTTPS, hide) the certificate's fingerprint line."""
        self._fingerprint = fingerprint
        self.retranslate()

    def retranslate(self) -> None:
        fp = self._fingerprint
        self.fingerprint.setText(render(words.fingerprint_line(fp)) if fp else "")
        self.fingerprint.setVisible(bool(fp))

    def scale_to(self, height: int, width: int | None = None) -> None:
        """Size everything from the window's size, so it reads across a room at any DPI.

        Portrait screens size from their width, so the code and the QR code fit side by side.
        """
        if width is not None:
            height = min(height, round(width * 0.6))

        def font(label: QLabel, px: float, bold: bool = False) -> None:
            f = label.font()
            f.setPixelSize(max(10, round(px)))
            f.setBold(bold)
            label.setFont(f)

        font(self.title, height / 22)
        font(self.code, height / 6, bold=True)
        font(self.name, height / 30, bold=True)
        font(self.help, height / 40)
        font(self.address, height / 48)
        font(self.fingerprint, height / 48)
        font(self.status, height / 36)
        side = max(140, height * 4 // 10)
        self.qr.setFixedSize(side, side)


class CodeCorner(QFrame):
    """The code and its QR code in a corner of the wall, so a next presenter can join."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("codeCorner")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
        self.setStyleSheet("#codeCorner { background: rgba(16, 20, 24, 225); border-radius: 10px; }"
                           " QLabel { color: #f2f2f2; background: transparent; }")
        self.hint = QLabel(alignment=Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom)
        self.code = QLabel(alignment=Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.code.setObjectName("cornerCode")
        self.qr = QrWidget()
        self.qr.setMinimumSize(60, 60)
        words = QVBoxLayout()
        words.addWidget(self.hint)
        words.addWidget(self.code)
        row = QHBoxLayout(self)
        row.addLayout(words)
        row.addWidget(self.qr)
        self._link = ""
        self.retranslate()

    def retranslate(self) -> None:
        self.hint.setText(self.tr("Join with code"))

    def has_code(self) -> bool:
        return bool(self.code.text())

    def set_code(self, display_code: str, link: str) -> None:
        self.code.setText(display_code)
        self._link = link
        self.qr.set_text(link)
        self.qr.setVisible(bool(link))

    def scale_to(self, height: int) -> None:
        for label, px, bold in ((self.hint, height / 45, False), (self.code, height / 22, True)):
            font = label.font()
            font.setPixelSize(max(11, round(px)))
            font.setBold(bold)
            label.setFont(font)
        side = max(60, height // 6)  # 4 px a module at 900 px and up: a phone reads it
        self.qr.setFixedSize(side, side)
        margin = max(6, height // 90)
        self.layout().setContentsMargins(margin * 2, margin, margin, margin)
        self.layout().setSpacing(margin * 2)
