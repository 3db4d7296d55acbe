"""x264 ``ultrafast`` with 4×4 intra prediction (``castapp.rtc.hwenc.ULTRAFAST_4X4``)."""

from __future__ import annotations

import dataclasses
import re

import av
import numpy as np

from castapp.rtc.encoder import EncoderConfig
from castapp.rtc.hwenc import SOFTWARE_H264, CodecSpec, open_context

SPEC = CodecSpec(width=640, height=360, fps=30, target_bps=8_000_000, level="3.1", threads=1)


def text_screen(seed: int = 5) -> np.ndarray:
    """A white page with lines of dark seven-segment "words" of 1-pixel strokes (I420)."""
    rng = np.random.default_rng(seed)
    y = np.full((SPEC.height, SPEC.width), 235, np.uint8)
    for top in range(10, SPEC.height - 12, 13):
        left = 6
        while left < SPEC.width - 12:
            for _ in range(int(rng.integers(2, 8))):  # a word
                on = rng.random(7) < 0.6
                cell = y[top:top + 9, left:left + 5]
                for seg, (rows, cols) in enumerate(SEGMENTS):
                    if on[seg]:
                        cell[rows, cols] = 30
                left += 7
                if left >= SPEC.width - 12:
                    break
            left += 7
    return np.concatenate([y, np.full((SPEC.height // 2, SPEC.width), 128, np.uint8)])


#: The seven segments of a 5×9 glyph cell: (rows, columns) of each stroke.
SEGMENTS = ((0, slice(0, 5)), (slice(0, 5), 4), (slice(4, 9), 4), (8, slice(0, 5)),
            (slice(4, 9), 0), (slice(0, 5), 0), (4, slice(0, 5)))


def keyframe(spec: CodecSpec, i420: np.ndarray) -> tuple[bytes, float]:
    """The encoded keyframe and its luma PSNR."""
    codec = open_context(SOFTWARE_H264, spec)
    frame = av.VideoFrame.from_numpy_buffer(i420, format="yuv420p")
    frame.pts = 0
    packets = [*codec.encode(frame), *codec.encode(None)]
    data = b"".join(bytes(p) for p in packets)
    decoder = av.CodecContext.create("h264", "r")
    pictures = [f for p in packets for f in decoder.decode(p)]
    got = pictures[0].to_ndarray()[: spec.height, : spec.width].astype(np.float64)
    mse = float(np.mean((got - i420[: spec.height].astype(np.float64)) ** 2))
    return data, 10 * np.log10(255 ** 2 / max(mse, 1e-9))


def x264_settings(data: bytes) -> dict[str, str]:
    """The settings x264 writes into its first SEI: ``name=value`` pairs."""
    found = re.search(rb"options: ([^\x00]*)", data)
    assert found is not None, "x264 wrote no settings into the stream"
    return dict(item.split("=", 1) for item in found.group(1).decode().split() if "=" in item)


def test_the_settings_differ_from_ultrafast_only_in_the_intra_analysis() -> None:
    plain = x264_settings(keyframe(dataclasses.replace(SPEC, intra_4x4=False), text_screen())[0])
    with_4x4 = x264_settings(keyframe(SPEC, text_screen())[0])
    assert plain["analyse"] == "0:0"  # ultrafast: 16×16 intra only
    assert with_4x4["analyse"] == "0x1:0x1"  # 4×4 intra in keyframes and in other frames
    assert {k for k in plain if plain[k] != with_4x4.get(k)} == {"analyse"}
    assert set(plain) == set(with_4x4)


def test_a_text_keyframe_is_sharper_for_no_more_bytes() -> None:
    """Thin strokes are what 16×16 prediction cannot follow: the keyframe of a page of them
    gains over 1 dB for no more bytes (x264 aims at a quality, CRF, so on a real desktop
    the gain shows as both: 18 % fewer bytes at 0.5 dB more). At x264's own I/P ratio; the
    coarse keyframes castapp sends are ``test_rtc_hwenc_keyframe_qp``'s."""
    screen = text_screen()
    spec = dataclasses.replace(SPEC, keyframe_qp_offset=None)
    plain, plain_db = keyframe(dataclasses.replace(spec, intra_4x4=False), screen)
    with_4x4, db = keyframe(spec, screen)
    assert len(with_4x4) <= 1.02 * len(plain), (len(with_4x4), len(plain))
    assert db >= plain_db + 1.0, (db, plain_db)


def test_the_setting_is_on_by_default_and_a_change_needs_a_new_context() -> None:
    config = EncoderConfig()
    assert config.intra_4x4 and SPEC.intra_4x4
    assert config.rebuild_key() != dataclasses.replace(config, intra_4x4=False).rebuild_key()
