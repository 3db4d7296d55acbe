"""The TV as an appliance: autostart entry, screensaver held off while casting, banners."""

from __future__ import annotations

import configparser
import os
import shlex
from dataclasses import dataclass, replace

import pytest
from frames import COLOURS, Decoded
from PySide6.QtCore import ClassInfo, QObject, QSize, Slot
from PySide6.QtDBus import QDBusConnection, QDBusMessage
from room_driver import RoomDriver

from castapp.gui import kiosk
from castapp.gui.receiver_window import ReceiverWindow
from castapp.rtc.peer import PeerStats
from castapp.session.receiver import ReceiverState, ReceiverStatus
from castapp.session.room import CallPhase, CallView

pytestmark = pytest.mark.timeout(60)


def test_autostart_entry_is_written_and_removed(tmp_path):
    path = tmp_path / "autostart" / "castapp-receiver.desktop"
    assert not kiosk.autostart_enabled(path)
    written = kiosk.write_autostart(path, ["/opt/cast app/bin/castapp", "receive", "--kiosk"])
    assert written == path and kiosk.autostart_enabled(path)
    entry = configparser.ConfigParser(interpolation=None)
    entry.read(path, encoding="utf-8")
    section = entry["Desktop Entry"]
    assert section["Type"] == "Application"
    assert shlex.split(section["Exec"]) == ["/opt/cast app/bin/castapp", "receive", "--kiosk"]
    assert kiosk.remove_autostart(path) and not path.exists()
    assert not kiosk.remove_autostart(path)


def test_default_autostart_path_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert kiosk.autostart_path() == tmp_path / "autostart" / "castapp-receiver.desktop"
    command = kiosk.default_command()
    assert command[-2:] == ["receive", "--kiosk"]


def test_the_menu_turns_start_at_login_on_and_off(qtbot, tmp_path):
    window = ReceiverWindow("TV", tmp_path / "shots")
    qtbot.addWidget(window)
    window.autostart_path = tmp_path / "autostart" / "castapp-receiver.desktop"
    window.show()
    act = window.act_autostart
    window.build_menu()
    assert not act.isChecked()
    act.trigger()
    assert window.autostart_path.is_file() and act.isChecked()
    assert str(window.autostart_path) in window.banner.text() and window.banner.isVisible()
    act.trigger()
    assert not window.autostart_path.exists() and not act.isChecked()


@ClassInfo({"D-Bus Interface": "org.freedesktop.ScreenSaver"})
class ScreenSaverService(QObject):
    """The desktop's screensaver as seen over D-Bus (none runs here), on a private bus."""

    def __init__(self) -> None:
        super().__init__()
        self.reasons: list[tuple[str, str]] = []

    @Slot(str, str, result="uint")
    def Inhibit(self, application: str, reason: str) -> int:
        self.reasons.append((application, reason))
        return 7 + len(self.reasons)

    @Slot("uint")
    def UnInhibit(self, cookie: int) -> None:
        pass


