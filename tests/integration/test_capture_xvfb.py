"""ScreenCapture against a real X server (Xvfb) whose content the test controls.

The test starts its own ``Xvfb -displayfd``: the server picks a free display number and
writes it to a pipe once it accepts connections, so there is no polling and no sleeping.
``-noreset`` keeps the root window background when the drawing client (``xsetroot``)
disconnects. Content is drawn with ``xsetroot -solid`` and ``xsetroot -bitmap``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from xvfb import require, xsetroot, xvfb

from castapp.rtc.capture import (
    Region,
    ScreenCapture,
    fit_size,
    list_monitors,
    scale_filter,
)
from castapp.rtc.convert import I420Converter

pytestmark = pytest.mark.timeout(60)

WIDTH, HEIGHT = 1280, 720


@pytest.fixture(scope="module")
def display() -> Iterator[str]:
    require("xsetroot")
    with xvfb(WIDTH, HEIGHT) as name:
        yield name


def expected_yuv(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """Y, U, V of a solid colour through the same conversion ScreenCapture uses."""
    bgra = np.zeros((2, 2, 4), np.uint8)
    bgra[..., 0], bgra[..., 1], bgra[..., 2], bgra[..., 3] = rgb[2], rgb[1], rgb[0], 255
    i420 = I420Converter().convert(bgra).ravel()
    return int(i420[0]), int(i420[4]), int(i420[5])


def planes(i420: np.ndarray, width: int, height: int) -> tuple[np.ndarray, ...]:
    y = i420[:height]
    u = i420[height : height + height // 4].reshape(height // 2, width // 2)
    v = i420[height + height // 4 :].reshape(height // 2, width // 2)
    return y, u, v


def write_checker_xbm(path: Path, cell: int) -> None:
    """A 2*cell square XBM tile: set bits where (x < cell) == (y < cell)."""
    size = 2 * cell
    data = []
    for y in range(size):
        for byte in range(size // 8):
            value = 0
            for bit in range(8):
                x = byte * 8 + bit
                if (x < cell) == (y < cell):
                    value |= 1 << bit
            data.append(f"0x{value:02x}")
    path.write_text(
        f"#define t_width {size}\n#define t_height {size}\n"
        "static unsigned char t_bits[] = {\n" + ", ".join(data) + " };\n"
    )


RED, BLUE = (255, 0, 0), (0, 0, 255)
GREEN, MAGENTA = (0, 255, 0), (255, 0, 255)


def test_monitors_listed(display: str) -> None:
    monitors = list_monitors(display)
    assert monitors[0].index == 0
    assert (monitors[1].width, monitors[1].height) == (WIDTH, HEIGHT)


def test_solid_colour_and_change_arrive(display: str) -> None:
    xsetroot(display, "-solid", "#ff0000")
    cap = ScreenCapture(1, display=display, fps=30, with_cursor=False)
    with cap:
        frame = cap.wait_newer(-1, timeout=10)
        assert (frame.width, frame.height) == (WIDTH, HEIGHT)
        assert frame.i420.shape == (HEIGHT * 3 // 2, WIDTH)
        y, u, v = planes(frame.i420, WIDTH, HEIGHT)
        ey, eu, ev = expected_yuv(RED)
        assert abs(int(np.median(y)) - ey) <= 1
        assert abs(int(np.median(u)) - eu) <= 1 and abs(int(np.median(v)) - ev) <= 1
        assert frame.timestamp == pytest.approx(time.time(), abs=10)

        xsetroot(display, "-solid", "#0000ff")
        ey, _, _ = expected_yuv(BLUE)
        deadline = time.monotonic() + 5
        while True:
            frame = cap.wait_newer(frame.seq, timeout=5)
            if abs(int(np.median(frame.y)) - ey) <= 1 or time.monotonic() > deadline:
                break
        assert abs(int(np.median(frame.y)) - ey) <= 1, "the change reached the capture"


def test_pattern_region_and_downscale(display: str, tmp_path: Path) -> None:
    cell = 32
    xbm = tmp_path / "checker.xbm"
    write_checker_xbm(xbm, cell)
    xsetroot(display, "-bitmap", str(xbm), "-fg", "#00ff00", "-bg", "#ff00ff")
    fg, bg = expected_yuv(GREEN)[0], expected_yuv(MAGENTA)[0]

    def expect(x: int, y: int) -> int:
        return fg if ((x % (2 * cell)) < cell) == ((y % (2 * cell)) < cell) else bg

    with ScreenCapture(1, display=display, fps=30, with_cursor=False) as cap:
        y = cap.wait_newer(-1, timeout=10).y
    for py in range(cell // 2, HEIGHT, cell):
        for px in range(cell // 2, WIDTH, cell):
            assert abs(int(y[py, px]) - expect(px, py)) <= 1, (px, py)

    region = Region(left=48, top=16, width=401, height=301)  # odd sizes are padded
    with ScreenCapture(1, display=display, fps=30, region=region, with_cursor=False) as cap:
        frame = cap.wait_newer(-1, timeout=10)
    assert (frame.width, frame.height) == (402, 302)
    for py in range(8, 300, 16):
        for px in range(8, 400, 16):
            want = expect(px + region.left, py + region.top)
            assert abs(int(frame.y[py, px]) - want) <= 1, (px, py)

    max_size = (640, 640)
    with ScreenCapture(1, display=display, fps=30, max_size=max_size,
                       with_cursor=False) as cap:
        frame = cap.wait_newer(-1, timeout=10)
    assert (frame.width, frame.height) == fit_size(WIDTH, HEIGHT, max_size) == (640, 360)
    assert frame.i420.shape == (540, 640)
    half = cell // 2  # cells are 16 px after halving
    for py in range(half // 2, 360, half):
        for px in range(half // 2, 640, half):
            want = expect(px * 2, py * 2)
            assert abs(int(frame.y[py, px]) - want) <= 2, (px, py)

    # A size between whole divisors rounds down to the next one: 1/2, never 1/1.5.
    with ScreenCapture(1, display=display, fps=30, max_size=(854, 854)) as cap:
        frame = cap.wait_newer(-1, timeout=10)
    assert (frame.width, frame.height) == (640, 360)
    assert scale_filter(WIDTH, HEIGHT, 854, 480) == "bilinear"
    assert scale_filter(WIDTH, HEIGHT, 640, 360) == "box"


def test_only_newest_frame_is_kept(display: str) -> None:
    xsetroot(display, "-solid", "#808080")
    with ScreenCapture(1, display=display, fps=60, max_size=(640, 360)) as cap:
        first = cap.wait_newer(-1, timeout=10)
        time.sleep(0.3)  # a consumer that falls behind
        newest = cap.wait_newer(first.seq, timeout=5)
        assert newest.seq >= first.seq + 5, "frames kept coming while nobody consumed"
        assert cap.latest() is newest or cap.latest().seq >= newest.seq
        assert cap.dropped >= newest.seq - first.seq - 1
        again = cap.wait_newer(newest.seq, timeout=5)
        assert again.seq > newest.seq
        assert cap.grab_ms > 0 and cap.convert_ms > 0
    assert not cap.running


def test_a_region_past_the_screen_edge_is_cut_and_said(display: str) -> None:
    xsetroot(display, "-solid", "#808080")
    with ScreenCapture(1, display=display, fps=30,
                       region=Region(WIDTH - 80, HEIGHT - 50, 200, 200)) as cap:
        frame = cap.wait_newer(-1, timeout=10)
        assert (frame.width, frame.height) == (80, 50)
        assert cap.region_grabbed == Region(WIDTH - 80, HEIGHT - 50, 80, 50)
    # the command line says so before it casts (a room service that is not there: the line
    # comes first, then that failure); it cast 80x50 without a word
    out = subprocess.run(
        [sys.executable, "-m", "castapp", "send", "--headless", "--display", display,
         "--region", f"{WIDTH - 80},{HEIGHT - 50},200,200", "--no-audio", "--server",
         "ws://127.0.0.1:1/ws", "482913"],
        capture_output=True, text=True, timeout=60)
    assert "The region reaches past the screen: 80x50 at 1200,670 is sent." in out.stdout, out
    assert out.returncode == 1 and "Traceback" not in out.stderr


def test_a_missing_monitor_is_the_one_thing_said(display: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "castapp", "send", "--headless", "--display", display,
         "--monitor", "5", "--server", "ws://127.0.0.1:1/ws", "482913"],
        capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    # it said "The picture is sent without sound: …" first, of a cast that could not start
    assert (out.stdout + out.stderr).strip().splitlines() == [
        f"castapp: Monitor 5 does not exist; this computer has 1: 1 ({WIDTH}x{HEIGHT})."]


def test_missing_monitor_fails_cleanly(display: str) -> None:
    cap = ScreenCapture(7, display=display, fps=30)
    cap.start()
    with pytest.raises(Exception, match="monitor 7 does not exist"):
        cap.wait_newer(-1, timeout=10)
    cap.stop()


@pytest.mark.parametrize("max_size", [None, (640, 360)])
def test_in_place_grab_matches_the_copied_grab(display: str, max_size: tuple[int, int] | None
                                               ) -> None:
    """Converting straight from the X server's shared memory (with the pointer drawn into
    a patch afterwards) gives the frame mss's copy of it gives, pointer included, at
    native size and at 1/2."""
    from Xlib import display as xdisplay

    xsetroot(display, "-solid", "#3080c0")
    d = xdisplay.Display(display)
    try:
        d.screen().root.warp_pointer(333, 211)  # odd, so the patch needs aligning
        d.sync()
    finally:
        d.close()
    frames = {}
    for in_place in (True, False):
        cap = ScreenCapture(1, display=display, fps=30, max_size=max_size)
        cap.in_place = in_place
        with cap:
            frames[in_place] = cap.wait_newer(-1, timeout=10).i420
            if in_place:
                assert cap._shm is not None, "mss grabs through MIT-SHM on Xvfb"
    fast, copied = frames[True].astype(int), frames[False].astype(int)
    luma = copied[: copied.shape[0] * 2 // 3]
    assert (np.abs(luma - np.median(luma)) > 3).sum() > 40, "the pointer is in the frame"
    diff = np.abs(fast - copied)
    assert diff.max() <= 1 and (diff > 0).sum() <= 8
