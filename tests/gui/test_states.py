"""Every state a session reports renders as words in the windows."""

from __future__ import annotations

from castapp.gui.app import AppOptions, open_receiver, open_sender
from castapp.gui.common import SettingsHolder
from castapp.rtc.diagnose import Diagnosis
from castapp.rtc.peer import Route
from castapp.session.receiver import ReceiverState, ReceiverStatus
from castapp.session.sender import EndReason, SenderState, SenderStatus
from castapp.settings import Settings


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
