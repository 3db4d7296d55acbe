"""The TV's playout buffer: sized from jitter, at most 40 ms, drops instead of queueing."""

from __future__ import annotations

import numpy as np

from castapp.rtc.audio.playout import BYTES_PER_MS, PlayoutBuffer
from castapp.rtc.audio.rtp import ImmediateRelease
from castapp.rtc.audio.source import CHUNK_BYTES

FRAME = bytes([1, 0]) * (20 * BYTES_PER_MS // 2)  # 20 ms of a small constant


def test_steady_arrivals_keep_a_small_target_and_play_in_order() -> None:
    buf = PlayoutBuffer()
    for i in range(50):
        buf.push(FRAME, i * 0.02, arrival=100 + i * 0.02)
    assert buf.jitter_ms < 1 and round(buf.target_ms, 6) == 30  # one frame + one 10 ms piece
    assert buf.buffered_ms() <= buf.target_ms + 30
    assert buf.pull(CHUNK_BYTES) == bytes([1, 0]) * (CHUNK_BYTES // 2)


def test_jittery_arrivals_grow_the_target_but_never_past_40_ms() -> None:
    buf = PlayoutBuffer()
    rng = np.random.default_rng(1)
    for i in range(200):
        buf.push(FRAME, i * 0.02, arrival=100 + i * 0.02 + float(rng.uniform(0, 0.08)))
    assert buf.jitter_ms > 10
    assert buf.target_ms == 40


def test_a_burst_is_dropped_from_the_front_not_queued() -> None:
    buf = PlayoutBuffer()
    for i in range(100):  # two seconds of sound arriving at once
        buf.push(FRAME, i * 0.02, arrival=100.0)
    assert buf.buffered_ms() <= buf.target_ms + 30
    assert buf.stats().dropped_ms > 1900


def test_running_dry_is_one_glitch_and_silence_until_refilled() -> None:
    buf = PlayoutBuffer()
    buf.push(FRAME + FRAME, 0.0, arrival=1.0)
    out = [buf.pull(CHUNK_BYTES) for _ in range(6)]
    assert out[0] != bytes(CHUNK_BYTES) and out[-1] == bytes(CHUNK_BYTES)
    assert buf.glitches == 1
    assert buf.pull(CHUNK_BYTES) == bytes(CHUNK_BYTES) and buf.glitches == 1


def test_mute_and_volume() -> None:
    loud = np.full(CHUNK_BYTES * 4 // 2, 10000, dtype="<i2").tobytes()
    buf = PlayoutBuffer()
    buf.push(loud, 0.0, arrival=1.0)
    buf.volume = 0.5
    assert set(np.frombuffer(buf.pull(CHUNK_BYTES), "<i2").tolist()) == {5000}
    buf.muted = True
    assert buf.pull(CHUNK_BYTES) == bytes(CHUNK_BYTES)


class Packet:
    def __init__(self, seq: int) -> None:
        self.sequence_number = seq
        self.timestamp = seq * 960
        self.payload = b"x" * 10
        self._data = b"opus"


def test_opus_packets_are_released_on_arrival_and_late_ones_dropped() -> None:
    rel = ImmediateRelease()
    released = [rel.add(Packet(s))[1] for s in (65534, 65535, 0, 1, 0, 65535, 2)]
    assert [f is not None for f in released] == [True, True, True, True, False, False, True]
    assert rel.late == 2 and rel.bytes_received == 50


def test_repeated_underruns_let_the_target_cover_stalls_and_it_comes_back() -> None:
    from castapp.rtc.audio import playout

    buf = PlayoutBuffer()
    t = 100.0
    for i in range(100):  # every 25th frame comes 90 ms late, then the rest in a burst
        late = 0.09 if i % 25 in (0, 1, 2, 3) else 0.0
        buf.push(FRAME, i * 0.02, arrival=t + i * 0.02 + max(0.0, late - (i % 25) * 0.02))
    assert buf.target_ms == 40  # lateness alone never passes 40 ms
    for _ in range(3):  # three underruns in a row
        buf.pull(CHUNK_BYTES * 20)
        buf.push(FRAME * 3, 0.0, arrival=t + 3)
        buf._playing = True
    assert buf.stalled and 40 < buf.target_ms <= playout.STALL_MAX_TARGET_MS
    buf._underruns.clear()
    assert not buf.stalled and buf.target_ms == 40
