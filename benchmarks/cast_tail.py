"""Tail figures of the screen-cast benchmark: keyframe frames vs others, machine stalls.

From the probe's per-frame log ``(received_at, latency_ms, is_keyframe)`` and the stall
probe's events ``(start, end)`` (wall clock, one machine):

* ``keyframe_latency_ms``: keyframes and the two frames after each (a keyframe's burst
  delays those too); ``other_latency_ms``: all other frames; each ``{p50, p95}``.
* ``keyframe_ratio``: the keyframe group's p95 over the others' p95, with a 95 % bootstrap
  interval (``ci95``): keyframe groups are resampled whole and the other frames in one-second
  blocks, so a run whose group p95 rests on one or two unlucky keyframes shows a wide
  interval instead of a figure that looks settled.
* ``machine_stalls``: ``{count, total_ms}`` of the stall events inside the window.
* ``latency_outside_stalls_ms``: ``{p50, p95}`` over frames whose life (painted ->
  handed over) does not overlap a stall window (extended by ``STALL_TAIL_S`` after it,
  for the frames queued behind the stall).
* :func:`pooled`: the keyframe figures over several runs' logs together (``cast.py --repeat``).
"""

from __future__ import annotations

import subprocess
from typing import Any

import numpy as np

STALL_TAIL_S = 0.05
KEY_FOLLOWERS = 2
#: Other frames are resampled in blocks of this many consecutive frames (about a second),
#: since a slow moment slows the frames around it too.
BLOCK_FRAMES = 60
BOOTSTRAP_ROUNDS = 2000


def pct(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None}
    arr = np.asarray(values, dtype=np.float64)
    return {"p50": round(float(np.percentile(arr, 50)), 1),
            "p95": round(float(np.percentile(arr, 95)), 1)}


def keyframe_groups(log: list[list[Any]]) -> tuple[list[list[float]], list[float]]:
    """(each keyframe's group: the keyframe and the frames after it, the other frames)."""
    groups: list[list[float]] = []
    other: list[float] = []
    after = 0
    for _received, latency, is_key in log:
        if is_key:
            groups.append([])
            after = KEY_FOLLOWERS + 1
        (groups[-1] if after > 0 else other).append(latency)
        after = max(0, after - 1)
    return groups, other


def blocks_of(other: list[float]) -> list[list[float]]:
    """One run's other frames cut into resampling blocks of :data:`BLOCK_FRAMES`."""
    return [other[i:i + BLOCK_FRAMES] for i in range(0, len(other), BLOCK_FRAMES)]


def keyframe_ratio(groups: list[list[float]], other: list[float],
                   rounds: int = BOOTSTRAP_ROUNDS, seed: int = 1,
                   blocks: list[list[float]] | None = None) -> dict[str, Any]:
    """The keyframe group's p95 over the other frames' p95 and its 95 % bootstrap interval,
    from :func:`keyframe_groups` (``None`` where there are too few keyframes or other
    frames). ``blocks``: the other frames' resampling blocks where they come from several
    runs (no block spans two); by default ``other`` cut into blocks."""
    if len(groups) < 2 or len(other) < 2 * BLOCK_FRAMES:
        return {"p95_ratio": None, "ci95": None, "keyframes": len(groups)}
    key = [v for g in groups for v in g]
    ratio = float(np.percentile(key, 95) / np.percentile(other, 95))
    rng = np.random.default_rng(seed)
    blocks = blocks if blocks is not None else blocks_of(other)
    ratios = np.empty(rounds)
    for r in range(rounds):
        k = np.concatenate([groups[i] for i in rng.integers(0, len(groups), len(groups))])
        o = np.concatenate([blocks[i] for i in rng.integers(0, len(blocks), len(blocks))])
        ratios[r] = np.percentile(k, 95) / np.percentile(o, 95)
    lo, hi = np.percentile(ratios, [2.5, 97.5])
    return {"p95_ratio": round(ratio, 2), "ci95": [round(float(lo), 2), round(float(hi), 2)],
            "keyframes": len(groups)}


def tail_fields(log: list[list[Any]], stalls: list[list[float]],
                window: tuple[float, float]) -> dict[str, Any]:
    groups, other = keyframe_groups(log)
    key = [v for g in groups for v in g]
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
        "keyframe_ratio": keyframe_ratio(groups, other),
        "machine_stalls": {"count": len(inside),
                           "total_ms": round(sum(b - a for a, b in inside) * 1000.0, 1)},
        "latency_outside_stalls_ms": pct(clear),
        "frames_outside_stalls": len(clear),
    }


def pooled(logs: list[list[list[Any]]]) -> dict[str, Any]:
    """The keyframe figures over several runs' frame logs taken together: one run's
    keyframe ratio rests on a few dozen keyframes and moves from run to run; the pooled one
    rests on all of them (its interval resamples keyframe groups across runs and other
    frames in blocks within each run)."""
    groups: list[list[float]] = []
    other: list[float] = []
    blocks: list[list[float]] = []
    for log in logs:
        g, o = keyframe_groups(log)
        groups += g
        other += o
        blocks += blocks_of(o)
    return {
        "runs": len(logs),
        "keyframe_latency_ms": pct([v for g in groups for v in g]),
        "other_latency_ms": pct(other),
        "keyframe_ratio": keyframe_ratio(groups, other, blocks=blocks),
    }


def udp_counters(namespace: str) -> dict[str, int]:
    """The namespace's own UDP counters from /proc/net/snmp (RcvbufErrors, ...)."""
    text = subprocess.run(["ip", "netns", "exec", namespace, "cat", "/proc/net/snmp"],
                          capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in text.splitlines() if line.startswith("Udp:")]
    if len(rows) < 2:
        return {}
    return dict(zip(rows[0][1:], (int(v) for v in rows[1][1:]), strict=False))
