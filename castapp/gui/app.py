"""Starting the desktop app: Qt first, then asyncio inside it through qasync."""

from __future__ import annotations

import asyncio
import logging
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import qasync
from PySide6.QtCore import QObject, QStandardPaths
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QApplication, QWidget

from castapp import __version__
from castapp import settings as settings_mod
from castapp.app.platform import machine_name
from castapp.gui import stopping
from castapp.gui.collector import MainThreadCollector
from castapp.gui.common import SettingsHolder, app_icon, install_exception_hooks, language_menu
from castapp.gui.i18n import translations
from castapp.links import DEFAULT_PORT

if TYPE_CHECKING:  # each mode imports its own window (the receiver's before the media stack)
    from castapp.gui.receiver_app import ReceiverController
    from castapp.gui.receiver_window import ReceiverWindow
    from castapp.gui.sender_app import SenderController, SourceFactory
    from castapp.gui.sender_window import SenderWindow

log = logging.getLogger(__name__)


@dataclass
class AppOptions:
    mode: str | None  # "receive", "send" or None for the launcher
    state_dir: Path
    server: str | None = None
    code: str | None = None
    name: str | None = None
    fullscreen: bool = False
    # No window chrome, full screen, screen kept awake while casting (a TV).
    kiosk: bool = False
    # How new senders get on screen ("open", "approve", "pin"); None: the saved setting.
    admission: str | None = None
    language: str | None = None
    listen: tuple[str, int] = ("0.0.0.0", DEFAULT_PORT)
    display: str | None = None
    config_dir: Path | None = None
    # Use the LAN: receivers announce themselves (mDNS), senders look for them by code.
    lan: bool = True
    # The user's own STUN/TURN servers, relay-only and the connection deadline (see cli_ice).
    ice: dict[str, Any] = field(default_factory=dict)
    # The receiver's built-in service serves the sender page over HTTPS; None: the setting.
    https: bool | None = None
    # Advertise (receiver) or look for receivers (sender) only on these interfaces or
    # addresses (empty: the LAN ones); how long a sender looks.
    interfaces: tuple[str, ...] = ()
    find_timeout: float = 3.0


class _Closed(QObject):
    """Turns a window's close into an awaitable."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: object) -> bool:
        if isinstance(event, QCloseEvent) and not self.future.done():
            self.future.set_result(None)
        return False


def snapshot_dir() -> Path:
    pictures = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation)
    return Path(pictures or Path.home()) / "castapp"


def open_receiver(opts: AppOptions, holder: SettingsHolder) -> tuple[ReceiverWindow,
                                                                     ReceiverController]:
    from castapp.gui.receiver_app import ReceiverController
    from castapp.gui.receiver_window import ReceiverWindow

    name = opts.name or holder.current.name_or(machine_name())
    window = ReceiverWindow(name, snapshot_dir())
    window.language_menu = language_menu(window, holder)
    window.bind_settings(holder)  # admission, the TV's name and full screen are remembered
    if opts.admission:
        window.set_admission(opts.admission)  # ``castapp receive --admission``
    server = opts.server if opts.server is not None else (holder.current.server or None)
    controller = ReceiverController(window, server_url=server, state_dir=opts.state_dir,
                                    name=name, listen=opts.listen, advertise=opts.lan,
                                    ice=opts.ice, https=holder.current.receiver_https
                                    if opts.https is None else opts.https,
                                    interfaces=opts.interfaces)
    return window, controller


def open_sender(opts: AppOptions, holder: SettingsHolder,
                source_factory: SourceFactory | None = None) -> tuple[SenderWindow,
                                                                       SenderController]:
    from castapp.app.target import lan_discovery
    from castapp.gui.sender_app import SenderController, screen_source
    from castapp.gui.sender_window import SenderWindow

    window = SenderWindow(holder, display=opts.display)
    if opts.server:
        window.server.setText(opts.server)
    if opts.code:
        window.code.setText(opts.code)
    if opts.name:  # --name: this cast's name, over the one saved
        window.name.setText(opts.name)
    controller = SenderController(window, holder,
                                  source_factory=source_factory or screen_source(opts.display),
                                  machine_name=opts.name,
                                  discover=lan_discovery(opts.find_timeout, opts.interfaces)
                                  if opts.lan else None,
                                  ice=opts.ice)
    return window, controller


async def _main(opts: AppOptions, holder: SettingsHolder) -> int:
    # Windows come and go (launcher, then receiver); the app ends when this coroutine does.
    QApplication.setQuitOnLastWindowClosed(False)
    mode = opts.mode
    if mode is None:
        from castapp.gui.launcher import Launcher

        launcher = Launcher()
        choice: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        def chosen(m: str) -> None:
            if not choice.done():
                choice.set_result(m)

        launcher.chosen.connect(chosen)
        launcher.show()
        mode = await choice
        if not mode:
            return 0
    if mode == "receive":
        rwindow, rcontroller = open_receiver(opts, holder)
        closed = _Closed(rwindow)
        rwindow.start_shown(opts.fullscreen or holder.current.receiver_fullscreen,
                            kiosk_mode=opts.kiosk)
        await rcontroller.start()
        await closed.future
        await rcontroller.stop()
        return 0
    swindow, scontroller = open_sender(opts, holder)
    closed = _Closed(swindow)
    swindow.show()
    swindow.monitors.load(holder.current.monitor, holder.current.monitor_key)
    refresh = asyncio.create_task(_refresh_thumbnails(swindow))
    await closed.future
    refresh.cancel()
    await scontroller.close()
    return 0


async def _refresh_thumbnails(window: SenderWindow) -> None:
    while True:
        if window.isVisible() and window.monitors.isEnabled():
            await window.monitors.refresh()
        await asyncio.sleep(2.0)


def run_app(opts: AppOptions) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("castapp")
    app.setApplicationVersion(__version__)
    # the desktop entry's name: Wayland docks group the window by it (X11 ones by WM_CLASS)
    app.setDesktopFileName("io.github.castapp")
    app.setWindowIcon(app_icon())
    collector = MainThreadCollector(app)  # Qt objects in garbage are freed on this thread only
    holder = SettingsHolder(settings_mod.load(opts.config_dir), opts.config_dir)
    translations.install(opts.language or holder.current.language)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    loop.set_default_executor(ThreadPoolExecutor(max_workers=4, thread_name_prefix="castapp"))
    install_exception_hooks(loop)
    stopping.close_windows_on_signals(app)
    with loop:
        try:
            return loop.run_until_complete(_main(opts, holder))
        except RuntimeError as exc:
            if not stopping.display_lost(exc):
                raise
            stopping.exit_display_lost()
        finally:
            collector.stop()