def bus_names(bus: QDBusConnection) -> list[str]:
    msg = QDBusMessage.createMethodCall("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                        "org.freedesktop.DBus", "ListNames")
    return list(bus.call(msg).arguments()[0])


def test_the_screensaver_is_held_off_only_while_casting(qtbot, tmp_path, session_bus):
    service = ScreenSaverService()
    bus = QDBusConnection.connectToBus(session_bus, "screensaver-service")
    assert bus.registerService("org.freedesktop.ScreenSaver")
    assert bus.registerObject("/org/freedesktop/ScreenSaver", service,
                              QDBusConnection.RegisterOption.ExportAllSlots)
    try:
        inhibitor = kiosk.ScreenSaverInhibitor(address=session_bus)
        window = ReceiverWindow("TV", tmp_path / "shots", inhibitor=inhibitor)
        qtbot.addWidget(window)
        window.show()
        driver = RoomDriver(window)
        window.set_controls(driver)
        driver.add(CallView("a", "Ada", CallPhase.ASKING))
        assert inhibitor.connection_name is None, "not while only asking"
        driver.allow("a")
        qtbot.waitUntil(lambda: inhibitor.inhibited)
        assert service.reasons == [("castapp", "Showing a cast")]
        holder = QDBusConnection(inhibitor.connection_name).baseService()
        assert holder in bus_names(bus)
        driver.add(CallView("b", "Bob", CallPhase.SHOWING))
        assert len(service.reasons) == 1, "one hold for the whole wall"
        driver.stop_call("a")
        assert inhibitor.inhibited
        driver.stop_call("b")
        assert not inhibitor.inhibited
        # the hold's connection left the bus: the screensaver service drops its holds
        qtbot.waitUntil(lambda: holder not in bus_names(bus))
    finally:
        bus.unregisterObject("/org/freedesktop/ScreenSaver")
        QDBusConnection.disconnectFromBus("screensaver-service")


def test_without_a_session_bus_casting_goes_on(qtbot, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path}/no-bus-here")
    inhibitor = kiosk.ScreenSaverInhibitor()
    window = ReceiverWindow("TV", tmp_path / "shots", inhibitor=inhibitor)
    qtbot.addWidget(window)
    window.show()
    caplog.set_level("INFO", logger="castapp.gui.kiosk")
    window.show_calls((CallView("a", "Ada", CallPhase.SHOWING),))
    assert not inhibitor.inhibited
    assert "not held off" in caplog.text
    window.show_calls(())
    assert os.environ["DBUS_SESSION_BUS_ADDRESS"].endswith("no-bus-here")


def test_snapshot_banner_says_the_folder(qtbot, tmp_path):
    window = ReceiverWindow("TV", tmp_path / "pictures" / "castapp")
    qtbot.addWidget(window)
    window.resize(1280, 720)
    window.show()
    window.show_calls((CallView("a", "Ada", CallPhase.SHOWING, verified=True),))
    window.frame_for("a", Decoded(640, 360).frame(COLOURS["green"], 5))
    path = window.save_snapshot()
    assert path is not None and path.parent == tmp_path / "pictures" / "castapp"
    assert window.banner.isVisible()
    assert str(path.parent) in window.banner.text() and path.name in window.banner.text()


def test_no_empty_banner_flashes_when_a_cast_starts(qtbot, tmp_path):
    window = ReceiverWindow("TV", tmp_path / "shots")
    qtbot.addWidget(window)
    window.show()
    shown: list[str] = []

    class Watch(QObject):
        def eventFilter(self, obj, event):
            if event.type() == event.Type.Show:
                shown.append(window.banner.text())
            return False

    watch = Watch()
    window.banner.installEventFilter(watch)
    window.show_status(ReceiverStatus(ReceiverState.CONNECTING, sender="Ada"))
    window.show_status(ReceiverStatus(ReceiverState.RECEIVING, sender="Ada"))
    window.show_frame(Decoded(640, 360).frame(COLOURS["red"], 1))
    window.banner.show_for(1.0)  # nothing new to say: stays as it is, never blank
    window.banner.set_text("")
    window.banner.show_for(1.0)
    assert shown and all(text.strip() for text in shown), shown
    assert not window.banner.isVisible()


def test_statistics_show_the_latency_the_tv_can_estimate(qtbot, tmp_path):
    window = ReceiverWindow("TV", tmp_path / "shots")
    qtbot.addWidget(window)
    window.resize(1280, 720)
    window.show()
    driver = RoomDriver(window)
    driver.add(CallView("a", "Ada", CallPhase.SHOWING, verified=True))
    driver.add(CallView("b", "Bob", CallPhase.SHOWING, verified=True))
    for peer, colour in (("a", "red"), ("b", "blue")):
        window.frame_for(peer, Decoded(640, 360).frame(COLOURS[colour], 1))
    qtbot.waitUntil(lambda: window.wall.up_to_date("a") and window.wall.up_to_date("b"))
    stats = PeerStats(at=0.0, codec="video/H264", bytes_sent=0, bytes_received=10_000,
                      packets_sent=0, packets_received=10, packets_lost=0, rtt_ms=24.0,
                      ice=None, recv_kbps=2500.0, fps=30.0, width=640, height=360)
    window.show_stats(stats, None, "a")
    window.set_stats_visible(True)
    text = window.stats_box.text()
    assert window.stats_box.isVisible()
    assert text.splitlines()[0] == "Ada", "the focused presenter's statistics"
    assert "Latency estimate:" in text and "network 12" in text
    delay = window.wall.paint_delay_s("a")
    assert delay is not None and 0 <= delay < 5


def test_a_late_frame_after_the_cast_does_not_bring_the_picture_back(qtbot, tmp_path):
    window = ReceiverWindow("TV", tmp_path / "shots")
    qtbot.addWidget(window)
    window.show()
    window.show_status(ReceiverStatus(ReceiverState.RECEIVING, sender="Ada"))
    window.show_frame(Decoded(640, 360).frame(COLOURS["red"], 1))
    assert window.pages.currentWidget() is window.wall
    window.show_status(ReceiverStatus(ReceiverState.WAITING, code="482913",
                                      display_code="482 913"))
    window.show_frame(Decoded(640, 360).frame(COLOURS["red"], 2))
    assert window.pages.currentWidget() is window.code_page
    assert window.wall.calls() == []


@dataclass(frozen=True)
class RoomStatus(ReceiverStatus):
    """The receiver status with the meeting room's calls, as the session publishes it."""

    calls: tuple[CallView, ...] = ()


def test_a_status_with_calls_drives_the_wall(qtbot, tmp_path):
    window = ReceiverWindow("TV", tmp_path / "shots")
    qtbot.addWidget(window)
    window.show()
    ada = CallView("a", "Ada", CallPhase.SHOWING, verified=True)
    bob = CallView("b", "Bob", CallPhase.ASKING)
    window.show_status(RoomStatus(ReceiverState.RECEIVING, code="482913",
                                  display_code="482 913", calls=(ada, bob)))
    assert window.pages.currentWidget() is window.wall
    assert window.banner.isVisible() and window.banner.text() == "Ada is casting"
    assert window.prompts.approval.question.text() == "Bob wants to present"
    assert window.wall.corner.code.text() == "482 913"
    window.show_status(RoomStatus(ReceiverState.RECEIVING, code="482913",
                                  display_code="482 913", service_ok=False, retry_in_s=3.0,
                                  calls=(ada, replace(bob, phase=CallPhase.SHOWING))))
    assert window.banner.text() == "Room service unreachable — retrying in 3 s"
    assert [c.peer_id for c in window.wall.calls()] == ["a", "b"]
    window.show_status(RoomStatus(ReceiverState.WAITING, code="482913",
                                  display_code="482 913", calls=()))
    assert window.pages.currentWidget() is window.code_page
    assert not window.banner.isVisible()


def test_statistics_show_the_frame_age_when_the_receiver_knows_it(qtbot, tmp_path):
    window = ReceiverWindow("TV", tmp_path / "shots")
    qtbot.addWidget(window)
    window.resize(1280, 720)
    window.show()
    driver = RoomDriver(window)
    driver.add(CallView("a", "Ada", CallPhase.SHOWING, verified=True))
    frame = Decoded(640, 360).frame(COLOURS["red"], 1)
    window.frame_for("a", replace(frame, age_s=0.037))
    qtbot.waitUntil(lambda: window.wall.up_to_date("a"))
    stats = PeerStats(at=0.0, codec="video/H264", bytes_sent=0, bytes_received=10_000,
                      packets_sent=0, packets_received=10, packets_lost=0, rtt_ms=24.0,
                      ice=None, recv_kbps=2500.0, fps=30.0, width=640, height=360,
                      frame_age_ms=37.0)
    window.show_stats(stats, None, "a")
    window.set_stats_visible(True)
    text = window.stats_box.text()
    assert "Frame age: 37 ms" in text and "Latency estimate" not in text


@pytest.mark.parametrize("kiosk_mode", [False, True], ids=["full-screen", "kiosk"])
def test_full_screen_fills_a_display_without_a_window_manager(qtbot, tmp_path, kiosk_mode):
    # the tests' Xvfb runs no window manager, as a TV box's bare X server started by xinit:
    # Qt marks the window full screen, and only the window itself can make it fill the screen
    window = ReceiverWindow("TV", tmp_path / "shots")
    qtbot.addWidget(window)
    window.resize(800, 450)
    window.start_shown(True, kiosk_mode=kiosk_mode)
    screen = window.screen().geometry()
    qtbot.waitUntil(lambda: window.geometry() == screen, timeout=3000)
    assert window.isFullScreen() and screen.width() > 800
    if not kiosk_mode:  # F11 leaves full screen and comes back to the whole screen
        window.toggle_fullscreen()
        qtbot.waitUntil(lambda: not window.isFullScreen(), timeout=3000)
        small = window.minimumSize().expandedTo(QSize(1000, 600))
        window.resize(small)
        qtbot.waitUntil(lambda: window.size() == small, timeout=3000)
        window.toggle_fullscreen()
        qtbot.waitUntil(lambda: window.geometry() == screen, timeout=3000)
    assert not kiosk.fill_screen_if_unmanaged(window)  # nothing left to do
