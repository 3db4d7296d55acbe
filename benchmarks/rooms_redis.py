"""The room service over Redis against the in-memory service, in one run, as JSON.

    python benchmarks/rooms_redis.py [--rounds 3] [--receivers 2000] [--pairs 2000]
                                     [--rate 500] [--compare-gc]

Each round runs, one after the other (so all of them see the same machine load):

- ``memory``: one instance with the in-memory store;
- ``redis_1``: one instance over a private ``redis-server``;
- ``redis_2``: two instances over Redis, every sender on the other instance than its receiver,
  so that every relay crosses Redis;

each twice: as fast as ``--concurrency`` pairings allow (``max``, the pairing rate) and paced
at ``--rate`` pairings a second (``paced``, relay latency at that load). ``--compare-gc`` adds
the same rows with CPython's collector settings (``CASTAPP_SERVE_GC=python``) instead of the
service's tuning (``castapp/signaling/gcpause.py``).

Prints the rows of every round (``benchmarks/rooms.py``'s JSON, with each instance's
garbage-collection counts and pauses) and a summary of medians over the rounds: pairings/s,
relay ms p50/p95/p99, and the ratios the aims are stated in: ``redis_1`` and ``redis_2``
pairing rates over ``memory``'s, and ``redis_2``'s paced relay p99 against 10 ms.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rooms import run

SETUPS = {"memory": (False, 1), "redis_1": (True, 1), "redis_2": (True, 2)}


def median(rows: list[dict[str, object]], *path: str) -> float | None:
    values = []
    for row in rows:
        value: object = row
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, int | float):
            values.append(float(value))
    return round(statistics.median(values), 3) if values else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--receivers", type=int, default=2000)
    ap.add_argument("--pairs", type=int, default=2000)
    ap.add_argument("--rate", type=float, default=500.0, help="pairings per second, paced rows")
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--compare-gc", action="store_true",
                    help="also run every row with CPython's collector settings")
    args = ap.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    gcs = {"tuned": {}, "python": {"CASTAPP_SERVE_GC": "python"}}
    if not args.compare_gc:
        del gcs["python"]
    rows: list[dict[str, object]] = []
    started = time.monotonic()
    for round_ in range(args.rounds):
        # the collector settings side by side, so that both see the same moment's load
        for mode, rate in (("max", 0.0), ("paced", args.rate)):
            for setup, (redis, instances) in SETUPS.items():
                for gc_name, env in gcs.items():
                    run_args = argparse.Namespace(
                        receivers=args.receivers, pairs=args.pairs, rate=rate,
                        concurrency=args.concurrency)
                    result = run(run_args, redis, instances, env)
                    rows.append({"round": round_, "gc_setting": gc_name, "mode": mode,
                                 "setup": setup, **result})
                    print(json.dumps(rows[-1]), file=sys.stderr)
    summary: dict[str, object] = {}
    for gc_name in gcs:
        block: dict[str, object] = {}
        for mode in ("max", "paced"):
            for setup in SETUPS:
                sel = [r for r in rows
                       if (r["gc_setting"], r["mode"], r["setup"]) == (gc_name, mode, setup)]
                block[f"{setup}_{mode}"] = {
                    "pairs_per_s": median(sel, "pairs_per_s"),
                    "offered_per_s": median(sel, "offered_per_s"),
                    "client_cpu_cores": median(sel, "client_cpu_cores"),
                    "client_loop_lag_ms_p99": median(sel, "client_loop_lag_ms", "p99"),
                    "relay_ms": {q: median(sel, "relay_ms", q) for q in ("p50", "p95", "p99")},
                    "join_ms_p99": median(sel, "join_ms", "p99"),
                    "server_cpu_ms_per_pairing": median(sel, "server_cpu_ms_per_pairing"),
                    "gen2_collections": median(sel, "gc", "gen2", "collections"),
                    "gen2_mean_ms": median(sel, "gc", "gen2", "mean_ms"),
                    "gen2_max_ms": median(sel, "gc", "gen2_max_ms"),
                }

        def rate(key: str, block: dict[str, object] = block) -> float | None:
            entry = block[key]
            return entry["pairs_per_s"] if isinstance(entry, dict) else None  # type: ignore[return-value]

        mem = rate("memory_max")
        for setup in ("redis_1", "redis_2"):
            value = rate(f"{setup}_max")
            block[f"{setup}_over_memory_rate"] = (round(value / mem, 3)
                                                  if value and mem else None)
        # per round, so that both rows of a ratio saw the same load
        per_round = []
        for round_ in range(args.rounds):
            pick = {r["setup"]: r["pairs_per_s"] for r in rows
                    if r["round"] == round_ and r["gc_setting"] == gc_name and r["mode"] == "max"}
            if pick.get("memory") and pick.get("redis_1"):
                per_round.append(round(pick["redis_1"] / pick["memory"], 3))  # type: ignore[operator]
        block["redis_1_over_memory_rate_per_round"] = per_round
        paced = block["redis_2_paced"]
        p99 = paced["relay_ms"]["p99"] if isinstance(paced, dict) else None  # type: ignore[index]
        block["redis_2_paced_relay_p99_within_10ms"] = p99 is not None and p99 <= 10.0
        summary[gc_name] = block
    print(json.dumps({"rounds": args.rounds, "receivers": args.receivers, "pairs": args.pairs,
                      "rate": args.rate, "minutes": round((time.monotonic() - started) / 60, 1),
                      "summary": summary}))


if __name__ == "__main__":
    main()
