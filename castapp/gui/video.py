"""The received screen, drawn by QtMultimedia.

Decoded yuv420p planes are copied into a :class:`QVideoFrame` and handed to the video
widget's sink; colour conversion and enlarging (aspect ratio kept) run in Qt's renderer, on
the GPU where there is one. Frames are shown at most at the display's refresh rate: a frame
that arrives while the previous one is still due replaces it, so nothing queues up.

Shrinking is done here, not by Qt: Qt's renderer samples bilinearly without mipmaps, so
below full size it skips source pixels and one-pixel strokes of text drop out ("make"
reads as "nake" at 0.8x). A frame shown smaller than its size is first reduced to the
widget's size in device pixels with swscale's area filter (every source pixel weighted by
the area it covers), then drawn 1:1.
"""

from __future__ import annotations

import time

import av
import numpy as np
from av.video.reformatter import VideoReformatter
from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QImage, QResizeEvent, QShowEvent
from PySide6.QtMultimedia import QVideoFrame, QVideoFrameFormat
from PySide6.QtMultimediaWidgets import QVideoWidget
from PySide6.QtWidgets import QWidget

_YUV420P = QVideoFrameFormat.PixelFormat.Format_YUV420P


def shown_size(frame_w: int, frame_h: int, view_w: int, view_h: int) -> tuple[int, int] | None:
    """The even size a frame is reduced to for a view of ``view_w x view_h`` device pixels
    (aspect ratio kept), or None when it is shown at full size or enlarged."""
    if frame_w <= 0 or frame_h <= 0 or view_w <= 0 or view_h <= 0:
        return None
    scale = min(view_w / frame_w, view_h / frame_h)
    if scale >= 0.99:
        return None
    w = max(2, round(frame_w * scale) // 2 * 2)
    h = max(2, round(frame_h * scale) // 2 * 2)
    return w, h


def to_video_frame(frame: av.VideoFrame) -> QVideoFrame:
    """Copy a decoded frame's planes into a new QVideoFrame (BT.601, limited range)."""
    if frame.format.name != "yuv420p":
        frame = frame.reformat(format="yuv420p")
    width, height = frame.width, frame.height
    fmt = QVideoFrameFormat(QSize(width, height), _YUV420P)
    fmt.setColorSpace(QVideoFrameFormat.ColorSpace.ColorSpace_BT601)
    fmt.setColorRange(QVideoFrameFormat.ColorRange.ColorRange_Video)
    out = QVideoFrame(fmt)
    if not out.map(QVideoFrame.MapMode.WriteOnly):
        raise RuntimeError("cannot map a video frame for writing")
    try:
        for i, plane in enumerate(frame.planes):
            rows, cols = (height, width) if i == 0 else ((height + 1) // 2, (width + 1) // 2)
            src = np.frombuffer(plane, dtype=np.uint8).reshape(-1, plane.line_size)
            stride = out.bytesPerLine(i)
            dst = np.frombuffer(out.bits(i), dtype=np.uint8)
            rows = min(rows, src.shape[0], dst.size // stride)
            cols = min(cols, plane.line_size, stride)
            dst[: rows * stride].reshape(rows, stride)[:, :cols] = src[:rows, :cols]
    finally:
        out.unmap()
    return out


class VideoView(QVideoWidget):
    """Shows the newest frame offered, at most once per display refresh."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAspectRatioMode(Qt.AspectRatioMode.KeepAspectRatio)
        self.setStyleSheet("background: black;")
        self._pending: av.VideoFrame | None = None
        self._current: QVideoFrame | None = None
        self._last_shown = 0.0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._show_pending)
        self.frames_offered = 0
        self.frames_shown = 0
        self._interval = 1.0 / 60.0
        self.area_filter = True
        """Reduce frames shown smaller than their size with an area filter (see above)."""
        self._full: av.VideoFrame | None = None
        self._reformatter = VideoReformatter()
        self.reduce_ms = 0.0
        self._resized = QTimer(self)
        self._resized.setSingleShot(True)
        self._resized.timeout.connect(self._reshow)

    def showEvent(self, event: QShowEvent) -> None:
        # The display's refresh rate, looked up when shown rather than for every frame.
        super().showEvent(event)
        screen = self.screen()
        hz = screen.refreshRate() if screen is not None else 60.0
        self._interval = 1.0 / (hz if 10.0 <= hz <= 500.0 else 60.0)

    def offer(self, frame: av.VideoFrame) -> None:
        """Take a decoded frame; an older one not yet shown is dropped."""
        self.frames_offered += 1
        self._pending = frame
        if self._timer.isActive():
            return
        wait = self._last_shown + self._interval - time.monotonic()
        if wait <= 0:
            self._show_pending()
        else:
            self._timer.start(max(1, round(wait * 1000)))

    def _show_pending(self) -> None:
        frame, self._pending = self._pending, None
        if frame is None:
            return
        self._full = frame
        self._current = to_video_frame(self._reduced(frame))
        self._last_shown = time.monotonic()
        self.videoSink().setVideoFrame(self._current)
        self.frames_shown += 1

    def _reduced(self, frame: av.VideoFrame) -> av.VideoFrame:
        if not self.area_filter:
            return frame
        ratio = self.devicePixelRatioF()
        size = shown_size(frame.width, frame.height, round(self.width() * ratio),
                          round(self.height() * ratio))
        if size is None:
            return frame
        t0 = time.perf_counter()
        small = self._reformatter.reformat(frame, width=size[0], height=size[1],
                                           format="yuv420p", interpolation="AREA")
        self.reduce_ms = (time.perf_counter() - t0) * 1000.0
        return small

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._full is not None and self._pending is None:
            self._resized.start(30)  # redraw the last frame at the new size, once

    def _reshow(self) -> None:
        if self._full is not None and self._pending is None and not self._timer.isActive():
            self._pending = self._full
            self._show_pending()
            self.frames_shown -= 1  # the same frame again

    def clear(self) -> None:
        self._timer.stop()
        self._resized.stop()
        self._pending = self._current = self._full = None
        self.videoSink().setVideoFrame(QVideoFrame())

    def snapshot(self) -> QImage | None:
        """The frame on screen at full resolution, or None if nothing is shown."""
        if self._full is None:
            return None
        return to_video_frame(self._full).toImage()
