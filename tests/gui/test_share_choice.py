"""The sender's Screen / Window / Region choice and the pointer switch."""

from __future__ import annotations

import pytest
from Xlib import X
from Xlib import display as xdisplay
from xvfb import xsetroot, xvfb

from castapp.gui.common import SettingsHolder
from castapp.gui.share_choice import ShareChoice
from castapp.rtc.capture import Region
from castapp.rtc.capture_source import CaptureSpecError
from castapp.settings import Settings

pytestmark = pytest.mark.timeout(60)


def test_modes_give_capture_specs_and_are_remembered(qtbot, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("XDG_SESSION_TYPE", raising=False)
    with xvfb(1280, 720) as display:
        xsetroot(display, "-solid", "#202020")
        d = xdisplay.Display(display)
        screen = d.screen()
        win = screen.root.create_window(50, 60, 300, 200, 0, screen.root_depth, X.InputOutput,
                                        X.CopyFromParent, override_redirect=True)
        win.set_wm_name("Quarterly slides")
        win.map()
        d.sync()
        try:
            holder = SettingsHolder(Settings(), tmp_path / "cfg")
            choice = ShareChoice(holder, display)
            qtbot.addWidget(choice)
            choice.show()
            choice.monitors.load()
            spec = choice.spec()
            assert (spec.monitor, spec.region, spec.window, spec.pointer) == (1, None, None, True)

            choice.pointer.setChecked(False)
            assert holder.current.pointer is False and choice.spec().pointer is False

            choice.mode.setCurrentIndex(1)  # one window
            assert holder.current.share == "window"
            assert not choice.monitors.isVisible()
            titles = [choice.windows.itemText(i) for i in range(choice.windows.count())]
            assert any(t.startswith("Quarterly slides") for t in titles), titles
            choice.windows.setCurrentIndex(
                next(i for i, t in enumerate(titles) if t.startswith("Quarterly")))
            assert choice.spec().window == hex(win.id)

            choice.mode.setCurrentIndex(2)  # a region
            with pytest.raises(CaptureSpecError, match="Enter the part"):
                choice.spec()
            choice.region.setText("10, 20, 640x360")
            choice.region.editingFinished.emit()
            assert choice.spec().region == Region(10, 20, 640, 360)
            assert holder.current.region == "10, 20, 640x360"
            choice.region.setText("ten,20,1,1")
            with pytest.raises(CaptureSpecError, match="X,Y,WIDTH,HEIGHT"):
                choice.spec()

            again = ShareChoice(holder, display)
            qtbot.addWidget(again)
            assert again.current_mode() == "region" and not again.pointer.isChecked()
        finally:
            d.close()


def test_wayland_session_leaves_the_window_choice_to_the_system(qtbot, tmp_path, monkeypatch) -> None:  # noqa: E501
    monkeypatch.setenv("XDG_SESSION_TYPE", "wayland")
    holder = SettingsHolder(Settings(share="window"), tmp_path / "cfg")
    choice = ShareChoice(holder, ":9999")
    qtbot.addWidget(choice)
    choice.show()
    assert choice.portal_note.isVisible() and not choice.windows.isVisible()
    assert choice.spec().window == ""
    choice.mode.setCurrentIndex(0)  # whole screen: the dialog picks it, no picker
    assert choice.portal_note.isVisible() and not choice.monitors.isVisible()
    assert choice.spec().window is None


def test_region_is_dragged_on_the_screen(qtbot, tmp_path, monkeypatch) -> None:
    from PySide6.QtCore import QPoint, Qt

    from castapp.gui.region_select import RegionSelector
    from castapp.rtc.capture import MonitorInfo

    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("XDG_SESSION_TYPE", raising=False)
    holder = SettingsHolder(Settings(share="region"), tmp_path / "cfg")
    choice = ShareChoice(holder, ":9999")  # no X server for mss: a plain background
    qtbot.addWidget(choice)
    choice.show()
    selector = choice.drag_region()
    qtbot.addWidget(selector)
    qtbot.waitExposed(selector)
    assert selector.geometry() == selector.screen().geometry(), "covers the monitor"
    qtbot.mousePress(selector, Qt.MouseButton.LeftButton, pos=QPoint(100, 50))
    qtbot.mouseMove(selector, QPoint(400, 250))
    with qtbot.waitSignal(selector.selected, timeout=2000) as sig:
        qtbot.mouseRelease(selector, Qt.MouseButton.LeftButton, pos=QPoint(400, 250))
    assert sig.args == [Region(100, 50, 300, 200)]
    assert choice.region.text() == "100,50,300,200"
    assert choice.spec().region == Region(100, 50, 300, 200)
    assert holder.current.region == "100,50,300,200"

    # A tiny drag is not a region; Esc cancels.
    other = RegionSelector(MonitorInfo(1, 0, 0, 3200, 1800))  # a 2x scaled monitor
    qtbot.addWidget(other)
    other.resize(1600, 900)
    other.show()
    qtbot.mousePress(other, Qt.MouseButton.LeftButton, pos=QPoint(10, 10))
    qtbot.mouseRelease(other, Qt.MouseButton.LeftButton, pos=QPoint(12, 12))
    assert other.isVisible() and other.region() is None
    qtbot.mousePress(other, Qt.MouseButton.LeftButton, pos=QPoint(10, 10))
    qtbot.mouseMove(other, QPoint(110, 60))
    assert other.region() == Region(20, 20, 200, 100), "monitor pixels, not widget pixels"
    with qtbot.waitSignal(other.cancelled, timeout=2000):
        qtbot.keyClick(other, Qt.Key.Key_Escape)
