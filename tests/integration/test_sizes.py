"""Every capture size arrives whole and with the right colours through real encoders.

A known BGRA picture of each size class (width and height mod 4 = 0..3, odd sizes, common
laptop and monitor sizes) goes the way a grab goes: :class:`I420Converter` (the capture
thread's conversion), :meth:`CapturedFrame.to_video_frame` (what the track hands aiortc),
castapp's screen-tuned H.264 and VP8 encoders, RTP depayloading and the decoders the
receiver uses. The decoded picture must have the padded even size, the right colour in
every block (a shifted chroma plane shows as wrong U/V), and the dark bands along the
right and bottom edges (lost rows or columns show as missing bands).
"""

from __future__ import annotations

import fractions

import av
import numpy as np
import pytest
from aiortc.codecs.h264 import h264_depayload
from aiortc.codecs.vpx import vp8_depayload

from castapp.rtc.convert import I420Converter, even_up, i420_planes, libyuv_available
from castapp.rtc.encoder import EncoderConfig, ScreenH264Encoder, ScreenVp8Encoder
from castapp.rtc.mailbox import CapturedFrame

pytestmark = pytest.mark.timeout(300)

TB = fractions.Fraction(1, 90000)

MOD_CLASSES = [(640 + dw, 360 + dh) for dw in range(4) for dh in range(4)]
COMMON = [(1366, 768), (1680, 1050), (1400, 1050), (800, 450), (1601, 901), (2880, 1800),
          (3440, 1440)]

COLOURS = [(220, 30, 30), (30, 200, 40), (40, 50, 230), (240, 230, 40), (40, 220, 230),
           (230, 40, 220)]
EDGE = 2  # dark band along the right and bottom edges, in pixels


def bt601(rgb: tuple[int, int, int]) -> tuple[float, float, float]:
    r, g, b = rgb
    y = 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255
    u = 128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255
    v = 128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255
    return y, u, v


def blocks(width: int, height: int) -> list[tuple[int, int, int, int, tuple[int, int, int]]]:
    """Coloured blocks (x0, y0, x1, y1, rgb) on a light grey background."""
    cols = len(COLOURS)
    bw = (width - 16) // cols
    y0, y1 = height // 4, height * 3 // 4
    return [(8 + i * bw + 3, y0, 8 + (i + 1) * bw - 3, y1, c) for i, c in enumerate(COLOURS)]


def picture(width: int, height: int) -> np.ndarray:
    bgra = np.full((height, width, 4), 200, np.uint8)
    bgra[..., 3] = 255
    for x0, y0, x1, y1, (r, g, b) in blocks(width, height):
        bgra[y0:y1, x0:x1, :3] = (b, g, r)
    bgra[:, width - EDGE :, :3] = 20
    bgra[height - EDGE :, :, :3] = 20
    return bgra


def decoded_planes(frame: av.VideoFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if frame.format.name != "yuv420p":
        frame = frame.reformat(format="yuv420p")
    out = []
    for i, plane in enumerate(frame.planes):
        rows = frame.height if i == 0 else frame.height // 2
        cols = frame.width if i == 0 else frame.width // 2
        arr = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)
        out.append(arr[:rows, :cols].astype(np.int16))
    return out[0], out[1], out[2]


