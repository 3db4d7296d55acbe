"""The TV as an appliance: start at login, no window chrome, no screensaver while casting.

- :func:`write_autostart` writes an XDG autostart entry (``castapp receive --kiosk``) to
  ``~/.config/autostart/castapp-receiver.desktop`` or a path given for tests;
- :func:`apply_kiosk` makes a window frameless and full screen with no mouse pointer;
- :func:`show_full_screen` is ``showFullScreen`` that also works on a display without a window
  manager (a TV box's bare X server started with ``xinit``), where Qt marks the window full
  screen but nothing resizes it: after :data:`UNMANAGED_CHECK_MS` the window fills its screen
  itself (X11 only: Windows, macOS and Wayland compositors always size a full-screen window);
- :class:`ScreenSaverInhibitor` asks the desktop's ``org.freedesktop.ScreenSaver`` service
  over the D-Bus session bus not to blank the screen, and lets go when casting stops. With no
  session bus (Windows, macOS, a bare X server) it notes that once in the log and does nothing.
"""

from __future__ import annotations

import logging
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

log = logging.getLogger(__name__)

AUTOSTART_NAME = "castapp-receiver.desktop"
SERVICE = "org.freedesktop.ScreenSaver"
PATH = "/org/freedesktop/ScreenSaver"
INTERFACE = "org.freedesktop.ScreenSaver"
#: How long a window manager has to make a window full screen before it fills its screen
#: itself.
UNMANAGED_CHECK_MS = 300


def autostart_path() -> Path:
    """Where the desktop looks for programs to start at login (XDG)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "autostart" / AUTOSTART_NAME


def default_command() -> list[str]:
    """How this installation starts the receiver in kiosk mode."""
    if getattr(sys, "frozen", False):  # an installed single-file build
        return [sys.executable, "receive", "--kiosk"]
    return [sys.executable, "-m", "castapp", "receive", "--kiosk"]


def _exec_quote(arg: str) -> str:
    # Desktop Entry "Exec" quoting: double quotes around arguments with reserved characters.
    if arg and all(c.isalnum() or c in "-_./=:+," for c in arg):
        return arg
    escaped = "".join("\\" + c if c in '"`$\\' else c for c in arg)
    return f'"{escaped}"'.replace("%", "%%")


def desktop_entry(command: Sequence[str], name: str = "castapp receiver") -> str:
    return "\n".join([
        "[Desktop Entry]",
        "Type=Application",
        f"Name={name}",
        "Comment=Show the cast code on this screen and receive casts",
        "Exec=" + " ".join(_exec_quote(a) for a in command),
        "Icon=castapp",
        "Terminal=false",
        "X-GNOME-Autostart-enabled=true",
        "",
    ])


def write_autostart(path: Path | None = None, command: Sequence[str] | None = None) -> Path:
    """Start the receiver in kiosk mode at login; returns the entry written."""
    path = path or autostart_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(desktop_entry(command or default_command()), encoding="utf-8")
    os.replace(tmp, path)
    log.info("autostart entry written: %s (%s)", path, shlex.join(command or default_command()))
    return path


def remove_autostart(path: Path | None = None) -> bool:
    """Stop starting at login; False when there was no entry."""
    path = path or autostart_path()
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def autostart_enabled(path: Path | None = None) -> bool:
    return (path or autostart_path()).is_file()


def show_full_screen(window: QWidget) -> None:
    """Full screen, also where no window manager acts on the request (see the module)."""
    window.showFullScreen()
    QTimer.singleShot(UNMANAGED_CHECK_MS, window, lambda: fill_screen_if_unmanaged(window))


def fill_screen_if_unmanaged(window: QWidget) -> bool:
    """Give a window that is full screen in name only its screen's whole area; True if it
    had to (nothing on the display resized it)."""
    if QGuiApplication.platformName() != "xcb":  # elsewhere the system itself does it
        return False
    screen = window.screen()
    if not window.isFullScreen() or screen is None or window.geometry() == screen.geometry():
        return False
    log.info("no window manager made the window full screen: it fills %dx%d itself",
             screen.geometry().width(), screen.geometry().height())
    window.setGeometry(screen.geometry())  # this ends Qt's full-screen state …
    window.showFullScreen()  # … which is asked for again, with nothing left to resize
    return True


def apply_kiosk(window: QWidget) -> None:
    """No title bar or borders, full screen, no pointer over the picture."""
    window.setWindowFlag(Qt.WindowType.FramelessWindowHint, True)
    window.setCursor(Qt.CursorShape.BlankCursor)
    show_full_screen(window)


class ScreenSaverInhibitor(QObject):
    """Keeps the screen awake while casting (``org.freedesktop.ScreenSaver.Inhibit``).

    Each hold uses a private connection to the session bus, and letting go closes it: the
    screensaver services (KDE, GNOME's proxy, xfce) drop the holds of a client that leaves the
    bus, and ``UnInhibit`` takes a uint32 cookie that PySide cannot mark as unsigned. Calls are
    asynchronous, so a slow or missing service never blocks the TV. ``address`` connects to a
    given bus instead of the session bus (tests start their own).
    """

    def __init__(self, parent: QObject | None = None, *, address: str | None = None) -> None:
        super().__init__(parent)
        self._address = address
        self._name: str | None = None
        self._count = 0
        self._noted = False
        self.cookie: int | None = None

    @property
    def inhibited(self) -> bool:
        return self.cookie is not None

    @property
    def connection_name(self) -> str | None:
        """The Qt name of the private connection holding the screen awake, if any."""
        return self._name

    def _note(self, why: str) -> None:
        if not self._noted:
            log.info("the screensaver is not held off while casting: %s", why)
            self._noted = True

    def inhibit(self, reason: str = "Casting") -> None:
        if self._name is not None:
            return
        try:
            from PySide6.QtDBus import QDBusConnection, QDBusMessage, QDBusPendingCallWatcher
        except ImportError:  # Qt built without D-Bus (Windows, macOS builds)
            self._note("Qt has no D-Bus support here")
            return
        self._count += 1
        name = f"castapp-inhibit-{id(self):x}-{self._count}"
        if self._address:
            bus = QDBusConnection.connectToBus(self._address, name)
        else:
            bus = QDBusConnection.connectToBus(QDBusConnection.BusType.SessionBus, name)
        if not bus.isConnected():
            QDBusConnection.disconnectFromBus(name)
            self._note("no D-Bus session bus")
            return
        self._name = name
        message = QDBusMessage.createMethodCall(SERVICE, PATH, INTERFACE, "Inhibit")
        message.setArguments(["castapp", reason])
        watcher = QDBusPendingCallWatcher(bus.asyncCall(message, 5000), self)
        watcher.finished.connect(lambda w, n=name: self._answered(w, n))

    def _answered(self, watcher: object, name: str) -> None:
        from PySide6.QtDBus import QDBusMessage

        reply = watcher.reply()  # type: ignore[attr-defined]
        watcher.deleteLater()  # type: ignore[attr-defined]
        if name != self._name:  # released meanwhile
            return
        if reply.type() != QDBusMessage.MessageType.ReplyMessage or not reply.arguments():
            self._note(f"{SERVICE} answered {reply.errorName() or 'nothing'}")
            self.release()
            return
        self.cookie = int(reply.arguments()[0])
        log.info("screensaver held off while casting")

    def release(self) -> None:
        name, self._name = self._name, None
        if name is None:
            return
        from PySide6.QtDBus import QDBusConnection

        QDBusConnection.disconnectFromBus(name)
        if self.cookie is not None:
            log.info("screensaver allowed again")
        self.cookie = None
