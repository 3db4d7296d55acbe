"""The TV in charge: approval prompts and PINs answered from a keyboard or remote, the menu."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
from frames import COLOURS, Decoded
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics, QImage
from PySide6.QtWidgets import QInputDialog
from room_driver import RoomDriver

from castapp import settings as settings_mod
from castapp.gui.common import SettingsHolder
from castapp.gui.i18n import translations
from castapp.gui.receiver_window import ReceiverWindow
from castapp.session.receiver import ReceiverState, ReceiverStatus
from castapp.session.room import AdmissionMode, CallPhase, CallView
from castapp.settings import Settings

pytestmark = pytest.mark.timeout(60)
SHOTS = Path("/tmp/castapp-prompts")


def open_tv(qtbot, tmp_path: Path) -> tuple[ReceiverWindow, RoomDriver]:
    window = ReceiverWindow("Meeting room", tmp_path / "shots")
    qtbot.addWidget(window)
    driver = RoomDriver(window)
    window.set_controls(driver)
    window.set_link("castapp://127.0.0.1:8765/482913")
    window.show_status(ReceiverStatus(ReceiverState.WAITING, code="482913",
                                      display_code="482 913"))
    window.resize(1600, 900)
    window.move(0, 0)
    window.show()
    qtbot.waitExposed(window)
    return window, driver


def save(window: ReceiverWindow, name: str) -> QImage:
    SHOTS.mkdir(exist_ok=True)
    image = window.grab().toImage()
    image.save(str(SHOTS / f"{name}.png"))
    return image


def test_allow_with_the_keyboard_puts_the_presenter_on_screen(qtbot, tmp_path):
    window, driver = open_tv(qtbot, tmp_path)
    driver.add(CallView("ada", "Ada's laptop", CallPhase.ASKING))
    prompt = window.prompts.approval
    assert window.prompts.isVisible() and prompt.isVisible()
    assert prompt.question.text() == "Ada's laptop wants to present"
    assert prompt.choice_allow, "Allow is chosen first"
    assert window.pages.currentWidget() is window.code_page, "nothing shown before Allow"
    save(window, "asking")
    qtbot.keyClick(window, Qt.Key.Key_Right)
    assert not prompt.choice_allow
    qtbot.keyClick(window, Qt.Key.Key_Left)
    assert prompt.choice_allow
    qtbot.keyClick(window, Qt.Key.Key_Return)
    assert driver.asked == [("allow", "ada")]
    assert not window.prompts.isVisible()
    driver.set_phase("ada", CallPhase.SHOWING)
    window.frame_for("ada", Decoded(640, 360).frame(COLOURS["red"], 3))
    assert window.pages.currentWidget() is window.wall


def test_deny_with_the_keyboard(qtbot, tmp_path):
    window, driver = open_tv(qtbot, tmp_path)
    denied = []
    window.deny_requested.connect(denied.append)
    driver.add(CallView("eve", "Eve", CallPhase.ASKING))
    qtbot.keyClick(window, Qt.Key.Key_Right)
    qtbot.keyClick(window, Qt.Key.Key_Enter)
    assert driver.asked == [("deny", "eve")] and denied == ["eve"]
    assert not window.prompts.isVisible()


def test_a_and_d_keys_answer_one_asker_after_another(qtbot, tmp_path):
    window, driver = open_tv(qtbot, tmp_path)
    driver.add(CallView("a", "Ada", CallPhase.ASKING))
    driver.add(CallView("b", "Bob", CallPhase.ASKING))
    prompt = window.prompts.approval
    assert prompt.question.text() == "Ada wants to present"
    assert prompt.more.text() == "1 more waiting"
    qtbot.keyClick(window, Qt.Key.Key_D)
    assert prompt.question.text() == "Bob wants to present"
    qtbot.keyClick(window, Qt.Key.Key_A)
    assert driver.asked == [("deny", "a"), ("allow", "b")]


def test_the_prompt_takes_the_keys_before_the_wall(qtbot, tmp_path):
    window, driver = open_tv(qtbot, tmp_path)
    for i, colour in enumerate(COLOURS.values()):
        if i == 3:
            break
        driver.add(CallView(f"p{i}", f"P{i}", CallPhase.SHOWING, verified=True))
        window.frame_for(f"p{i}", Decoded(640, 360).frame(colour, i))
    driver.add(CallView("new", "Newcomer", CallPhase.ASKING))
    focus = window.wall.focus
    qtbot.keyClick(window, Qt.Key.Key_Right)  # chooses Deny, does not move the wall's focus
    assert window.wall.focus == focus and not window.prompts.approval.choice_allow
    qtbot.keyClick(window, Qt.Key.Key_Delete)  # not a prompt key: the wall stops its tile
    assert driver.asked == [("stop", "p0")]
    save(window, "asking-over-wall")
    qtbot.mouseClick(window.prompts.approval.allow_button, Qt.MouseButton.LeftButton)
    assert driver.asked[-1] == ("allow", "new")


def test_pin_is_shown_big_with_the_name(qtbot, tmp_path):
    window, driver = open_tv(qtbot, tmp_path)
    driver.add(CallView("g", "Grace", CallPhase.PIN, pin="4719"))
    pins = window.prompts.pins
    assert pins.isVisible() and pins.pin_texts() == ["4719"]
    who, digits = pins.rows[0]
    assert "Grace" in who.text() and digits.text() == "4 7 1 9"
    assert digits.font().pixelSize() >= 900 // 6
    image = save(window, "pin")
    # the digits are drawn large in yellow
    rect = digits.geometry()
    rect.moveTopLeft(digits.mapTo(window, rect.topLeft() - digits.pos()))
    crop = image.copy(rect).convertToFormat(QImage.Format.Format_RGB32)
    arr = np.frombuffer(crop.constBits(), np.uint8).reshape(crop.height(), crop.bytesPerLine())
    arr = arr[:, : crop.width() * 4].reshape(crop.height(), crop.width(), 4)
    yellow = (arr[:, :, 2] > 200) & (arr[:, :, 1] > 170) & (arr[:, :, 0] < 140)
    assert yellow.sum() > 2000
    # a second PIN at once: both shown, each with its name
    driver.add(CallView("h", "Hedy", CallPhase.PIN, pin="0382"))
    assert pins.pin_texts() == ["4719", "0382"]
    driver.set_phase("g", CallPhase.CONNECTING)
    assert pins.pin_texts() == ["0382"]
    driver.deny("h")
    assert not window.prompts.isVisible()


def test_menu_stops_presenters_and_sets_who_can_cast(qtbot, tmp_path):
    window, driver = open_tv(qtbot, tmp_path)
    holder = SettingsHolder(Settings(), tmp_path / "config")
    window.bind_settings(holder)
    assert window.admission is AdmissionMode.APPROVE
    driver.add(CallView("a", "Ada", CallPhase.SHOWING, verified=True))
    driver.add(CallView("b", "Bob", CallPhase.SHOWING, verified=True))
    driver.add(CallView("c", "Cy", CallPhase.ASKING))
    menu = window.open_menu()
    assert menu.isVisible()
    texts = [a.text() for a in menu.actions()]
    assert texts[:3] == ["Stop Ada", "Stop Bob", "Turn away Cy"]
    menu.actions()[1].trigger()
    assert driver.asked == [("stop", "b")]
    modes = next(a.menu() for a in menu.actions() if a.text() == "Who can cast")
    pin = next(a for a in modes.actions() if a.data() == "pin")
    pin.trigger()
    assert window.admission is AdmissionMode.PIN
    assert settings_mod.load(tmp_path / "config").admission == "pin"
    menu.close()
    window.rename("  Board   room  ")
    assert window.code_page.name.text() == "Board room"
    assert settings_mod.load(tmp_path / "config").display_name == "Board room"
    layouts = next(a.menu() for a in window.build_menu().actions() if a.text() == "Layout")
    assert [a.text() for a in layouts.actions()] == [
        "Automatic", "One at a time", "Side by side", "Grid", "Spotlight"]


def test_full_screen_is_the_default_and_is_remembered(qtbot, tmp_path):
    window = ReceiverWindow("TV", tmp_path / "shots")
    qtbot.addWidget(window)
    holder = SettingsHolder(Settings(), tmp_path / "config")
    assert holder.current.receiver_fullscreen
    window.bind_settings(holder)
    window.start_shown(holder.current.receiver_fullscreen)
    qtbot.waitUntil(window.isFullScreen)
    window.toggle_fullscreen()
    qtbot.waitUntil(lambda: not window.isFullScreen())
    assert settings_mod.load(tmp_path / "config").receiver_fullscreen is False
    window.toggle_fullscreen()
    qtbot.waitUntil(window.isFullScreen)
    assert settings_mod.load(tmp_path / "config").receiver_fullscreen is True


def test_kiosk_has_no_chrome_and_cannot_leave_full_screen(qtbot, tmp_path):
    window = ReceiverWindow("TV", tmp_path / "shots")
    qtbot.addWidget(window)
    holder = SettingsHolder(Settings(receiver_fullscreen=False), tmp_path / "config")
    window.bind_settings(holder)
    window.start_shown(False, kiosk_mode=True)
    qtbot.waitUntil(window.isFullScreen)
    assert window.windowFlags() & Qt.WindowType.FramelessWindowHint
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    qtbot.keyClick(window, Qt.Key.Key_F11)
    qtbot.wait(100)
    assert window.isFullScreen()
    assert holder.current.receiver_fullscreen is False, "kiosk mode is not a saved choice"


def test_new_strings_render_in_chinese(qtbot, tmp_path):
    assert translations.install("zh_CN") == "zh_CN"
    window, driver = open_tv(qtbot, tmp_path)
    driver.add(CallView("a", "小明的电脑", CallPhase.SHOWING, verified=False))
    window.frame_for("a", Decoded(640, 360).frame(COLOURS["blue"], 1))
    driver.add(CallView("b", "小红", CallPhase.ASKING))
    prompt = window.prompts.approval
    assert prompt.question.text() == "小红 想要投屏"
    assert prompt.allow_button.text() == "允许" and prompt.deny_button.text() == "拒绝"
    metrics = QFontMetrics(prompt.question.font())
    assert all(metrics.inFontUcs4(ord(ch)) for ch in "想要投屏允许拒绝"), "no CJK font"
    # the question's glyphs are drawn: light pixels on the dark card
    image = prompt.question.grab().toImage().convertToFormat(QImage.Format.Format_Grayscale8)
    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(),
                                                                 image.bytesPerLine())
    assert (pixels > 180).sum() > 300
    assert window.wall.unverified_text == "未验证"
    assert window.wall.corner.hint.text() == "输入投屏码加入"
    menu = window.build_menu()
    assert menu.actions()[0].text() == "停止 小明的电脑"
    save(window, "zh")
    driver.set_phase("a", CallPhase.RECONNECTING)
    assert window.wall.reconnecting_text == "正在重新连接…"


def test_tv_name_dialog_from_the_menu(qtbot, tmp_path):
    window, _driver = open_tv(qtbot, tmp_path)
    names: list[str] = []
    window.name_changed.connect(names.append)
    window.act_rename.trigger()
    dialog = window.findChild(QInputDialog)
    assert dialog is not None and dialog.isVisible()
    assert dialog.textValue() == "Meeting room"
    dialog.setTextValue("Board room")
    dialog.accept()
    assert names == ["Board room"]
    assert window.code_page.name.text() == "Board room"


class AsyncControls(RoomDriver):
    """Controls whose methods are coroutines, as an asyncio session's are."""

    async def allow(self, peer_id: str) -> None:  # type: ignore[override]
        await asyncio.sleep(0)
        RoomDriver.allow(self, peer_id)

    async def stop_call(self, peer_id: str) -> None:  # type: ignore[override]
        raise RuntimeError("no such call")


