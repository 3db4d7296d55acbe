"""Hardware H.264 selection, self-check and fallback.

No hardware encoder works on the test machines (no GPU), so the real probes are expected
to fail and x264 to be chosen. Selection and fallback are exercised with a software
encoder standing in for a hardware one ("h264_standin", libx264 underneath) and with
failures injected at the codec-open boundary (the ``opener``).
"""

from __future__ import annotations

import fractions
from typing import Any

import av
import numpy as np
import pytest
from aiortc.codecs.h264 import h264_depayload
from av.video.codeccontext import VideoCodecContext

from castapp.rtc import hwenc, pattern
from castapp.rtc.encoder import EncoderConfig, ScreenH264Encoder

pytestmark = pytest.mark.timeout(60)

TB = fractions.Fraction(1, 90000)
STANDIN = "h264_standin"


def frame(i: int, base: np.ndarray) -> av.VideoFrame:
    f = av.VideoFrame.from_numpy_buffer(pattern.draw_frame(base, 640, 360, i), format="yuv420p")
    f.pts, f.time_base = i * 3000, TB
    return f


class FailingCodec:
    """Wraps a real context; ``encode`` fails from call ``fail_at`` on (a driver dying)."""

    def __init__(self, inner: VideoCodecContext, fail_at: int | None = None,
                 silent: bool = False) -> None:
        self._inner = inner
        self.fail_at = fail_at
        self.silent = silent
        self.calls = 0

    def encode(self, f: Any) -> list[av.Packet]:
        self.calls += 1
        if self.fail_at is not None and self.calls >= self.fail_at:
            raise av.error.ExternalError(-1, "device lost")  # type: ignore[call-arg]
        return [] if self.silent else self._inner.encode(f)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class Opener:
    """Opens ``STANDIN`` as libx264 (optionally failing), everything else for real."""

    def __init__(self, *, fail_open: bool = False, fail_at: int | None = None,
                 silent: bool = False) -> None:
        self.fail_open, self.fail_at, self.silent = fail_open, fail_at, silent
        self.opened: list[str] = []

    def __call__(self, name: str, spec: hwenc.CodecSpec) -> Any:
        self.opened.append(name)
        if name != STANDIN:
            return hwenc.open_context(name, spec)
        if self.fail_open and spec.width != 320:  # the self-check passes, the real open fails
            raise av.error.PermissionError(1, "cannot open the device")  # type: ignore[call-arg]
        ctx = hwenc.open_context(hwenc.SOFTWARE_H264, spec)
        if spec.width == 320:  # self-check context
            return FailingCodec(ctx, silent=self.silent)
        return FailingCodec(ctx, fail_at=self.fail_at)


def test_real_hardware_probes_fail_here_and_x264_is_used() -> None:
    hwenc.forget_probes()
    enc = ScreenH264Encoder(EncoderConfig(max_fps=30))
    base = pattern.make_base(640, 360)
    enc.encode(frame(0, base))
    assert enc.stats.encoder == "libx264"
    assert enc.chooser is not None
    assert set(enc.chooser.failed) == set(hwenc.HARDWARE_H264), enc.chooser.failed
    assert all(enc.chooser.failed.values()), "every rejection carries its reason"


def test_a_working_encoder_is_chosen_after_its_self_check() -> None:
    opener = Opener()
    enc = ScreenH264Encoder(EncoderConfig(max_fps=30, h264_encoders=(STANDIN,), opener=opener))
    base = pattern.make_base(640, 360)
    dec = av.CodecContext.create("h264", "r")
    for i in range(5):
        payloads, _ = enc.encode(frame(i, base))
        out = dec.decode(av.Packet(b"".join(h264_depayload(p) for p in payloads)))
        assert pattern.read_counter(out[0].to_ndarray()[:360]) == i
    assert enc.stats.encoder == STANDIN and enc.stats.fallbacks == 0
    assert opener.opened[:2] == [STANDIN, STANDIN], "self-check context, then the real one"


def test_self_check_rejects_an_encoder_that_produces_nothing() -> None:
    opener = Opener(silent=True)
    reason = hwenc.probe(STANDIN, opener, cache=False)
    assert "no output" in reason
    enc = ScreenH264Encoder(EncoderConfig(max_fps=30, h264_encoders=(STANDIN,), opener=opener))
    enc.encode(frame(0, pattern.make_base(640, 360)))
    assert enc.stats.encoder == "libx264"


def test_failure_at_open_falls_back_to_x264() -> None:
    opener = Opener(fail_open=True)
    enc = ScreenH264Encoder(EncoderConfig(max_fps=30, h264_encoders=(STANDIN,), opener=opener))
    enc.encode(frame(0, pattern.make_base(640, 360)))
    assert enc.stats.encoder == "libx264"
    assert enc.chooser is not None and "cannot open" in enc.chooser.failed[STANDIN]


def test_failure_mid_cast_falls_back_with_one_keyframe_and_no_gap() -> None:
    opener = Opener(fail_at=8)
    enc = ScreenH264Encoder(EncoderConfig(max_fps=30, h264_encoders=(STANDIN,), opener=opener))
    base = pattern.make_base(640, 360)
    dec = av.CodecContext.create("h264", "r")
    counters, keyframes = [], []
    for i in range(20):
        payloads, _ = enc.encode(frame(i, base))
        assert payloads, "every frame is encoded, the failing one included"
        keyframes.append(enc.stats.last_keyframe)
        out = dec.decode(av.Packet(b"".join(h264_depayload(p) for p in payloads)))
        counters.append(pattern.read_counter(out[0].to_ndarray()[:360]))
    assert counters == list(range(20)), "the receiver sees every frame"
    assert [i for i, k in enumerate(keyframes) if k] == [0, 7], "one keyframe at the switch"
    assert enc.stats.encoder == "libx264" and enc.stats.fallbacks == 1
    assert enc.chooser is not None and "device lost" in enc.chooser.failed[STANDIN]
