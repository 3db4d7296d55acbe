"""The app as launched: launcher, receiver with its service, clean shutdown, error reports."""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QPushButton

from castapp.gui.app import AppOptions, _main
from castapp.gui.common import SettingsHolder, install_exception_hooks
from castapp.gui.launcher import Launcher
from castapp.gui.receiver_window import ReceiverWindow
from castapp.session.receiver import ReceiverState
from castapp.settings import Settings

pytestmark = pytest.mark.timeout(60)


def top_level(kind):
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, kind) and w.isVisible()]


def port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_launcher_opens_the_receiver_and_closing_shuts_everything_down(qtbot, run, tmp_path):
    opts = AppOptions(mode=None, state_dir=tmp_path, listen=("127.0.0.1", 0), name="TV",
                      lan=False)
    seen: dict[str, object] = {}

    async def drive() -> None:
        launcher = None
        while not launcher:
            await asyncio.sleep(0.02)
            launcher = top_level(Launcher)
        receive = next(b for b in launcher[0].findChildren(QPushButton)
                       if b is launcher[0].receive)
        receive.click()
        window = None
        while not window:
            await asyncio.sleep(0.02)
            window = top_level(ReceiverWindow)
        while window[0].status.state is not ReceiverState.WAITING:
            await asyncio.sleep(0.02)
        seen["code"] = window[0].code_page.code.text()
        seen["port"] = int(window[0].address_hint.rsplit(":", 1)[1])
        seen["fingerprint"] = window[0].code_page.fingerprint.text()
        assert port_open(seen["port"])
        window[0].close()

    async def scenario() -> int:
        driver = asyncio.create_task(drive())
        result = await _main(opts, SettingsHolder(Settings(), tmp_path / "config"))
        await driver
        return result

    assert run(scenario(), timeout=30) == 0
    assert len(str(seen["code"]).replace(" ", "")) == 6
    assert not port_open(seen["port"]), "the embedded room service stopped with the window"
    # HTTPS for guests' browsers by default: the code page names the kept certificate
    from castapp.selfsigned import load_or_create

    short = load_or_create(tmp_path, "unused").short
    assert seen["fingerprint"] == f"Certificate SHA-256 starts {short}"


def test_closing_the_launcher_quits(qtbot, run, tmp_path):
    opts = AppOptions(mode=None, state_dir=tmp_path, lan=False)

    async def scenario() -> int:
        QTimer.singleShot(50, lambda: [w.close() for w in top_level(Launcher)])
        return await _main(opts, SettingsHolder(Settings(), tmp_path / "config"))

    assert run(scenario(), timeout=10) == 0


def test_uncaught_errors_are_logged_and_shown(qtbot, run, caplog):
    reports: list[tuple[str, str]] = []
    loop = asyncio.get_event_loop()
    install_exception_hooks(loop, lambda text, details: reports.append((text, details)))

    async def broken() -> None:
        raise ValueError("the disk is full")

    async def scenario() -> None:
        with caplog.at_level(logging.ERROR):
            task = asyncio.ensure_future(broken())
            await asyncio.sleep(0.05)
            del task  # never awaited: only the loop's handler sees it
            import gc

            gc.collect()
            await asyncio.sleep(0.05)

    run(scenario())
    assert reports and reports[0][0] == "the disk is full"
    assert "ValueError" in reports[0][1]
    assert "the disk is full" in caplog.text

    import sys

    reports.clear()
    try:
        raise RuntimeError("a slot failed")
    except RuntimeError:
        sys.excepthook(*sys.exc_info())
    assert reports[0][0] == "a slot failed"
