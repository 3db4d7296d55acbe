"""Where the sound benchmark's glitches and arrival gaps come from (``sound.py --separate``).

* ``StallProbe`` runs ``benchmarks/cast_stalls.py`` beside the measurement: the machine's own
  stall events (the hypervisor taking the CPU away from every process at once).
* ``LoopWatch`` watches the TV's event loop: a task that sleeps 5 ms notes how late it wakes
  (``lags``), and a thread that, while the loop is late, samples what the loop's thread is
  running (``culprits``: the innermost frames of castapp, aiortc, PyAV or the benchmark).
* ``arrival_causes`` sorts each gap in the sound arriving at the TV: ``sender`` (the packet
  after the gap left the sender late too), ``machine_stall`` (it was sent in time and a
  machine stall covers its wait), ``tv_gc`` (Python's garbage collector ran meanwhile),
  ``tv_loop_busy`` (sent in time, no machine stall, the TV's loop was late and its thread
  used the CPU meanwhile: it was busy with its own work), ``tv_starved`` (late, and the
  whole process hardly ran: it waited for a core), ``tv_waiting`` (late, the loop's thread
  hardly ran but others of the process did: it waited for the GIL, or for a core while they
  had the other) or ``unknown``. On
  loopback a packet is in the TV's socket as soon as it is sent, so its wait from the
  sender's ``sendto`` to the loop reading it is the TV's own lateness.
* ``glitch_causes`` marks each playout underrun as within a machine stall or right after it
  (within the playout buffer's length then).
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import json
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import IO, Any

STALLS = Path(__file__).parents[1] / "cast_stalls.py"
LATE_S = 0.020  # a packet read this long after it was sent waited for the TV
LOOP_LAG_S = 0.020  # the loop woke this late: it was busy (or the process had no CPU)
OURS = ("castapp", "aiortc", "aioice", "av/", "benchmarks", "asyncio")


def wall_offset() -> float:
    """``time.time() - time.monotonic()`` (the probe speaks wall-clock time)."""
    return time.time() - time.monotonic()


class StallProbe:
    """``cast_stalls.py`` in a process of its own: start, then ``stop()`` gives the events
    (``[start, end]`` in ``time.monotonic()`` of this machine)."""

    def __init__(self) -> None:
        self._proc = subprocess.Popen([sys.executable, str(STALLS)], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, text=True)

    async def ready(self) -> None:
        await asyncio.to_thread(self._line, "ready")

    def _line(self, event: str) -> dict[str, Any]:
        out: IO[str] | None = self._proc.stdout
        assert out is not None
        for line in out:
            item = json.loads(line)
            if item.get("event") == event:
                return dict(item)
        raise RuntimeError(f"the stall probe ended without '{event}'")

    async def stop(self) -> list[tuple[float, float]]:
        assert self._proc.stdin is not None
        self._proc.stdin.write("stop\n")
        self._proc.stdin.flush()
        item = await asyncio.to_thread(self._line, "stalls")
        self._proc.wait(10)
        shift = wall_offset()
        return [(a - shift, b - shift) for a, b in item["events"]]


class LoopWatch:
    """How late the running loop wakes, and what its thread runs while it is late."""

    def __init__(self) -> None:
        #: (woke at, late by, the loop thread's CPU, the whole process's CPU meanwhile) s
        self.lags: list[tuple[float, float, float, float]] = []
        self.samples: list[tuple[float, str]] = []  # (when, innermost frames of ours)
        self.gc_pauses: list[tuple[float, float, int]] = []  # (end, took s, generation) > 5 ms
        self._gc_start = 0.0
        gc.callbacks.append(self._gc)
        self._beat = time.monotonic()
        self._loop_thread = threading.get_ident()
        self._stop = threading.Event()
        self._task = asyncio.ensure_future(self._run())
        self._thread = threading.Thread(target=self._sample, name="loop-watch", daemon=True)
        self._thread.start()

    def _gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_start = time.monotonic()
        elif (took := time.monotonic() - self._gc_start) > 0.005:
            self.gc_pauses.append((time.monotonic(), took, info["generation"]))

    async def _run(self) -> None:
        while True:
            t, cpu, everyone = time.monotonic(), time.thread_time(), time.process_time()
            self._beat = t
            await asyncio.sleep(0.005)
            now = time.monotonic()
            if now - t - 0.005 > LOOP_LAG_S:
                self.lags.append((now, now - t - 0.005, time.thread_time() - cpu,
                                  time.process_time() - everyone))

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            if time.monotonic() - self._beat < LOOP_LAG_S + 0.005:
                continue
            frame = sys._current_frames().get(self._loop_thread)
            names = []
            while frame is not None and len(names) < 3:
                path = frame.f_code.co_filename
                if any(part in path for part in OURS) and "av_causes" not in path:
                    names.append(f"{Path(path).parent.name}/{Path(path).name}:"
                                 f"{frame.f_code.co_name}")
                frame = frame.f_back
            self.samples.append((time.monotonic(), " < ".join(names) or "?"))

    def reset(self) -> None:
        self.lags.clear()
        self.samples.clear()
        self.gc_pauses.clear()

    def stop(self) -> None:
        self._stop.set()
        gc.callbacks.remove(self._gc)
        self._task.cancel()
        self._thread.join(1.0)

    def lag_within(self, a: float, b: float) -> tuple[float, float, float]:
        """The worst lateness of a wake-up whose wait overlaps ``[a, b]``, the CPU time the
        loop's thread used meanwhile (about the lateness: it was busy; far less: it waited
        for a core or for the GIL) and the whole process's (far less: no core for it)."""
        return max(((late, cpu, everyone) for woke, late, cpu, everyone in self.lags
                    if woke >= a and woke - late - 0.005 <= b), default=(0.0, 0.0, 0.0))

    def report(self) -> dict[str, Any]:
        top = Counter(s for _, s in self.samples).most_common(5)
        return {"count": len(self.lags),
                "total_ms": round(sum(lag[1] for lag in self.lags) * 1000.0),
                "loop_cpu_ms": round(sum(lag[2] for lag in self.lags) * 1000.0),
                "process_cpu_ms": round(sum(lag[3] for lag in self.lags) * 1000.0),
                "worst_ms": round(max((lag[1] for lag in self.lags), default=0.0) * 1000),
                "culprits": {name: n * 5 for name, n in top},  # ~ms the loop was seen in each
                "gc_pauses_over_5ms": {"count": len(self.gc_pauses), "worst_ms": round(
                    max((p[1] for p in self.gc_pauses), default=0.0) * 1000.0)}}


