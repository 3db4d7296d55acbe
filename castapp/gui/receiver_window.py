"""The receiver's window (the TV): the code and its QR code, then up to four presenters.

The window draws what the session reports and answers through :class:`RoomControls`
(``set_controls``). Entry points for the app:

- ``show_status(status)``: the session's status; its ``calls`` (when it has them) go to
  ``show_calls``, otherwise the one sender of the status is shown as one call;
- ``show_calls(calls)``: tiles for calls on screen, prompts for asking and PIN calls;
- ``frame_for(peer_id, frame)``: a call's newest frame (``show_frame`` for the one call);
- ``show_stats(stats, quality, peer_id)``: statistics for the box (key I);
- signals ``allow_requested``, ``deny_requested``, ``stop_requested``, ``view_requested``,
  ``layout_changed``, ``admission_changed``, ``name_changed`` and ``fullscreen_changed``
  tell observers what the TV's user did (controls, when set, are called as well).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QPoint, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QInputDialog,
    QMainWindow,
    QMenu,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from castapp.gui import kiosk, texts
from castapp.gui.code_page import CodePage
from castapp.gui.common import SettingsHolder, text_scale
from castapp.gui.overlay import Overlay
from castapp.gui.prompts import PromptArea
from castapp.gui.wall import ON_WALL, Wall
from castapp.layout import RoomControls, ViewHint
from castapp.session.receiver_table import ReceiverState, ReceiverStatus
from castapp.session.room import AdmissionMode, CallPhase, CallView, Layout

if TYPE_CHECKING:  # the window shows its code before the media stack is imported
    from castapp.linkquality import LinkQuality
    from castapp.rtc.peer import PeerStats
    from castapp.rtc.receive import ReceivedFrame

log = logging.getLogger(__name__)

BANNER_SECONDS = 4.0
# The peer id of the one call of a session that reports no ``calls``.
ONE_CALL = "sender"

_ONE_CALL_PHASE = {
    ReceiverState.CONNECTING: CallPhase.CONNECTING,
    ReceiverState.RECEIVING: CallPhase.SHOWING,
    ReceiverState.RECONNECTING: CallPhase.RECONNECTING,
}


class ReceiverWindow(QMainWindow):
    # Emitted with the path of a saved snapshot.
    snapshot_saved = Signal(str)
    allow_requested = Signal(str)
    deny_requested = Signal(str)
    stop_requested = Signal(str)
    # (peer_id, ViewHint): the size and rate a sender should send from now on.
    view_requested = Signal(str, object)
    layout_changed = Signal(str)
    admission_changed = Signal(str)
    name_changed = Signal(str)
    fullscreen_changed = Signal(bool)

    def __init__(self, machine_name: str, snapshot_dir: Path, *,
                 controls: RoomControls | None = None,
                 inhibitor: kiosk.ScreenSaverInhibitor | None = None) -> None:
        super().__init__()
        self.machine_name = machine_name
        self.snapshot_dir = snapshot_dir
        self.controls = controls
        self._tasks: set[asyncio.Future[object]] = set()
        self.status = ReceiverStatus(ReceiverState.STARTING)
        self.calls: tuple[CallView, ...] = ()
        self.link = ""
        self.address_hint = ""
        self.admission = AdmissionMode.APPROVE
        self.autostart_path: Path | None = None  # None: the desktop's autostart folder
        self._quality: LinkQuality | None = None
        self._stats: dict[str, PeerStats | None] = {}
        self._sound: dict[str, object] = {}  # the heard call's sound figures
        self._key_of: dict[str, str] = {}  # session peer id -> the call's stable key
        self.inhibitor = inhibitor if inhibitor is not None else kiosk.ScreenSaverInhibitor(self)

        self.stage = QWidget()
        self.stage.setObjectName("stage")
        self.code_page = CodePage()
        self.wall = Wall()
        self.pages = QStackedWidget(self.stage)
        self.pages.addWidget(self.code_page)
        self.pages.addWidget(self.wall)
        stage_layout = QVBoxLayout(self.stage)
        stage_layout.setContentsMargins(0, 0, 0, 0)
        stage_layout.addWidget(self.pages)
        self.setCentralWidget(self.stage)
        # Top centre: tiles carry names at their left and badges at their right.
        self.banner = Overlay(self.stage, corner="top")
        self.stats_box = Overlay(self.stage, corner="top-right")
        # Dims the code page behind a prompt, so the question reads as the one thing to answer.
        self.scrim = QWidget(self.stage)
        self.scrim.setObjectName("scrim")
        self.scrim.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.scrim.setStyleSheet("#scrim { background: rgba(8, 10, 12, 215); }")
        self.scrim.hide()
        self.prompts = PromptArea(self.stage)
        self.stats_visible = False
        self.wall.view_hint.connect(self._view_hint)
        self.wall.stop_requested.connect(self.stop_call)
        self.wall.layout_changed.connect(self.layout_changed)
        self.wall.sound_muted.connect(
            lambda muted: callable(getattr(self.controls, "set_muted", None))
            and self._ask("set_muted", muted))
        self.prompts.answered.connect(self._answered)
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
        self.act_menu = QAction(self, shortcuts=[QKeySequence(Qt.Key.Key_Menu)])  # M mutes
        self.act_menu.triggered.connect(self.open_menu)
        self.act_rename = QAction(self)
        self.act_rename.triggered.connect(self.ask_name)
        self.act_autostart = QAction(self, checkable=True)
        self.act_autostart.triggered.connect(self.set_autostart)
        self.act_quit = QAction(self, shortcut=QKeySequence.StandardKey.Quit)
        self.act_quit.triggered.connect(self.close)
        for act in (self.act_full, self.act_leave, self.act_snapshot, self.act_stats,
                    self.act_menu, self.act_quit):
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            self.addAction(act)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(lambda pos: self.open_menu(self.mapToGlobal(pos)))
        self.menu: QMenu | None = None
        self.kiosk = False
        self._fullscreen = False
        self.resize(1280, 720)
        self.retranslate()

    @property
    def video(self) -> Wall:
        """The picture area (the wall); kept under its older name."""
        return self.wall

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
        page.retranslate()
        self.act_full.setText(self.tr("Full screen"))
        self.act_snapshot.setText(self.tr("Save snapshot"))
        self.act_stats.setText(self.tr("Show statistics"))
        self.act_menu.setText(self.tr("Menu"))
        self.act_rename.setText(self.tr("TV name…"))
        self.act_autostart.setText(self.tr("Start at login as a kiosk"))
        self.act_quit.setText(self.tr("Quit"))
        self.show_status(self.status)
        if self.banner.isVisible() and self._one_call() and \
                self.status.state is ReceiverState.RECEIVING:
            self.banner.set_text(self._casting_line())
        if self.stats_visible:
            self._update_stats_box()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        elif event.type() == QEvent.Type.WindowStateChange and \
                self.isFullScreen() != self._fullscreen:
            self._fullscreen = self.isFullScreen()
            if not self.kiosk:
                self.fullscreen_changed.emit(self._fullscreen)
        super().changeEvent(event)

    # ------------------------------------------------------------------ start-up
    def bind_settings(self, holder: SettingsHolder) -> None:
        """Take the TV's saved choices and save them again whenever they change."""
        self.set_admission(holder.current.admission)
        self.admission_changed.connect(lambda mode: holder.update(admission=mode))
        self.name_changed.connect(lambda name: holder.update(display_name=name))
        self.fullscreen_changed.connect(lambda full: holder.update(receiver_fullscreen=full))

    def start_shown(self, fullscreen: bool = True, *, kiosk_mode: bool = False) -> None:
        """Show the window: full screen unless told otherwise; as a kiosk with no chrome."""
        self.kiosk = kiosk_mode
        if kiosk_mode:
            kiosk.apply_kiosk(self)
        elif fullscreen:
            kiosk.show_full_screen(self)
        else:
            self.show()
        self._fullscreen = self.isFullScreen()

    # ------------------------------------------------------------------ session → screen
    def set_controls(self, controls: RoomControls | None) -> None:
        """What allow / deny / stop / view hints are sent to (the receiver session)."""
        self.controls = controls
        for peer, hint in self.wall.hints().items():
            self._view_hint(peer, hint)

    def set_link(self, link: str, address_hint: str = "") -> None:
        """What the QR code holds (a castapp:// link) and the address to show."""
        self.link, self.address_hint = link, address_hint
        self.code_page.qr.set_text(link)
        self.wall.set_code(self.status.display_code, link)
        self.retranslate()

    def set_machine_name(self, name: str) -> None:
        self.machine_name = name
        self.code_page.name.setText(name)

    def _one_call(self) -> bool:
        """True when the session reports no ``calls`` (one sender at a time)."""
        return getattr(self.status, "calls", None) is None

    def show_status(self, st: ReceiverStatus) -> None:
        old = self.status
        self.status = st
        self.code_page.code.setText(st.display_code or "— — —")
        self.code_page.status.setText(texts.receiver_line(st))
        self.wall.set_code(st.display_code, self.link)
        calls = getattr(st, "calls", None)
        if calls is None:
            self._one_call_status(old, st)
        else:
            self.show_calls(self._keyed(calls))
        self._service_banner(old, st)

    def _one_call_status(self, old: ReceiverStatus, st: ReceiverStatus) -> None:
        phase = _ONE_CALL_PHASE.get(st.state)
        if phase is None:
            self.show_calls(())
            return
        if phase is CallPhase.CONNECTING and not any(c.peer_id == ONE_CALL for c in self.calls):
            self.code_page.status.setText(texts.receiver_line(st))
            return  # the code page says who is connecting until frames come
        # The one-call session has no pairing step of its own to report.
        self.show_calls((CallView(ONE_CALL, st.sender or "", phase, verified=True),))
        if st.state is ReceiverState.RECEIVING and st.service_ok and (
                old.state is not ReceiverState.RECEIVING or old.route != st.route):
            if old.state is not ReceiverState.RECEIVING:
                self._quality = None
            self.banner.set_text(self._casting_line())
            self.banner.show_for(BANNER_SECONDS)
        elif st.state is ReceiverState.RECONNECTING:
            self.banner.hide()  # the tile says "Reconnecting…" over the last picture

    def _service_banner(self, old: ReceiverStatus, st: ReceiverStatus) -> None:
        if self.pages.currentWidget() is not self.wall:
            return
        if not st.service_ok:  # media keeps flowing; say so without covering it
            self.banner.set_text(texts.service_trouble(st.retry_in_s))
            self.banner.show_for(None)
        elif not old.service_ok:
            if self._one_call() and st.state is ReceiverState.RECEIVING:
                self.banner.set_text(self._casting_line())
                self.banner.show_for(BANNER_SECONDS)
            else:
                self.banner.hide()

    def show_calls(self, calls: Sequence[CallView]) -> None:
        """Tiles for the calls on screen, prompts for those asking or typing a PIN."""
        before = {c.peer_id for c in self.calls if c.phase is CallPhase.SHOWING}
        self.calls = tuple(calls)
        showing = [c for c in self.calls if c.phase is CallPhase.SHOWING]
        on_screen = [c for c in self.calls if c.phase in ON_WALL]
        if not self._one_call() and len(on_screen) == 1 and showing and \
                showing[0].peer_id not in before and self.status.service_ok:
            # One presenter alone: the banner names them (tiles do when there are several).
            self.banner.set_text(texts.casting_banner(showing[0].name, None))
            self.banner.show_for(BANNER_SECONDS)
        self.wall.set_calls(self.calls)
        self.prompts.set_calls(self.calls)
        on_wall = any(c.phase in ON_WALL for c in self.calls)
        if on_wall:
            self.pages.setCurrentWidget(self.wall)
            self.inhibitor.inhibit(self.tr("Showing a cast"))
        else:
            if self.pages.currentWidget() is self.wall:
                self.banner.hide()
                self.stats_box.hide()
            self.pages.setCurrentWidget(self.code_page)
            self.inhibitor.release()
        self.prompts.place(top=on_wall)
        self._place_scrim()
        if self.stats_visible:
            self._update_stats_box()

    def _place_scrim(self) -> None:
        wanted = self.prompts.isVisible() and self.pages.currentWidget() is self.code_page
        self.scrim.setGeometry(self.stage.rect())
        self.scrim.setVisible(wanted)
        if wanted:
            self.scrim.raise_()
            self.prompts.raise_()

    def _casting_line(self) -> str:
        return texts.casting_banner(self.status.sender, self._quality, self.status.route)

    def show_frame(self, frame: ReceivedFrame) -> None:
        """A frame of the one call of a session without ``calls``."""
        if self.status.state not in _ONE_CALL_PHASE:
            return  # a late frame after the cast ended must not bring the picture back
        if not any(c.peer_id == ONE_CALL for c in self.calls):
            self.show_calls((CallView(ONE_CALL, self.status.sender or "", CallPhase.SHOWING,
                                      verified=True),))
        self.frame_for(ONE_CALL, frame)

    def _keyed(self, calls: Sequence[CallView]) -> tuple[CallView, ...]:
        """Calls named by their ``key`` (stable across a sender's reconnections): a tile and
        its last picture stay put while the sender comes back under a new peer id."""
        for call in calls:
            if call.key:
                self._key_of[call.peer_id] = call.key
        return tuple(replace(c, peer_id=c.key) if c.key else c for c in calls)

    def frame_for(self, peer_id: str, frame: ReceivedFrame) -> None:
        """A call's newest decoded frame (by the session's peer id or the call's key)."""
        self.wall.offer(self._key_of.get(peer_id, peer_id), frame)

    def show_stats(self, stats: PeerStats | None, quality: LinkQuality | None,
                   peer_id: str | None = None) -> None:
        key = self._key_of.get(peer_id, peer_id) if peer_id else ONE_CALL
        self._stats[key] = stats
        changed = quality is not None and quality != self._quality
        self._quality = quality
        if changed and self.banner.isVisible() and self.status.service_ok \
                and self._one_call() and self.status.state is ReceiverState.RECEIVING:
            self.banner.set_text(self._casting_line())
        if self.stats_visible:
            self._update_stats_box()

    def show_sound_stats(self, fields: dict[str, object]) -> None:
        """The heard call's sound figures for the box (shown with the next ``show_stats``)."""
        self._sound = fields

    def stats_lines(self) -> list[str]:
        """The focused call's statistics and the latency the TV can estimate."""
        peer = self.wall.focus or ONE_CALL
        stats = self._stats.get(peer) or self._stats.get(ONE_CALL)
        lines = texts.stats_lines(stats)
        call = next((c for c in self.calls if c.peer_id == peer), None)
        if call is not None and call.name and len(self.wall.calls()) > 1:
            lines.insert(0, call.name)
        frame = self.wall.last_frame(peer)
        display = self.wall.paint_delay_s(peer)
        age = getattr(frame, "age_s", None) if frame is not None else None
        rtt = stats.rtt_ms if stats is not None else None
        if age is not None:
            lines.append(self.tr("Frame age: {ms} ms").format(ms=f"{age * 1000:.0f}"))
        elif rtt is not None or display is not None:
            network = rtt / 2 if rtt is not None else 0.0
            shown = display * 1000 if display is not None else 0.0
            lines.append(self.tr("Latency estimate: {ms} ms (network {net} + display {disp})")
                         .format(ms=f"{network + shown:.0f}",
                                 net="–" if rtt is None else f"{network:.0f}",
                                 disp="–" if display is None else f"{shown:.0f}"))
        if (sound := texts.sound_stats_line(self._sound)) is not None:
            lines.append(sound)
        return lines

    def _update_stats_box(self) -> None:
        if self.pages.currentWidget() is self.wall:
            self.stats_box.set_text("\n".join(self.stats_lines()))
            self.stats_box.show_for(None)
        else:
            self.stats_box.hide()

    # ------------------------------------------------------------------ TV → session
    def _ask(self, method: str, *args: object) -> None:
        """Call the controls; a coroutine (an async session method) runs as a task."""
        if self.controls is None:
            return
        result = getattr(self.controls, method)(*args)
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            self._tasks.add(task)
            task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Future[object]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("the receiver session refused a request: %s", task.exception())

    def _view_hint(self, peer_id: str, hint: ViewHint) -> None:
        self.view_requested.emit(peer_id, hint)
        if peer_id != ONE_CALL:
            self._ask("set_view", peer_id, hint.width, hint.height, hint.fps, hint.tile,
                      hint.tiles, hint.spotlit)

    def _answered(self, peer_id: str, allowed: bool) -> None:
        if allowed:
            self.allow_requested.emit(peer_id)
            self._ask("allow", peer_id)
        else:
            self.deny_requested.emit(peer_id)
            self._ask("deny", peer_id)

    def stop_call(self, peer_id: str) -> None:
        """End a presenter's cast from the TV."""
        self.stop_requested.emit(peer_id)
        self._ask("stop_call", peer_id)

    def set_admission(self, mode: AdmissionMode | str) -> None:
        mode = AdmissionMode(mode)
        if mode is not self.admission:
            self.admission = mode
            self.admission_changed.emit(mode.value)

    def ask_name(self) -> None:
        """Let the TV's user rename the TV (a dialog that does not block the event loop)."""
        dialog = QInputDialog(self)
        dialog.setWindowTitle(self.tr("TV name"))
        dialog.setLabelText(self.tr("Name presenters see for this TV:"))
        dialog.setTextValue(self.machine_name)
        dialog.textValueSelected.connect(self.rename)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def rename(self, name: str) -> None:
        name = " ".join(name.split())[:64]
        if name and name != self.machine_name:
            self.set_machine_name(name)
            self.name_changed.emit(name)

    def set_autostart(self, enabled: bool) -> None:
        """Write or remove the XDG autostart entry that starts this TV as a kiosk at login."""
        try:
            if enabled:
                path = kiosk.write_autostart(self.autostart_path)
                self.banner.set_text(self.tr("This screen will start castapp at login ({path})")
                                     .format(path=path))
            else:
                kiosk.remove_autostart(self.autostart_path)
                self.banner.set_text(self.tr("castapp will no longer start at login"))
        except OSError as exc:
            log.warning("cannot change the autostart entry: %s", exc)
            self.banner.set_text(self.tr("Could not change the start at login: {error}")
                                 .format(error=exc.strerror or str(exc)))
        self.banner.show_for(BANNER_SECONDS)
        self.act_autostart.setChecked(kiosk.autostart_enabled(self.autostart_path))

    # ------------------------------------------------------------------ keys and menus
    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self.prompts.handle_key(event) or (
                self.pages.currentWidget() is self.wall and self.wall.handle_key(event)):
            event.accept()
            return
        super().keyPressEvent(event)

    def build_menu(self) -> QMenu:
        """The window's menu: presenters, layout, who can cast, TV settings."""
        menu = QMenu(self)
        on_wall = self.wall.calls()
        for call in on_wall:
            act = menu.addAction(self.tr("Stop {name}").format(name=call.name or call.peer_id))
            act.setData(call.peer_id)
            act.triggered.connect(lambda _=False, p=call.peer_id: self.stop_call(p))
        for call in self.calls:
            if call.phase in (CallPhase.ASKING, CallPhase.PIN):
                act = menu.addAction(self.tr("Turn away {name}").format(name=call.name))
                act.triggered.connect(lambda _=False, p=call.peer_id: self._answered(p, False))
        if on_wall:
            menu.addSeparator()
        layouts = menu.addMenu(self.tr("Layout"))
        layouts.setEnabled(len(on_wall) > 1)
        group = QActionGroup(layouts)
        names = {
            Layout.AUTO: self.tr("Automatic"),
            Layout.FULL: self.tr("One at a time"),
            Layout.SIDE_BY_SIDE: self.tr("Side by side"),
            Layout.GRID: self.tr("Grid"),
            Layout.SPOTLIGHT: self.tr("Spotlight"),
        }
        for layout, label in names.items():
            act = layouts.addAction(label)
            act.setCheckable(True)
            act.setChecked(self.wall.layout_choice is layout)
            act.setData(layout.value)
            group.addAction(act)
            act.triggered.connect(lambda _=False, lay=layout: self.wall.set_layout(lay))
        modes = menu.addMenu(self.tr("Who can cast"))
        mode_group = QActionGroup(modes)
        mode_names = {
            AdmissionMode.OPEN: self.tr("Anyone with the code"),
            AdmissionMode.APPROVE: self.tr("Ask me to allow each presenter"),
            AdmissionMode.PIN: self.tr("A one-time PIN for each presenter"),
        }
        for mode, label in mode_names.items():
            act = modes.addAction(label)
            act.setCheckable(True)
            act.setChecked(self.admission is mode)
            act.setData(mode.value)
            mode_group.addAction(act)
            act.triggered.connect(lambda _=False, m=mode: self.set_admission(m))
        menu.addAction(self.wall.act_mute)
        menu.addAction(self.act_rename)
        self.act_autostart.setChecked(kiosk.autostart_enabled(self.autostart_path))
        menu.addAction(self.act_autostart)
        menu.addSeparator()
        for act in (self.act_full, self.act_snapshot, self.act_stats):
            menu.addAction(act)
        if self.language_menu is not None:
            menu.addMenu(self.language_menu)
        menu.addSeparator()
        menu.addAction(self.act_quit)
        self.act_snapshot.setEnabled(self.pages.currentWidget() is self.wall)
        return menu

    def open_menu(self, at: QPoint | None = None) -> QMenu:
        if self.menu is not None:
            self.menu.close()
            self.menu.deleteLater()
        self.menu = self.build_menu()
        if not isinstance(at, QPoint):  # from the remote's Menu key: the screen's centre
            at = self.mapToGlobal(self.rect().center())
        self.menu.popup(at)
        return self.menu

    # ------------------------------------------------------------------ user actions
    def toggle_fullscreen(self) -> None:
        if self.kiosk:
            return
        if self.isFullScreen():
            self.showNormal()
        else:
            kiosk.show_full_screen(self)

    def leave_fullscreen(self) -> None:
        if self.isFullScreen() and not self.kiosk:
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
        else:
            self._update_stats_box()

    def save_snapshot(self) -> Path | None:
        """Save the focused presenter's picture at full size; the banner says where."""
        image = self.wall.snapshot() if self.pages.currentWidget() is self.wall else None
        if image is None:
            return None
        try:
            self.snapshot_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            log.warning("cannot create the snapshot folder %s: %s", self.snapshot_dir, exc)
            self.banner.set_text(self.tr("Could not save a snapshot in {folder}").format(
                folder=self.snapshot_dir))
            self.banner.show_for(BANNER_SECONDS)
            return None
        path = self.snapshot_dir / time.strftime("castapp-%Y%m%d-%H%M%S.png")
        n = 1
        while path.exists():
            path = path.with_name(time.strftime(f"castapp-%Y%m%d-%H%M%S-{n}.png"))
            n += 1
        if not image.save(str(path), "PNG"):
            log.warning("could not save a snapshot to %s", path)
            self.banner.set_text(self.tr("Could not save a snapshot in {folder}").format(
                folder=self.snapshot_dir))
            self.banner.show_for(BANNER_SECONDS)
            return None
        self.banner.set_text(self.tr("Snapshot saved to {folder}\n{name}").format(
            folder=path.parent, name=path.name))
        self.banner.show_for(BANNER_SECONDS)
        self.snapshot_saved.emit(str(path))
        return path

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        h, w = event.size().height(), event.size().width()
        self.code_page.scale_to(h, w)
        scale = text_scale(w, h)
        self.banner.set_font_px(scale // 30)
        self.stats_box.set_font_px(scale // 45)
        self.prompts.place(top=self.pages.currentWidget() is self.wall)
        self._place_scrim()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.inhibitor.release()
        super().closeEvent(event)
