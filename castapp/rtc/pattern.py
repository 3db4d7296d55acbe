"""A deterministic I420 test pattern whose frame counter survives lossy compression.

Layout (top to bottom): eight colour bars with a grey box that moves with the counter,
then a counter band of two rows of :data:`COUNTER_BITS` big cells. The first row holds
the counter's bits (most significant first, white = 1), the second row the same bits
inverted, so a reader can tell a clean readback from a damaged one.
"""

from __future__ import annotations

import numpy as np

COUNTER_BITS = 16
MIN_SIZE = 64

# 75 % colour bars (white, yellow, cyan, green, magenta, red, blue, black) as BT.601
# limited-range Y, U, V.
_BARS: tuple[tuple[int, int, int], ...] = (
    (180, 128, 128),
    (162, 44, 142),
    (131, 156, 44),
    (112, 72, 58),
    (84, 184, 198),
    (65, 100, 212),
    (35, 212, 114),
    (16, 128, 128),
)
_WHITE = 235
_BLACK = 16


def _even(value: int) -> int:
    return value - (value % 2)


def band_height(height: int) -> int:
    """Height of the counter band: a multiple of 16 rows, about a fifth of the frame."""
    return max(16, (height // 5) // 16 * 16)


def _cell_geometry(width: int, height: int) -> tuple[int, int, int]:
    cell_w = _even(width // COUNTER_BITS)
    band = band_height(height)
    return cell_w, band // 2, height - band


def _check_size(width: int, height: int) -> None:
    if width < MIN_SIZE or height < MIN_SIZE or width % 2 or height % 2:
        raise ValueError(f"pattern needs even dimensions of at least {MIN_SIZE}: {width}x{height}")


def make_base(width: int, height: int) -> np.ndarray:
    """The static part of the pattern (bars, neutral band) as an I420 array."""
    _check_size(width, height)
    img = np.empty((height * 3 // 2, width), dtype=np.uint8)
    y = img[:height]
    u = img[height : height + height // 4].reshape(height // 2, width // 2)
    v = img[height + height // 4 :].reshape(height // 2, width // 2)
    bar_w = _even(width // len(_BARS))
    for i, (by, bu, bv) in enumerate(_BARS):
        x0 = i * bar_w
        x1 = width if i == len(_BARS) - 1 else x0 + bar_w
        y[:, x0:x1] = by
        u[:, x0 // 2 : x1 // 2] = bu
        v[:, x0 // 2 : x1 // 2] = bv
    _, _, band_top = _cell_geometry(width, height)
    y[band_top:] = 128
    u[band_top // 2 :] = 128
    v[band_top // 2 :] = 128
    return img


def draw_frame(base: np.ndarray, width: int, height: int, counter: int) -> np.ndarray:
    """A new I420 array: ``base`` plus the moving box and ``counter`` in the band."""
    img = base.copy()
    y = img[:height]
    cell_w, cell_h, band_top = _cell_geometry(width, height)
    value = counter % (1 << COUNTER_BITS)
    for bit in range(COUNTER_BITS):
        on = (value >> (COUNTER_BITS - 1 - bit)) & 1
        x0 = bit * cell_w
        y[band_top : band_top + cell_h, x0 : x0 + cell_w] = _WHITE if on else _BLACK
        y[band_top + cell_h : band_top + 2 * cell_h, x0 : x0 + cell_w] = _BLACK if on else _WHITE
    box = _even(max(8, min(width, band_top) // 6))
    span = max(1, width - box)
    x = (counter * 8) % (2 * span)
    x = _even(x if x < span else 2 * span - x)
    top = _even(max(0, (band_top - box) // 2))
    y[top : top + box, x : x + box] = 128
    return img


def read_counter(y_plane: np.ndarray) -> int | None:
    """Read the counter from a luma plane; ``None`` if the band does not read cleanly."""
    height, width = y_plane.shape[:2]
    cell_w, cell_h, band_top = _cell_geometry(width, height)
    mx, my = max(1, cell_w // 4), max(1, cell_h // 4)
    value = 0
    for bit in range(COUNTER_BITS):
        x0 = bit * cell_w
        top = y_plane[band_top + my : band_top + cell_h - my, x0 + mx : x0 + cell_w - mx]
        bottom_top = band_top + cell_h
        bottom = y_plane[bottom_top + my : bottom_top + cell_h - my, x0 + mx : x0 + cell_w - mx]
        a = float(np.mean(top))
        b = float(np.mean(bottom))
        if abs(a - b) < 60:
            return None
        value = (value << 1) | (1 if a > b else 0)
    return value
