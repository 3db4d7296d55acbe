"""The small first window: receive on this screen, or send this screen."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from castapp.gui.common import app_icon


class Launcher(QWidget):
    # "receive" or "send"; "" when the window was closed.
    chosen = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.setWindowIcon(app_icon())
        self.title = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        self.title.setFont(font)
        self.receive = QPushButton()
        self.send = QPushButton()
        for button in (self.receive, self.send):
            button.setMinimumSize(QSize(220, 120))
            button.setIcon(app_icon())
            button.setIconSize(QSize(40, 40))
        self.receive.clicked.connect(lambda: self._choose("receive"))
        self.send.clicked.connect(lambda: self._choose("send"))
        row = QHBoxLayout()
        row.addWidget(self.receive)
        row.addWidget(self.send)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addLayout(row)
        self._done = False
        self.retranslate()

    def retranslate(self) -> None:
        self.setWindowTitle("castapp")
        self.title.setText(self.tr("What do you want to do?"))
        self.receive.setText(self.tr("Receive\nshow a screen here"))
        self.send.setText(self.tr("Send\ncast this screen"))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def _choose(self, mode: str) -> None:
        self._done = True
        self.chosen.emit(mode)
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._done:
            self._done = True
            self.chosen.emit("")
        super().closeEvent(event)
