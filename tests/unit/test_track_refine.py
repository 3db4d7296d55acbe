"""A still screen after a keyframe: the track refreshes it quickly a few times so that the
coarse keyframe (``EncoderConfig.keyframe_qp_offset``) is refined within about a second,
then falls back to its slow refresh. A real :class:`CaptureTrack` over a real source whose
picture never changes, pulled and encoded by a real x264 encoder as aiortc's sender would."""

from __future__ import annotations

import itertools
import time

import numpy as np

from castapp.rtc.capture import SyntheticSource
from castapp.rtc.encoder import EncoderConfig, ScreenH264Encoder
from castapp.rtc.track import FAST_REFRESH_S, FAST_REFRESHES, REFRESH_S, CaptureTrack


class StillSource(SyntheticSource):
    """The test pattern's first picture, over and over (the change filter drops the
    repeats: a still screen)."""

    def _produce(self, seq: int) -> np.ndarray:
        return super()._produce(0)


async def pull(track: CaptureTrack, encoder: ScreenH264Encoder, frames: int,
               keyframe_first: bool = False) -> list[float]:
    """Pull and encode ``frames`` frames; the seconds between consecutive pulls."""
    times = []
    for i in range(frames):
        frame = await track.recv()
        encoder.encode(frame, force_keyframe=keyframe_first and i == 0)
        times.append(time.monotonic())
    return [b - a for a, b in itertools.pairwise(times)]


async def test_a_keyframe_on_a_still_screen_is_refined_by_fast_refreshes() -> None:
    source = StillSource(320, 180, fps=30)
    source.start()
    track = CaptureTrack(source, encoder=EncoderConfig(hardware=False))
    encoder = ScreenH264Encoder(link=track.link)
    try:
        # the first picture (a keyframe), its fast refreshes, then the slow ones
        gaps = await pull(track, encoder, FAST_REFRESHES + 6)
        assert all(g > 0.8 * REFRESH_S for g in gaps[-2:]), gaps
        keyframes = track.link.stats.keyframes
        # a receiver asks for a keyframe: sent at once, then refreshed fast again
        track.keyframe_requested()
        gaps = await pull(track, encoder, FAST_REFRESHES + 1, keyframe_first=True)
        assert track.link.stats.keyframes == keyframes + 1
        assert all(g < 0.8 * REFRESH_S for g in gaps[:FAST_REFRESHES - 1]), gaps
        assert max(gaps[:FAST_REFRESHES - 1]) < 2 * FAST_REFRESH_S + 0.1, gaps
        assert track.frames_skipped == 0 and track.refreshes >= 2 * FAST_REFRESHES
    finally:
        track.stop()
        source.stop()
