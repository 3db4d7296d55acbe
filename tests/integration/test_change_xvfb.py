"""Change-driven capture and encode on a real X screen (Xvfb) cast over real aiortc peers.

A still screen costs no grabs (X DAMAGE says nothing changed) and no encodes beyond the
low-rate refresh; a single changed pixel after a still period is grabbed when DAMAGE
reports it (not at the next capture tick) and reaches the receiver within one frame
interval; a burst of drawing is grabbed no faster than the capture rate.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import AsyncIterator, Iterator

import numpy as np
import pytest
from screen_cast import H, ScreenCast, x_screen

from castapp.rtc import change
from castapp.rtc.encoder import EncoderConfig
from castapp.rtc.mailbox import CapturedFrame
from castapp.rtc.receive import ReceivedFrame

pytestmark = pytest.mark.timeout(90)

FPS = 30.0


@pytest.fixture
def screen() -> Iterator[str]:
    with x_screen("black") as display:
        yield display


class Cast(ScreenCast):
    def __init__(self, display: str) -> None:
        super().__init__(display, FPS, EncoderConfig(max_fps=FPS, hardware=False))
        self.frames: list[tuple[float, ReceivedFrame]] = []

    def on_frame(self, frame: ReceivedFrame) -> None:
        self.frames.append((time.monotonic(), frame))


@pytest.fixture
async def cast(screen: str, loopback_only: None) -> AsyncIterator[Cast]:
    async with Cast(screen) as c:
        yield c


def draw_pixel(display: str, x: int, y: int) -> float:
    """Draw one white pixel on the root window; returns when the server has it."""
    from Xlib import display as xdisplay

    d = xdisplay.Display(display)
    try:
        screen = d.screen()
        gc = screen.root.create_gc(foreground=screen.white_pixel)
        screen.root.fill_rectangle(gc, x, y, 1, 1)
        d.sync()
        return time.monotonic()
    finally:
        d.close()


async def test_still_screen_costs_only_the_refresh(cast: Cast) -> None:
    assert cast.track is not None
    flt = cast.source.change
    assert isinstance(flt, change.XDamageFilter), "X DAMAGE is used on X11"
    # the filter opens its X connection at its first look, on the capture thread's next
    # tick after the track installed it: the first frames may have been grabbed before that
    deadline = time.monotonic() + 5.0
    while not flt.active and not flt._failed and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert flt.active, "X DAMAGE failed on Xvfb" if flt._failed else "X DAMAGE never opened"
    await asyncio.sleep(1.0)  # settle after the first frames
    stats = cast.track.link.stats
    encodes0, grabs0, frames0 = stats.frames, cast.source.frames_produced, len(cast.frames)
    checks0 = flt.checks
    await asyncio.sleep(4.0)
    encodes = stats.frames - encodes0
    grabs = cast.source.frames_produced - grabs0
    print(f"still 4 s: {encodes} encodes ({stats.refreshes} refreshes in all), "
          f"{grabs} frames published, {flt.checks - checks0} damage checks, "
          f"{len(cast.frames) - frames0} frames received")
    assert encodes <= 4.0 / cast.track.refresh_s + 1, "no encodes beyond the refresh rate"
    assert encodes >= 4.0 / cast.track.refresh_s - 2, "the stream stays alive"
    assert grabs == 0, "an unchanged screen publishes no new frame"
    assert flt.checks - checks0 >= 4.0 * FPS * 0.5, "DAMAGE is checked every capture tick"
    assert len(cast.frames) - frames0 >= 4, "the receiver keeps getting (refresh) frames"


async def wait_for_pixel(cast: Cast, x: int, y: int, since: int,
                         timeout: float = 2.0) -> float | None:
    """When the first frame received after ``since`` frames showing (x, y) lit arrived."""
    deadline = time.monotonic() + timeout
    checked = since
    while time.monotonic() < deadline:
        await asyncio.sleep(0.002)
        for at, rf in cast.frames[checked:]:
            if rf.frame.to_ndarray()[y, x] > 80:
                return at
        checked = len(cast.frames)
    return None


async def test_single_pixel_after_still_period_arrives_within_a_frame_interval(
        cast: Cast, screen: str) -> None:
    """After a still second, a changed pixel is grabbed when DAMAGE reports it (not at the
    next capture tick, 0-33 ms later) and is on the receiver within one frame interval."""
    assert cast.receiver is not None
    interval = 1.0 / FPS
    captures: list[float] = []
    arrivals: list[float] = []
    for i in range(3):
        await asyncio.sleep(1.0)  # a still second: only refreshes every 0.5 s
        x, y = 333 + 40 * i, 222
        before = cast.frames[-1][1].frame.to_ndarray()[:H]
        assert before[y, x] < 40
        published0, woken0 = cast.source.frames_produced, cast.source.woken
        since = len(cast.frames)
        drawn_at = draw_pixel(screen, x, y)
        seen_at = await wait_for_pixel(cast, x, y, since)
        assert seen_at is not None, "the changed pixel never arrived"
        captured = cast.source.latest()
        assert captured is not None and cast.source.frames_produced == published0 + 1
        assert cast.source.woken == woken0 + 1, "the grab was started by the change"
        captures.append(captured.monotonic - drawn_at)
        arrivals.append(seen_at - drawn_at)
        assert np.asarray(cast.frames[-1][1].frame.to_ndarray()[:H])[y, x] > 80
    print(f"pixel drawn -> captured {[round(c * 1000, 1) for c in captures]} ms, "
          f"-> received {[round(a * 1000, 1) for a in arrivals]} ms "
          f"(frame interval {interval * 1000:.1f} ms)")
    # Grabbed on the change: at the next tick it would be 0-33 ms, 16.7 on average; the
    # grab starts as the X server reports the drawing (the same moment as sync returns).
    assert statistics.median(captures) <= 0.25 * interval
    # On the receiver within one frame interval (the median: one may meet a busy moment
    # on a loaded machine, but none waits for a refresh).
    assert statistics.median(arrivals) <= interval
    assert max(arrivals) <= interval + 0.15


async def test_a_burst_of_changes_stays_at_the_frame_rate_cap(
        cast: Cast, screen: str) -> None:
    """Drawing 200 times a second: the first change is grabbed at once, the rest no
    faster than the capture rate (grabs, and so encodes, stay at the cap)."""
    from Xlib import display as xdisplay

    assert cast.track is not None
    published: list[float] = []  # when each published frame's grab started
    mailbox = cast.source.mailbox
    put = mailbox.put

    def tap(frame: CapturedFrame) -> None:
        published.append(frame.monotonic)
        put(frame)

    mailbox.put = tap  # type: ignore[method-assign]
    await asyncio.sleep(1.0)  # still
    stats = cast.track.link.stats
    encodes0, grabs0 = stats.frames, cast.source.frames_produced
    d = xdisplay.Display(screen)
    seconds = 2.0
    try:
        scr = d.screen()
        gc = scr.root.create_gc(foreground=scr.white_pixel)
        first_at = time.monotonic()
        n = 0
        while time.monotonic() - first_at < seconds:
            scr.root.fill_rectangle(gc, 10 + n % 1000, 500 + n // 1000, 1, 1)
            d.sync()
            n += 1
            await asyncio.sleep(0.005)
    finally:
        d.close()
    await asyncio.sleep(0.2)
    grabs = cast.source.frames_produced - grabs0
    encodes = stats.frames - encodes0
    burst = [t for t in published if t >= first_at]
    gaps = np.diff(burst)
    print(f"{n} drawings in {seconds:.0f} s: {grabs} frames published, {encodes} encodes, "
          f"first grabbed {(burst[0] - first_at) * 1000:.1f} ms after the first drawing, "
          f"shortest gap {gaps.min() * 1000:.1f} ms")
    assert n >= 100, "the drawing loop ran"
    assert burst[0] - first_at <= 0.5 / FPS, "the first change after a still second at once"
    assert grabs <= (seconds + 0.2) * FPS + 2, "no more grabs than the capture rate"
    assert encodes <= (seconds + 0.2) * FPS + 3, "no more encodes than the capture rate"
    # The cap is a 1/FPS grid: at most one grab per slot, so k + 1 grabs span at least
    # k - 1 intervals, and two grabs are never closer than a quarter interval.
    assert gaps.min() >= 0.24 / FPS, "two grabs never closer than a quarter interval"
    times = np.array(burst)
    for k in range(2, min(12, len(times))):
        assert (times[k:] - times[:-k]).min() >= 0.98 * (k - 1) / FPS, \
            f"{k + 1} grabs within {k - 1} frame intervals"
    assert grabs >= seconds * FPS * 0.5, "a busy screen is still captured near the cap"


async def test_a_moving_pointer_is_sent_although_it_damages_nothing(
        cast: Cast, screen: str) -> None:
    """The pointer is drawn into captures; moving it draws nothing on the screen, so the
    DAMAGE check also watches the pointer's position."""
    from Xlib import display as xdisplay

    await asyncio.sleep(1.0)
    published = cast.source.frames_produced
    d = xdisplay.Display(screen)
    try:
        d.screen().root.warp_pointer(600, 400)
        d.sync()
    finally:
        d.close()
    deadline = time.monotonic() + 1.0
    while cast.source.frames_produced == published and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    assert cast.source.frames_produced > published, "the pointer move was captured"
