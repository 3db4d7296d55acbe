"""The cast benchmark's keyframe figures: the group split and the ratio's bootstrap interval."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
from cast_tail import blocks_of, keyframe_groups, pooled
from cast_tail import keyframe_ratio as ratio_of_groups


def keyframe_ratio(log: list[list]) -> dict:
    return ratio_of_groups(*keyframe_groups(log))


def cast_log(seconds: int, key_every: int, key_ms: list[float], seed: int = 3) -> list[list]:
    """A 60 fps frame log: others 20 ms (standard deviation 2 ms), a keyframe every ``key_every``
    frames taking the next of ``key_ms`` (cycled), the two frames after it 5 ms late."""
    rng = np.random.default_rng(seed)
    log: list[list] = []
    k = 0
    for i in range(seconds * 60):
        latency = float(20 + rng.normal(0, 2))
        key = i % key_every == 10
        if key:
            latency = key_ms[k % len(key_ms)]
            k += 1
        elif i % key_every in (11, 12):
            latency += 5
        log.append([i / 60, latency, key])
    return log


def test_a_keyframe_and_the_two_frames_after_it_are_one_group() -> None:
    log = [[0, 10.0, False], [1, 50.0, True], [2, 30.0, False], [3, 25.0, False],
           [4, 11.0, False], [5, 40.0, True], [6, 12.0, False]]
    groups, other = keyframe_groups(log)
    assert groups == [[50.0, 30.0, 25.0], [40.0, 12.0]]
    assert other == [10.0, 11.0]
    assert [v for g in groups for v in g] == [50.0, 30.0, 25.0, 40.0, 12.0]


def test_the_interval_holds_the_ratio_and_narrows_with_more_keyframes() -> None:
    short = keyframe_ratio(cast_log(20, 120, [30, 45, 60]))
    long = keyframe_ratio(cast_log(120, 120, [30, 45, 60]))
    for got in (short, long):
        lo, hi = got["ci95"]
        assert lo <= got["p95_ratio"] <= hi
        assert 1.2 < got["p95_ratio"] < 3.2
    assert short["keyframes"] == 10 and long["keyframes"] == 60
    assert long["ci95"][1] - long["ci95"][0] < short["ci95"][1] - short["ci95"][0]


def test_two_slow_keyframes_in_twenty_leave_the_ratio_but_widen_its_interval() -> None:
    steady = keyframe_ratio(cast_log(40, 120, [30.0]))
    two_slow = keyframe_ratio(cast_log(40, 120, [30.0] * 9 + [120.0]))
    assert steady["ci95"][1] - steady["ci95"][0] < 0.2
    # the p95 of 60 group frames passes over two slow ones; the interval does not
    assert abs(two_slow["p95_ratio"] - steady["p95_ratio"]) < 0.05
    assert two_slow["ci95"][1] > 3 * steady["ci95"][1]


def test_the_same_log_gives_the_same_interval() -> None:
    log = cast_log(30, 120, [30, 50])
    assert keyframe_ratio(log) == keyframe_ratio(log)


def test_too_few_keyframes_or_frames_give_no_ratio() -> None:
    assert keyframe_ratio(cast_log(3, 1000, [40.0]))["p95_ratio"] is None
    assert keyframe_ratio([[0, 10.0, True], [1, 10.0, True]])["ci95"] is None


def test_pooled_runs_rest_on_all_their_keyframes() -> None:
    """Three runs whose keyframes took 30, 45 and 60 ms: each run's ratio says only its
    own; pooled, the figure is the p95 over all 60 keyframe groups, with an interval no
    wider than one run's."""
    logs = [cast_log(40, 120, [ms], seed=i) for i, ms in enumerate((30.0, 45.0, 60.0))]
    runs = [keyframe_ratio(log) for log in logs]
    got = pooled(logs)
    assert got["runs"] == 3 and got["keyframe_ratio"]["keyframes"] == 60
    key = [v for log in logs for g in keyframe_groups(log)[0] for v in g]
    other = [v for log in logs for v in keyframe_groups(log)[1]]
    expected = np.percentile(key, 95) / np.percentile(other, 95)
    assert got["keyframe_ratio"]["p95_ratio"] == round(float(expected), 2)
    assert runs[0]["p95_ratio"] < got["keyframe_ratio"]["p95_ratio"] <= runs[2]["p95_ratio"]
    lo, hi = got["keyframe_ratio"]["ci95"]
    assert lo <= got["keyframe_ratio"]["p95_ratio"] <= hi
    assert got["keyframe_latency_ms"]["p95"] == round(float(np.percentile(key, 95)), 1)


def test_pooled_resamples_other_frames_in_blocks_within_each_run() -> None:
    """No resampling block spans two runs: a run of 70 other frames gives a block of 60
    and one of 10, and the next run's blocks start afresh."""
    first = [[i / 60, 40.0, i in (5, 20)] for i in range(76)]  # 2 groups of 3, 70 others
    second = cast_log(20, 120, [45.0], seed=2)
    assert [len(b) for b in blocks_of(keyframe_groups(first)[1])] == [60, 10]
    groups = keyframe_groups(first)[0] + keyframe_groups(second)[0]
    other = keyframe_groups(first)[1] + keyframe_groups(second)[1]
    per_run = blocks_of(keyframe_groups(first)[1]) + blocks_of(keyframe_groups(second)[1])
    assert pooled([first, second])["keyframe_ratio"] == ratio_of_groups(groups, other,
                                                                        blocks=per_run)
