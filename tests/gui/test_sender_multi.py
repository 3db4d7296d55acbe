"""The sender window casting to several TVs: a list of codes, a TV added while casting,
one removed while the others keep receiving, an unknown code said for its entry only.

Real parts: a room service on loopback, three real receiver sessions (aiortc, loopback-only
candidates) counting the frames they decode, the real window and controller offscreen.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

import pytest
from PySide6.QtCore import Qt

from castapp.gui import texts
from castapp.gui.app import AppOptions, open_sender
from castapp.gui.common import SettingsHolder
from castapp.gui.i18n import translations
from castapp.rtc.capture import SyntheticSource
from castapp.session.receiver import ReceiverSession, ReceiverState
from castapp.settings import Settings
from castapp.signaling.client import UnknownCodeError

pytestmark = pytest.mark.timeout(120)


def synthetic(preset, spec):
    return SyntheticSource(320, 180, fps=15)


def make_window(qtbot, tmp_path):
    holder = SettingsHolder(Settings(), tmp_path / "config")
    window, controller = open_sender(AppOptions(mode="send", state_dir=tmp_path, lan=False,
                                                name="Ada"),
                                     holder, source_factory=synthetic)
    qtbot.addWidget(window)
    window.show()
    window.set_sound_reason("not in this test")
    return window, controller


async def until(what: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not what():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


class Tv:
    """A headless receiver counting the frames it shows."""

    def __init__(self, url: str, name: str) -> None:
        self.frames = 0
        self.session = ReceiverSession(url, name=name, on_frame=self._frame)
        self.code = ""

    def _frame(self, _frame: object) -> None:
        self.frames += 1

    async def start(self) -> None:
        self.code = (await self.session.start()).display_code

    async def gets_frames(self, n: int = 10, timeout: float = 10.0) -> None:
        start = self.frames
        await until(lambda: self.frames >= start + n, timeout)


def test_window_casts_to_several_tvs_adds_and_removes_one(qtbot, run, tmp_path, room_server,
                                                          loopback_ice):
    window, controller = make_window(qtbot, tmp_path)
    tvs = [Tv(room_server.url, name) for name in ("Lobby", "Kitchen", "Office")]
    lobby, kitchen, office = tvs

    async def scenario() -> None:
        for tv in tvs:
            await tv.start()
        try:
            window.server.setText(room_server.url)
            # two TVs and a code no TV shows, typed as one list
            window.code.setText(f"{lobby.code}, {kitchen.code}, 000 000")
            assert window.hint.text().startswith("Ready: 3 TVs")
            qtbot.mouseClick(window.button, Qt.MouseButton.LeftButton)
            await lobby.session.wait_for(ReceiverState.RECEIVING, timeout=20)
            await kitchen.session.wait_for(ReceiverState.RECEIVING, timeout=20)
            await lobby.gets_frames()
            await kitchen.gets_frames()
            rows = window.tvs.rows
            await until(lambda: len(rows) == 3 and rows[3].ended)
            # the unknown code is said for its entry only; the others cast
            assert rows[3].state.text() == texts.error_text(UnknownCodeError("x"))
            assert rows[3].stop.text() == "Remove"
            await until(lambda: rows[1].state.text().startswith("Casting to Lobby"))
            await until(lambda: rows[2].state.text().startswith("Casting to Kitchen"))
            assert rows[1].stop.text() == "Stop casting to Lobby"
            assert window.status_line.text() == "Casting to 2 of 3 TVs"
            assert window.button.text() == "Stop" and not window.code.isEnabled()
            await until(lambda: "Frame rate" in rows[1].stats.text())
            # a 15 fps pattern under the 60 fps preset, on loopback: a good link (the frame
            # rate follows the screen, it does not measure the link)
            await until(lambda: re.search(r"Frame rate: \d", rows[1].stats.text()) is not None)
            assert rows[1].stats.text().endswith("link: good"), rows[1].stats.text()
            # this room service runs no media server: the window says so
            assert window.sfu_offered is False and not window.via_sfu.isEnabled()
            first = controller.multi.tvs[0].session

            # a third TV joins the running cast
            assert window.tvs.add_box.isVisible()
            window.tvs.add_code.setText(office.code)
            qtbot.mouseClick(window.tvs.add_button, Qt.MouseButton.LeftButton)
            await office.session.wait_for(ReceiverState.RECEIVING, timeout=20)
            await office.gets_frames()
            await until(lambda: 4 in rows and rows[4].state.text().startswith(
                "Casting to Office"))
            # ... without restarting the cast for the others
            assert controller.multi.tvs[0].session is first
            assert lobby.session.status.state is ReceiverState.RECEIVING
            await lobby.gets_frames()
            await kitchen.gets_frames()
            assert window.status_line.text() == "Casting to 3 of 4 TVs"

            # one TV removed: it stops receiving, the others go on
            qtbot.mouseClick(rows[2].stop, Qt.MouseButton.LeftButton)
            await kitchen.session.wait_for(ReceiverState.WAITING, timeout=15)
            assert 2 not in rows
            stopped_at = kitchen.frames
            await lobby.gets_frames(15)
            await office.gets_frames(15)
            assert kitchen.frames <= stopped_at + 2
            assert window.status_line.text() == "Casting to 2 of 3 TVs"

            # Stop ends the cast for everyone
            qtbot.mouseClick(window.button, Qt.MouseButton.LeftButton)
            await lobby.session.wait_for(ReceiverState.WAITING, timeout=15)
            await office.session.wait_for(ReceiverState.WAITING, timeout=15)
            await until(lambda: window.button.text() == "Cast")
            assert window.code.isEnabled() and not window.tvs.add_box.isVisible()
        finally:
            await controller.close()
            for tv in tvs:
                await tv.session.stop()

    run(scenario(), timeout=110)


def test_a_list_with_a_mistyped_entry_says_which(qtbot, tmp_path):
    window, _ = make_window(qtbot, tmp_path)
    window.code.setText("482 913, 12x4, 130557")
    assert window.hint.text() == "Entry 2 (12x4) is not a cast code."
    assert not window.button.isEnabled()
    window.code.setText("482 913, 13")  # the last one still being typed
    assert window.hint.text() == "4 more digits"
    assert not window.button.isEnabled()
    window.code.setText("482913, 482 913")
    assert window.hint.text() == "The same code is given twice."
    assert not window.button.isEnabled()
    window.code.setText("482 913 130 557")
    assert window.hint.text() == "Ready: 2 TVs (482 913, 130 557)"
    assert window.button.isEnabled()


def test_the_media_server_choice_follows_the_room_service(qtbot, tmp_path):
    window, _ = make_window(qtbot, tmp_path)
    assert not window.via_sfu.isEnabled()
    assert "Offered once" in window.via_sfu.toolTip()
    window.set_sfu_offered(False)
    assert not window.via_sfu.isEnabled()
    assert window.via_sfu.toolTip() == "This room service has no media server."
    window.server.setText("10.0.0.9:8765")  # another service: not known any more
    assert "Offered once" in window.via_sfu.toolTip()
    window.set_sfu_offered(True)
    assert window.via_sfu.isEnabled()
    window.via_sfu.setChecked(True)
    assert window.send_via_sfu()


def test_a_list_no_tv_answers_says_so_per_entry(qtbot, run, tmp_path, room_server):
    window, controller = make_window(qtbot, tmp_path)
    window.server.setText(room_server.url)
    window.code.setText("000 000, 111 111")
    run(controller.cast(window.code.text()))
    rows = window.tvs.rows
    unknown = texts.error_text(UnknownCodeError("x"))
    assert sorted(rows) == [1, 2]
    assert all(r.state.text() == unknown and r.ended for r in rows.values())
    assert not any(r.state.isHidden() or r.stop.isHidden() for r in rows.values())
    assert window.status_line.text() == "No TV is receiving the cast any more."
    assert window.button.text() == "Cast" and window.code.isEnabled()
    qtbot.mouseClick(rows[1].stop, Qt.MouseButton.LeftButton)  # "Remove" drops the row
    qtbot.waitUntil(lambda: sorted(window.tvs.rows) == [2])
    # each row in the window's language, also after a switch
    translations.install("zh_CN")
    chinese = texts.error_text(UnknownCodeError("x"))
    assert chinese != unknown
    qtbot.waitUntil(lambda: rows[2].state.text() == chinese)
    assert rows[2].stop.text() == "移除" and window.tvs.add_button.text() == "添加电视"
    translations.install("en")
    qtbot.waitUntil(lambda: rows[2].state.text() == unknown)
    run(controller.close())


def test_one_tv_is_told_once_not_again_in_a_row_of_its_own(qtbot, run, tmp_path, room_server):
    """With one TV the window's status line says what happened to it; a row under it that
    says the same sentence again (as it did) is left out."""
    window, controller = make_window(qtbot, tmp_path)
    window.server.setText(room_server.url)
    window.code.setText("000 000")
    run(controller.cast(window.code.text()))
    unknown = texts.error_text(UnknownCodeError("x"))
    assert window.status_line.text() == unknown
    row = window.tvs.rows[1]
    assert row.state.text() == unknown  # kept, for when a second TV is added
    assert row.state.isHidden() and row.name.isHidden() and row.stop.isHidden()
    run(controller.close())
