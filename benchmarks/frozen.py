"""Size and start-up time of the frozen app, as JSON.

    python benchmarks/frozen.py [--app build/package/dist/castapp] [--runs 5]

Build it first (``make package``). Start-up is the median wall time of ``castapp --version``
and of a whole ``castapp --self-test`` (which casts for about three seconds), both offscreen.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def size_mb(folder: Path) -> float:
    return round(sum(p.lstat().st_size for p in folder.rglob("*")) / 1e6, 1)


def wall_time(cmd: list[str], runs: int) -> float:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=env, timeout=60)
        times.append(time.perf_counter() - started)
    return round(statistics.median(times), 3)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", type=Path, default=ROOT / "build" / "package" / "dist" / "castapp")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    exe = args.app / ("castapp.exe" if sys.platform == "win32" else "castapp")
    if not exe.is_file():
        print(f"no frozen app at {args.app}: run `make package` first", file=sys.stderr)
        return 2
    result = {
        "size_mb": size_mb(args.app),
        "files": sum(1 for _ in args.app.rglob("*")),
        "startup_s": wall_time([str(exe), "--version"], args.runs),
        "self_test_s": wall_time([str(exe), "--self-test"], max(1, args.runs // 2)),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
