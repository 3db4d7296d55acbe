"""The mouse pointer is drawn into captured frames on X11, where the pointer is.

The test owns an Xvfb, paints the root window one colour, moves the pointer with the XTest
extension (python-xlib) and looks for the pointer's pixels in frames from ScreenCapture,
after a real H.264 encode and decode like the receiver's. Xvfb's root cursor is the
classic X cross, 16x16 with its hotspot in the middle.
"""

from __future__ import annotations

import fractions
import time
from collections.abc import Iterator

import av
import numpy as np
import pytest
from aiortc.codecs.h264 import h264_depayload
from Xlib import X
from Xlib import display as xdisplay
from Xlib.ext import xtest
from xvfb import require, xsetroot, xvfb

from castapp.rtc.capture import ScreenCapture
from castapp.rtc.encoder import EncoderConfig, ScreenH264Encoder
from castapp.rtc.mailbox import CapturedFrame

pytestmark = pytest.mark.timeout(90)

WIDTH, HEIGHT = 1280, 720


@pytest.fixture(scope="module")
def display() -> Iterator[str]:
    require("xsetroot")
    with xvfb(WIDTH, HEIGHT) as name:
        xsetroot(name, "-solid", "#3070b0")
        yield name


def move_pointer(name: str, x: int, y: int) -> None:
    d = xdisplay.Display(name)
    try:
        xtest.fake_input(d, X.MotionNotify, x=x, y=y)
        d.sync()
    finally:
        d.close()


def received_luma(frame: CapturedFrame) -> np.ndarray:
    """The frame's luma after H.264 encode and decode, as the receiver sees it."""
    enc = ScreenH264Encoder(EncoderConfig(max_fps=30))
    dec = av.CodecContext.create("h264", "r")
    vf = frame.to_video_frame()
    vf.pts, vf.time_base = 0, fractions.Fraction(1, 90000)
    payloads, _ = enc.encode(vf)
    (out,) = dec.decode(av.Packet(b"".join(h264_depayload(p) for p in payloads)))
    plane = out.planes[0]
    return np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)[: out.height, : out.width]


def pointer_box(y: np.ndarray) -> tuple[int, int, int, int] | None:
    """Bounding box of pixels far from the (flat) background luma."""
    background = int(np.median(y))
    ys, xs = np.nonzero(np.abs(y.astype(np.int16) - background) > 40)
    if xs.size == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())


def frame_with_pointer_at(cap: ScreenCapture, x: int, y: int) -> CapturedFrame:
    """The first frame whose pointer is centred near (x, y) (the move takes a moment)."""
    frame = cap.wait_newer(-1, timeout=10)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        box = pointer_box(frame.y)
        if box is not None and abs((box[0] + box[2]) / 2 - x) <= 2 and \
                abs((box[1] + box[3]) / 2 - y) <= 2:
            return frame
        frame = cap.wait_newer(frame.seq, timeout=5)
    raise AssertionError(f"no pointer at {x},{y} in the capture; last box {pointer_box(frame.y)}")


def test_pointer_follows_the_mouse_into_received_frames(display: str) -> None:
    with ScreenCapture(1, display=display, fps=30) as cap:  # the pointer is on by default
        assert cap.with_cursor
        for x, y in [(200, 150), (1001, 603), (640, 360)]:
            move_pointer(display, x, y)
            frame = frame_with_pointer_at(cap, x, y)
            box = pointer_box(received_luma(frame))
            assert box is not None, "the pointer survives encoding"
            cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            assert abs(cx - x) <= 2 and abs(cy - y) <= 2, (box, x, y)
            assert 8 <= box[2] - box[0] <= 24 and 8 <= box[3] - box[1] <= 24, box


def test_pointer_can_be_turned_off(display: str) -> None:
    move_pointer(display, 300, 300)
    with ScreenCapture(1, display=display, fps=30, with_cursor=True) as cap:
        frame_with_pointer_at(cap, 300, 300)
    with ScreenCapture(1, display=display, fps=30, with_cursor=False) as cap:
        frame = cap.wait_newer(-1, timeout=10)
        assert pointer_box(frame.y) is None
        assert pointer_box(received_luma(frame)) is None


def test_pointer_in_a_region_is_placed_relative_to_it(display: str) -> None:
    from castapp.rtc.capture import Region

    move_pointer(display, 500, 400)
    region = Region(left=400, top=300, width=301, height=201)
    with ScreenCapture(1, display=display, fps=30, region=region) as cap:
        frame_with_pointer_at(cap, 100, 100)