def test_async_controls_run_as_tasks(qtbot, run, tmp_path, caplog):
    window, _ = open_tv(qtbot, tmp_path)
    driver = AsyncControls(window)
    window.set_controls(driver)
    driver.add(CallView("a", "Ada", CallPhase.ASKING))

    async def answer() -> None:
        qtbot.keyClick(window, Qt.Key.Key_A)
        while not driver.asked:
            await asyncio.sleep(0.01)
        window.stop_call("a")
        await asyncio.sleep(0.05)

    run(answer())
    assert driver.asked == [("allow", "a")]
    assert "refused a request: no such call" in caplog.text


@pytest.mark.parametrize("size", [(1080, 1920), (1366, 768), (1920, 1080)])
def test_the_prompt_fits_the_screen_in_every_shape(qtbot, tmp_path, size):
    window, driver = open_tv(qtbot, tmp_path)
    window.resize(*size)
    qtbot.waitUntil(lambda: window.width() == size[0], timeout=3000)
    driver.add(CallView("ada", "Ada's laptop", CallPhase.ASKING))
    driver.add(CallView("lin", "Lin", CallPhase.ASKING))
    prompt = window.prompts.approval
    qtbot.waitUntil(prompt.isVisible, timeout=3000)
    window.prompts.place()
    assert window.prompts.geometry().right() < window.width()
    for label in (prompt.question, prompt.keys, prompt.more):
        # each text lies within the card, its lines no wider than the label: nothing is cut
        assert prompt.rect().contains(label.geometry()), (label.text(), size)
        assert label.minimumSizeHint().width() <= label.width(), (label.text(), size)
        if label.wordWrap():
            assert label.height() >= label.heightForWidth(label.width()), (label.text(), size)
    save(window, f"asking-{size[0]}x{size[1]}")
