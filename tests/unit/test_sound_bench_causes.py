"""The sound benchmark's sorting of glitches and arrival gaps by cause."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks" / "av_parts"))
from av_causes import LoopWatch, arrival_causes, glitch_causes


def test_a_glitch_within_a_stall_or_the_buffer_after_it_is_the_machines() -> None:
    stalls = [(10.0, 10.1)]
    glitches = [(10.05, 40.0), (10.14, 40.0), (10.3, 40.0), (9.9, 40.0)]
    assert glitch_causes(glitches, stalls)["audio_glitches_outside_machine_stalls"] == 2


async def test_arrival_gaps_are_told_apart_by_send_time_stalls_and_the_loop() -> None:
    watch = LoopWatch()
    try:
        await asyncio.sleep(0.02)
        watch.reset()
        # sequence 1..6: 2 sent late (sender), 3 read late in a machine stall, 4 read late
        # while the loop's thread ran (busy), 5 while no thread of the process ran (starved)
        arrivals = [(0.0, 1), (0.1, 2), (0.2, 3), (0.3, 4), (0.4, 5), (0.41, 6)]
        sent = {1: 0.0, 2: 0.099, 3: 0.12, 4: 0.22, 5: 0.32, 6: 0.405}
        watch.lags[:] = [(0.29, 0.07, 0.06, 0.06), (0.4, 0.08, 0.001, 0.002)]
        got = arrival_causes(arrivals, sent, [(0.14, 0.19)], watch, 0.045)
    finally:
        watch.stop()
    assert [g["cause"] for g in got["gaps"]] == ["sender", "machine_stall", "tv_loop_busy",
                                                 "tv_starved"]
    assert got["gaps"][2]["read_late_ms"] == 80


async def test_the_loop_watch_sees_a_blocked_loop_and_what_blocked_it() -> None:
    watch = LoopWatch()
    try:
        await asyncio.sleep(0.02)
        time.sleep(0.1)  # the loop's own work, holding it
        await asyncio.sleep(0.02)
    finally:
        watch.stop()
    report = watch.report()
    assert report["count"] >= 1 and report["worst_ms"] >= 80
    assert sum(report["culprits"].values()) >= 40  # ~ms of samples of what the loop ran