def overlaps(a: float, b: float, stalls: list[tuple[float, float]], tail: float = 0.0) -> bool:
    return any(a <= e + tail and b >= s for s, e in stalls)


def arrival_causes(arrivals: list[tuple[float, int]], sent: dict[int, float],
                   stalls: list[tuple[float, float]], watch: LoopWatch,
                   gap_s: float) -> dict[str, Any]:
    """Each gap over ``gap_s`` between packets arriving (``(monotonic, seq)``), by cause."""
    causes: Counter[str] = Counter()
    gaps = []
    for (t0, s0), (t1, s1) in itertools.pairwise(arrivals):
        if t1 - t0 <= gap_s:
            continue
        sent1, sent0 = sent.get(s1), sent.get(s0)
        wait = None if sent1 is None else t1 - sent1
        if sent1 is None or sent0 is None:
            cause = "unknown"
        elif sent1 - sent0 > gap_s and wait is not None and wait < LATE_S:
            cause = "sender"
        elif overlaps(t0, t1, stalls):
            cause = "machine_stall"
        elif any(t0 <= end and end - took <= t1 for end, took, _ in watch.gc_pauses):
            cause = "tv_gc"
        elif (lag := watch.lag_within(t0, t1))[0] > LATE_S:
            cause = "tv_loop_busy" if lag[1] > lag[0] / 2 else \
                "tv_starved" if lag[2] < lag[0] / 4 else "tv_waiting"
        else:
            cause = "unknown"
        causes[cause] += 1
        gaps.append({"ms": round((t1 - t0) * 1000.0),
                     "sent_gap_ms": None if sent1 is None or sent0 is None
                     else round((sent1 - sent0) * 1000.0),
                     "read_late_ms": None if wait is None else round(wait * 1000.0),
                     "loop_late_ms": round(watch.lag_within(t0, t1)[0] * 1000.0),
                     "loop_cpu_ms": round(watch.lag_within(t0, t1)[1] * 1000.0),
                     "process_cpu_ms": round(watch.lag_within(t0, t1)[2] * 1000.0),
                     "cause": cause})
    return {"by_cause": dict(causes), "gaps": gaps}


def glitch_causes(glitches: list[tuple[float, float]],
                  stalls: list[tuple[float, float]]) -> dict[str, Any]:
    """Underruns (``(monotonic, buffer target ms)``) outside every machine stall, where a
    stall counts until the buffer's length after its end (what the buffer held then runs
    out that much later)."""
    outside = [t for t, target in glitches
               if not overlaps(t, t, stalls, tail=target / 1000.0 + 0.010)]
    return {"audio_glitches_outside_machine_stalls": len(outside), "outside_at": outside}
