"""The receiver window: code and QR on the idle screen, a real cast drawn by QtMultimedia."""

from __future__ import annotations

import asyncio
from pathlib import Path

import cv2
import numpy as np
import pytest
from frames import visible_bits
from PySide6.QtCore import QRect
from PySide6.QtGui import QImage
from qr_read import read_qr

from castapp.codes import group
from castapp.gui.app import AppOptions, open_receiver
from castapp.gui.common import SettingsHolder
from castapp.links import make_link
from castapp.rtc import pattern
from castapp.rtc.capture import SyntheticSource
from castapp.session.receiver import ReceiverState
from castapp.session.sender import SenderSession, SenderState
from castapp.settings import Settings

pytestmark = pytest.mark.timeout(90)


def image_array(image: QImage) -> np.ndarray:
    """BGRA pixels of a QImage as a numpy array (a copy)."""
    image = image.convertToFormat(QImage.Format.Format_RGB32)
    arr = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(),
                                                              image.bytesPerLine())
    return arr[:, : image.width() * 4].reshape(image.height(), image.width(), 4).copy()


async def until(check, timeout: float = 20.0, step: float = 0.05) -> None:
    """Poll a condition that has no signal of its own (screen contents)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(step)


def open_window(qtbot, state_dir: Path, **opts):
    opts.setdefault("admission", "open")  # any sender with the code goes on screen
    options = AppOptions(mode="receive", state_dir=state_dir, listen=("127.0.0.1", 0), lan=False,
                         name="Living room TV", **opts)
    window, controller = open_receiver(options, SettingsHolder(Settings()))
    qtbot.addWidget(window)
    window.move(0, 0)
    window.show()
    return window, controller


def test_idle_screen_shows_code_and_a_qr_link(qtbot, run, state_dir):
    window, controller = open_window(qtbot, state_dir)

    async def start():
        await controller.start()
        return await controller.session.wait_for(ReceiverState.WAITING)

    try:
        status = run(start())
        port = controller.embedded.port
        assert window.code_page.code.text() == group(status.code) == status.display_code
        assert window.code_page.name.text() == "Living room TV"
        assert f"127.0.0.1:{port}" in window.code_page.address.text()
        qtbot.waitExposed(window)
        decoded: list[str] = []

        def readable() -> bool:
            # a camera sees the code large: decode it at 3x, each module kept square and sharp
            shot = image_array(window.code_page.qr.grab().toImage())
            big = cv2.resize(shot[:, :, :3], None, fx=3, fy=3, interpolation=cv2.INTER_NEAREST)
            decoded[:] = [read_qr(big)]
            return decoded[0].startswith("https://")

        try:
            run(until(readable, timeout=10))  # once the link is known and painted
        except AssertionError:
            qr = window.code_page.qr
            qr.grab().save("/tmp/castapp-qr-unread.png")
            raise AssertionError(f"QR not readable: link {qr.text()!r}, size {qr.size()}, "
                                 f"visible {qr.isVisible()}, read {decoded!r}") from None
        text = decoded[0]
        # HTTPS by default: the QR code opens the sender page over https, code filled in,
        # and the code page names the certificate for guests who compare
        https = controller.embedded.https_port
        assert text == make_link("127.0.0.1", https, status.code, tls=True,
                                 pin=controller.embedded.identity.fingerprint)
        short = controller.embedded.identity.short
        assert window.code_page.fingerprint.text() == f"Certificate SHA-256 starts {short}"
        # the code token is kept, readable by this user only
        token = state_dir / "receiver-token"
        assert token.exists() and token.stat().st_mode & 0o077 == 0
    finally:
        run(controller.stop())


def test_code_scales_with_the_window(qtbot, run, state_dir):
    window, _ = open_window(qtbot, state_dir)
    window.resize(960, 540)
    qtbot.waitUntil(lambda: window.height() == 540)
    small = window.code_page.code.font().pixelSize()
    window.resize(1600, 900)
    qtbot.waitUntil(lambda: window.height() == 900)
    assert window.code_page.code.font().pixelSize() > small * 1.5
    assert window.code_page.code.font().pixelSize() >= 900 // 7


@pytest.mark.parametrize("size", [(1080, 1920), (1366, 768)])
def test_banner_and_statistics_stay_on_a_screen_of_any_shape(qtbot, run, state_dir, size):
    window, _ = open_window(qtbot, state_dir)
    window.resize(*size)
    qtbot.waitUntil(lambda: window.width() == size[0])
    window.stats_box.set_text("\n".join([  # the longest lines the box shows
        "Ada's laptop", "Latency estimate: 38 ms (network 12 + display 26)",
        "Sound: Opus 97 kbit/s, buffer 30 ms, jitter 3 ms, A/V -12 ms"]))
    window.stats_box.show_for(None)
    window.banner.set_text("Snapshot saved to /home/someone/Pictures/castapp\n"
                           "castapp-2026-12-01-10-42-17.png")
    window.banner.show_for(None)
    for box in (window.stats_box, window.banner):
        assert window.rect().contains(box.geometry()), (box.text(), size, box.geometry())


def screen_pixels(window) -> np.ndarray:
    """What the X server shows where the video widget is."""
    video = window.video
    top_left = video.mapToGlobal(video.rect().topLeft())
    screen = window.screen()
    grab = screen.grabWindow(0, top_left.x(), top_left.y(), video.width(), video.height())
    return image_array(grab.toImage())


def expected_bar_rgb(index: int) -> np.ndarray:
    """The RGB a BT.601 limited-range decoder makes of the pattern's bar ``index``."""
    y, u, v = pattern._BARS[index]
    c, d, e = y - 16, u - 128, v - 128
    r = 1.164 * c + 1.596 * e
    g = 1.164 * c - 0.392 * d - 0.813 * e
    b = 1.164 * c + 2.017 * d
    return np.clip(np.array([r, g, b]), 0, 255)


