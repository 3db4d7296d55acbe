"""Screen encoders: keyframes, rebuild hysteresis, H.264 levels, decodable output."""

from __future__ import annotations

import fractions
import itertools
import time

import av
import numpy as np
import pytest
from aiortc.codecs.h264 import h264_depayload
from aiortc.codecs.vpx import vp8_depayload

from castapp.rtc import pattern
from castapp.rtc.bitrate import BitrateBounds, BitratePolicy, bounds_for
from castapp.rtc.encoder import (
    EncoderConfig,
    ScreenH264Encoder,
    ScreenVp8Encoder,
    h264_level,
    level_idc,
)

pytestmark = pytest.mark.timeout(60)

TB = fractions.Fraction(1, 90000)


def make_frame(width: int, height: int, counter: int, base: np.ndarray | None = None):
    base = pattern.make_base(width, height) if base is None else base
    frame = av.VideoFrame.from_numpy_buffer(
        pattern.draw_frame(base, width, height, counter), format="yuv420p"
    )
    frame.pts = counter * 3000
    frame.time_base = TB
    return frame


def nal_types(nals: list[bytes]) -> list[int]:
    return [n[0] & 0x1F for n in nals if n]


def sps_level_idc(nals: list[bytes]) -> int:
    sps = next(n for n in nals if n and n[0] & 0x1F == 7)
    return sps[3]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0**2 / mse)


def test_keyframe_on_request() -> None:
    enc = ScreenH264Encoder(EncoderConfig(max_fps=30, keyframe_request_interval_s=0))
    base = pattern.make_base(640, 360)
    first = enc.encode_nals(make_frame(640, 360, 0, base))
    assert 5 in nal_types(first) and 7 in nal_types(first), "first frame must be an IDR with SPS"
    for i in range(1, 10):
        nals = enc.encode_nals(make_frame(640, 360, i, base))
        assert 5 not in nal_types(nals), "no periodic keyframe inside the long GOP"
    forced = enc.encode_nals(make_frame(640, 360, 10, base), force_keyframe=True)
    assert enc.stats.last_keyframe
    assert {5, 7, 8} <= set(nal_types(forced)), "forced keyframe is an IDR with SPS/PPS"
    after = enc.encode_nals(make_frame(640, 360, 11, base))
    assert 5 not in nal_types(after)
    assert enc.stats.keyframes == 2 and enc.stats.rebuilds == 0


@pytest.mark.parametrize("cls", [ScreenH264Encoder, ScreenVp8Encoder])
def test_periodic_keyframe_by_media_time(cls: type[ScreenH264Encoder]) -> None:
    """The periodic keyframe follows the 90 kHz clock, not a frame count."""
    enc = cls(EncoderConfig(max_fps=60, keyframe_interval_s=1.0, change_driven=False))
    base = pattern.make_base(320, 180)
    keyframes = []
    for i in range(25):  # 10 fps actual, far below max_fps
        frame = make_frame(320, 180, i, base)
        frame.pts = i * 9000
        enc.encode(frame)
        if enc.stats.last_keyframe:
            keyframes.append(i)
    assert keyframes == [0, 10, 20]


def test_no_periodic_keyframe_when_change_driven() -> None:
    """Change-driven streams send keyframes only when asked (or on a rebuild)."""
    enc = ScreenH264Encoder(EncoderConfig(max_fps=60, keyframe_interval_s=1.0))
    base = pattern.make_base(320, 180)
    for i in range(25):
        frame = make_frame(320, 180, i, base)
        frame.pts = i * 9000
        enc.encode(frame)
    assert enc.stats.keyframes == 1


def test_vp8_keyframe_on_request() -> None:
    enc = ScreenVp8Encoder(EncoderConfig(max_fps=30, keyframe_request_interval_s=0))
    base = pattern.make_base(640, 360)
    for i in range(5):
        enc.encode(make_frame(640, 360, i, base))
    assert enc.stats.keyframes == 1
    enc.encode(make_frame(640, 360, 5, base), force_keyframe=True)
    assert enc.stats.last_keyframe and enc.stats.keyframes == 2
    enc.encode(make_frame(640, 360, 6, base))
    assert not enc.stats.last_keyframe


