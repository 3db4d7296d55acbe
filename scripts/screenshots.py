"""Screenshots of both windows for the README, taken from a real cast on this machine.

    xvfb-run -s "-screen 0 1600x900x24" .venv/bin/python scripts/screenshots.py docs/screenshots

Peers use loopback only (the in-process cast needs no network).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import aioice.ice
import qasync
from PySide6.QtWidgets import QApplication, QWidget

from castapp.gui.app import AppOptions, open_receiver, open_sender
from castapp.gui.common import SettingsHolder
from castapp.gui.i18n import translations
from castapp.rtc.capture import SyntheticSource
from castapp.session.receiver import ReceiverState
from castapp.session.sender import SenderState
from castapp.settings import Settings


def grab_screen(widget: QWidget, path: Path) -> None:
    top_left = widget.mapToGlobal(widget.rect().topLeft())
    shot = widget.screen().grabWindow(0, top_left.x(), top_left.y(), widget.width(),
                                      widget.height())
    shot.save(str(path))


async def wait(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("the windows did not reach the expected state")
        await asyncio.sleep(0.05)


async def take(out: Path, state: Path) -> None:
    holder = SettingsHolder(Settings(), state / "config")
    opts = AppOptions(mode="receive", state_dir=state, listen=("127.0.0.1", 0), lan=False,
                      name="Meeting room TV")
    rx, rctl = open_receiver(opts, holder)
    rx.resize(1280, 720)
    rx.move(0, 0)
    rx.show()
    await rctl.start()
    status = await rctl.session.wait_for(ReceiverState.WAITING)
    await asyncio.sleep(0.5)
    grab_screen(rx, out / "receiver-code.png")

    tx, sctl = open_sender(AppOptions(mode="send", state_dir=state, name="Ada's laptop", lan=False),
                           holder, source_factory=lambda p, m: SyntheticSource(1280, 720, 30))
    tx.move(0, 0)
    tx.show()
    tx.monitors.load()
    await tx.monitors.refresh()
    tx.server.setText(rctl.embedded.url)
    tx.code.setText(status.display_code or "")
    await sctl.cast(tx.code.text())
    await wait(lambda: rx.video.frames_shown > 20 and tx.status.state is SenderState.CASTING)
    await asyncio.sleep(1.5)  # let the stats line fill in
    tx.grab().save(str(out / "sender.png"))
    tx.hide()
    await asyncio.sleep(0.3)
    grab_screen(rx, out / "receiver-casting.png")
    await sctl.close()
    await rctl.session.wait_for(ReceiverState.WAITING)
    translations.install("zh_CN")
    await asyncio.sleep(0.5)
    grab_screen(rx, out / "receiver-code-zh.png")
    await rctl.stop()


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("QT_LOGGING_RULES", "qt.multimedia.*=false")
    aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=False: ["127.0.0.1"]
    app = QApplication(sys.argv[:1])
    translations.install("en")
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with tempfile.TemporaryDirectory() as tmp, loop:
        loop.run_until_complete(take(out, Path(tmp)))
    print(f"screenshots in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
