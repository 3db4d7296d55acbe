"""Real Qt windows on a private Xvfb screen that these tests start.

Qt's xcb platform draws through Mesa's software OpenGL there, so what the video widget
shows can be read back from the screen. Each test drives the windows with a qasync loop
over the one QApplication.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import aioice.ice
import pytest
import qasync
from PySide6.QtWidgets import QApplication
from xvfb import xvfb

from castapp.gui.collector import MainThreadCollector
from castapp.signaling.server import RoomServer, ServiceConfig
from castapp.signaling.tokens import TokenSigner

T = TypeVar("T")
SCREEN = (1600, 900)


@pytest.fixture(scope="session")
def gui_screen() -> Iterator[str]:
    with xvfb(*SCREEN, keep=True) as display:
        yield display


@pytest.fixture(scope="session")
def qapp(gui_screen: str) -> Iterator[QApplication]:
    """The one QApplication, connected to the private screen.

    The environment is changed only while Qt connects, so processes that other tests start
    never see this display.
    """
    saved = {k: os.environ.get(k) for k in ("DISPLAY", "QT_QPA_PLATFORM", "QT_LOGGING_RULES")}
    os.environ.update(DISPLAY=gui_screen, QT_QPA_PLATFORM="xcb",
                      QT_LOGGING_RULES="qt.multimedia.*=false")
    try:
        app = QApplication.instance() or QApplication(["castapp-tests"])
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    collector = MainThreadCollector(app)  # as the app does: Qt garbage is freed here only
    yield app
    collector.stop()


@pytest.fixture(autouse=True)
def config_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Settings a test saves go to its own directory, never the user's."""
    path = tmp_path / "config-home"
    monkeypatch.setenv("CASTAPP_CONFIG_DIR", str(path))
    return path


@pytest.fixture(autouse=True)
def english(qapp: Any) -> Iterator[None]:
    from castapp.gui.i18n import translations

    translations.install("en")
    yield
    translations.install("en")


Runner = Callable[[Awaitable[T]], T]


@pytest.fixture
def run(qapp: Any) -> Iterator[Runner[Any]]:
    """Run a coroutine to completion on a qasync loop over the test's QApplication."""
    loop = qasync.QEventLoop(qapp, already_running=False)
    asyncio.set_event_loop(loop)

    def run_until_done(aw: Awaitable[T]) -> T:
        # The app runs the loop for its whole life, so whatever Qt dispatches (qasync's timers
        # and sockets) runs inside it. A test runs it in pieces and processes Qt's events in
        # between (qtbot.waitUntil, qasync's own extra pass): the loop stays the running one
        # there too, or a task step finds no running loop (asyncio.sleep, a Queue raise).
        asyncio.events._set_running_loop(None)
        future = asyncio.ensure_future(aw, loop=loop)
        future.add_done_callback(lambda _: loop.stop())
        try:
            loop.run_forever()
        finally:
            asyncio.events._set_running_loop(loop)
        return future.result()

    def runner(aw: Awaitable[T], timeout: float = 30.0) -> T:
        return run_until_done(asyncio.wait_for(aw, timeout))

    yield runner
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        # bounded: a task that ignores its cancellation is named, not waited for forever
        _, stuck = run_until_done(asyncio.wait(pending, timeout=10))
        for task in stuck:
            print(f"a task did not end when cancelled: {task!r}", file=sys.stderr)
            task.print_stack(file=sys.stderr)
    asyncio.events._set_running_loop(None)
    loop.close()
    asyncio.set_event_loop(None)


@pytest.fixture
def loopback_ice(monkeypatch: pytest.MonkeyPatch) -> None:
    """aioice never offers 127.0.0.1: restrict host candidates to loopback."""
    monkeypatch.setattr(aioice.ice, "get_host_addresses",
                        lambda use_ipv4=True, use_ipv6=False: ["127.0.0.1"] if use_ipv4 else [])


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    path = tmp_path / "state"
    path.mkdir()
    return path


@pytest.fixture
def room_server(run: Runner[Any], room_key: bytes) -> Iterator[RoomServer]:
    """A real room service on a loopback port, on the same loop as the windows."""
    server = RoomServer(ServiceConfig(host="127.0.0.1", port=0), TokenSigner(room_key))
    run(server.start())
    yield server
    run(server.stop())