def test_a_cast_is_drawn_on_screen_and_can_be_saved(qtbot, run, state_dir, loopback_ice,
                                                    tmp_path):
    window, controller = open_window(qtbot, state_dir)
    window.resize(1280, 720)
    window.snapshot_dir = tmp_path / "shots"
    source = SyntheticSource(1280, 720, fps=30)

    async def scenario() -> None:
        await controller.start()
        status = await controller.session.wait_for(ReceiverState.WAITING)
        sender = SenderSession(controller.embedded.url, source, name="Ada's laptop")
        try:
            await sender.cast(status.code)
            await cast_checks(window, controller, source)
            await sender.stop()
            await controller.session.wait_for(ReceiverState.WAITING)
            assert window.pages.currentWidget() is window.code_page
            assert not window.stats_box.isVisible()
            assert sender.status.state is SenderState.IDLE
        finally:
            await sender.close()
            await controller.stop()

    try:
        run(scenario(), timeout=80)
    finally:
        source.stop()


async def cast_checks(window, controller, source) -> None:
    await controller.session.wait_for(ReceiverState.RECEIVING, timeout=20)
    assert window.pages.currentWidget() is window.video
    await until(lambda: window.video.frames_shown >= 10)
    assert window.banner.isVisible() and "Ada's laptop" in window.banner.text()

    counters: list[int] = []

    wall = window.wall
    corner = QRect(wall.corner.pos(), wall.corner.size()) if wall.corner.isVisible() else None

    def pattern_on_screen() -> bool:
        # The code corner covers the last bits of the counter; read the others.
        gray = cv2.cvtColor(screen_pixels(window), cv2.COLOR_BGRA2GRAY)
        bits = visible_bits(gray, corner)
        if bits is not None and len(bits) >= 10:
            counters.append(sum(v << (pattern.COUNTER_BITS - 1 - b) for b, v in bits.items()))
        return len(set(counters)) >= 3

    # The counter moves on screen: frames keep being drawn, not one frozen picture.
    await until(pattern_on_screen)
    assert max(counters) <= source.counter_for(source.latest().seq)
    # The colour bars show in the right colours (BT.601 limited range, ±12 per channel).
    bgra = screen_pixels(window)
    h, w = bgra.shape[:2]
    bar_w = w // 8
    for i in range(7):
        rgb = bgra[h // 10, i * bar_w + bar_w // 2, [2, 1, 0]].astype(int)
        assert np.all(np.abs(rgb - expected_bar_rgb(i)) <= 12), (i, rgb)

    path = window.save_snapshot()
    assert path is not None and path.exists()
    saved = image_array(QImage(str(path)))
    assert saved.shape[:2] == (720, 1280)
    assert pattern.read_counter(cv2.cvtColor(saved, cv2.COLOR_BGRA2GRAY)) is not None

    window.set_stats_visible(True)
    await until(lambda: "fps" in window.stats_box.text(), timeout=5)
    assert window.stats_box.isVisible()
    assert "1280×720" in window.stats_box.text()



def test_the_window_advertises_only_on_the_interfaces_given(qtbot, state_dir):
    """``castapp receive --interface NAME`` with a window: the receiver it runs advertises
    and shows only that interface's addresses, as the terminal's does."""
    from castapp.cli import build_parser
    from castapp.cli_gui import app_options

    args = build_parser().parse_args(["receive", "--interface", "lo", "--listen",
                                      "127.0.0.1:0", "--no-advertise", "--admission", "open"])
    opts = app_options(args, state_dir, {})
    assert opts.interfaces == ("lo",) and opts.listen == ("127.0.0.1", 0) and not opts.lan
    window, controller = open_receiver(opts, SettingsHolder(Settings()))
    qtbot.addWidget(window)
    assert controller.host.options.interfaces == ("lo",)
    send = app_options(build_parser().parse_args(["send", "482 913", "--interface", "lo",
                                                  "--find-timeout", "1.5"]), state_dir, {})
    assert (send.code, send.interfaces, send.find_timeout) == ("482 913", ("lo",), 1.5)
