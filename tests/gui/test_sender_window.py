"""The sender window: code entry, monitor picker, a cast from the window, error states."""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest
from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QApplication
from xvfb import xsetroot, xvfb

from castapp.gui import texts
from castapp.gui.app import AppOptions, open_sender
from castapp.gui.common import SettingsHolder
from castapp.gui.i18n import translations
from castapp.gui.monitors import MonitorPicker
from castapp.links import make_link
from castapp.rtc.capture import SyntheticSource
from castapp.session.receiver import ReceiverSession, ReceiverState
from castapp.session.sender import SenderState
from castapp.settings import Settings
from castapp.signaling.client import ServiceUnreachableError, UnknownCodeError

pytestmark = pytest.mark.timeout(90)


def synthetic(preset, monitor):
    return SyntheticSource(640, 360, fps=30)


def make_window(qtbot, tmp_path, **opts):
    holder = SettingsHolder(Settings(), tmp_path / "config")
    window, controller = open_sender(AppOptions(mode="send", state_dir=tmp_path, lan=False, **opts),
                                     holder, source_factory=synthetic)
    qtbot.addWidget(window)
    window.show()
    return window, controller, holder


def test_code_entry_validates_as_you_type(qtbot, run, tmp_path):
    window, _, _ = make_window(qtbot, tmp_path)
    assert not window.button.isEnabled()
    assert window.status_line.text() == "Type the code shown on the TV."
    qtbot.keyClicks(window.code, "48")
    assert window.hint.text() == "4 more digits"
    assert not window.button.isEnabled()
    qtbot.keyClicks(window.code, "291")
    assert window.hint.text() == "1 more digit"
    qtbot.keyClick(window.code, Qt.Key.Key_Backspace)
    qtbot.keyClick(window.code, Qt.Key.Key_Backspace)
    qtbot.keyClick(window.code, Qt.Key.Key_Backspace)
    qtbot.keyClicks(window.code, "x")
    assert "not a cast code" in window.hint.text()
    window.code.clear()
    QApplication.clipboard().setText(" 482 913 ")
    window.code.paste()
    assert window.hint.text() == "Ready: 482 913"
    # the status line does not contradict the hint with "Type the code"
    assert window.status_line.text() == ""
    assert window.button.isEnabled() and window.button.text() == "Cast"
    with qtbot.waitSignal(window.cast_requested, timeout=2000) as sig:
        qtbot.keyClick(window.code, Qt.Key.Key_Return)
    assert sig.args == [" 482 913 "]
    # Enter in the room-service field casts too
    with qtbot.waitSignal(window.cast_requested, timeout=2000) as sig:
        qtbot.keyClick(window.server, Qt.Key.Key_Return)
    assert sig.args == [" 482 913 "]

    window.code.setText(make_link("10.1.2.3", 8765, "482913"))
    assert window.hint.text() == "Ready: 482 913 @ 10.1.2.3"
    window.code.setText("castapp://10.1.2.3:8765/12")
    assert window.hint.text() == "This castapp link is not valid."
    assert not window.button.isEnabled()


