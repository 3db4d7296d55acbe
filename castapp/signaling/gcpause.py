"""Garbage-collector pauses of the room service: measured, and kept short.

A standalone room service holds thousands of idle connections, each a few hundred tracked
objects. CPython's default thresholds (700, 10, 10) run a young collection every 700 net
allocations, so the objects of a pairing that lasts a few milliseconds still live through one
or two collections and are promoted until they reach the oldest generation; when enough have
piled up there, a full collection walks every object of every idle connection, which took
70-90 ms with 2,000 receivers, and every relay arriving meanwhile waits.

:func:`tune` (called by ``castapp serve`` once it listens, not by the receiver window's
embedded service) does three things:

- ``gc.freeze()``: what exists after start-up (modules, classes, functions, the store's
  scripts) moves to a permanent generation that no collection walks again;
- a larger young generation (``YOUNG`` allocations): a pairing's objects mostly die before
  the first collection that could promote them, so far fewer reach the oldest generation;
- full collections stay: garbage cycles are still freed, only more rarely and, because the
  start-up objects are frozen, over fewer objects.

:class:`Pauses` records every collection's duration through ``gc.callbacks`` for
``/metrics`` (``castapp_gc_pause_seconds``, by generation).
"""

from __future__ import annotations

import gc
import time
from typing import Any

#: Allocations between young collections (CPython's default is 700).
YOUNG = 20_000
#: Histogram bounds for pause durations, in seconds.
BOUNDS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2)


class Pauses:
    """Counts and durations of garbage collections, by generation."""

    def __init__(self) -> None:
        self.count = [0, 0, 0]
        self.total_s = [0.0, 0.0, 0.0]
        self.max_s = [0.0, 0.0, 0.0]
        #: Objects freed by the collector (garbage in reference cycles), by generation.
        self.collected = [0, 0, 0]
        self.buckets = [[0] * len(BOUNDS) for _ in range(3)]
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        took = time.perf_counter() - self._started
        gen = min(2, int(info.get("generation", 0)))
        self.count[gen] += 1
        self.total_s[gen] += took
        self.max_s[gen] = max(self.max_s[gen], took)
        self.collected[gen] += int(info.get("collected", 0))
        for i, bound in enumerate(BOUNDS):
            if took <= bound:
                self.buckets[gen][i] += 1

    def install(self) -> Pauses:
        if self not in gc.callbacks:
            gc.callbacks.append(self)
        return self

    def remove(self) -> None:
        if self in gc.callbacks:
            gc.callbacks.remove(self)

    def prometheus(self) -> list[str]:
        name = "castapp_gc_pause_seconds"
        lines = [f"# HELP {name} Garbage-collection pauses of this instance, by generation.",
                 f"# TYPE {name} histogram"]
        for gen in range(3):
            for bound, n in zip(BOUNDS, self.buckets[gen], strict=True):
                lines.append(f'{name}_bucket{{generation="{gen}",le="{bound}"}} {n}')
            lines.append(f'{name}_bucket{{generation="{gen}",le="+Inf"}} {self.count[gen]}')
            lines.append(f'{name}_sum{{generation="{gen}"}} {self.total_s[gen]:.6f}')
            lines.append(f'{name}_count{{generation="{gen}"}} {self.count[gen]}')
        lines += [f"# HELP {name}_max Longest garbage-collection pause, by generation.",
                  f"# TYPE {name}_max gauge"]
        lines += [f'{name}_max{{generation="{gen}"}} {self.max_s[gen]:.6f}' for gen in range(3)]
        freed = "castapp_gc_collected_objects_total"
        lines += [f"# HELP {freed} Objects in reference cycles the collector freed, by generation.",
                  f"# TYPE {freed} counter"]
        lines += [f'{freed}{{generation="{gen}"}} {self.collected[gen]}' for gen in range(3)]
        lines += ["# HELP castapp_gc_frozen_objects Objects frozen at start-up, never collected.",
                  "# TYPE castapp_gc_frozen_objects gauge",
                  f"castapp_gc_frozen_objects {gc.get_freeze_count()}"]
        return lines


def tune() -> None:
    """Freeze what start-up made and enlarge the young generation (see the module text)."""
    gc.collect()
    gc.freeze()
    _young, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG, middle, old)
