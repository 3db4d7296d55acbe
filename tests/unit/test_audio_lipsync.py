"""Lip sync's pieces: SR clock mapping, the video delay line and the correction it asks for."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from castapp.rtc.audio.lipsync import (
    AUDIO_CLOCK,
    VIDEO_CLOCK,
    LipSync,
    SenderClock,
    VideoDelay,
    ntp_of,
    ntp_seconds,
)


class Mapper:
    def __init__(self, origin: int) -> None:
        self._origin = origin


def clock(rate: int, origin: int, wall: float, rtp: int) -> SenderClock:
    c = SenderClock(rate)
    c._mapper = Mapper(origin)
    c.on_report(ntp_of(wall), rtp)
    return c


def test_ntp_round_trip_and_timestamps_across_the_32_bit_wrap() -> None:
    assert abs(ntp_seconds(ntp_of(1234.5678)) - 1234.5678) < 1e-6
    c = clock(VIDEO_CLOCK, origin=2**32 - 900, wall=100.0, rtp=2**32 - 900)
    rtp = c.rtp_of(1800)  # 20 ms after the report, past the wrap
    assert rtp == 900
    assert abs(c.captured_at(rtp) - 100.02) < 1e-9
    assert clock(AUDIO_CLOCK, 0, 5.0, 0).captured_at(2**32 - 480) == 5.0 - 0.01


def test_no_report_no_time() -> None:
    c = SenderClock(AUDIO_CLOCK)
    c.on_report(0, 1234)  # aiortc before its first packet
    assert c.report is None and c.captured_at(1234) is None


def test_video_delay_holds_frames_drops_the_oldest_and_shows_the_newest_due() -> None:
    shown: list[int] = []

    async def main() -> VideoDelay:
        delay = VideoDelay(shown.append, max_frames=3)
        delay(0)
        assert shown == [0]  # no delay: straight through
        delay.delay_s = 0.05
        for i in range(1, 6):
            delay(i)
        assert shown == [0]
        await asyncio.sleep(0.12)
        return delay

    delay = asyncio.run(main())
    assert shown[-1] == 5 and 1 not in shown and 2 not in shown
    assert delay.dropped >= 2


def sync_with(video_lag: float, audio_lag: float) -> tuple[LipSync, list[float], VideoDelay]:
    asked: list[float] = []
    delay = VideoDelay(lambda f: None)
    now = time.time()
    sync = LipSync(clock(VIDEO_CLOCK, 0, now, 0), clock(AUDIO_CLOCK, 0, now, 0), asked.append,
                   delay)
    for i in range(5):
        sync.audio_played(i * 0.02, now + i * 0.02 + audio_lag)
        sync._video_lag.append(video_lag)
    return sync, asked, delay


def test_sound_ahead_is_delayed() -> None:
    sync, asked, delay = sync_with(video_lag=0.15, audio_lag=0.05)
    assert abs(sync.offset_ms - 100) < 0.01  # type: ignore[operator]
    sync.update(now=10.0)
    assert asked and asked[-1] > 50 and delay.delay_s == 0


def test_sound_far_behind_holds_the_picture_back_a_little_behind_is_left_alone() -> None:
    sync, asked, delay = sync_with(video_lag=0.02, audio_lag=0.12)
    sync.update(now=10.0)
    assert asked == [] and delay.delay_s > 0.04  # the sound's delay is not touched
    sync, asked, delay = sync_with(video_lag=0.02, audio_lag=0.04)
    sync.update(now=10.0)
    assert asked == [] and delay.delay_s == 0


def test_offset_needs_both_streams() -> None:
    sync, _, _ = sync_with(0.1, 0.1)
    sync._audio_lag.clear()
    assert sync.offset_ms is None
    any_: Any = sync
    assert any_.correction_ms == 0


def test_the_sound_delay_moves_only_in_audible_steps() -> None:
    sync, asked, _ = sync_with(video_lag=0.13, audio_lag=0.05)
    sync.update(now=10.0)
    assert len(asked) == 1 and asked[0] >= 20
    first = asked[0]
    now = time.time()
    for i in range(5):  # the sound is still 25 ms ahead: a 15 ms step is not worth a splice
        sync.audio_played(i * 0.02, now + i * 0.02 + 0.105)
        sync._video_lag.append(0.13)
    sync.update(now=20.0)
    assert asked == [first]
