"""Run by test_receiver_startup.py in a fresh interpreter: the receiver window as the app opens
it, what was imported when it showed, when its code came and once the media stack loaded
(JSON on stdout)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import qasync
from PySide6.QtWidgets import QApplication

from castapp.gui.app import AppOptions, open_receiver
from castapp.gui.common import SettingsHolder
from castapp.session.receiver_table import ReceiverState
from castapp.settings import Settings

MEDIA = ("aiortc", "av", "numpy", "castapp.rtc.peer", "castapp.gui.audio_out")
SERVICE = ("aiohttp", "segno", "castapp.session.receiver", "castapp.embedded")


def imported(names: tuple[str, ...] = MEDIA + SERVICE) -> list[str]:
    return [m for m in names if m in sys.modules]


app = QApplication(sys.argv[:1])
opts = AppOptions(mode="receive", state_dir=Path(sys.argv[1]), listen=("127.0.0.1", 0),
                  lan=False, admission="open", name="Probe TV")
window, controller = open_receiver(opts, SettingsHolder(Settings()))
window.start_shown(False)
app.processEvents()
result: dict[str, object] = {"visible": window.isVisible(), "at_show": imported()}


async def main() -> None:
    await controller.start()
    assert controller.session is not None, controller.failure
    status = await controller.session.wait_for(ReceiverState.WAITING)
    result.update(after_code=imported(), code=status.display_code,
                  shown_code=window.code_page.code.text())
    await controller.media.ready()
    result.update(after_media=imported())
    await controller.stop()


loop = qasync.QEventLoop(app)
asyncio.set_event_loop(loop)
with loop:
    loop.run_until_complete(asyncio.wait_for(main(), 60))
print(json.dumps(result))
