"""The Auto preset on a real X screen: scrolling raises the frame rate, a video region
switches the mode to motion and back, and the receiver sees the mode in-band.

Scenes are drawn on the Xvfb root window with python-xlib from a thread of the test: a
page of text-like rectangles scrolled with XCopyArea (new lines drawn at the bottom), and a
"video" region repainted with random blocks every frame.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import AsyncIterator, Iterator

import pytest
from screen_cast import ScreenCast, x_screen

from castapp.rtc.encoder import EncoderConfig
from castapp.rtc.receive import ReceivedFrame

pytestmark = pytest.mark.timeout(120)


class Painter:
    """Draws a scene on the root window at ``fps`` until stopped."""

    def __init__(self, display: str, scene: str, fps: float = 30.0) -> None:
        self.display, self.scene, self.fps = display, scene, fps
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.frames = 0

    def __enter__(self) -> Painter:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        from Xlib import display as xdisplay

        d = xdisplay.Display(self.display)
        root = d.screen().root
        rng = random.Random(3)
        dark = root.create_gc(foreground=0x202020)
        light = root.create_gc(foreground=0xF0F0F0)
        colours = [root.create_gc(foreground=rng.randrange(1 << 24)) for _ in range(16)]
        if self.scene == "scroll":  # a page of text first
            root.fill_rectangle(light, 100, 100, 1080, 520)
            for y in range(105, 615, 10):
                x = 110
                while x < 1150:
                    w = rng.randrange(12, 60)
                    root.fill_rectangle(dark, x, y, w, 4)
                    x += w + 8
            d.sync()
        next_at = time.monotonic()
        try:
            while not self._stop.is_set():
                if self.scene == "scroll":
                    # Scroll the page region up by 6 rows; write a new "line" at the bottom.
                    root.copy_area(light, root, 100, 106, 1080, 514, 100, 100)
                    root.fill_rectangle(light, 100, 614, 1080, 6)
                    x = 110
                    while x < 1150:
                        w = rng.randrange(12, 60)
                        root.fill_rectangle(dark, x, 615, w, 4)
                        x += w + 8
                else:  # video: random blocks across a 480x270 region
                    for _ in range(60):
                        gc = colours[rng.randrange(16)]
                        root.fill_rectangle(gc, 400 + rng.randrange(0, 448),
                                            200 + rng.randrange(0, 238), 32, 32)
                d.sync()
                self.frames += 1
                next_at += 1.0 / self.fps
                self._stop.wait(max(0.0, next_at - time.monotonic()))
        finally:
            d.close()


@pytest.fixture
def screen() -> Iterator[str]:
    with x_screen("#e0e0e0") as display:
        yield display


class AutoCast(ScreenCast):
    def __init__(self, display: str) -> None:
        super().__init__(display, 60.0, EncoderConfig(max_fps=60, auto=True, hardware=False))
        self.arrivals: list[float] = []

    def on_frame(self, frame: ReceivedFrame) -> None:
        self.arrivals.append(frame.received_monotonic)

    def fps(self, seconds: float) -> float:
        now = time.monotonic()
        return sum(1 for t in self.arrivals if now - t <= seconds) / seconds

    async def wait_mode(self, mode: str, timeout: float) -> float:
        assert self.track is not None and self.receiver is not None
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if self.track.link.stats.mode == mode and self.receiver.sender_info.get(
                    "mode") == mode:
                return time.monotonic() - t0
            await asyncio.sleep(0.05)
        raise AssertionError(f"mode stayed {self.track.link.stats.mode!r} (receiver sees "
                             f"{self.receiver.sender_info}) instead of {mode!r}")


@pytest.fixture
async def cast(screen: str, loopback_only: None) -> AsyncIterator[AutoCast]:
    async with AutoCast(screen) as c:
        yield c


async def rates(cast: AutoCast, painter: Painter, seconds: float) -> tuple[float, float]:
    """Frames received and repaints drawn per second over the next ``seconds``."""
    t0, painted0 = time.monotonic(), painter.frames
    await asyncio.sleep(seconds)
    return cast.fps(seconds), (painter.frames - painted0) / (time.monotonic() - t0)


async def test_scroll_raises_the_frame_rate(cast: AutoCast, screen: str) -> None:
    await cast.wait_mode("text", 5)
    from castapp.rtc.content import MODE_SETTINGS, Mode

    text_cap = MODE_SETTINGS[Mode.TEXT].max_encode_fps
    assert text_cap is not None
    with Painter(screen, "scroll", fps=30) as painter:
        took = await cast.wait_mode("scroll", 8)
        scroll_fps, paint_fps = await rates(cast, painter, 2.0)
    print(f"scroll: scroll mode after {took:.1f} s, then {scroll_fps:.1f} fps received "
          f"({paint_fps:.1f} repaints/s; text mode caps at {text_cap:.0f})")
    assert scroll_fps >= 0.8 * paint_fps, "scrolling gets every repaint"
    assert scroll_fps > 1.4 * text_cap, "the frame rate rises above the text mode's cap"


async def test_video_switches_to_motion_and_back(cast: AutoCast, screen: str) -> None:
    await cast.wait_mode("text", 5)
    with Painter(screen, "video", fps=30) as painter:
        took = await cast.wait_mode("motion", 8)
        motion_fps, paint_fps = await rates(cast, painter, 1.5)
        assert cast.track is not None
        crf = cast.track.link.config.crf
    back = await cast.wait_mode("text", 8)
    print(f"video: motion after {took:.1f} s at {motion_fps:.1f} fps "
          f"({paint_fps:.1f} repaints/s, crf {crf}); text again {back:.1f} s after it stopped")
    assert crf == 23
    assert motion_fps >= 0.75 * paint_fps
    assert back >= 1.0, "hysteresis: a brief pause does not switch back at once"
    assert cast.track.link.config.crf == 21
