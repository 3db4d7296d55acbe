"""Real decoded frames for the TV's windows: coloured test patterns through H.264 and back."""

from __future__ import annotations

import time
from fractions import Fraction

import av
import numpy as np
from PySide6.QtCore import QRect

from castapp.rtc import pattern
from castapp.rtc.receive import ReceivedFrame

#: Four presenters' colours as BT.601 limited-range Y, U, V, and the RGB a decoder makes.
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (81, 90, 240),
    "green": (145, 54, 34),
    "blue": (41, 240, 110),
    "yellow": (210, 16, 146),
}


def rgb_of(yuv: tuple[int, int, int]) -> np.ndarray:
    y, u, v = yuv
    c, d, e = y - 16, u - 128, v - 128
    return np.clip(np.array([1.164 * c + 1.596 * e, 1.164 * c - 0.392 * d - 0.813 * e,
                             1.164 * c + 2.017 * d]), 0, 255)


def coloured_i420(width: int, height: int, yuv: tuple[int, int, int], counter: int) -> np.ndarray:
    """A solid colour with the test pattern's moving box and counter band."""
    return pattern.draw_frame(coloured_base(width, height, yuv), width, height, counter)


def coloured_base(width: int, height: int, yuv: tuple[int, int, int]) -> np.ndarray:
    """The still part of :func:`coloured_i420`: the colour and a neutral counter band."""
    img = np.empty((height * 3 // 2, width), dtype=np.uint8)
    y, u, v = yuv
    img[:height] = y
    img[height:height + height // 4] = u
    img[height + height // 4:] = v
    band_top = height - pattern.band_height(height)
    img[band_top:height] = 128
    chroma = img[height:].reshape(2, height // 2, width // 2)
    chroma[:, band_top // 2:] = 128
    return img


class Decoded:
    """Encodes patterns with x264 and decodes them with FFmpeg's H.264 decoder, as a call does."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.encoder = av.CodecContext.create("libx264", "w")
        self.encoder.width, self.encoder.height = width, height
        self.encoder.pix_fmt = "yuv420p"
        self.encoder.time_base = Fraction(1, 90000)
        self.encoder.options = {"preset": "ultrafast", "tune": "zerolatency", "crf": "18"}
        self.decoder = av.CodecContext.create("h264", "r")
        self.seq = 0

    def frame(self, yuv: tuple[int, int, int], counter: int) -> ReceivedFrame:
        raw = av.VideoFrame.from_numpy_buffer(
            coloured_i420(self.width, self.height, yuv, counter), format="yuv420p")
        raw.pts = self.seq * 3000
        for packet in self.encoder.encode(raw):
            for decoded in self.decoder.decode(packet):
                self.seq += 1
                return ReceivedFrame(decoded, self.seq - 1, time.time(), time.monotonic(), 0)
        raise AssertionError("the encoder held the frame back")


def visible_bits(gray: np.ndarray, hidden: QRect | None) -> dict[int, int] | None:
    """The pattern's counter bits whose cells are not under ``hidden`` (the code corner).

    None when a visible cell does not read cleanly.
    """
    height, width = gray.shape
    cell_w = (width // pattern.COUNTER_BITS) // 2 * 2
    band = pattern.band_height(height)
    cell_h, top = band // 2, height - band
    bits = {}
    for bit in range(pattern.COUNTER_BITS):
        cell = QRect(bit * cell_w, top, cell_w, band)
        if hidden is not None and hidden.intersects(cell):
            continue
        mx, my = cell_w // 4, cell_h // 4
        a = gray[top + my:top + cell_h - my, bit * cell_w + mx:(bit + 1) * cell_w - mx].mean()
        b = gray[top + cell_h + my:top + band - my,
                 bit * cell_w + mx:(bit + 1) * cell_w - mx].mean()
        if abs(a - b) < 60:
            return None
        bits[bit] = 1 if a > b else 0
    return bits
