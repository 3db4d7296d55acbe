"""Window and region sharing on a real X server (Xvfb, no window manager).

The test is an X client of its own (python-xlib): it opens a titled window whose
background is green with a red child square at (10, 20), shares it by title, moves it,
resizes it, pushes it partly off-screen, covers it, unmaps it (what a window manager does
on minimise) and destroys it, checking what the capture sees each time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import numpy as np
import pytest
from Xlib import X
from Xlib import display as xdisplay
from xvfb import require, xsetroot, xvfb

from castapp.rtc.capture import Region, ScreenCapture, SourceState
from castapp.rtc.capture_window import (
    WindowCapture,
    WindowNotFoundError,
    find_window,
    list_windows,
)
from castapp.rtc.mailbox import CapturedFrame, SourceClosedError

pytestmark = pytest.mark.timeout(120)

WIDTH, HEIGHT = 1280, 720
GREEN_Y, RED_Y, BLUE_Y, GREY_Y = 145, 82, 41, 125  # BT.601 luma of the pure colours / grey


@pytest.fixture(scope="module")
def display() -> Iterator[str]:
    require("xsetroot")
    with xvfb(WIDTH, HEIGHT) as name:
        xsetroot(name, "-solid", "#0000ff")
        yield name


class Client:
    """An X client with windows the test moves around."""

    def __init__(self, name: str) -> None:
        self.d = xdisplay.Display(name)
        self.screen = self.d.screen()

    def pixel(self, rgb: str) -> int:
        return self.screen.default_colormap.alloc_named_color(rgb).pixel

    def window(self, title: str, x: int, y: int, w: int, h: int, colour: str) -> object:
        win = self.screen.root.create_window(
            x, y, w, h, 0, self.screen.root_depth, X.InputOutput, X.CopyFromParent,
            background_pixel=self.pixel(colour), override_redirect=True)
        # Like toolkits do: UTF-8 _NET_WM_NAME, and a Latin-1 WM_NAME for old clients.
        win.set_wm_name(title.encode("latin-1", "replace"))
        win.change_property(self.d.intern_atom("_NET_WM_NAME"),
                            self.d.intern_atom("UTF8_STRING"), 8, title.encode())
        win.map()
        self.d.sync()
        return win

    def child(self, parent: object, x: int, y: int, w: int, h: int, colour: str) -> None:
        kid = parent.create_window(x, y, w, h, 0, self.screen.root_depth, X.InputOutput,  # type: ignore[attr-defined]
                                   X.CopyFromParent, background_pixel=self.pixel(colour))
        kid.map()
        self.d.sync()

    def do(self, fn: Callable[[], object]) -> None:
        fn()
        self.d.sync()


@pytest.fixture
def client(display: str) -> Iterator[Client]:
    c = Client(display)
    yield c
    c.d.close()


def until(cap: WindowCapture, check: Callable[[CapturedFrame], bool], what: str,
          timeout: float = 5.0) -> CapturedFrame:
    frame = cap.wait_newer(-1, timeout=10)
    deadline = time.monotonic() + timeout
    while not check(frame):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: last frame {frame.width}x{frame.height}")
        frame = cap.wait_newer(frame.seq, timeout=5)
    return frame


def shows_window(w: int, h: int) -> Callable[[CapturedFrame], bool]:
    def check(frame: CapturedFrame) -> bool:
        if (frame.width, frame.height) != (w + w % 2, h + h % 2):
            return False
        y = frame.y.astype(int)
        return (abs(y[5, 5] - GREEN_Y) <= 2 and abs(y[20 + 10, 10 + 10] - RED_Y) <= 2
                and abs(y[h - 3, w - 3] - GREEN_Y) <= 2)
    return check


def test_window_found_by_title_and_id(display: str, client: Client) -> None:
    win = client.window("Slides — castapp test", 100, 80, 320, 200, "green")
    try:
        titles = [w.title for w in list_windows(display)]
        assert "Slides — castapp test" in titles
        info = find_window("slides", display)
        assert (info.left, info.top, info.width, info.height) == (100, 80, 320, 200)
        assert find_window(hex(info.id), display).id == info.id
        with pytest.raises(WindowNotFoundError, match=r"no window titled 'Notes'.*Slides"):
            find_window("Notes", display)
        other = client.window("Slides 2", 0, 0, 50, 50, "green")
        with pytest.raises(WindowNotFoundError, match="several windows"):
            find_window("slides", display)
        client.do(other.destroy)  # type: ignore[attr-defined]
    finally:
        client.do(win.destroy)  # type: ignore[attr-defined]


def test_window_capture_follows_moves_resizes_and_edges(display: str, client: Client) -> None:
    win = client.window("Follow me", 100, 80, 320, 200, "green")
    client.child(win, 10, 20, 30, 40, "red")
    states: list[SourceState] = []
    cap = WindowCapture(find_window("Follow me", display).id, display=display, fps=30,
                        with_cursor=False)
    cap.on_state = states.append
    with cap:
        until(cap, shows_window(320, 200), "the window at its place")
        assert cap.area == {"left": 100, "top": 80, "width": 320, "height": 200}

        client.do(lambda: win.configure(x=700, y=333))  # type: ignore[attr-defined]
        until(cap, lambda f: cap.area["left"] == 700 and shows_window(320, 200)(f), "moved")
        assert cap.area["top"] == 333

        client.do(lambda: win.configure(width=401, height=251))  # type: ignore[attr-defined]
        until(cap, shows_window(401, 251), "resized to an odd size")

        # Partly off the right edge: the frame keeps the window's size, the rest is black.
        client.do(lambda: win.configure(x=WIDTH - 200, y=100))  # type: ignore[attr-defined]
        frame = until(cap, lambda f: f.width == 402 and int(f.y[100, 300]) < 20,
                      "off-screen part black")
        assert abs(int(frame.y[5, 5]) - GREEN_Y) <= 2
        assert abs(int(frame.y[30, 20]) - RED_Y) <= 2

        # Covered by another window: reported, the covering part sent as seen.
        client.do(lambda: win.configure(x=100, y=80))  # type: ignore[attr-defined]
        until(cap, shows_window(401, 251), "back on screen")
        cover = client.window("Cover", 300, 200, 100, 100, "gray50")
        frame = until(cap, lambda f: abs(int(f.y[150, 250]) - GREY_Y) <= 3, "cover seen")
        deadline = time.monotonic() + 3
        while cap.state is not SourceState.COVERED and time.monotonic() < deadline:
            time.sleep(0.05)
        assert cap.state is SourceState.COVERED
        client.do(cover.destroy)  # type: ignore[attr-defined]
        until(cap, shows_window(401, 251), "uncovered")
        deadline = time.monotonic() + 3
        while cap.state is not SourceState.LIVE and time.monotonic() < deadline:
            time.sleep(0.05)
        assert cap.state is SourceState.LIVE

        # Minimised (unmapped): the last picture is repeated, slowly, and reported.
        client.do(win.unmap)  # type: ignore[attr-defined]
        deadline = time.monotonic() + 3
        while cap.state is not SourceState.MINIMISED and time.monotonic() < deadline:
            time.sleep(0.05)
        assert cap.state is SourceState.MINIMISED
        first = cap.wait_newer(-1, timeout=5)
        t0 = time.monotonic()
        repeated = cap.wait_newer(first.seq, timeout=5)
        assert time.monotonic() - t0 >= 0.2, "repeated slowly, not at full rate"
        assert shows_window(401, 251)(repeated), "the last picture, not the desktop behind"
        client.do(win.map)  # type: ignore[attr-defined]
        until(cap, shows_window(401, 251), "restored")

        # Closed: the source stops with words a user understands.
        client.do(win.destroy)  # type: ignore[attr-defined]
        with pytest.raises(SourceClosedError, match="the shared window was closed"):
            for _ in range(100):
                cap.wait_newer(cap.latest().seq if cap.latest() else -1, timeout=5)
    assert SourceState.COVERED in states
    assert SourceState.MINIMISED in states and states[-1] is SourceState.CLOSED


def test_region_crops_exactly(display: str, client: Client) -> None:
    win = client.window("Region", 0, 0, WIDTH, HEIGHT, "black")
    try:
        # A fine pattern of child windows: every pixel position distinguishable.
        rng = np.random.default_rng(3)
        for _ in range(60):
            x, y = int(rng.integers(0, WIDTH - 40)), int(rng.integers(0, HEIGHT - 40))
            colour = ["red", "green", "white", "yellow", "cyan"][int(rng.integers(0, 5))]
            client.child(win, x, y, int(rng.integers(1, 40)), int(rng.integers(1, 40)), colour)
        time.sleep(0.2)
        with ScreenCapture(1, display=display, fps=30, with_cursor=False) as cap:
            full = cap.wait_newer(-1, timeout=10).y.copy()
        for region in (Region(101, 57, 333, 203), Region(0, 0, 64, 64),
                       Region(WIDTH - 77, HEIGHT - 31, 77, 31), Region(1200, 700, 500, 500)):
            with ScreenCapture(1, display=display, fps=30, region=region,
                               with_cursor=False) as cap:
                frame = cap.wait_newer(-1, timeout=10)
            w = min(region.width, WIDTH - region.left)
            h = min(region.height, HEIGHT - region.top)
            assert (frame.width, frame.height) == (w + w % 2, h + h % 2), region
            want = full[region.top : region.top + h, region.left : region.left + w]
            assert np.array_equal(frame.y[:h, :w], want), f"region {region} crops exactly"
        with pytest.raises(Exception, match="outside"), \
                ScreenCapture(1, display=display, region=Region(2000, 10, 5, 5)) as cap:
            cap.wait_newer(-1, timeout=10)
    finally:
        client.do(win.destroy)  # type: ignore[attr-defined]


def _send(display: str, *extra: str) -> tuple[int, str]:
    import os
    import subprocess
    import sys

    env = dict(os.environ, DISPLAY=display)
    out = subprocess.run(
        [sys.executable, "-m", "castapp", "send", "482913", "--headless", "--server",
         "ws://127.0.0.1:9/ws", "--display", display, *extra],
        capture_output=True, text=True, timeout=60, env=env)
    return out.returncode, out.stdout + out.stderr


def test_cli_window_and_region_mistakes_are_explained(display: str, client: Client) -> None:
    win = client.window("Presenter notes", 10, 10, 200, 100, "green")
    try:
        code, text = _send(display, "--window", "Slides deck")
        assert code == 2 and "no window titled 'Slides deck'" in text, text
        assert "Presenter notes" in text, "the error lists the open windows"
        assert "Traceback" not in text
        code, text = _send(display, "--region", "5000,0,100,100")
        assert code == 2 and "outside" in text, text
        code, text = _send(display, "--region", "1,2,three,4")
        assert code == 2 and "X,Y,WIDTH,HEIGHT" in text, text
    finally:
        client.do(win.destroy)  # type: ignore[attr-defined]
