"""The exact frame comparison that backs change-driven capture when DAMAGE is absent."""

from __future__ import annotations

import numpy as np

from castapp.rtc.capture import ScreenCapture, SyntheticSource
from castapp.rtc.change import MAX_BOXES, Box, CompareFilter, XDamageFilter, add_box, filter_for


def frame(w: int = 1366, h: int = 768, value: int = 16) -> np.ndarray:
    i420 = np.full((h * 3 // 2, w), 128, np.uint8)
    i420[:h] = value
    return i420


def test_single_pixel_and_blocks() -> None:
    flt = CompareFilter()
    assert flt.after_grab(frame())  # the first frame is always published
    assert not flt.after_grab(frame()), "identical pixels are not published"
    changed = frame()
    changed[700, 1300] = 17  # one luma level, one pixel, in the last (partial) block column
    assert flt.after_grab(changed)
    change = flt.last_change
    assert change is not None
    assert change.blocks.shape == (12, 22)  # 768/64 rows, ceil(1366/64) columns
    assert change.blocks.sum() == 1 and change.blocks[10, 20]
    assert 0 < change.fraction < 0.01
    assert not flt.after_grab(changed.copy())
    assert flt.unchanged == 2


def test_chroma_only_and_size_change() -> None:
    flt = CompareFilter()
    flt.after_grab(frame())
    tinted = frame()
    tinted[768 + 10, 5] = 90  # a chroma sample only
    assert flt.after_grab(tinted)
    assert flt.after_grab(frame(1680, 1050)), "a new size is a change"
    assert flt.last_change is not None and flt.last_change.fraction == 1.0


def test_listeners_get_each_change() -> None:
    flt = CompareFilter()
    seen: list[float] = []
    flt.listeners.append(lambda c: seen.append(c.fraction))
    flt.after_grab(frame())
    flt.after_grab(frame())
    moved = frame()
    moved[:64, :64] = 200
    flt.after_grab(moved)
    assert seen[0] == 1.0 and len(seen) == 2 and seen[1] < 0.01


def test_filter_choice() -> None:
    assert type(filter_for(SyntheticSource(64, 64))) is CompareFilter

    # An X11 screen capture whose server is gone: DAMAGE fails, the comparison takes over.
    screen = ScreenCapture(1, display=":999")
    flt = filter_for(screen)
    assert isinstance(flt, XDamageFilter)
    assert flt.before_grab() is True and not flt.active
    assert flt.before_grab() is True, "without DAMAGE every tick grabs and compares"


def test_drawn_boxes_merge_when_they_touch_and_stay_apart_otherwise() -> None:
    boxes: list[Box] = []
    add_box(boxes, (10, 10, 20, 20))
    add_box(boxes, (500, 400, 510, 420))  # far away: kept apart
    add_box(boxes, (18, 15, 30, 25))  # overlaps the first
    assert sorted(boxes) == [(10, 10, 30, 25), (500, 400, 510, 420)]
    for i in range(MAX_BOXES - 1):  # one more than MAX_BOXES in all
        add_box(boxes, (1000 + 50 * i, 0, 1010 + 50 * i, 10))
    assert boxes == [(10, 0, 1310, 420)]  # too many: one bounding box


def test_comparing_only_the_regions_finds_the_same_change() -> None:
    rng = np.random.default_rng(5)
    first = rng.integers(0, 256, (360, 320), dtype=np.uint8)  # 320x240 I420
    changed = first.copy()
    changed[130, 201] ^= 0xFF  # one luma pixel
    chroma_only = changed.copy()
    chroma_only[240 + 10, 3] ^= 0x0F  # a U sample only (see below)
    whole, regions = CompareFilter(), CompareFilter()
    for f in (whole, regions):
        assert f.after_grab(first)
    assert whole.after_grab(changed)
    assert regions.after_grab(changed, [(192, 128, 256, 136)])
    assert whole.last_change is not None and regions.last_change is not None
    assert np.array_equal(whole.last_change.blocks, regions.last_change.blocks)
    assert regions.last_change.blocks.sum() == 1
    assert not regions.after_grab(changed.copy(), [(0, 0, 64, 64)]), "same pixels"
    # U is 160 wide, so array row 250 holds U rows 20 and 21; its column 3 is U row 20,
    # column 3, which covers pixels x 6..7, y 40..41
    assert regions.after_grab(chroma_only, [(0, 40, 8, 42)])
    assert regions.last_change is not None and regions.last_change.blocks[0, 0]
