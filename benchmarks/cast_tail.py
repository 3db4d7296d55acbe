"""Tail figures of the screen-cast benchmark: keyframe frames vs others, machine stalls.

From the probe's per-frame log ``(received_at, latency_ms, is_keyframe)`` and the stall
probe's events ``(start, end)`` (wall clock, one machine):

* ``keyframe_latency_ms``: keyframes and the two frames after each (a keyframe's burst
  delays those too); ``other_latency_ms``: all other frames; each ``{p50, p95}``.
* ``machine_stalls``: ``{count, total_ms}`` of the stall events inside the window.
* ``latency_outside_stalls_ms``: ``{p50, p95}`` over frames whose life (painted ->
  handed over) does not overlap a stall window (extended by ``STALL_TAIL_S`` after it,
  for the frames queued behind the stall).
"""

from __future__ import annotations

import subprocess
from typing import Any

import numpy as np

STALL_TAIL_S = 0.05
KEY_FOLLOWERS = 2


def pct(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None}
    arr = np.asarray(values, dtype=np.float64)
    return {"p50": round(float(np.percentile(arr, 50)), 1),
            "p95": round(float(np.percentile(arr, 95)), 1)}


def split_keyframes(log: list[list[Any]]) -> tuple[list[float], list[float]]:
    key, other = [], []
    after = 0
    for _received, latency, is_key in log:
        if is_key:
            after = KEY_FOLLOWERS + 1
        (key if after > 0 else other).append(latency)
        after = max(0, after - 1)
    return key, other


def tail_fields(log: list[list[Any]], stalls: list[list[float]],
                window: tuple[float, float]) -> dict[str, Any]:
    key, other = split_keyframes(log)
    t0, t1 = window
    inside = [(a, b) for a, b in stalls if b >= t0 and a <= t1]
    clear = []
    for received, latency, _key in log:
        painted = received - latency / 1000.0
        if not any(painted <= b + STALL_TAIL_S and received >= a for a, b in inside):
            clear.append(latency)
    return {
        "keyframe_latency_ms": pct(key),
        "other_latency_ms": pct(other),
        "keyframe_frames": len(key),
        "machine_stalls": {"count": len(inside),
                           "total_ms": round(sum(b - a for a, b in inside) * 1000.0, 1)},
        "latency_outside_stalls_ms": pct(clear),
        "frames_outside_stalls": len(clear),
    }


def udp_counters(namespace: str) -> dict[str, int]:
    """The namespace's own UDP counters from /proc/net/snmp (RcvbufErrors, ...)."""
    text = subprocess.run(["ip", "netns", "exec", namespace, "cat", "/proc/net/snmp"],
                          capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in text.splitlines() if line.startswith("Udp:")]
    if len(rows) < 2:
        return {}
    return dict(zip(rows[0][1:], (int(v) for v in rows[1][1:]), strict=False))
