"""BGRA -> I420 conversion: sizes, scaling filters, padding and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from castapp.rtc.capture import fit_size
from castapp.rtc.convert import (
    I420Converter,
    even_up,
    i420_frame,
    libyuv_available,
    scale_bgra,
    scale_filter,
)

BACKENDS = ["libyuv", "swscale"]


def solid(width: int, height: int, bgr: tuple[int, int, int]) -> np.ndarray:
    img = np.empty((height, width, 4), np.uint8)
    img[..., :3] = bgr
    img[..., 3] = 255
    return img


def test_fit_size_pads_unscaled_and_divides_whole() -> None:
    assert fit_size(1680, 1050, None) == (1680, 1050)
    assert fit_size(1919, 1079, None) == (1920, 1080)
    assert fit_size(1919, 1079, (1920, 1080)) == (1920, 1080)
    assert fit_size(3840, 2160, (1920, 1080)) == (1920, 1080)
    assert fit_size(2880, 1800, (1920, 1080)) == (1440, 900)
    assert fit_size(3441, 1441, (1920, 1080)) == (1720, 720)
    assert even_up(1) == 2 and even_up(7) == 8 and even_up(8) == 8


def test_scale_filter() -> None:
    assert scale_filter(3840, 2160, 1920, 1080) == "box"
    assert scale_filter(1920, 1080, 1280, 720) == "bilinear"
    assert scale_filter(3840, 2160, 1280, 720) == "box"


@pytest.mark.parametrize("backend", BACKENDS)
def test_box_downscale_averages_thin_lines(backend: str) -> None:
    if backend == "libyuv" and not libyuv_available():
        pytest.fail("libyuv missing: run scripts/setup.sh (Debian package libyuv0)")
    img = solid(64, 32, (255, 255, 255))
    img[:, ::2, :3] = 0  # one-pixel black/white stripes
    i420 = I420Converter(backend).convert(img, (32, 16))  # type: ignore[arg-type]
    y = i420[:16].astype(int)
    # Averaged to mid grey, not aliased to all-black or all-white.
    assert 115 <= int(np.median(y)) <= 135


@pytest.mark.parametrize("backend", BACKENDS)
def test_padding_and_colour(backend: str) -> None:
    if backend == "libyuv" and not libyuv_available():
        pytest.fail("libyuv missing: run scripts/setup.sh (Debian package libyuv0)")
    img = solid(5, 3, (0, 0, 255))  # red
    img[:, 4, :3] = (255, 0, 0)  # last column blue
    out = I420Converter(backend).convert(img)  # type: ignore[arg-type]
    assert out.shape == (6, 6)
    y = out[:4]
    assert abs(int(y[0, 0]) - 82) <= 1 and abs(int(y[0, 4]) - 41) <= 1
    assert (y[:3, 5] == y[:3, 4]).all() and (y[3] == y[2]).all()


def test_converter_rejects_bad_input() -> None:
    conv = I420Converter()
    with pytest.raises(ValueError, match="BGRA"):
        conv.convert(np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match="even"):
        conv.convert(solid(8, 8, (0, 0, 0)), (5, 4))
    with pytest.raises(ValueError, match="unknown"):
        I420Converter("numpy")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="even"):
        i420_frame(np.zeros((6, 5), np.uint8), 5, 4)


def test_strided_source_is_accepted() -> None:
    big = solid(40, 20, (0, 255, 0))
    view = big[2:12, 3:23]  # a region of a larger grab
    out = I420Converter().convert(view)
    assert out.shape == (15, 20)
    assert abs(int(out[0, 0]) - 145) <= 1


def test_scale_bgra_thumbnail() -> None:
    img = solid(320, 200, (10, 20, 30))
    out = scale_bgra(img, 80, 50)
    assert out.shape == (50, 80, 4) and (out[..., :3] == (10, 20, 30)).all()


def test_a_converted_patch_equals_the_whole_frame_conversion() -> None:
    if not libyuv_available():
        pytest.skip("libyuv is not installed")
    rng = np.random.default_rng(3)
    before = rng.integers(0, 256, (120, 160, 4), dtype=np.uint8)
    after = before.copy()
    after[37:51, 9:70] = rng.integers(0, 256, (14, 61, 4), dtype=np.uint8)
    conv = I420Converter("libyuv")
    out = conv.convert(before)
    # the drawn rectangle widened to even coordinates, as the screen capture does
    assert conv.convert_into(after[36:52, 8:70], out, 8, 36)
    assert np.array_equal(out, conv.convert(after))
    with pytest.raises(ValueError):
        conv.convert_into(after[36:52, 9:70], out, 9, 36)  # odd: splits 2x2 chroma blocks
    assert not I420Converter("swscale").convert_into(after[36:52, 8:70], out, 8, 36)
