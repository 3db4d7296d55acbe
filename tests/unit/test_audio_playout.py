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


def test_an_attached_player_gets_packets_decoded_off_the_event_loop() -> None:
    """Once a player attaches, packets skip aiortc's decoder: a thread of the release's own
    decodes each and pushes its sound with aiortc's pts (the mapper's) and its arrival time."""
    import fractions
    import threading
    import time

    import av
    from aiortc.rtcrtpreceiver import TimestampMapper
    from aiortc.rtp import RtpPacket

    from castapp.rtc.audio.opus_track import OpusSettings, _encoder

    enc = _encoder(OpusSettings())
    tone = (8000 * np.sin(2 * np.pi * 440 * np.arange(960 * 4) / 48000)).astype("<i2")
    payloads = []
    for i in range(4):
        frame = av.AudioFrame.from_ndarray(
            np.repeat(tone[i * 960:(i + 1) * 960], 2)[None, :], format="s16", layout="stereo")
        frame.sample_rate, frame.time_base, frame.pts = 48000, fractions.Fraction(1, 48000), i * 960
        payloads += [bytes(p) for p in enc.encode(frame)]
    mapper = TimestampMapper()
    rel = ImmediateRelease(mapper)
    got: list[tuple[int, float, float, str]] = []
    assert rel.decode_into(lambda pcm, media_s, arrival: got.append(
        (len(pcm), media_s, arrival, threading.current_thread().name)))
    before = time.monotonic()
    for i, payload in enumerate(payloads):
        packet = RtpPacket(sequence_number=i, timestamp=5000 + i * 960)
        packet.payload = payload
        packet._data = payload  # type: ignore[attr-defined]
        assert rel.add(packet) == (False, None)  # nothing for aiortc's decoder
    deadline = time.monotonic() + 5
    while len(got) < len(payloads) and time.monotonic() < deadline:
        time.sleep(0.01)
    rel.close()
    assert [(n, round(m, 3)) for n, m, _, _ in got] == [
        (3840, i * 0.02) for i in range(len(payloads))]
    assert all(a >= before for _, _, a, _ in got)
    assert {name for *_, name in got} == {"audio-decode"}
    assert mapper._origin == 5000  # lip sync reads aiortc's pts origin from here


def test_running_dry_calls_the_underrun_hook_once_per_underrun() -> None:
    from castapp.rtc.audio.playout import decode_pictures_off_loop
    from castapp.rtc.decode import DecodeQueue

    queue = DecodeQueue()
    buf = PlayoutBuffer()
    calls: list[int] = []
    buf.on_underrun = lambda: calls.append(decode_pictures_off_loop([queue]))
    buf.push(FRAME + FRAME, 0.0, arrival=1.0)
    for _ in range(8):
        buf.pull(CHUNK_BYTES)
    assert buf.glitches == 1 and calls == [1]  # one underrun: the queue switched once
    assert queue.inline_max_bytes == -1  # every picture now goes to the decoder thread
    buf.push(FRAME + FRAME, 0.04, arrival=1.04)
    for _ in range(8):
        buf.pull(CHUNK_BYTES)
    assert buf.glitches == 2 and calls == [1, 0]  # already switched


def _play(buf: PlayoutBuffer, frames: range, pulls_skipped: int = 0) -> list[float]:
    """A frame every 20 ms and two 10 ms pulls after each (less ``pulls_skipped`` at first,
    as when the sound device's thread stalls); the level after each frame's pulls."""
    levels = []
    for i in frames:
        buf.push(FRAME, i * 0.02, arrival=100 + i * 0.02)
        for _ in range(2):
            if pulls_skipped > 0:
                pulls_skipped -= 1
                continue
            buf.pull(CHUNK_BYTES)
        levels.append(buf.buffered_ms())
    return levels


def test_a_level_left_above_the_target_by_a_stalled_sink_is_cut_back_once() -> None:
    from castapp.rtc.audio.playout import TRIM_WINDOW_PULLS

    buf = PlayoutBuffer()
    _play(buf, range(0, 2 * TRIM_WINDOW_PULLS))  # playing at the design's level
    trimmed = buf.trimmed_bytes
    assert min(_play(buf, range(200, 250))) == round(buf.target_ms) - 20.0  # one frame under it
    stalled = _play(buf, range(250, 250 + TRIM_WINDOW_PULLS // 2 + 2), pulls_skipped=3)
    low = round(buf.target_ms) - 20.0
    assert min(stalled[2:TRIM_WINDOW_PULLS // 2 - 2]) == low + 30.0  # it stays
    after = _play(buf, range(400, 400 + TRIM_WINDOW_PULLS))
    assert buf.glitches == 0
    assert max(after[-TRIM_WINDOW_PULLS // 4:]) == low  # cut back
    assert (buf.trimmed_bytes - trimmed) / BYTES_PER_MS == 30.0


def test_a_level_at_the_target_is_not_cut() -> None:
    buf = PlayoutBuffer()
    _play(buf, range(0, 100))  # the start may overshoot by one 10 ms piece: cut once
    trimmed = buf.trimmed_bytes
    assert trimmed / BYTES_PER_MS <= 10.0
    _play(buf, range(100, 800))
    assert buf.trimmed_bytes == trimmed and buf.glitches == 0
