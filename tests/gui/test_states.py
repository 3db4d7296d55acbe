"""Every state a session reports renders as words in the windows."""

from __future__ import annotations

import asyncio
import subprocess

from castapp.gui.app import AppOptions, open_receiver, open_sender
from castapp.gui.common import SettingsHolder
from castapp.gui.i18n import translations
from castapp.rtc.diagnose import Diagnosis
from castapp.rtc.peer import Route
from castapp.session.receiver import ReceiverSession, ReceiverState, ReceiverStatus
from castapp.session.sender import EndReason, SenderState, SenderStatus
from castapp.settings import Settings
from castapp.signaling.rooms import RoomConfig
from castapp.signaling.server import RoomServer, ServiceConfig
from castapp.signaling.tokens import TokenSigner


def test_receiver_states(qtbot, tmp_path):
    window, _ = open_receiver(AppOptions(mode="receive", state_dir=tmp_path, lan=False),
                              SettingsHolder(Settings()))
    qtbot.addWidget(window)
    window.show()
    window.show_status(ReceiverStatus(ReceiverState.WAITING, code="482913",
                                      display_code="482 913"))
    assert window.code_page.code.text() == "482 913"
    assert window.code_page.status.text() == ""
    window.show_status(ReceiverStatus(ReceiverState.WAITING, code="482913",
                                      display_code="482 913", service_ok=False,
                                      retry_in_s=5.0))
    assert window.code_page.status.text() == "Room service unreachable — retrying in 5 s"
    assert window.pages.currentWidget() is window.code_page

    window.show_status(ReceiverStatus(ReceiverState.CONNECTING, sender="Ada"))
    assert window.code_page.status.text() == "Ada is connecting…"
    window.show_status(ReceiverStatus(ReceiverState.RECEIVING, sender="Ada", route=Route.RELAY))
    assert window.pages.currentWidget() is window.video
    assert window.banner.isVisible()
    assert window.banner.text() == "Ada is casting · relayed"
    window.show_status(ReceiverStatus(ReceiverState.RECONNECTING, sender="Ada"))
    assert window.pages.currentWidget() is window.video, "the last picture stays"
    # the tile says it over the last picture
    assert window.wall.calls()[0].phase.value == "reconnecting"
    assert window.wall.reconnecting_text == "Reconnecting…"
    window.show_status(ReceiverStatus(ReceiverState.RECEIVING, sender="Ada", route=Route.NAT))
    assert window.banner.text() == "Ada is casting · through NAT"
    window.show_status(ReceiverStatus(ReceiverState.RECEIVING, sender="Ada", route=Route.NAT,
                                      service_ok=False, retry_in_s=2.0))
    assert window.banner.text() == "Room service unreachable — retrying in 2 s"
    window.show_status(ReceiverStatus(ReceiverState.WAITING, code="482913",
                                      display_code="482 913"))
    assert window.pages.currentWidget() is window.code_page
    assert not window.banner.isVisible()


def test_sender_states(qtbot, tmp_path):
    window, _ = open_sender(AppOptions(mode="send", state_dir=tmp_path, lan=False),
                            SettingsHolder(Settings(), tmp_path / "config"))
    qtbot.addWidget(window)
    window.set_code_shown("482913")
    cases = [
        (SenderStatus(SenderState.JOINING), "Looking for 482 913…"),
        (SenderStatus(SenderState.CONNECTING, receiver="TV"), "Connecting to TV…"),
        (SenderStatus(SenderState.CASTING, receiver="TV", route=Route.DIRECT),
         "Casting to TV (direct)"),
        (SenderStatus(SenderState.RECONNECTING, receiver="TV"),
         "Connection lost — reconnecting to TV…"),
        (SenderStatus(SenderState.WAITING, receiver="TV"),
         "The receiver dropped out — waiting for it to come back…"),
        (SenderStatus(SenderState.CASTING, receiver="TV", service_ok=False, retry_in_s=3),
         "Room service unreachable — retrying in 3 s"),
        (SenderStatus(SenderState.ENDED, ended=EndReason.MEDIA_FAILED,
                      diagnosis=Diagnosis.TURN_REFUSED),
         "The TURN server refused the credentials."),
        (SenderStatus(SenderState.ENDED, ended=EndReason.MEDIA_FAILED,
                      diagnosis=Diagnosis.NO_PATH_NO_TURN),
         "No direct path between the two networks and no TURN server configured."),
        (SenderStatus(SenderState.ENDED, ended=EndReason.RECEIVER_BUSY),
         "The receiver is showing someone else's screen."),
    ]
    for status, words in cases:
        window.show_status(status)
        assert window.status_line.text() == words, status
    window.show_status(SenderStatus(SenderState.RECONNECTING))
    assert window.button.text() == "Stop"
    window.show_status(SenderStatus(SenderState.ENDED, ended=EndReason.ROOM_CLOSED))
    assert window.button.text() == "Cast"


async def _until(check, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.05)


def _receiver_on(qtbot, tmp_path, url: str):
    window, controller = open_receiver(
        AppOptions(mode="receive", state_dir=tmp_path, server=url, lan=False),
        SettingsHolder(Settings()))
    qtbot.addWidget(window)
    window.show()
    return window, controller


def test_receiver_window_leaves_starting_with_the_reason_in_both_languages(qtbot, run, tmp_path,
                                                                         room_key):
    config = ServiceConfig(host="127.0.0.1", port=0, rooms=RoomConfig(registrations=1))
    server = RoomServer(config, TokenSigner(room_key))

    async def scenario() -> None:
        await server.start()
        first = ReceiverSession(server.url, name="first")
        await first.start()  # uses up this address's registrations
        window, controller = _receiver_on(qtbot, tmp_path, server.url)
        try:
            await controller.start()
            await _until(lambda: controller.failure is not None)
            assert controller.failure.code == "rate_limited"
            line = window.code_page.status.text()
            assert line.startswith("Too many attempts. Wait a moment and try again.")
            translations.install("zh_CN")
            await _until(lambda: window.code_page.status.text() != line)
            assert window.code_page.status.text().startswith("尝试次数过多。请稍候再试。")
        finally:
            translations.install("en")
            await controller.stop()
            await first.stop()
            await server.stop()

    run(scenario(), timeout=40)


def test_receiver_window_names_an_untrusted_certificate(qtbot, run, tmp_path, room_key):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    server = RoomServer(ServiceConfig(host="127.0.0.1", port=0, tls_cert=cert, tls_key=key),
                        TokenSigner(room_key))

    async def scenario() -> None:
        await server.start()
        window, controller = _receiver_on(qtbot, tmp_path, server.url)
        try:
            await controller.start()
            await _until(lambda: controller.failure is not None)
            assert window.code_page.status.text() == \
                "The room service's TLS certificate is not trusted by this computer."
            assert window.status.state is not ReceiverState.WAITING
        finally:
            await controller.stop()
            await server.stop()

    run(scenario(), timeout=40)


def test_receiver_window_says_it_cannot_listen(qtbot, run, tmp_path):
    # an address this machine does not have: binding fails, nothing is sent anywhere
    window, controller = open_receiver(
        AppOptions(mode="receive", state_dir=tmp_path, listen=("192.0.2.1", 8765), lan=False),
        SettingsHolder(Settings()))
    qtbot.addWidget(window)
    window.show()
    try:
        run(controller.start())
        assert controller.failure is not None and controller.failure.code == "cannot_listen"
        assert window.code_page.status.text().startswith(
            "Cannot start the room service on 192.0.2.1:8765: ")
    finally:
        run(controller.stop())
