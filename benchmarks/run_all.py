"""Run every benchmark in its standard configurations; prints one JSON object.

Each entry is the JSON a benchmark script printed. The machine is shared and noisy: compare
figures taken in the same run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent

RUNS = {
    "rooms_throughput": [HERE / "rooms.py", "--receivers", "2000", "--pairs", "2000"],
    "rooms_500_per_s": [HERE / "rooms.py", "--receivers", "2000", "--pairs", "2500",
                        "--rate", "500"],
    "cast_720p30": [HERE / "cast.py", "--res", "720p", "--fps", "30", "--seconds", "10"],
    "cast_1080p60": [HERE / "cast.py", "--res", "1080p", "--fps", "60", "--seconds", "20"],
    "cast_1080p30_vs_naive": [HERE / "cast.py", "--res", "1080p", "--fps", "30",
                              "--seconds", "15", "--compare", "naive"],
    "cast_4k30": [HERE / "cast.py", "--res", "4k", "--fps", "30", "--seconds", "10"],
    "cast_1_to_4_senders_1080p30": [HERE / "cast.py", "--senders", "1,2,3,4", "--res", "1080p",
                                    "--seconds", "15"],
    "cast_1080p30_to_4_receivers": [HERE / "cast.py", "--receivers", "4", "--res", "1080p",
                                    "--seconds", "15"],
    "convert_bgra_i420": [HERE / "convert.py", "--repeat", "100"],
    "receive_path_per_packet": [HERE / "rx_path.py", "--rounds", "15"],
    "receive_burst_batched_reads": [HERE / "rx_read.py", "--rounds", "15"],
    "capture_1080p_x11_portal": [HERE / "capture.py", "--backend", "both", "--seconds", "5"],
    "rooms_10k_idle": [HERE / "rooms.py", "--receivers", "10000", "--pairs", "1000"],
    "rooms_redis_1_instance": [HERE / "rooms.py", "--redis", "--instances", "1"],
    "rooms_redis_2_instances": [HERE / "rooms.py", "--redis", "--instances", "2"],
    "rooms_redis_vs_memory": [HERE / "rooms_redis.py", "--rounds", "1", "--compare-gc"],
}


def main() -> None:
    results: dict[str, object] = {}
    for name, argv in RUNS.items():
        out = subprocess.run([sys.executable, *map(str, argv)], capture_output=True, text=True,
                             timeout=900)
        if out.returncode != 0:
            results[name] = {"error": out.stderr.strip().splitlines()[-1:]}
            continue
        results[name] = json.loads(out.stdout.strip().splitlines()[-1])
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
