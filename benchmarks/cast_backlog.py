"""A receiver stalled once mid-cast, and how fast it shows current pictures again
(``cast.py --stall-receiver S`` or ``--starve-receiver S``, ``--compare catchup``).

The probe process is stopped (``SIGSTOP``) for S seconds a third of the way into the window
and then continued; meanwhile the sender goes on sending and the datagrams wait in the probe's
socket. A stop of a second or more usually also trips the sender's own watchdog (no RTCP
report for 2 s: it builds a new connection, reported as ``new_links``), which hides what the
receiver does with its backlog. ``--starve-receiver`` instead lets the receiver run 10 ms
after every 150 ms stop, as a machine that gives it too little CPU would: it goes on sending
its reports but reads and decodes far slower than the media arrives, and the backlog grows
by most of S. From the probe's per-frame log (hand-over time, glass-to-glass latency) this reports,
relative to the moment it was continued:

``fresh_after_ms``
    when the first frame with latency under :data:`FRESH_MS` was handed over;
``stale_frames``
    frames handed over after the resume with latency above :data:`FRESH_MS`;
``worst_after_1s_ms``
    the highest latency among frames handed over from 1 s to 3 s after the resume;
``latency_after_3s_ms``
    p50/p95 of the rest of the window (the cast back to normal);
``first_after_resume``
    the first frames after the resume as [ms after it, latency ms].

``--compare catchup`` runs the same stall again on a receiver without the catch-up
(``cast_probe.py --no-catchup``: stale datagrams are read and decoded in order) and adds
``no_catchup`` and ``ratios``.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import numpy as np

#: A frame this young or younger counts as current.
FRESH_MS = 200.0


#: ``--starve-receiver``: the receiver is stopped this long, then runs for :data:`RUN_S`.
STOP_S, RUN_S = 0.150, 0.010


def stall(pid: int, at_s: float, stall_s: float, starve: bool = False) -> tuple[float, float]:
    """Sleep ``at_s``, then stop ``pid`` for ``stall_s`` (``starve``: in 150 ms stops with
    10 ms of running between them); (stopped, continued for good) wall times."""
    time.sleep(at_s)
    stopped = time.time()
    end = time.monotonic() + stall_s
    try:
        while True:
            os.kill(pid, signal.SIGSTOP)
            left = end - time.monotonic()
            time.sleep(max(0.0, min(left, STOP_S) if starve else left))
            if not starve or time.monotonic() >= end:
                break
            os.kill(pid, signal.SIGCONT)
            time.sleep(RUN_S)
    finally:
        os.kill(pid, signal.SIGCONT)
    return stopped, time.time()


def recovery(frame_log: list[list[Any]], stopped: float, resumed: float) -> dict[str, Any]:
    """The figures of the module's description from ``(received_at, latency_ms, key)``."""
    after = [(t - resumed, lat) for t, lat, *_ in frame_log if t >= resumed]
    fresh = next((dt for dt, lat in after if lat < FRESH_MS), None)
    late = [lat for dt, lat in after if 1.0 <= dt < 3.0]
    rest = [lat for dt, lat in after if dt >= 3.0]
    return {
        "stall_s": round(resumed - stopped, 2),
        "fresh_after_ms": None if fresh is None else round(fresh * 1000, 1),
        "stale_frames": sum(1 for _, lat in after if lat >= FRESH_MS),
        "worst_after_resume_ms": round(max((lat for _, lat in after), default=0.0), 1),
        "first_after_resume": [[round(dt * 1000, 1), round(lat, 1)] for dt, lat in after[:8]],
        "worst_after_1s_ms": round(max(late), 1) if late else None,
        "latency_after_3s_ms": ({"p50": round(float(np.percentile(rest, 50)), 1),
                                 "p95": round(float(np.percentile(rest, 95)), 1)}
                                if rest else None),
    }


def compare(current: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    a, b = current.get("stall") or {}, old.get("stall") or {}

    def r(x: Any, y: Any) -> float | None:
        return round(y / x, 2) if x and y is not None else None

    return {
        "fresh_after_no_catchup_over_catchup": r(a.get("fresh_after_ms"),
                                                 b.get("fresh_after_ms")),
        "stale_frames_no_catchup_over_catchup": r(a.get("stale_frames"), b.get("stale_frames")),
        "worst_after_resume_no_catchup_over_catchup": r(a.get("worst_after_resume_ms"),
                                                        b.get("worst_after_resume_ms")),
    }
