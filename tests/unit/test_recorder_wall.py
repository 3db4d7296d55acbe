"""``castapp receive --record``: what the TV shows, every presenter on it, in a real file."""

from __future__ import annotations

import time
from pathlib import Path

import av
import numpy as np
import pytest

from castapp.rtc.receive import ReceivedFrame
from castapp.rtc.record import Recorder, compose

pytestmark = pytest.mark.timeout(60)

RED, BLUE = (220, 30, 30), (30, 30, 220)


def solid(width: int, height: int, rgb: tuple[int, int, int]) -> av.VideoFrame:
    return av.VideoFrame.from_ndarray(np.full((height, width, 3), rgb, np.uint8),
                                      format="rgb24").reformat(format="yuv420p")


def received(frame: av.VideoFrame, seq: int) -> ReceivedFrame:
    now = time.monotonic()
    return ReceivedFrame(frame, seq, time.time(), now, 0)


def rgb(i420: np.ndarray) -> np.ndarray:
    return av.VideoFrame.from_ndarray(i420, format="yuv420p").to_ndarray(format="rgb24")


def near(pixel: np.ndarray, colour: tuple[int, int, int]) -> bool:
    return bool(np.abs(pixel.astype(int) - colour).max() < 30)


@pytest.mark.parametrize("wall", [(1280, 720), (1366, 768), (640, 360)])
def test_two_presenters_side_by_side_each_with_its_aspect(wall: tuple[int, int]) -> None:
    w, h = wall
    picture = rgb(compose([("a", solid(1280, 720, RED)), ("b", solid(640, 480, BLUE))], w, h))
    assert picture.shape == (h, w, 3)
    assert near(picture[h // 2, w // 4], RED) and near(picture[h // 2, 3 * w // 4], BLUE)
    # the 4:3 presenter keeps its shape: as wide as 4/3 of its height, black around it
    blue = np.argwhere(np.abs(picture.astype(int) - BLUE).max(axis=2) < 30)
    bh = blue[:, 0].max() - blue[:, 0].min() + 1
    bw = blue[:, 1].max() - blue[:, 1].min() + 1
    assert abs(bw / bh - 4 / 3) < 0.05, (bw, bh)
    assert near(picture[2, 3 * w // 4], (0, 0, 0))  # above it: the wall, black


def test_a_picture_that_did_not_change_is_not_scaled_again() -> None:
    a, b = solid(1280, 720, RED), solid(640, 480, BLUE)
    kept: dict[str, tuple[object, int, int, np.ndarray]] = {}
    first = compose([("a", a), ("b", b)], 1280, 720, kept)
    fitted = kept["a"][3]
    assert np.array_equal(compose([("a", a), ("b", b)], 1280, 720, kept), first)
    assert kept["a"][3] is fitted  # the same fitted picture, used again
    compose([("a", solid(1280, 720, BLUE)), ("b", b)], 1280, 720, kept)
    assert kept["a"][3] is not fitted  # a new picture of "a" is fitted anew
    compose([("b", b)], 1280, 720, kept)
    assert set(kept) == {"b"}  # a presenter who left is not kept


def phase(rec: Recorder, wall: list[str], offered: list[tuple[str, av.VideoFrame]]) -> None:
    """The wall is ``wall``; pictures come until three of this phase are recorded."""
    rec.set_wall(wall)
    start, deadline = rec.written, time.monotonic() + 20
    seq = 0
    while rec.written < start + 3:
        assert time.monotonic() < deadline, "the recorder recorded nothing"
        for key, frame in offered:
            rec.offer_call(key, received(frame, seq))
        seq += 1
        time.sleep(0.04)


def test_the_recording_holds_every_presenter_on_the_wall_and_only_them(
        tmp_path: Path) -> None:
    path = tmp_path / "shown.mkv"
    rec = Recorder(path, (640, 360), fps=30)
    red, blue = solid(640, 360, RED), solid(640, 360, BLUE)
    phase(rec, ["a"], [("a", red)])
    phase(rec, ["a", "b"], [("a", red), ("b", blue)])  # a second presenter: both on the wall
    # the first one stopped; a late picture of it is not shown
    phase(rec, ["b"], [("b", blue), ("a", red)])
    rec.close()
    with av.open(str(path)) as box:
        pictures = [f.to_ndarray(format="rgb24") for f in box.decode(video=0)]
    assert len(pictures) >= 9
    assert {p.shape for p in pictures} == {(360, 640, 3)}  # the TV's screen

    def seen(p: np.ndarray) -> str:
        left, right = p[180, 160], p[180, 480]
        return ("R" if near(left, RED) else "B" if near(left, BLUE) else "-") + \
               ("R" if near(right, RED) else "B" if near(right, BLUE) else "-")

    order = [seen(p) for p in pictures]
    # red alone, then red beside blue (it recorded the first presenter only), then blue alone
    runs = [k for i, k in enumerate(order) if i == 0 or order[i - 1] != k]
    assert runs == ["RR", "RB", "BB"], order


def test_the_recording_keeps_the_tvs_shape_whoever_presents_first(tmp_path: Path) -> None:
    """A portrait laptop presents first, a landscape one after: the file stays the TV's
    1280×720 throughout, the portrait picture upright in the middle with black beside it,
    the landscape one alone filling the screen."""
    path = tmp_path / "shown.mkv"
    rec = Recorder(path, (1280, 720), fps=30)
    phase(rec, ["p"], [("p", solid(360, 640, RED))])
    phase(rec, ["l"], [("l", solid(640, 360, BLUE))])
    rec.close()
    with av.open(str(path)) as box:
        pictures = [f.to_ndarray(format="rgb24") for f in box.decode(video=0)]
    assert {p.shape for p in pictures} == {(720, 1280, 3)}
    first, last = pictures[0], pictures[-1]
    assert near(first[360, 640], RED) and near(first[360, 100], (0, 0, 0))
    red = np.argwhere(np.abs(first.astype(int) - RED).max(axis=2) < 30)
    rh = red[:, 0].max() - red[:, 0].min() + 1
    rw = red[:, 1].max() - red[:, 1].min() + 1
    assert rh == 720 and abs(rw / rh - 360 / 640) < 0.02, (rw, rh)  # upright, full height
    assert near(last[5, 5], BLUE) and near(last[714, 1274], BLUE)  # fills the screen
