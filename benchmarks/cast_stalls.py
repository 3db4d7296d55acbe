"""A fixed-work probe that reports when the machine itself stalls.

Runs beside a benchmark: every ``--period-ms`` it does the same small piece of CPU work
(calibrated at start to about ``--work-ms``) and notes how long the work plus its sleep
really took. On a healthy machine that is the period plus a little; when the hypervisor
takes the CPU away (bursts of 50-200 ms that the guest does not report as steal) the
probe is late by that much, like every other process. An iteration that is late by more
than ``--threshold-ms`` is a *stall event* ``[start, end]`` in wall-clock time.

stdin: ``stop`` ends it. stdout (JSON lines): ``ready``, then ``stalls`` with the events.
A single-threaded Python loop costs about 0.02-0.05 of a core.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time


def work(n: int) -> int:
    acc = 0
    for i in range(n):
        acc = (acc + i * i) % 1_000_003
    return acc


def calibrate(work_ms: float) -> int:
    n = 1000
    while True:
        t0 = time.perf_counter()
        work(n)
        took = (time.perf_counter() - t0) * 1000.0
        if took >= work_ms / 4:
            return max(1, int(n * work_ms / took))
        n *= 2


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--period-ms", type=float, default=5.0)
    ap.add_argument("--work-ms", type=float, default=0.5)
    ap.add_argument("--threshold-ms", type=float, default=20.0)
    args = ap.parse_args()
    n = calibrate(args.work_ms)
    stop = threading.Event()

    def read_stdin() -> None:
        for line in sys.stdin:
            if line.strip() == "stop":
                break
        stop.set()

    threading.Thread(target=read_stdin, daemon=True).start()
    print(json.dumps({"event": "ready"}), flush=True)
    period = args.period_ms / 1000.0
    events: list[tuple[float, float]] = []
    expected: list[float] = []
    while not stop.is_set():
        wall0, t0 = time.time(), time.perf_counter()
        work(n)
        time.sleep(period)
        took = time.perf_counter() - t0
        if len(expected) < 200:
            expected.append(took)
        base = sorted(expected)[len(expected) // 2]
        late = took - base
        if late * 1000.0 > args.threshold_ms:
            events.append((round(wall0, 4), round(wall0 + took, 4)))
    print(json.dumps({"event": "stalls", "events": events,
                      "expected_ms": round(sorted(expected)[len(expected) // 2] * 1000, 2)}),
          flush=True)


if __name__ == "__main__":
    main()
