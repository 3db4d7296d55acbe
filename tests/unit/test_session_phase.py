"""Presenters kept in step: arrival phases measured, moves asked, the capture clock moved."""

from __future__ import annotations

import itertools
import random
import statistics

import pytest

from castapp.rtc.capture import SyntheticSource
from castapp.session.phase import (
    HOLD_S,
    MAX_HOLD_S,
    PERIOD_S,
    TOLERANCE_S,
    PhaseAligner,
    wrapped,
)

P = PERIOD_S


def _feed(aligner: PhaseAligner, key: str, phase_s: float, frames: int = 60, start: float = 100.0,
          jitter_s: float = 0.0, every: int = 1, rng: random.Random | None = None) -> None:
    """Frames on the 30 Hz grid at ``phase_s``, every ``every``-th grid slot."""
    rng = rng or random.Random(1)
    for i in range(0, frames * every, every):
        aligner.frame(key, start + i * P + phase_s + rng.uniform(-jitter_s, jitter_s))


def test_wrapped_offsets_stay_within_half_a_period() -> None:
    assert wrapped(0.030) == pytest.approx(0.030 - P)
    assert wrapped(-0.020) == pytest.approx(-0.020 + P)
    assert wrapped(0.010) == pytest.approx(0.010)


def test_presenters_out_of_step_are_asked_to_move_to_the_first() -> None:
    a = PhaseAligner()
    _feed(a, "first", 0.004, jitter_s=0.001)
    _feed(a, "second", 0.016, jitter_s=0.001)
    _feed(a, "third", 0.031, jitter_s=0.001)  # 27 ms behind is 6 ms ahead
    _feed(a, "fourth", 0.0055, jitter_s=0.001)  # within the tolerance
    moves = a.due(now=10.0)
    assert set(moves) == {"second", "third"}
    assert moves["second"] == pytest.approx(-0.012, abs=0.001)
    assert moves["third"] == pytest.approx(P - 0.027, abs=0.001)
    assert a.asked == 2


def test_a_moved_presenter_is_measured_again_and_asked_no_sooner_than_the_hold() -> None:
    a = PhaseAligner()
    _feed(a, "first", 0.0)
    _feed(a, "second", 0.010)
    assert set(a.due(now=10.0)) == {"second"}
    assert a.phase("second") is None  # its frames from before the move are forgotten
    _feed(a, "second", 0.006, start=102.0)  # the move fell short (a clock drifting)
    _feed(a, "first", 0.0, start=102.0)
    assert a.due(now=10.0 + HOLD_S / 2) == {}
    assert a.due(now=10.0 + HOLD_S) == pytest.approx({"second": -0.006}, abs=0.001)


def test_a_presenter_that_does_not_move_is_asked_less_and_less_often() -> None:
    a = PhaseAligner()
    asked_at: list[float] = []
    now = 0.0
    start = 100.0
    while now < 200.0:
        _feed(a, "first", 0.0, frames=35, start=start)
        _feed(a, "stuck", 0.012, frames=35, start=start)  # never moves
        if a.due(now):
            asked_at.append(now)
        now += 1.0
        start += 2.0
    gaps = [b - a for a, b in itertools.pairwise(asked_at)]
    assert gaps[:4] == [HOLD_S, HOLD_S * 2, HOLD_S * 4, HOLD_S * 8]
    assert max(gaps) == MAX_HOLD_S and len(asked_at) < 10


def test_presenters_off_the_grid_are_left_alone() -> None:
    a = PhaseAligner()
    rng = random.Random(5)
    for i in range(60):  # a screen that changes now and then: no phase to keep
        a.frame("typing", 100.0 + i * 0.09 + rng.uniform(0, 0.05))
    _feed(a, "video", 0.011)
    for i in range(120):  # 60 fps: two phases half a period apart
        a.frame("sixty", 100.0 + i * P / 2 + 0.003)
    assert "typing" not in a.offsets() and "sixty" not in a.offsets()
    assert a.due(now=10.0) == {}  # the first regular presenter is the one kept still


def test_a_lower_rate_on_the_same_grid_still_has_its_phase() -> None:
    a = PhaseAligner()
    _feed(a, "full", 0.002)
    rng = random.Random(3)
    for i in range(90):  # 26 of 30 grid slots (a grid tile), a little jitter
        if i % 15 not in (3, 7):
            a.frame("tile", 100.0 + i * P + 0.012 + rng.uniform(-0.001, 0.001))
    assert a.due(now=10.0) == pytest.approx({"tile": -0.010}, abs=0.0015)


def test_one_presenter_or_a_forgotten_one_is_never_moved() -> None:
    a = PhaseAligner()
    _feed(a, "only", 0.012)
    assert a.due(now=10.0) == {}
    _feed(a, "late", 0.020)
    a.forget("only")
    assert a.due(now=10.0) == {}  # the one left is the first now
    assert a.offsets() == {"late": 0.0}


def _phase_of(times: list[float]) -> float:
    """The median of the frames' phases on the source's grid, around the first one."""
    first = times[0] % P
    return statistics.median(wrapped(t % P - first) for t in times) + first


def test_a_source_moves_its_capture_clock_when_asked() -> None:
    src = SyntheticSource(320, 180, fps=30)
    src.start()
    try:
        def times(n: int) -> list[float]:
            out: list[float] = []
            seq = -1
            while len(out) < n:
                frame = src.wait_newer(seq, timeout=2.0)
                seq = frame.seq
                out.append(frame.monotonic)
            return out

        times(3)
        before = _phase_of(times(30))
        src.shift(-0.012)
        times(3)  # the move lands at the next look
        after = _phase_of(times(30))
    finally:
        src.stop()
    assert src.shifts == 1
    assert wrapped(after - before) == pytest.approx(-0.012, abs=TOLERANCE_S)


def test_a_move_is_kept_within_half_the_sources_period() -> None:
    src = SyntheticSource(320, 180, fps=60)
    src.shift(0.015)  # 15 ms is 1.7 ms early on a 16.7 ms grid
    assert src._take_shift() == pytest.approx(0.015 - 1 / 60)
    assert src._take_shift() == 0.0