def check_picture(y: np.ndarray, u: np.ndarray, v: np.ndarray, width: int, height: int,
                  tol_y: float, tol_c: float, what: str) -> None:
    assert y.shape == (even_up(height), even_up(width)), f"{what}: size {y.shape[::-1]}"
    for x0, y0, x1, y1, rgb in blocks(width, height):
        ey, eu, ev = bt601(rgb)
        m = 4  # stay clear of block edges: 4:2:0 and the codec blur them
        got_y = float(np.mean(y[y0 + m : y1 - m, x0 + m : x1 - m]))
        got_u = float(np.mean(u[(y0 + m) // 2 : (y1 - m) // 2, (x0 + m) // 2 : (x1 - m) // 2]))
        got_v = float(np.mean(v[(y0 + m) // 2 : (y1 - m) // 2, (x0 + m) // 2 : (x1 - m) // 2]))
        assert abs(got_y - ey) <= tol_y, f"{what}: Y {got_y:.1f} != {ey:.1f} for {rgb}"
        assert abs(got_u - eu) <= tol_c, f"{what}: U {got_u:.1f} != {eu:.1f} for {rgb}"
        assert abs(got_v - ev) <= tol_c, f"{what}: V {got_v:.1f} != {ev:.1f} for {rgb}"
        # The block starts where it was drawn: the column left of it is background.
        assert abs(float(np.mean(y[y0 + m : y1 - m, x0 - 2])) - bt601((200,) * 3)[0]) < 20
    grey, dark = bt601((200,) * 3)[0], bt601((20,) * 3)[0]
    mid = slice(height // 8, height // 8 + 16)
    # The last drawn rows/columns (and the padding copied from them) are dark; the ones
    # just inside are not: nothing was lost or shifted at the edges.
    assert float(np.mean(y[height - EDGE : height, 8:-8])) < dark + 25, f"{what}: bottom band"
    assert float(np.mean(y[height - EDGE - 3, 8:-8])) > grey - 25, f"{what}: above bottom band"
    assert float(np.mean(y[mid, width - EDGE : width])) < dark + 25, f"{what}: right band"
    assert float(np.mean(y[mid, width - EDGE - 3])) > grey - 25, f"{what}: left of right band"


@pytest.mark.parametrize("backend", ["libyuv", "swscale"])
def test_conversion_keeps_every_size(backend: str) -> None:
    if backend == "libyuv" and not libyuv_available():
        pytest.fail("libyuv missing: run scripts/setup.sh (Debian package libyuv0)")
    conv = I420Converter(backend)  # type: ignore[arg-type]
    for width, height in [*MOD_CLASSES, (1680, 1050), (1367, 769)]:
        i420 = conv.convert(picture(width, height))
        w2, h2 = even_up(width), even_up(height)
        assert i420.shape == (h2 * 3 // 2, w2)
        y, u, v = (p.astype(np.int16) for p in i420_planes(i420, w2, h2))
        check_picture(y, u, v, width, height, 1.5, 1.5, f"{backend} {width}x{height}")
        if width % 2:
            assert np.array_equal(y[:, width], y[:, width - 1]), "padding repeats the last column"
        if height % 2:
            assert np.array_equal(y[height], y[height - 1]), "padding repeats the last row"


def _encode_decode(codec: str, frame: av.VideoFrame, enc: ScreenH264Encoder | ScreenVp8Encoder,
                   dec: av.CodecContext) -> av.VideoFrame:
    payloads, _ = enc.encode(frame)
    depay = h264_depayload if codec == "h264" else vp8_depayload
    data = b"".join(depay(p) for p in payloads)
    decoded = dec.decode(av.Packet(data))
    assert len(decoded) == 1
    return decoded[0]


@pytest.mark.parametrize("codec", ["h264", "vp8"])
def test_every_size_class_through_encoder_and_decoder(codec: str) -> None:
    conv = I420Converter()
    for width, height in [*MOD_CLASSES, *COMMON]:
        if codec == "h264":
            enc = ScreenH264Encoder(EncoderConfig(max_fps=30))
            dec = av.CodecContext.create("h264", "r")
        else:
            enc = ScreenVp8Encoder(EncoderConfig(max_fps=30))
            dec = av.CodecContext.create("libvpx", "r")
        i420 = conv.convert(picture(width, height))
        w2, h2 = even_up(width), even_up(height)
        for i in range(2):  # a keyframe and a P-frame
            captured = CapturedFrame(i420=i420, width=w2, height=h2, seq=i, timestamp=0.0,
                                     monotonic=float(i))
            frame = captured.to_video_frame()
            assert (frame.width, frame.height) == (w2, h2)
            frame.pts, frame.time_base = i * 3000, TB
            out = _encode_decode(codec, frame, enc, dec)
            assert (out.width, out.height) == (w2, h2), f"{codec} {width}x{height}"
            y, u, v = decoded_planes(out)
            check_picture(y, u, v, width, height, 6, 6, f"{codec} {width}x{height} #{i}")


def test_video_frame_wrap_is_zero_copy_and_keeps_its_buffer() -> None:
    conv = I420Converter()
    i420 = conv.convert(picture(1680, 1050))
    frame = CapturedFrame(i420=i420, width=1680, height=1050, seq=0, timestamp=0.0,
                          monotonic=0.0).to_video_frame()
    i420[0, 0] = 123
    assert bytes(frame.planes[0])[0] == 123, "the frame shares the capture buffer"
    del i420
    import gc

    gc.collect()
    y, u, _ = decoded_planes(frame)
    assert y.shape == (1050, 1680) and u.shape == (525, 840)
    assert int(y[0, 0]) == 123