def noisy_frame(width: int, height: int, i: int, rng: np.random.Generator) -> av.VideoFrame:
    """Content that presses against any sensible cap (fresh noise every frame)."""
    frame = av.VideoFrame.from_numpy_buffer(
        rng.integers(0, 255, (height * 3 // 2, width), dtype=np.uint8), format="yuv420p")
    frame.pts, frame.time_base = i * 3000, TB
    return frame


@pytest.mark.parametrize("cls", [ScreenH264Encoder, ScreenVp8Encoder])
def test_rebuild_only_when_the_cap_limits(cls: type[ScreenH264Encoder]) -> None:
    config = EncoderConfig(max_fps=30, floor_bps=1_000_000, ceiling_bps=20_000_000)
    enc = cls(config)
    base = pattern.make_base(640, 360)
    enc.encode(make_frame(640, 360, 0, base))
    start = enc.stats.built_target_bps
    assert start == 1_000_000

    enc.target_bitrate = int(start * 1.15)  # small move: keep the encoder
    for i in range(1, 4):
        enc.encode(make_frame(640, 360, i, base))
    assert enc.stats.rebuilds == 0 and enc.stats.keyframes == 1
    assert enc.target_bitrate == int(start * 1.15)

    # A big move while the content sits far below the cap: nothing to gain, no rebuild.
    enc.target_bitrate = start * 3
    t_end = time.monotonic() + 1.3
    i = 4
    while time.monotonic() < t_end:
        enc.encode(make_frame(640, 360, i, base))
        i += 1
        time.sleep(0.02)
    assert enc.stats.rebuilds == 0, "an idle encoder is not limited by its cap"

    # Content pressing against the built cap: the higher target is worth a rebuild.
    rng = np.random.default_rng(7)
    t_end = time.monotonic() + 1.3
    while time.monotonic() < t_end and enc.stats.rebuilds == 0:
        enc.encode(noisy_frame(640, 360, i, rng))
        i += 1
        time.sleep(0.02)
    assert enc.stats.rebuilds == 1 and enc.stats.rebuild_reasons == {"bitrate": 1}
    assert enc.stats.built_target_bps == start * 3
    assert enc.stats.last_keyframe

    enc.target_bitrate = 500_000_000  # clamped to the ceiling
    assert enc.target_bitrate == 20_000_000


def test_keyframe_requests_answered_once_per_interval() -> None:
    """A PLI storm (a request on every frame for a second) yields one keyframe per interval."""
    enc = ScreenH264Encoder(EncoderConfig(max_fps=30, keyframe_request_interval_s=0.5))
    base = pattern.make_base(320, 180)
    enc.encode(make_frame(320, 180, 0, base))  # the first keyframe
    time.sleep(0.55)
    keyframes = []
    t0 = time.monotonic()
    i = 1
    while time.monotonic() - t0 < 1.2:
        enc.encode(make_frame(320, 180, i, base), force_keyframe=True)
        if enc.stats.last_keyframe:
            keyframes.append(time.monotonic() - t0)
        i += 1
        time.sleep(1 / 30)
    assert 2 <= len(keyframes) <= 3, keyframes
    gaps = [b - a for a, b in itertools.pairwise(keyframes)]
    assert all(g >= 0.45 for g in gaps), gaps
    assert enc.stats.keyframes_requested == len(keyframes)
    assert enc.stats.rebuilds == 0


def test_settings_are_per_connection() -> None:
    """Two encoders in one process follow the settings of the link handed to each."""
    from castapp.rtc.encoder import EncoderLink

    sharp = EncoderLink(EncoderConfig(max_fps=30, crf=18, hardware=False))
    smooth = EncoderLink(EncoderConfig(max_fps=60, crf=30, hardware=False))
    encoders = {"sharp": ScreenH264Encoder(), "smooth": ScreenH264Encoder()}
    base = pattern.make_base(640, 360)
    for i in range(3):
        for name, link in (("sharp", sharp), ("smooth", smooth)):
            encoders[name].use_link(link)
            encoders[name].encode(make_frame(640, 360, i, base))
    assert encoders["sharp"].config.crf == 18 and encoders["smooth"].config.crf == 30
    assert sharp.stats.frames == 3 and smooth.stats.frames == 3
    assert sharp.stats.encoder == "libx264"
    assert sharp.stats.last_bytes != smooth.stats.last_bytes
    # A setting changed while casting is applied with one rebuild.
    sharp.config = EncoderConfig(max_fps=30, crf=26, hardware=False)
    encoders["sharp"].encode(make_frame(640, 360, 3, base))
    assert sharp.stats.rebuilds == 1 and encoders["sharp"].config.crf == 26
    assert sharp.stats.rebuild_reasons == {"settings": 1}
    assert smooth.stats.rebuilds == 0 and smooth.stats.rebuild_reasons == {}


def test_size_change_rebuilds() -> None:
    enc = ScreenH264Encoder(EncoderConfig(max_fps=30))
    enc.encode(make_frame(640, 360, 0))
    enc.encode(make_frame(1280, 720, 1))
    assert enc.stats.rebuilds == 1 and enc.stats.last_keyframe
    assert enc.stats.rebuild_reasons == {"size": 1}
    assert enc.link.as_dict()["rebuild_reasons"] == {"size": 1}


def test_level_table() -> None:
    assert h264_level(1280, 720, 30) == "3.1"
    assert h264_level(1280, 720, 60) == "3.2"
    assert h264_level(1920, 1080, 30) == "4"
    assert h264_level(1920, 1080, 60) == "4.2"
    assert h264_level(2560, 1440, 60) == "5.1"
    assert h264_level(3840, 2160, 30) == "5.1"
    assert h264_level(3840, 2160, 60) == "5.2"
    assert h264_level(1920, 1080, 30, max_bitrate_bps=30_000_000) == "4.1"
    assert level_idc("4.2") == 42 and level_idc("4") == 40


@pytest.mark.parametrize(
    ("width", "height", "fps", "expected"),
    [(1920, 1080, 60, 42), (1920, 1080, 30, 40), (3840, 2160, 30, 51)],
)
def test_level_written_by_x264(width: int, height: int, fps: float, expected: int) -> None:
    enc = ScreenH264Encoder(EncoderConfig(max_fps=fps))
    nals = enc.encode_nals(make_frame(width, height, 0))
    assert enc.stats.level == h264_level(width, height, fps)
    assert sps_level_idc(nals) == expected
    sps = next(n for n in nals if n[0] & 0x1F == 7)
    assert sps[1] == 66, "Baseline profile_idc"


def test_h264_output_decodes_and_pattern_survives() -> None:
    width, height = 1280, 720
    enc = ScreenH264Encoder(EncoderConfig(max_fps=30))
    dec = av.CodecContext.create("h264", "r")
    base = pattern.make_base(width, height)
    timestamps = []
    for i in range(40):
        src = pattern.draw_frame(base, width, height, 1000 + i)
        frame = av.VideoFrame.from_numpy_buffer(src, format="yuv420p")
        frame.pts, frame.time_base = i * 3000, TB
        payloads, timestamp = enc.encode(frame, force_keyframe=(i == 20))
        timestamps.append(timestamp)
        data = b"".join(h264_depayload(p) for p in payloads)
        decoded = dec.decode(av.Packet(data))
        assert len(decoded) == 1
        y = decoded[0].to_ndarray()[:height]
        assert pattern.read_counter(y) == 1000 + i
        assert psnr(y, src[:height]) > 38.0
    assert timestamps == [i * 3000 for i in range(40)]


def test_vp8_output_decodes_and_pattern_survives() -> None:
    width, height = 640, 360
    enc = ScreenVp8Encoder(EncoderConfig(max_fps=30))
    dec = av.CodecContext.create("libvpx", "r")
    base = pattern.make_base(width, height)
    for i in range(20):
        src = pattern.draw_frame(base, width, height, 77 + i)
        frame = av.VideoFrame.from_numpy_buffer(src, format="yuv420p")
        frame.pts, frame.time_base = i * 3000, TB
        payloads, _ = enc.encode(frame)
        data = b"".join(vp8_depayload(p) for p in payloads)
        decoded = dec.decode(av.Packet(data))
        y = decoded[0].to_ndarray()[:height]
        assert pattern.read_counter(y) == 77 + i
        assert psnr(y, src[:height]) > 35.0


def test_pts_strictly_increasing_and_wall_clock_when_missing() -> None:
    enc = ScreenH264Encoder(EncoderConfig(max_fps=30))
    base = pattern.make_base(640, 360)
    stamps = []
    for i in range(3):
        frame = make_frame(640, 360, i, base)
        frame.pts = 5000  # repeated pts must not reach x264
        stamps.append(enc.encode(frame)[1])
    assert stamps == [5000, 5001, 5002]

    enc2 = ScreenH264Encoder(EncoderConfig(max_fps=30))
    t0 = time.monotonic()
    walls = []
    for i in range(3):
        frame = av.VideoFrame.from_numpy_buffer(
            pattern.draw_frame(base, 640, 360, i), format="yuv420p"
        )
        walls.append(enc2.encode(frame)[1])
        time.sleep(0.02)
    elapsed = time.monotonic() - t0
    assert walls[0] == 0 and walls[1] < walls[2]
    assert 0.03 * 90000 <= walls[2] <= elapsed * 90000 + 1


def test_encode_time_1080p() -> None:
    """Screen-tuned x264 at 1080p must be far cheaper than aiortc's stock preset."""
    enc = ScreenH264Encoder(EncoderConfig(max_fps=60))
    base = pattern.make_base(1920, 1080)
    for i in range(40):
        enc.encode(make_frame(1920, 1080, i, base))
    mean_p = enc.stats.mean_ms
    print(f"1080p H.264 mean encode {mean_p:.2f} ms over {enc.stats.frames} frames")
    assert mean_p < 60.0


def test_policy_ignores_idle_decreases_but_follows_congestion() -> None:
    bounds = BitrateBounds(floor_bps=2_000_000, start_bps=6_000_000, ceiling_bps=12_000_000)
    policy = BitratePolicy(bounds, window_s=2.0)
    t = 100.0
    # An idle screen: ~200 kbit/s actually sent, the estimate follows it down.
    for i in range(60):
        policy.record_output(800, now=t + i / 30)
    t += 2.0
    assert policy.on_estimate(300_000, now=t) == 6_000_000
    assert policy.ignored_decreases == 1
    # Increases are taken at once, up to the ceiling.
    assert policy.on_estimate(9_000_000, now=t) == 9_000_000
    assert policy.on_estimate(40_000_000, now=t) == 12_000_000
    # Busy content using the budget: one lower estimate may only lag a burst of new content;
    # one that lasts is congestion.
    busy = BitratePolicy(bounds, window_s=2.0, persist_s=2.0)
    for i in range(60):
        busy.record_output(25_000, now=t + i / 30)  # 6 Mbit/s
    assert busy.on_estimate(4_000_000, now=t + 2.0) == 6_000_000
    for i in range(60, 120):
        busy.record_output(25_000, now=t + i / 30)
    assert busy.on_estimate(4_000_000, now=t + 3.0) == 6_000_000
    assert busy.on_estimate(4_000_000, now=t + 4.0) == 4_000_000
    # An estimate far below what is actually sent is taken at once, never below the floor.
    lossy = BitratePolicy(bounds, window_s=2.0)
    for i in range(60):
        lossy.record_output(25_000, now=t + i / 30)
    assert lossy.on_estimate(100_000, now=t + 2.0) == 2_000_000


def test_bounds_scale_with_resolution() -> None:
    b720 = bounds_for(1280, 720, 30)
    b1080 = bounds_for(1920, 1080, 60)
    b4k = bounds_for(3840, 2160, 30)
    assert b720.floor_bps < b1080.floor_bps < b4k.floor_bps
    assert b720.floor_bps <= b720.start_bps <= b720.ceiling_bps
    assert 1_000_000 <= b1080.floor_bps <= 5_000_000
    assert b4k.ceiling_bps <= 50_000_000


def test_sender_info_travels_in_band_to_the_decoder() -> None:
    """Mode and encoder ride in an H.264 SEI message that FFmpeg hands over as side data."""
    from av.sidedata.sidedata import Type as SideDataType

    from castapp.rtc.encoder import EncoderLink, parse_sender_info, sender_info_nal

    link = EncoderLink(EncoderConfig(max_fps=30, hardware=False))
    link.stats.mode = "motion"
    enc = ScreenH264Encoder(link=link)
    dec = av.CodecContext.create("h264", "r")
    base = pattern.make_base(320, 180)
    seen = []
    for i in range(3):
        payloads, _ = enc.encode(make_frame(320, 180, i, base))
        for out in dec.decode(av.Packet(b"".join(h264_depayload(p) for p in payloads))):
            for item in out.side_data:
                if item.type == SideDataType.SEI_UNREGISTERED:
                    info = parse_sender_info(bytes(item))
                    if info is not None:
                        seen.append(info)
    assert seen and seen[0] == {"enc": "libx264", "mode": "motion"}
    assert len(seen) == 1, "sent with the keyframe, then only on a change or every 2 s"
    # Payload bytes that look like start codes are escaped (emulation prevention).
    nal = sender_info_nal({"k": "\x00\x00\x01"})
    assert b"\x00\x00\x01" not in nal[4:]
