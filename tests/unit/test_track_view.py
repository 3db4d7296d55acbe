"""The TV's view on the outgoing track: a rate cap that adds no latency when it changes nothing.

A real :class:`CaptureTrack` over a real synthetic source (no network): frames are pulled as
aiortc's sender would, with one late pull (a busy moment) in the middle.
"""

from __future__ import annotations

import asyncio
import statistics
import time

from castapp.rtc.capture import SyntheticSource
from castapp.rtc.encoder import EncoderConfig
from castapp.rtc.track import CaptureTrack

FPS = 30


async def pull(track: CaptureTrack, frames: int, late_at: int) -> list[float]:
    """Seconds from each frame's capture to its hand-over, with one pull 25 ms late."""
    ages = []
    for i in range(frames):
        frame = await track.recv()
        assert track.last_frame is not None
        ages.append(time.monotonic() - track.last_frame.monotonic)
        assert frame.width <= 320
        if i == late_at:
            await asyncio.sleep(0.025)
    return ages


async def test_a_view_at_the_capture_rate_does_not_hold_frames_back():
    source = SyntheticSource(640, 360, fps=FPS)
    source.start()
    track = CaptureTrack(source, encoder=EncoderConfig(change_driven=False))
    try:
        track.limit(320, 180, FPS)  # a tile of half the size, at the full rate
        ages = await pull(track, 24, late_at=6)
        # held to 1/30 s after each send, the late frame would push every later one back
        # by up to a frame interval (25 ms here); the cap is the capture rate: no wait
        assert statistics.median(ages[9:]) < 0.012, ages
        assert track.last_frame is not None and track.frames_sent == 24
    finally:
        track.stop()
        source.stop()


async def test_a_view_below_the_capture_rate_still_caps_it():
    source = SyntheticSource(640, 360, fps=FPS)
    source.start()
    track = CaptureTrack(source, encoder=EncoderConfig(change_driven=False))
    try:
        track.limit(320, 180, FPS // 2)
        await track.recv()
        start = time.monotonic()
        for _ in range(10):
            await track.recv()
        rate = 10 / (time.monotonic() - start)
        assert rate < FPS * 0.6, rate  # about 15 a second, not 30
    finally:
        track.stop()
        source.stop()


async def test_a_view_below_the_capture_rate_keeps_the_rate_asked():
    """25 of 30 captured frames a second: a late wake-up or pull does not lower the rate
    (each frame is due an interval after the last was due, not after it was sent)."""
    source = SyntheticSource(640, 360, fps=FPS)
    source.start()
    track = CaptureTrack(source, encoder=EncoderConfig(change_driven=False))
    try:
        track.limit(320, 180, 25)
        await track.recv()
        start = time.monotonic()
        for i in range(50):
            await track.recv()
            if i % 10 == 5:
                await asyncio.sleep(0.02)  # a busy moment
        rate = 50 / (time.monotonic() - start)
        assert 24.0 <= rate <= 26.5, rate  # held to 1/25 s after each send: about 22
    finally:
        track.stop()
        source.stop()
