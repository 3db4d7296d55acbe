"""A cast shown smaller than its size keeps thin strokes (the receiver's scaling filter).

Known text with one-pixel strokes ("make", unantialiased) is drawn into a frame, offered to
the real video widget at 0.8x and 0.5x of its size on the test's X screen, and what the
screen then shows is compared with an exact area-weighted reduction of the original
computed here in numpy (each source pixel weighted by the area it covers). The same
comparison with the filter turned off (Qt's own bilinear shrink) shows what the filter
buys.
"""

from __future__ import annotations

import av
import numpy as np
import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter

from castapp.gui.video import VideoView, shown_size

pytestmark = pytest.mark.timeout(60)

FRAME_W, FRAME_H = 960, 540


def text_image() -> QImage:
    image = QImage(FRAME_W, FRAME_H, QImage.Format.Format_RGB32)
    image.fill(QColor(255, 255, 255))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, False)
    font = QFont("DejaVu Sans")
    font.setPixelSize(13)
    font.setStyleStrategy(QFont.StyleStrategy.NoAntialias)
    painter.setFont(font)
    painter.setPen(QColor(0, 0, 0))
    for row in range(FRAME_H // 18):
        painter.drawText(QRect(4, row * 18, FRAME_W - 8, 18), Qt.AlignmentFlag.AlignLeft,
                         "make make the mark; minimum ||| iiii llll make " * 3)
    painter.end()
    return image


def grey(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB32)
    arr = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(),
                                                              image.bytesPerLine())
    bgra = arr[:, : image.width() * 4].reshape(image.height(), image.width(), 4)
    return bgra[..., :3].astype(np.float64).mean(axis=2)


def area_weights(src: int, dst: int) -> np.ndarray:
    """dst x src matrix: the share of each source pixel inside each destination pixel."""
    w = np.zeros((dst, src))
    scale = src / dst
    for i in range(dst):
        a, b = i * scale, (i + 1) * scale
        for j in range(int(a), min(src, int(np.ceil(b)))):
            w[i, j] = min(b, j + 1) - max(a, j)
    return w / w.sum(axis=1, keepdims=True)


def area_reference(img: np.ndarray, w: int, h: int) -> np.ndarray:
    return area_weights(img.shape[0], h) @ img @ area_weights(img.shape[1], w).T


def shown_on_screen(qtbot, view: VideoView, frame: av.VideoFrame) -> np.ndarray:
    before = view.frames_shown
    view.offer(frame)
    qtbot.waitUntil(lambda: view.frames_shown > before, timeout=5000)
    qtbot.wait(300)  # let the renderer draw it
    top_left = view.mapToGlobal(view.rect().topLeft())
    grab = view.screen().grabWindow(0, top_left.x(), top_left.y(), view.width(), view.height())
    return grey(grab.toImage())


def picture_area(shown: np.ndarray, w: int, h: int) -> np.ndarray:
    """The picture inside the letterboxed widget (the view keeps the aspect ratio)."""
    y0 = (shown.shape[0] - h) // 2
    x0 = (shown.shape[1] - w) // 2
    return shown[y0 : y0 + h, x0 : x0 + w]


def test_shown_size() -> None:
    assert shown_size(1920, 1080, 1536, 864) == (1536, 864)
    assert shown_size(1920, 1080, 1920, 1200) is None
    assert shown_size(1920, 1080, 3840, 2160) is None
    assert shown_size(1680, 1050, 800, 800) == (800, 500)


@pytest.mark.parametrize("scale", [0.8, 0.4])
def test_thin_strokes_survive_shrinking(qtbot, scale: float) -> None:
    original = text_image()
    rgb = grey(original)
    frame = av.VideoFrame.from_ndarray(
        np.repeat(rgb.astype(np.uint8)[..., None], 3, axis=2), format="rgb24"
    ).reformat(format="yuv420p")
    w, h = round(FRAME_W * scale), round(FRAME_H * scale)
    reference = area_reference(rgb, w, h)

    errors = {}
    for area_filter in (True, False):
        view = VideoView()
        qtbot.addWidget(view)
        view.area_filter = area_filter
        view.setFixedSize(w, h)
        view.show()
        qtbot.waitExposed(view)
        shown = picture_area(shown_on_screen(qtbot, view, frame), w, h)
        errors[area_filter] = float(np.mean(np.abs(shown - reference)))
        if area_filter:
            assert view.reduce_ms > 0, "the frame was reduced before display"
            # Every text line keeps its ink: the darkest pixel of each line is as dark as
            # the reference's (a dropped stroke would leave a lighter line).
            for row in range(0, h - 10, round(18 * scale)):
                band = slice(row, row + round(18 * scale))
                assert shown[band].min() <= reference[band].min() + 40
        view.close()
    print(f"mean abs error vs area reference at {scale}x: filtered {errors[True]:.1f}, "
          f"Qt bilinear {errors[False]:.1f}")
    assert errors[True] < 12.0
    assert errors[True] < errors[False] * 0.8, errors
