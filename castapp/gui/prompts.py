"""What the TV asks and shows about newcomers: "… wants to present — Allow / Deny" and PINs.

Both are operable with a TV remote: the window hands its key presses to
:meth:`PromptArea.handle_key` first. Left / Right choose between Allow and Deny, Enter (or
OK) answers; A allows and D denies at once. Buttons never take keyboard focus, so the keys
mean the same whatever was clicked last.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from castapp.gui.common import text_scale
from castapp.session.room import CallPhase, CallView

_CARD = (
    "QFrame#%s { background: #14181e; border: 2px solid #4da3ff;"
    " border-radius: 16px; } QLabel { color: #f2f2f2; background: transparent; }"
)
_BUTTON = (
    "QPushButton { color: white; border-radius: 10px; padding: 10px 28px;"
    " background: %s; border: 4px solid %s; }"
)


def _font(widget: QWidget, px: float, bold: bool = False) -> None:
    font = widget.font()
    font.setPixelSize(max(11, round(px)))
    font.setBold(bold)
    widget.setFont(font)


class ApprovalPrompt(QFrame):
    """One asking presenter at a time, the oldest first."""

    # (peer_id, allowed)
    answered = Signal(str, bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("approval")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(_CARD % "approval")
        self.question = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.question.setWordWrap(True)
        self.more = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.more.setStyleSheet("color: #9aa4ad;")
        self.allow_button = QPushButton()
        self.deny_button = QPushButton()
        for button in (self.allow_button, self.deny_button):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.allow_button.clicked.connect(lambda: self.answer(True))
        self.deny_button.clicked.connect(lambda: self.answer(False))
        self.keys = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.keys.setStyleSheet("color: #9aa4ad;")
        for label in (self.keys, self.more):
            label.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.allow_button)
        buttons.addWidget(self.deny_button)
        buttons.addStretch(1)
        box = QVBoxLayout(self)
        box.addWidget(self.question)
        box.addLayout(buttons)
        box.addWidget(self.keys)
        box.addWidget(self.more)
        self.asking: list[CallView] = []
        # True while Allow is the chosen button (Left / Right move between them).
        self.choice_allow = True
        self.retranslate()
        self.hide()

    def retranslate(self) -> None:
        self.allow_button.setText(self.tr("Allow"))
        self.deny_button.setText(self.tr("Deny"))
        self.keys.setText(self.tr("← → to choose, OK to answer · A allow · D deny"))
        self._words()

    def current(self) -> CallView | None:
        return self.asking[0] if self.asking else None

    def set_asking(self, calls: Sequence[CallView]) -> None:
        old = self.current()
        self.asking = [c for c in calls if c.phase is CallPhase.ASKING]
        new = self.current()
        if new is None or old is None or new.peer_id != old.peer_id:
            self.choice_allow = True
        self._words()
        self.setVisible(new is not None)

    def _words(self) -> None:
        call = self.current()
        if call is None:
            return
        self.question.setText(self.tr("{name} wants to present").format(name=call.name))
        waiting = len(self.asking) - 1
        self.more.setText(self.tr("{n} more waiting").format(n=waiting) if waiting else "")
        self.more.setVisible(bool(waiting))
        self._paint_choice()

    def _paint_choice(self) -> None:
        on, off = ("#2e7d32", "#ffffff"), ("#37474f", "#37474f")
        allow, deny = (on, ("#b23b3b", "#b23b3b")) if self.choice_allow else \
            (off, ("#b23b3b", "#ffffff"))
        self.allow_button.setStyleSheet(_BUTTON % allow)
        self.deny_button.setStyleSheet(_BUTTON % deny)

    def choose(self, allow: bool) -> None:
        self.choice_allow = allow
        self._paint_choice()

    def answer(self, allowed: bool) -> None:
        call = self.current()
        if call is None:
            return
        # Answered once: the session's next status removes it; meanwhile show the next one.
        self.asking = self.asking[1:]
        self.choice_allow = True
        self._words()
        self.setVisible(bool(self.asking))
        self.answered.emit(call.peer_id, allowed)

    def handle_key(self, event: QKeyEvent) -> bool:
        if not self.isVisible() or self.current() is None:
            return False
        key = event.key()
        if key in (Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Up, Qt.Key.Key_Down):
            self.choose(key in (Qt.Key.Key_Left, Qt.Key.Key_Up) if
                        key in (Qt.Key.Key_Left, Qt.Key.Key_Right) else not self.choice_allow)
            return True
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Select, Qt.Key.Key_Space):
            self.answer(self.choice_allow)
            return True
        if key == Qt.Key.Key_A:
            self.answer(True)
            return True
        if key == Qt.Key.Key_D:
            self.answer(False)
            return True
        return False

    def scale_to(self, height: int) -> None:
        _font(self.question, height / 24, bold=True)
        for button in (self.allow_button, self.deny_button):
            _font(button, height / 28, bold=True)
        _font(self.keys, height / 50)
        _font(self.more, height / 45)
        margin = max(12, height // 40)
        self.layout().setContentsMargins(margin * 2, margin, margin * 2, margin)
        self.layout().setSpacing(margin)


class PinCard(QFrame):
    """The one-time PINs of presenters who are typing one, each with its presenter's name."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pins")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(_CARD % "pins")
        self.rows: list[tuple[QLabel, QLabel]] = []
        self._box = QVBoxLayout(self)
        self.pinning: list[CallView] = []
        self._height = 720
        self.hide()

    def set_pinning(self, calls: Sequence[CallView]) -> None:
        self.pinning = [c for c in calls if c.phase is CallPhase.PIN and c.pin]
        while len(self.rows) < len(self.pinning):
            who = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
            who.setWordWrap(True)
            pin = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
            pin.setObjectName("pin")
            pin.setStyleSheet("color: #ffd54f; letter-spacing: 8px;")
            self._box.addWidget(who)
            self._box.addWidget(pin)
            self.rows.append((who, pin))
        self._words()
        self.scale_to(self._height)
        self.setVisible(bool(self.pinning))

    def retranslate(self) -> None:
        self._words()

    def _words(self) -> None:
        for i, (who, pin) in enumerate(self.rows):
            if i < len(self.pinning):
                call = self.pinning[i]
                who.setText(self.tr("{name} wants to present. Type this PIN on that computer:")
                            .format(name=call.name))
                pin.setText(" ".join(call.pin or ""))
                pin.setAccessibleName(call.pin or "")
            who.setVisible(i < len(self.pinning))
            pin.setVisible(i < len(self.pinning))

    def pin_texts(self) -> list[str]:
        return [pin.accessibleName() for _, pin in self.rows[: len(self.pinning)]]

    def scale_to(self, height: int) -> None:
        self._height = height
        many = len(self.pinning) > 1
        for who, pin in self.rows:
            _font(who, height / (30 if many else 24))
            _font(pin, height / (9 if many else 5), bold=True)
        margin = max(12, height // 40)
        self._box.setContentsMargins(margin * 2, margin, margin * 2, margin)


class PromptArea(QWidget):
    """Approval prompt above PIN cards, centred over the TV's screen."""

    answered = Signal(str, bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.approval = ApprovalPrompt()
        self.pins = PinCard()
        self.approval.answered.connect(self.answered)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.approval)
        box.addWidget(self.pins)
        self.hide()

    def set_calls(self, calls: Sequence[CallView]) -> None:
        self.approval.set_asking(calls)
        self.pins.set_pinning(calls)
        self.setVisible(self.approval.isVisibleTo(self) or self.pins.isVisibleTo(self))
        self.place()

    def handle_key(self, event: QKeyEvent) -> bool:
        return self.isVisible() and self.approval.handle_key(event)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.approval.retranslate()
            self.pins.retranslate()
        super().changeEvent(event)

    def place(self, *, top: bool = False) -> None:
        """Centre over the parent, or near its top edge (over pictures, to hide less)."""
        parent = self.parentWidget()
        if parent is None:
            return
        height = parent.height()
        scale = text_scale(parent.width(), height)
        self.approval.scale_to(scale)
        self.pins.scale_to(scale)
        width = min(parent.width() - 40, max(scale * 9 // 10, 480))
        self.setFixedWidth(max(200, width))
        self.layout().invalidate()
        self.layout().activate()
        self.resize(self.width(), self.sizeHint().height())
        y = height // 30 if top else (height - self.height()) // 2
        self.move((parent.width() - self.width()) // 2, max(0, y))
        if self.isVisible():
            self.raise_()
