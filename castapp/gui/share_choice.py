"""What the sender shares: a whole screen, one window or a region, and the pointer.

The monitor picker serves "Screen" and "Region" (a region is a rectangle of the chosen
monitor). "Window" lists the open windows on X11; on a Wayland session the system's own
dialog picks the window when the cast starts, so the list is replaced by a note.
"""

from __future__ import annotations

import logging
import os

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from castapp.gui.common import SettingsHolder
from castapp.gui.monitors import MonitorPicker
from castapp.gui.region_select import RegionSelector
from castapp.rtc.capture import SCREEN_FAILURES, MonitorInfo, Region, thumbnails
from castapp.rtc.capture_source import CaptureSpec, CaptureSpecError, parse_region

log = logging.getLogger(__name__)

MODES = ("screen", "window", "region")


def wayland_session() -> bool:
    return os.environ.get("XDG_SESSION_TYPE") == "wayland" or bool(
        os.environ.get("WAYLAND_DISPLAY"))


class ShareChoice(QWidget):
    changed = Signal()

    def __init__(self, holder: SettingsHolder, display: str | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.holder = holder
        self.display = display
        self.mode = QComboBox()
        for key in MODES:
            self.mode.addItem("", key)
        self.monitors = MonitorPicker(display)
        self.monitors.chosen.connect(
            lambda index: holder.update(monitor=index, monitor_key=self.monitors.selected_key()))
        self.windows = QComboBox()
        self.windows.setMinimumContentsLength(30)
        self.refresh_windows = QPushButton()
        self.refresh_windows.clicked.connect(self.load_windows)
        self.portal_note = QLabel()
        self.portal_note.setWordWrap(True)
        self.region = QLineEdit(holder.current.region)
        self.region.setPlaceholderText("X,Y,W,H")
        self.region.editingFinished.connect(self._region_edited)
        self.region_hint = QLabel()
        self.region_hint.setStyleSheet("color: gray;")
        self.region_drag = QPushButton()
        self.region_drag.clicked.connect(self.drag_region)
        self.selector: RegionSelector | None = None
        self.pointer = QCheckBox()
        self.pointer.setChecked(holder.current.pointer)
        self.pointer.toggled.connect(lambda on: holder.update(pointer=on))

        window_page = QWidget()
        wl = QHBoxLayout(window_page)
        wl.setContentsMargins(0, 0, 0, 0)
        wl.addWidget(self.windows, 1)
        wl.addWidget(self.refresh_windows)
        wl.addWidget(self.portal_note, 1)
        region_page = QWidget()
        rl = QHBoxLayout(region_page)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.region)
        rl.addWidget(self.region_drag)
        rl.addWidget(self.region_hint, 1)
        self.pages = QStackedWidget()
        self.pages.addWidget(QWidget())  # screen: the picker alone
        self.pages.addWidget(window_page)
        self.pages.addWidget(region_page)

        top = QHBoxLayout()
        top.addWidget(self.mode)
        top.addWidget(self.pointer)
        top.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.monitors)
        layout.addWidget(self.pages)

        self.mode.currentIndexChanged.connect(self._mode_changed)
        self.mode.setCurrentIndex(MODES.index(holder.current.share))
        self._mode_changed(self.mode.currentIndex())
        self.retranslate()

    def retranslate(self) -> None:
        names = (self.tr("Whole screen"), self.tr("One window"), self.tr("Part of the screen"))
        for i, text in enumerate(names):
            self.mode.setItemText(i, text)
        self.pointer.setText(self.tr("Show the mouse pointer"))
        self.refresh_windows.setText(self.tr("Refresh"))
        self.windows.setPlaceholderText(self.tr("No window with a title was found."))
        self.region_drag.setText(self.tr("Select…"))
        self.portal_note.setText(self.tr(
            "The system asks what to share when the cast starts."))
        self.region_hint.setText(self.tr(
            "Pixels from the top-left corner of the chosen screen: left, top, width, height."))
        self.monitors.retranslate()

    def current_mode(self) -> str:
        return str(self.mode.currentData())

    def _mode_changed(self, row: int) -> None:
        mode = MODES[row] if 0 <= row < len(MODES) else "screen"
        self.holder.update(share=mode)
        self.pages.setCurrentIndex(MODES.index(mode))
        portal = wayland_session()
        # On Wayland the system's dialog picks the screen or window; mss sees nothing.
        self.monitors.setVisible(mode != "window" and not portal)
        if portal and mode == "screen":
            self.pages.setCurrentIndex(MODES.index("window"))  # the note about the dialog
        self.windows.setVisible(not portal)
        self.refresh_windows.setVisible(not portal)
        self.portal_note.setVisible(portal)
        if mode == "window" and not portal and self.windows.count() == 0:
            self.load_windows()
        self.changed.emit()

    def load_windows(self) -> None:
        """List the open windows (X11), keeping the selection when it is still there."""
        from castapp.rtc.capture_window import WindowNotFoundError, list_windows

        keep = self.windows.currentData()
        self.windows.clear()
        try:
            found = list_windows(self.display)
        except WindowNotFoundError as exc:
            log.warning("cannot list windows: %s", exc)
            found = []
        own = {int(w.winId()) for w in self.window().findChildren(QWidget)} | {
            int(self.window().winId())}
        for info in found:
            if info.id in own:
                continue
            self.windows.addItem(f"{info.title} — {info.width}×{info.height}", info.id)
        if keep is not None:
            row = self.windows.findData(keep)
            if row >= 0:
                self.windows.setCurrentIndex(row)

    def drag_region(self) -> RegionSelector:
        """Let the user drag the rectangle on the chosen monitor (a still picture of it)."""
        row = self.monitors.currentRow()
        if 0 <= row < len(self.monitors.monitors):
            monitor = self.monitors.monitors[row]
        else:  # Wayland or no monitor list: the screen this window is on
            screen = self.screen()
            g, r = screen.geometry(), screen.devicePixelRatio()
            monitor = MonitorInfo(1, round(g.x() * r), round(g.y() * r),
                                  round(g.width() * r), round(g.height() * r))
        picture = None
        try:
            picture = thumbnails(monitor.width, self.display, [monitor.index]).get(monitor.index)
        except SCREEN_FAILURES as exc:  # Wayland, no X server: drag on a plain background
            log.info("no picture of the screen for the region selector: %s", exc)
        self.selector = RegionSelector(monitor, picture)
        self.selector.selected.connect(self._region_dragged)
        self.selector.open()
        return self.selector

    def _region_dragged(self, region: Region) -> None:
        self.region.setText(f"{region.left},{region.top},{region.width},{region.height}")
        self._region_edited()
        self.changed.emit()

    def _region_edited(self) -> None:
        text = self.region.text().strip()
        try:
            if text:
                parse_region(text)
            self.region.setStyleSheet("")
            self.holder.update(region=text)
        except CaptureSpecError:
            self.region.setStyleSheet("color: #c62828;")

    def spec(self) -> CaptureSpec:
        """What to capture; raises :class:`CaptureSpecError` with words for the user."""
        pointer = self.pointer.isChecked()
        mode = self.current_mode()
        if mode == "window":
            if wayland_session():
                return CaptureSpec(window="", pointer=pointer)  # the portal dialog picks
            wid = self.windows.currentData()
            if wid is None:
                raise CaptureSpecError(self.tr("Choose a window to share."))
            return CaptureSpec(window=hex(int(wid)), pointer=pointer)
        region = None
        if mode == "region":
            text = self.region.text().strip()
            if not text:
                raise CaptureSpecError(self.tr("Enter the part of the screen to share."))
            region = parse_region(text)
        return CaptureSpec(self.monitors.selected_index(), region, pointer=pointer)
