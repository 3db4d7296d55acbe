"""The receiver's window (the TV): the code and its QR code, then the sender's screen."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence, QMouseEvent, QResizeEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from castapp.gui import texts
from castapp.gui.overlay import Overlay
from castapp.gui.qr import QrWidget
from castapp.gui.video import VideoView
from castapp.linkquality import LinkQuality
from castapp.rtc.peer import PeerStats
from castapp.rtc.receive import ReceivedFrame
from castapp.session.receiver import ReceiverState, ReceiverStatus

log = logging.getLogger(__name__)

BANNER_SECONDS = 4.0


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
        layout.addWidget(self.status)
        layout.addStretch(1)

    def scale_to(self, height: int) -> None:
        """Size everything from the window height, so it reads across a room at any DPI."""
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
        font(self.status, height / 36)
        side = max(140, height * 4 // 10)
        self.qr.setFixedSize(side, side)


class ReceiverWindow(QMainWindow):
    # Emitted with the path of a saved snapshot.
    snapshot_saved = Signal(str)

    def __init__(self, machine_name: str, snapshot_dir: Path) -> None:
        super().__init__()
        self.machine_name = machine_name
        self.snapshot_dir = snapshot_dir
        self.status = ReceiverStatus(ReceiverState.STARTING)
        self.link = ""
        self.address_hint = ""
        self._quality: LinkQuality | None = None
        self._stats: PeerStats | None = None

        self.code_page = CodePage()
        self.video = VideoView()
        self.pages = QStackedWidget()
        self.pages.addWidget(self.code_page)
        self.pages.addWidget(self.video)
        self.setCentralWidget(self.pages)
        self.banner = Overlay(self.video)
        self.stats_box = Overlay(self.video, corner="top-right")
        self.stats_visible = False
        # Added to the context menu when set (the app puts its language menu here).
        self.language_menu: QMenu | None = None

        self.act_full = QAction(self, shortcut=QKeySequence(Qt.Key.Key_F11))
        self.act_full.triggered.connect(self.toggle_fullscreen)
        self.act_leave = QAction(self, shortcut=QKeySequence(Qt.Key.Key_Escape))
        self.act_leave.triggered.connect(self.leave_fullscreen)
        self.act_snapshot = QAction(self, shortcuts=[QKeySequence(Qt.Key.Key_S),
                                                     QKeySequence.StandardKey.Save])
        self.act_snapshot.triggered.connect(self.save_snapshot)
        self.act_stats = QAction(self, shortcut=QKeySequence(Qt.Key.Key_I), checkable=True)
        self.act_stats.toggled.connect(self.set_stats_visible)
        self.act_quit = QAction(self, shortcut=QKeySequence.StandardKey.Quit)
        self.act_quit.triggered.connect(self.close)
        for act in (self.act_full, self.act_leave, self.act_snapshot, self.act_stats,
                    self.act_quit):
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            self.addAction(act)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._menu)
        self.resize(1280, 720)
        self.retranslate()

    # ------------------------------------------------------------------ words
    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("castapp — receiver"))
        page = self.code_page
        page.title.setText(self.tr("Cast to this screen"))
        page.name.setText(self.machine_name)
        page.help.setText(self.tr(
            "On your laptop open castapp, choose Send and type this code — or scan the QR code."))
        page.address.setText(self.tr("Room service: {address}").format(
            address=self.address_hint) if self.address_hint else "")
        self.act_full.setText(self.tr("Full screen"))
        self.act_snapshot.setText(self.tr("Save snapshot"))
        self.act_stats.setText(self.tr("Show statistics"))
        self.act_quit.setText(self.tr("Quit"))
        self.show_status(self.status)
        if self.banner.isVisible() and self.status.state is ReceiverState.RECEIVING:
            self.banner.set_text(self._casting_line())
        if self.stats_visible:
            self.stats_box.set_text("\n".join(texts.stats_lines(self._stats)))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    # ------------------------------------------------------------------ session → screen
    def set_link(self, link: str, address_hint: str = "") -> None:
        """What the QR code holds (a castapp:// link) and the address to show."""
        self.link, self.address_hint = link, address_hint
        self.code_page.qr.set_text(link)
        self.retranslate()

    def show_status(self, st: ReceiverStatus) -> None:
        old = self.status
        self.status = st
        self.code_page.code.setText(st.display_code or "— — —")
        self.code_page.status.setText(texts.receiver_line(st))
        if st.state is ReceiverState.RECEIVING:
            self.pages.setCurrentWidget(self.video)
            if old.state is not ReceiverState.RECEIVING or old.route != st.route:
                if old.state is not ReceiverState.RECEIVING:
                    self._quality = None
                self.banner.set_text(self._casting_line())
                self.banner.show_for(BANNER_SECONDS)
            if not st.service_ok:  # media keeps flowing; say so without covering it
                self.banner.set_text(texts.service_trouble(st.retry_in_s))
                self.banner.show_for(None)
            elif not old.service_ok:
                self.banner.set_text(self._casting_line())
                self.banner.show_for(BANNER_SECONDS)
        elif st.state is ReceiverState.RECONNECTING:
            # The last picture stays while the sender builds a new connection.
            self.banner.set_text(texts.reconnecting())
            self.banner.show_for(None)
        elif st.state is not ReceiverState.CONNECTING:
            if self.pages.currentWidget() is self.video:
                self.video.clear()
                self.banner.hide()
                self.stats_box.hide()
            self.pages.setCurrentWidget(self.code_page)

    def _casting_line(self) -> str:
        return texts.casting_banner(self.status.sender, self._quality, self.status.route)

    def show_frame(self, frame: ReceivedFrame) -> None:
        if self.pages.currentWidget() is not self.video:
            self.pages.setCurrentWidget(self.video)
        self.video.offer(frame.frame)

    def show_stats(self, stats: PeerStats | None, quality: LinkQuality | None) -> None:
        self._stats = stats
        changed = quality is not None and quality != self._quality
        self._quality = quality
        if changed and self.banner.isVisible() and self.status.service_ok \
                and self.status.state is ReceiverState.RECEIVING:
            self.banner.set_text(self._casting_line())
        if self.stats_visible and self.pages.currentWidget() is self.video:
            self.stats_box.set_text("\n".join(texts.stats_lines(stats)))
            self.stats_box.show_for(None)

    # ------------------------------------------------------------------ user actions
    def toggle_fullscreen(self) -> None:
        if self.isFullScreen():
            self.showNormal()
        else:
            self.showFullScreen()

    def leave_fullscreen(self) -> None:
        if self.isFullScreen():
            self.showNormal()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        self.toggle_fullscreen()
        event.accept()

    def set_stats_visible(self, visible: bool) -> None:
        self.stats_visible = visible
        if self.act_stats.isChecked() != visible:
            self.act_stats.setChecked(visible)
        if not visible:
            self.stats_box.hide()
        elif self.pages.currentWidget() is self.video:
            self.stats_box.set_text("\n".join(texts.stats_lines(self._stats)))
            self.stats_box.show_for(None)

    def save_snapshot(self) -> Path | None:
        image = self.video.snapshot() if self.pages.currentWidget() is self.video else None
        if image is None:
            return None
        self.snapshot_dir.mkdir(parents=True, exist_ok=True)
        path = self.snapshot_dir / time.strftime("castapp-%Y%m%d-%H%M%S.png")
        n = 1
        while path.exists():
            path = path.with_name(time.strftime(f"castapp-%Y%m%d-%H%M%S-{n}.png"))
            n += 1
        if not image.save(str(path), "PNG"):
            log.warning("could not save a snapshot to %s", path)
            return None
        self.banner.set_text(self.tr("Snapshot saved: {name}").format(name=path.name))
        self.banner.show_for(2.0)
        self.snapshot_saved.emit(str(path))
        return path

    def _menu(self, pos: object) -> None:
        menu = QMenu(self)
        for act in (self.act_full, self.act_snapshot, self.act_stats):
            menu.addAction(act)
        if self.language_menu is not None:
            menu.addMenu(self.language_menu)
        menu.addSeparator()
        menu.addAction(self.act_quit)
        self.act_snapshot.setEnabled(self.pages.currentWidget() is self.video)
        menu.popup(self.cursor().pos())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        h = event.size().height()
        self.code_page.scale_to(h)
        self.banner.set_font_px(h // 30)
        self.stats_box.set_font_px(h // 45)
