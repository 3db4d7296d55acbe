"""The monitor picker on X servers with several RandR monitors of its own.

Each test starts an Xvfb with a large framebuffer and defines monitors on it with
``xrandr --setmonitor`` (portrait, landscape, mixed physical sizes, i.e. mixed DPI, more
than two), paints each monitor a different colour with an X client of its own, and checks
the picker: one tile per real monitor, true proportions and relative positions, no
overlap, each thumbnail showing its own monitor, keyboard and mouse selection, and the
last choice found again after the monitors are renumbered.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from PySide6.QtCore import QPointF, Qt
from Xlib import X
from Xlib import display as xdisplay
from xvfb import require, xvfb

from castapp.gui.common import SettingsHolder
from castapp.gui.monitors import MonitorPicker
from castapp.settings import Settings

pytestmark = pytest.mark.timeout(90)

# name, width, height, mm width, mm height, left, top, colour
Monitor = tuple[str, int, int, int, int, int, int, str]
THREE: list[Monitor] = [
    ("left", 1080, 1920, 300, 530, 0, 0, "red"),  # portrait, 92 dpi
    ("mid", 2560, 1440, 340, 190, 1080, 0, "green"),  # 190 dpi laptop-like
    ("right", 1920, 1080, 600, 340, 3640, 200, "blue"),  # 81 dpi, lower edge offset
]
TWO_PORTRAIT: list[Monitor] = [
    ("a", 1080, 1920, 300, 530, 0, 0, "red"),
    ("b", 1200, 1920, 320, 520, 1080, 0, "green"),
]
RGB = {"red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255)}


def xrandr(display: str, *args: str) -> None:
    subprocess.run([require("xrandr"), "-display", display, *args], check=True, timeout=20,
                   capture_output=True)


@contextmanager
def desktop(monitors: list[Monitor]) -> Iterator[str]:
    width = max(m[1] + m[5] for m in monitors)
    height = max(m[2] + m[6] for m in monitors)
    with xvfb(width, height) as display:
        define(display, monitors)
        d = xdisplay.Display(display)
        screen = d.screen()
        try:
            for _name, w, h, _mw, _mh, x, y, colour in monitors:
                pixel = screen.default_colormap.alloc_named_color(colour).pixel
                win = screen.root.create_window(x, y, w, h, 0, screen.root_depth,
                                                X.InputOutput, X.CopyFromParent,
                                                background_pixel=pixel, override_redirect=True)
                win.map()
            d.sync()
            yield display
        finally:
            d.close()


def define(display: str, monitors: list[Monitor]) -> None:
    for name, w, h, mw, mh, x, y, _colour in monitors:
        xrandr(display, "--setmonitor", name, f"{w}/{mw}x{h}/{mh}+{x}+{y}", "none")


def overlap(a: object, b: object) -> bool:
    return a.intersects(b)  # type: ignore[attr-defined]


def check_layout(picker: MonitorPicker, monitors: list[Monitor]) -> None:
    assert picker.count() == len(monitors), [m for m in picker.monitors]
    tiles = picker.tiles()
    by_left = sorted(zip(picker.monitors, tiles, strict=True), key=lambda mt: mt[0].left)
    for (mon, tile), want in zip(by_left, sorted(monitors, key=lambda m: m[5]), strict=True):
        assert (mon.width, mon.height, mon.left, mon.top) == (want[1], want[2], want[5], want[6])
        assert tile.width() / tile.height() == pytest.approx(mon.width / mon.height, rel=0.03)
        assert picker.rect().contains(tile.toRect())
    for i, a in enumerate(tiles):
        for b in tiles[i + 1 :]:
            assert not overlap(a, b), "tiles overlap"
    # One scale for all: widths in proportion to pixel widths, positions in order.
    scale = [t.width() / m.width for m, t in by_left]
    assert max(scale) / min(scale) < 1.05
    lefts = [t.left() for _m, t in by_left]
    assert lefts == sorted(lefts)


def thumbnail_colour(picker: MonitorPicker, row: int) -> tuple[int, int, int]:
    item = picker.item(row)
    assert item is not None
    image = item.icon().pixmap(64, 64).toImage()
    c = image.pixelColor(image.width() // 2, image.height() // 2)
    return c.red(), c.green(), c.blue()


def near(a: tuple[int, int, int], b: tuple[int, int, int]) -> bool:
    return all(abs(x - y) <= 4 for x, y in zip(a, b, strict=True))


def test_three_monitors_mixed_dpi_and_portrait(qtbot, run, tmp_path) -> None:
    with desktop(THREE) as display:
        picker = MonitorPicker(display)
        qtbot.addWidget(picker)
        picker.resize(700, picker.height())
        picker.show()
        picker.load(selected=1)
        check_layout(picker, THREE)
        run(picker.refresh())
        for row, mon in enumerate(picker.monitors):
            colour = next(m[7] for m in THREE if (m[5], m[6]) == (mon.left, mon.top))
            assert near(thumbnail_colour(picker, row), RGB[colour]), (row, colour)
        grab = picker.grab().toImage()
        for tile, mon in zip(picker.tiles(), picker.monitors, strict=True):
            colour = next(m[7] for m in THREE if (m[5], m[6]) == (mon.left, mon.top))
            c = grab.pixelColor(int(tile.center().x()), int(tile.top() + tile.height() / 4))
            assert near((c.red(), c.green(), c.blue()), RGB[colour]), "drawn in its own tile"

        # Mouse and keyboard choose; the choice is remembered by key.
        holder = SettingsHolder(Settings(), tmp_path / "cfg")
        picker.chosen.connect(lambda index: holder.update(
            monitor=index, monitor_key=picker.selected_key()))
        right = max(range(picker.count()), key=lambda r: picker.monitors[r].left)
        with qtbot.waitSignal(picker.chosen, timeout=2000):
            qtbot.mouseClick(picker, Qt.MouseButton.LeftButton,
                             pos=picker.tiles()[right].center().toPoint())
        assert picker.currentRow() == right
        chosen = picker.monitors[right]
        assert holder.current.monitor_key.endswith("1920x1080+3640+200")
        picker.setFocus()
        qtbot.keyClick(picker, Qt.Key.Key_Left)
        assert picker.monitors[picker.currentRow()].left == 1080
        qtbot.keyClick(picker, Qt.Key.Key_Right)
        assert picker.currentRow() == right

        # Renumbered monitors (the right one now first): the key still finds it.
        for name, *_ in THREE:
            xrandr(display, "--delmonitor", name)
        define(display, list(reversed(THREE)))
        again = MonitorPicker(display)
        qtbot.addWidget(again)
        again.load(holder.current.monitor, holder.current.monitor_key)
        mon = again.monitors[again.currentRow()]
        assert (mon.left, mon.top) == (chosen.left, chosen.top)
        assert mon.index != chosen.index, "the numbering did change"


def test_two_portrait_monitors_do_not_overlap(qtbot, run) -> None:
    with desktop(TWO_PORTRAIT) as display:
        picker = MonitorPicker(display)
        qtbot.addWidget(picker)
        picker.resize(520, picker.height())
        picker.show()
        picker.load()
        check_layout(picker, TWO_PORTRAIT)
        a, b = picker.tiles()
        assert a.right() < b.left(), "side by side with a gap"
        assert a.height() > a.width() and b.height() > b.width(), "portrait stays portrait"
        run(picker.refresh())
        assert near(thumbnail_colour(picker, 0), RGB["red"])
        assert near(thumbnail_colour(picker, 1), RGB["green"])


def test_click_outside_tiles_keeps_the_choice(qtbot) -> None:
    with desktop(TWO_PORTRAIT) as display:
        picker = MonitorPicker(display)
        qtbot.addWidget(picker)
        picker.resize(900, picker.height())
        picker.show()
        picker.load(selected=2)
        assert picker.selected_index() == picker.monitors[1].index
        qtbot.mouseClick(picker, Qt.MouseButton.LeftButton, pos=QPointF(2, 2).toPoint())
        assert picker.selected_index() == picker.monitors[1].index
