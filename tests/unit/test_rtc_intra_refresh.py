"""x264 intra refresh as the repair for lost pictures instead of IDR keyframes."""

from __future__ import annotations

import numpy as np

from castapp.rtc.encoder import EncoderConfig, ScreenH264Encoder
from castapp.rtc.hwenc import SOFTWARE_H264, CodecSpec, options_for


def textured(counter: int) -> np.ndarray:
    rng = np.random.default_rng(3)
    y = rng.integers(16, 235, (360, 640), dtype=np.uint8)
    y[:16, : 8 * (counter % 60 + 1)] = 255  # a "typing" line that grows
    return np.concatenate([y, np.full((180, 640), 128, np.uint8)])  # + U and V planes


def encode_run(config: EncoderConfig, frames: int, request_at: int) -> list[tuple[int, bool]]:
    import av

    enc = ScreenH264Encoder(config)
    out = []
    for i in range(frames):
        frame = av.VideoFrame.from_numpy_buffer(textured(i), format="yuv420p")
        nals = enc.encode_nals(frame, force_keyframe=(i == request_at))
        out.append((sum(len(n) for n in nals), enc.stats.last_keyframe))
    return out


def test_x264_gets_intra_refresh_only_when_asked() -> None:
    spec = CodecSpec(width=640, height=360, fps=30, target_bps=2_000_000, level="3.1")
    assert "intra-refresh" not in options_for(SOFTWARE_H264, spec)["x264-params"]
    with_ir = CodecSpec(width=640, height=360, fps=30, target_bps=2_000_000, level="3.1",
                        keyint=30, intra_refresh=True)
    assert "intra-refresh=1" in options_for(SOFTWARE_H264, with_ir)["x264-params"]
    assert EncoderConfig(max_fps=30, intra_refresh_s=1.0).keyint == 30


def test_a_keyframe_request_is_left_to_the_refresh_wave() -> None:
    """With intra refresh only the first frame is an IDR; a request (PLI) adds none and no
    frame comes near the IDR's size. With keyframes the request is answered with one."""
    base = dict(max_fps=30, hardware=False, change_driven=False, keyframe_request_interval_s=0)
    ir = encode_run(EncoderConfig(**base, intra_refresh_s=1.0), 40, request_at=20)
    idr = encode_run(EncoderConfig(**base), 40, request_at=20)
    assert [i for i, (_, key) in enumerate(idr) if key] == [0, 20]
    assert [i for i, (_, key) in enumerate(ir) if key] == [0]
    assert max(size for size, _ in ir[1:]) < 0.5 * ir[0][0]
