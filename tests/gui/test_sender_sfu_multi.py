"""The sender window's "Send once through the room's media server": offered once a room
service that runs a Janus SFU has been reached, then a cast to two TVs goes through it.

Real parts: Janus, the room service (handing out the SFU with each join) and two receiver
sessions, all in a private network namespace the test enters (tests/integration/
sfu_support.py); the real window and controller on the tests' X screen.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from castapp.gui.app import AppOptions, open_sender
from castapp.gui.common import SettingsHolder
from castapp.rtc.capture import SyntheticSource
from castapp.session.receiver import ReceiverSession, ReceiverState
from castapp.settings import Settings
from castapp.sfu.token import SfuConfig
from castapp.signaling.rooms import RoomConfig
from castapp.signaling.server import RoomServer, ServiceConfig
from castapp.signaling.tokens import TokenSigner

sys.path.insert(0, str(Path(__file__).parents[1] / "integration"))
from sfu_support import SECRET, janus_in_namespace

pytestmark = [pytest.mark.timeout(120),
              pytest.mark.skipif(shutil.which("janus") is None, reason="needs Janus")]


def synthetic(preset, spec):
    return SyntheticSource(320, 180, fps=15)


async def until(what, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not what():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


def test_the_window_sends_once_through_the_rooms_media_server(qtbot, run, tmp_path, room_key):
    holder = SettingsHolder(Settings(), tmp_path / "config")
    window, controller = open_sender(AppOptions(mode="send", state_dir=tmp_path, lan=False,
                                                name="Ada"), holder, source_factory=synthetic)
    qtbot.addWidget(window)
    window.show()
    window.set_sound_reason("not in this test")
    with janus_in_namespace(tmp_path) as janus:
        server = RoomServer(ServiceConfig(host="127.0.0.1", port=0, rooms=RoomConfig(
            sfu=SfuConfig(url=janus.url, secret=SECRET))), TokenSigner(room_key))
        frames = [0, 0]

        def counter(i: int):  # type: ignore[no-untyped-def]
            def count(_f: object) -> None:
                frames[i] += 1
            return count

        receivers: list[ReceiverSession] = []

        async def scenario() -> None:
            await server.start()
            receivers.extend(ReceiverSession(server.url, name=n, on_frame=counter(i))
                             for i, n in enumerate(("Lobby", "Kitchen")))
            codes = [(await r.start()).display_code for r in receivers]
            try:
                window.server.setText(server.url)
                assert not window.via_sfu.isEnabled()
                # a first cast learns that this room service runs a media server
                await controller.cast(codes[0])
                await receivers[0].wait_for(ReceiverState.RECEIVING, timeout=20)
                assert window.sfu_offered is True
                qtbot.mouseClick(window.button, Qt.MouseButton.LeftButton)
                await until(lambda: window.button.text() == "Cast")
                assert window.via_sfu.isEnabled()
                window.via_sfu.setChecked(True)
                # then two TVs through it: one publisher, the SFU forwards to both
                window.code.setText(", ".join(codes))
                qtbot.mouseClick(window.button, Qt.MouseButton.LeftButton)
                for r in receivers:
                    await r.wait_for(ReceiverState.RECEIVING, timeout=30)
                start = list(frames)
                await until(lambda: min(f - s for f, s in zip(frames, start, strict=True)) >= 10,
                            20)
                multi = controller.multi
                assert multi is not None and multi.sfu is not None
                assert multi.sfu.publisher is not None
                assert all(tv.via_sfu and tv.casting for tv in multi.tvs)
                await until(lambda: window.status_line.text() == "Casting to 2 of 2 TVs")
            finally:
                await controller.close()
                for r in receivers:
                    await r.stop()
                await server.stop()

        try:
            run(scenario(), timeout=110)
        except BaseException:
            print(janus.log_tail())
            raise
