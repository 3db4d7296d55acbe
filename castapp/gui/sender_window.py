"""The sender's window (the laptop): codes, screen, quality, Cast / Stop, status, and the
TVs of the cast (one row each, "Add a TV" while casting)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Signal
from PySide6.QtGui import QAction, QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QPushButton,
    QSystemTrayIcon,
    QVBoxLayout,
    QWidget,
)

from castapp.app import words
from castapp.app.fanout import split_codes
from castapp.codes import CodeFormat, group
from castapp.gui import texts
from castapp.gui.common import SettingsHolder, app_icon, language_menu
from castapp.gui.share_choice import ShareChoice
from castapp.gui.tv_list import TvList
from castapp.links import check_input
from castapp.quality import PRESETS
from castapp.rtc.capture_source import CaptureSpec
from castapp.session.sender import SenderState, SenderStatus
from castapp.settings import QUALITIES

_BUSY = tuple(s for s in SenderState if s.value in (
    "joining", "admitting", "connecting", "casting", "waiting", "reconnecting"))
# The colours of the hint under the code: ready, not a code, still being typed.
_READY, _WRONG, _TYPING = "#2e7d32", "#c62828", "gray"


class SenderWindow(QMainWindow):
    # The user asked to cast what the code field holds.
    cast_requested = Signal(str)
    stop_requested = Signal()
    #: The PIN the person typed from the TV's screen.
    pin_entered = Signal(str)
    #: The sound of the cast under way was muted (True) or unmuted.
    sound_muted = Signal(bool)
    # While casting: reach one more TV (a code, a link or a list of them).
    add_requested = Signal(str)
    # Stop casting to the TV of this index only.
    remove_requested = Signal(int)

    def __init__(self, holder: SettingsHolder, *, display: str | None = None,
                 fmt: CodeFormat | None = None) -> None:
        super().__init__()
        self.holder = holder
        self.fmt = fmt or CodeFormat()
        self.status = SenderStatus(SenderState.IDLE)
        self.code_shown = ""
        # a message from the app itself (not the session), e.g. discovery or a failure
        self.message: words.Phrase | str = ""
        self._input_ok = False  # what the code field holds can be cast to
        self._typed = ""
        self._hint = ""  # what the hint under the code says of what it holds
        self._tried = ""  # what it held when the latest cast began
        #: (TVs casting, TVs of the cast) while a cast goes to more than one TV.
        self.tv_count: tuple[int, int] | None = None

        self.code = QLineEdit()
        self.code.setObjectName("code")
        big = QFont(self.code.font())
        big.setPointSizeF(big.pointSizeF() * 2.2)
        self.code.setFont(big)
        self.code.setMaxLength(512)
        self.code.setClearButtonEnabled(True)
        self.code.textChanged.connect(self._validate)
        self.code.returnPressed.connect(self._submit)
        self.hint = QLabel()
        self.hint.setObjectName("hint")
        self.server = QLineEdit(holder.current.server)
        self.server.returnPressed.connect(self._submit)  # Enter casts from either field
        self.server.textChanged.connect(self._server_changed)
        self.name = QLineEdit(holder.current.display_name)
        self.name.setMaxLength(64)
        self.share = ShareChoice(holder, display)  # screen / window / region, pointer
        self.monitors = self.share.monitors
        self.quality = QComboBox()
        for key in QUALITIES:
            self.quality.addItem("", key)
        self.quality.setCurrentIndex(QUALITIES.index(holder.current.quality))
        self.quality.currentIndexChanged.connect(
            lambda i: holder.update(quality=self.quality.itemData(i)))
        # "Share sound": on by default when this computer can capture what it plays
        self.sound = QCheckBox()
        self.sound.setObjectName("share_sound")
        self.sound.setChecked(True)
        self.sound_reason: str | None = None  # why sound cannot be shared, if it cannot
        self.mute = QPushButton()
        self.mute.setObjectName("mute_sound")
        self.mute.setCheckable(True)
        self.mute.hide()
        self.mute.toggled.connect(self._mute_toggled)
        self.sound_shared = False  # the cast under way carries sound
        # "Send once through the room's media server": offered when the room service
        # names an SFU (learnt when a TV is reached through it)
        self.via_sfu = QCheckBox()
        self.via_sfu.setObjectName("via_sfu")
        self.sfu_offered: bool | None = None
        self._sfu_server = ""  # the room-service field when that was learnt
        self.tvs = TvList()
        self.tvs.add_requested.connect(self.add_requested.emit)
        self.tvs.remove_requested.connect(self.remove_requested.emit)
        self.button = QPushButton()
        self.button.setDefault(True)
        self.button.clicked.connect(self._button)
        self.status_line = QLabel()
        self.status_line.setObjectName("status")
        self.status_line.setWordWrap(True)
        self.stats_line = QLabel()
        self.stats_line.setStyleSheet("color: gray;")
        # Shown while the TV asks for the PIN it shows (pin admission).
        self.pin = QLineEdit()
        self.pin.setObjectName("pin")
        self.pin.setFont(big)
        self.pin.setMaxLength(8)
        self.pin.returnPressed.connect(self._pin_typed)
        self.pin_label = QLabel()
        self.pin_button = QPushButton()
        self.pin_button.clicked.connect(self._pin_typed)
        pin_row = QHBoxLayout()
        pin_row.addWidget(self.pin_label)
        pin_row.addWidget(self.pin, 1)
        pin_row.addWidget(self.pin_button)
        self.pin_box = QWidget()
        self.pin_box.setLayout(pin_row)
        self.pin_box.hide()

        form = QFormLayout()
        self.labels = [QLabel() for _ in range(6)]
        form.addRow(self.labels[0], self.code)
        form.addRow("", self.hint)
        form.addRow(self.labels[1], self.share)
        form.addRow(self.labels[2], self.quality)
        form.addRow(self.labels[5], self.sound)
        form.addRow(self.labels[3], self.name)
        form.addRow(self.labels[4], self.server)
        form.addRow("", self.via_sfu)
        buttons = QHBoxLayout()
        buttons.addWidget(self.status_line, 1)
        buttons.addWidget(self.mute)
        buttons.addWidget(self.button)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.pin_box)
        layout.addWidget(self.stats_line)
        layout.addWidget(self.tvs)
        layout.addStretch(1)
        self.setCentralWidget(body)

        self.options_menu = QMenu(self)
        self.options_menu.addMenu(language_menu(self, holder))
        self.menuBar().addMenu(self.options_menu)

        self.tray = QSystemTrayIcon(app_icon(), self)
        self.tray_menu = QMenu(self)
        self.tray_show = QAction(self)
        self.tray_show.triggered.connect(self._raise)
        self.tray_stop = QAction(self)
        self.tray_stop.triggered.connect(self.stop_requested.emit)
        self.tray_menu.addAction(self.tray_show)
        self.tray_menu.addAction(self.tray_stop)
        self.tray.setContextMenu(self.tray_menu)
        self.tray.activated.connect(lambda _reason: self._raise())
        self.resize(760, 520)
        self.retranslate()
        self._validate(self.code.text())

    # ------------------------------------------------------------------ words
    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("castapp — cast this screen"))
        self.pin_label.setText(self.tr("PIN on the TV:"))
        self.pin_button.setText(self.tr("Send PIN"))
        for label, text in zip(self.labels, (
                self.tr("Cast code"), self.tr("Share"), self.tr("Quality"),
                self.tr("Your name"), self.tr("Room service"), self.tr("Sound")), strict=True):
            label.setText(text)
        self.sound.setText(self.tr("Share sound"))
        self.sound.setToolTip(self.tr("Sound is not available on this system: {reason}").format(
            reason=self.sound_reason) if self.sound_reason else self.tr(
            "The TV plays what this computer plays (not the microphone)"))
        self._mute_text()
        self.via_sfu.setText(self.tr("Send once through the room's media server (for many TVs)"))
        self.via_sfu.setToolTip(
            self.tr("This computer sends the picture once; the room's media server passes it "
                    "on to every TV.") if self.sfu_offered else
            self.tr("This room service has no media server.") if self.sfu_offered is False
            else self.tr("Offered once a TV has been reached through a room service that runs "
                         "a media server."))
        self.code.setPlaceholderText(self.tr("Code on the TV, e.g. 482 913 (several: 482 913, "
                                             "130 557)"))
        self.server.setPlaceholderText(self.tr("Optional: host:port of a room service"))
        self.name.setPlaceholderText(self.tr("Shown on the TV"))
        names = {
            "auto": self.tr("Auto (follows the content)"),
            "sharp_text": self.tr("Sharp text (slides, documents)"),
            "balanced": self.tr("Balanced"),
            "smooth_motion": self.tr("Smooth motion (video)"),
        }
        for i in range(self.quality.count()):
            key = self.quality.itemData(i)
            p = PRESETS[key]
            size = f"{p.max_size[1]}p" if p.max_size else self.tr("native size")
            self.quality.setItemText(i, f"{names[key]} — {p.fps:.0f} fps, {size}")
        self.options_menu.setTitle(self.tr("Options"))
        self.tray_show.setText(self.tr("Show window"))
        self.tray_stop.setText(self.tr("Stop"))
        self.share.retranslate()
        self.tvs.retranslate()
        self._validate(self.code.text())
        self.show_status(self.status)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    # ------------------------------------------------------------------ input
    def _validate(self, text: str) -> None:
        entries = split_codes(text, self.fmt)
        if len(entries) > 1:
            self._validate_list(text, entries)
            return
        check = check_input(text, self.fmt)
        if check.ok and check.target is not None:
            where = check.target.host
            self._set_hint(self.tr("Ready: {code}").format(code=group(check.target.code))
                           + (" @ " + where if where else ""), _READY)
        elif check.problem is not None:
            self._set_hint(self.tr("This is not a cast code. Codes have {n} digits.")
                           .format(n=self.fmt.length) if "link" not in check.problem
                           else self.tr("This castapp link is not valid."), _WRONG)
        else:
            self._set_hint(self._more(check.missing) if text.strip() else "", _TYPING)
        self._input_checked(text, check.ok)

    def _set_hint(self, text: str, colour: str) -> None:
        self._hint = text
        self.hint.setStyleSheet(f"color: {colour};")

    def _show_hint(self) -> None:
        """The hint under the code, but not "Ready" beside a cast of that code that is under
        way, or beside its failure until the code is changed (the status line says it)."""
        st = self.status
        failed = st.error is not None or bool(self.message)
        tried = st.state in _BUSY or (failed and self.code.text() == self._tried)
        self.hint.setText("" if tried and self._input_ok else self._hint)

    def _input_checked(self, text: str, ok: bool) -> None:
        if ok != self._input_ok or text != self._typed:
            self._typed = text
            if self.status.state not in _BUSY:
                self.message = ""  # it was about what the field held before
        self._input_ok = ok
        self._show_hint()
        self._update_button()
        if self.status.state not in _BUSY:
            self.status_line.setText(self._line())

    def _validate_list(self, text: str, entries: list[str]) -> None:
        """Several codes: ready when every entry is one, else which entry is not."""
        ready: list[str] = []
        for n, entry in enumerate(entries, 1):
            check = check_input(entry, self.fmt)
            if check.problem is None and not check.ok and n == len(entries):
                self._set_hint(self._more(check.missing), _TYPING)  # still being typed
                self._input_checked(text, False)
                return
            if not check.ok or check.target is None:
                self._set_hint(self.tr("Entry {n} ({entry}) is not a cast code.").format(
                    n=n, entry=entry), _WRONG)
                self._input_checked(text, False)
                return
            ready.append(group(check.target.code))
        if len(set(ready)) < len(ready):
            self._set_hint(self.tr("The same code is given twice."), _WRONG)
            self._input_checked(text, False)
            return
        self._set_hint(self.tr("Ready: {n} TVs ({codes})").format(
            n=len(ready), codes=", ".join(ready)), _READY)
        self._input_checked(text, True)

    def _more(self, n: int) -> str:
        if n == 1:
            return self.tr("1 more digit")
        return self.tr("{n} more digits").format(n=n)

    def _submit(self) -> None:
        if self._input_ok and self.status.state not in _BUSY:
            self.cast_requested.emit(self.code.text())

    def _button(self) -> None:
        if self.status.state in _BUSY:
            self.stop_requested.emit()
        else:
            self._submit()

    def _update_button(self) -> None:
        busy = self.status.state in _BUSY
        self.button.setText(self.tr("Stop") if busy else self.tr("Cast"))
        self.button.setEnabled(busy or self._input_ok)
        for w in (self.code, self.server, self.share, self.quality, self.name):
            w.setEnabled(not busy)
        self.via_sfu.setEnabled(not busy and bool(self.sfu_offered))
        self.tvs.set_casting(busy)
        self.sound.setEnabled(not busy and self.sound_reason is None)
        self.mute.setVisible(busy and self.sound_shared)
        if not busy and self.mute.isChecked():
            self.mute.setChecked(False)  # the next cast starts with sound

    # ------------------------------------------------------------------ several TVs
    def set_sfu_offered(self, offered: bool | None) -> None:
        """Whether the room service in the field names a media server (None: not known
        yet; another service typed makes it unknown again)."""
        self._sfu_server = self.server.text().strip()
        if offered != self.sfu_offered:
            self.sfu_offered = offered
            if not offered:
                self.via_sfu.setChecked(False)
            self.retranslate()

    def _server_changed(self, text: str) -> None:
        if self.sfu_offered is not None and text.strip() != self._sfu_server:
            self.set_sfu_offered(None)

    def send_via_sfu(self) -> bool:
        return self.via_sfu.isChecked() and bool(self.sfu_offered)

    def show_tv_count(self, count: tuple[int, int] | None) -> None:
        """(TVs casting, TVs of the cast) while the cast goes to more than one TV."""
        self.tv_count = count
        self.status_line.setText(self._line())

    # ------------------------------------------------------------------ sound
    def set_sound_reason(self, reason: str | None) -> None:
        """None: this computer can share its sound; else why not (the switch is off)."""
        self.sound_reason = reason
        if reason is not None:
            self.sound.setChecked(False)
        self.retranslate()

    def share_sound(self) -> bool:
        return self.sound.isChecked() and self.sound_reason is None

    def set_sound_shared(self, shared: bool) -> None:
        """The cast under way carries sound (the mute button shows while it does)."""
        self.sound_shared = shared
        self._update_button()

    def _mute_toggled(self, muted: bool) -> None:
        self._mute_text()
        self.sound_muted.emit(muted)

    def _mute_text(self) -> None:
        self.mute.setText(self.tr("Unmute sound") if self.mute.isChecked()
                          else self.tr("Mute sound"))

    # ------------------------------------------------------------------ session → window
    def show_message(self, text: words.Phrase | str) -> None:
        """A sentence of the app's own (a phrase is rendered, and re-rendered on a language
        switch, in the interface language)."""
        self.message = text
        self._tried = self.code.text()  # said of what the field holds (finding its TV, or why not)
        self._show_hint()
        self.status_line.setText(self._line())

    def _line(self) -> str:
        if self.message:
            return texts.render(self.message) if isinstance(self.message, words.Phrase) \
                else self.message
        st = self.status
        if st.state is SenderState.IDLE and st.error is None and self._input_ok:
            return ""  # the hint beside the code already says it is ready
        if self.tv_count is not None and st.state in _BUSY:
            casting, total = self.tv_count
            return self.tr("Casting to {n} of {m} TVs").format(n=casting, m=total)
        return texts.sender_line(st, self.code_shown)

    def show_status(self, st: SenderStatus) -> None:
        self.status = st
        if st.state in _BUSY:
            self._tried = self.code.text()
        self._show_hint()
        if st.state is not SenderState.IDLE or st.error is not None:
            self.message = ""
        self.status_line.setText(self._line())
        asking = words.needs_pin(st)
        if asking and (self.pin_box.isHidden() or getattr(st, "wrong_pin", False)):
            self.pin.clear()
            self.pin.setFocus()
        self.pin_box.setVisible(asking)
        if st.state not in (SenderState.CASTING, SenderState.CONNECTING):
            self.stats_line.setText("")
        self._update_button()
        self._update_tray()

    def _pin_typed(self) -> None:
        pin = "".join(self.pin.text().split())
        if pin:
            self.pin_entered.emit(pin)
            self.pin.clear()

    def show_stats_text(self, text: str) -> None:
        self.stats_line.setText(text)

    def _update_tray(self) -> None:
        casting = self.status.state in _BUSY
        tip = texts.tray_casting(self.code_shown)
        self.tray.setToolTip(tip)
        self.tray_stop.setText(tip + " — " + self.tr("Stop"))
        if casting and QSystemTrayIcon.isSystemTrayAvailable():
            self.tray.show()
        else:
            self.tray.hide()

    def _raise(self) -> None:
        self.showNormal()
        self.raise_()
        self.activateWindow()

    def set_code_shown(self, code: str) -> None:
        self.code_shown = group(code)

    def selected_monitor(self) -> int:
        return self.monitors.selected_index()

    def capture_spec(self) -> CaptureSpec:
        """What to share; raises CaptureSpecError with words for the user."""
        return self.share.spec()