def test_monitor_picker_lists_the_screens_of_an_x_server(qtbot, run):
    with xvfb(1024, 768) as display:
        xsetroot(display, "-solid", "#ff0000")
        picker = MonitorPicker(display)
        qtbot.addWidget(picker)
        picker.load(selected=1)
        assert picker.count() == 1
        assert "1024×768" in picker.item(0).text()
        assert picker.selected_index() == 1
        run(picker.refresh())
        image = picker.item(0).icon().pixmap(QSize(240, 135)).toImage()
        assert not image.isNull()
        colour = image.pixelColor(image.width() // 2, image.height() // 2)
        assert colour.red() >= 250 and (colour.green(), colour.blue()) == (0, 0)


def test_picker_says_when_there_is_no_screen(qtbot):
    picker = MonitorPicker(":9999")
    qtbot.addWidget(picker)
    picker.load()
    assert picker.count() == 0 and picker.error


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_error_states_are_worded(qtbot, run, tmp_path, room_server):
    window, controller, _ = make_window(qtbot, tmp_path)
    # a code with no room service address and nothing found
    run(controller.cast("482913"))
    said = window.status_line.text()
    # a mistyped code is the likelier mistake: said first, then the address to type
    assert said.startswith("No receiver on this network has this code.")
    assert said.index("this code") < said.index("room service address")
    # in the window's language, also after a switch
    translations.install("zh_CN")
    qtbot.waitUntil(lambda: window.status_line.text() != said)
    assert window.status_line.text().startswith("此网络上没有接收端使用这个投屏码。")
    translations.install("en")
    qtbot.waitUntil(lambda: window.status_line.text() == said)
    # a wrong code
    window.server.setText(room_server.url)
    window.code.setText("000000")
    assert window.hint.text() == "Ready: 000 000"
    run(controller.cast("000000"))
    assert window.status.state is SenderState.IDLE
    assert window.status_line.text() == texts.error_text(UnknownCodeError("x"))
    assert "No receiver is showing this code" in window.status_line.text()
    assert window.button.text() == "Cast"
    # the hint under the code no longer says "Ready: 000 000" beside that, until it changes
    assert window.hint.text() == ""
    qtbot.keyClick(window.code, Qt.Key.Key_Backspace)
    qtbot.keyClicks(window.code, "1")
    assert window.hint.text() == "Ready: 000 001"
    # a room service that is not there
    window.server.setText(f"127.0.0.1:{free_port()}")
    run(controller.cast("482913"))
    assert window.status_line.text() == texts.error_text(ServiceUnreachableError("x"))
    # a server address that cannot be one
    window.server.setText("bad host:1")
    run(controller.cast("482913"))
    assert "not valid" in window.status_line.text()


def test_cast_from_the_window_with_tray_and_stop(qtbot, run, tmp_path, room_server, loopback_ice):
    window, controller, holder = make_window(qtbot, tmp_path, name="Ada")
    receiver = ReceiverSession(room_server.url, name="Meeting room")

    async def scenario() -> None:
        status = await receiver.start()
        try:
            window.server.setText(room_server.url)
            window.code.setText(status.display_code)
            assert window.hint.text().startswith("Ready: ")
            await controller.cast(status.display_code)
            await receiver.wait_for(ReceiverState.RECEIVING, timeout=20)
            assert receiver.status.sender == "Ada"
            assert window.hint.text() == ""  # the status line says where it casts
            assert window.status.state is SenderState.CASTING
            assert window.status_line.text() == "Casting to Meeting room (direct)"
            assert window.button.text() == "Stop" and not window.code.isEnabled()
            assert window.tray.toolTip() == f"Casting to {status.display_code}"
            assert window.tray_stop.text().startswith(f"Casting to {status.display_code}")
            window.tray_stop.trigger()  # Stop from the tray menu
            await receiver.wait_for(ReceiverState.WAITING)
            assert window.status.state is SenderState.IDLE
            assert window.button.text() == "Cast" and window.code.isEnabled()
            assert window.hint.text().startswith("Ready: ")  # to cast again
        finally:
            await controller.close()
            await receiver.stop()

    before = set(threading.enumerate())
    run(scenario(), timeout=60)
    assert holder.current.server == room_server.url  # remembered for next time
    # the window closed right after a Stop: the cast's capture and Auto threads ended
    left = [t.name for t in set(threading.enumerate()) - before
            if t.name in ("castapp-synthetic", "castapp-content")]
    assert left == []


def test_receiver_closing_ends_the_cast_with_a_message(qtbot, run, tmp_path, room_server,
                                                       loopback_ice):
    window, controller, _ = make_window(qtbot, tmp_path)
    receiver = ReceiverSession(room_server.url, name="TV")

    async def scenario() -> None:
        status = await receiver.start()
        window.server.setText(room_server.url)
        try:
            await controller.cast(status.code)
            await receiver.wait_for(ReceiverState.RECEIVING, timeout=20)
        finally:
            await receiver.stop()
        deadline = asyncio.get_running_loop().time() + 10
        while window.status.state is not SenderState.ENDED:
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.05)
        await controller.close()

    run(scenario(), timeout=40)
    assert window.status_line.text() == texts.ended_text(window.status.ended)
    assert window.button.text() == "Cast"


def test_an_untrusted_certificate_is_named_in_the_window(qtbot, run, tmp_path, room_key):
    import subprocess

    from castapp.signaling.server import RoomServer, ServiceConfig
    from castapp.signaling.tokens import TokenSigner

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    server = RoomServer(ServiceConfig(host="127.0.0.1", port=0, tls_cert=cert, tls_key=key),
                        TokenSigner(room_key))
    window, controller, _ = make_window(qtbot, tmp_path)

    async def scenario() -> None:
        await server.start()
        try:
            window.server.setText(server.url)
            await controller.cast("482913")
        finally:
            await controller.close()
            await server.stop()

    run(scenario(), timeout=30)
    assert window.status_line.text() == \
        "The room service's TLS certificate is not trusted by this computer."
    assert window.button.text() == "Cast"


def test_a_name_given_on_the_command_line_is_the_one_cast(qtbot, run, tmp_path):
    holder = SettingsHolder(Settings(display_name="Ada"), tmp_path / "config")
    window, _ = open_sender(
        AppOptions(mode="send", state_dir=tmp_path, lan=False, name="Grace's laptop"), holder,
        source_factory=synthetic)
    qtbot.addWidget(window)
    assert window.name.text() == "Grace's laptop"
    plain, _ = open_sender(AppOptions(mode="send", state_dir=tmp_path, lan=False), holder,
                           source_factory=synthetic)
    qtbot.addWidget(plain)
    assert plain.name.text() == "Ada"  # without --name, the saved one
