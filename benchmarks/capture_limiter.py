"""Repaints grabbed by the change-driven capture, per frame-rate limiter, as JSON.

    python benchmarks/capture_limiter.py [--res 1080p] [--fps 60] [--content-hz 59.5]
                                         [--seconds 16] [--slice 2]

A private Xvfb shows ``cast_content.py``'s video scene repainting at ``--content-hz`` with
its stamp (the repaint's wall time, ``cast_stamp.py``). castapp's ``ScreenCapture`` with
its X DAMAGE change filter grabs it at ``--fps``, with the two ways of keeping grabs on a
change to that rate taking turns every ``--slice`` seconds in one capture (so both see the
same machine load):

* ``grid``: at most one grab per slot of a fixed 1/fps grid (castapp's default);
* ``interval``: no two grabs closer than 1/fps (castapp before the grid).

Per limiter: ``capture_fps`` (frames published), ``stamps_per_s`` (distinct repaints
caught), ``missed_share`` (repaints between two caught ones that were never grabbed:
stamp gaps longer than 1.5 repaint intervals) and ``grab_ms``; ``ratios`` grid/interval.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from capture import xvfb  # noqa: E402
from cast_stamp import StampReader  # noqa: E402

from castapp.rtc import change  # noqa: E402
from castapp.rtc.capture import ScreenCapture  # noqa: E402

SIZES = {"720p": (1280, 720), "1080p": (1920, 1080), "4k": (3840, 2160)}


class StampedCapture(ScreenCapture):
    """The screen capture, noting which limiter produced each frame and its stamp."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.reader = StampReader()
        self.log: list[tuple[str, int | None, float]] = []

    def _produce(self, seq: int) -> np.ndarray:
        i420 = super()._produce(seq)
        y = i420[: i420.shape[0] * 2 // 3]
        self.log.append((self.grab_limit, self.reader.read(y), self.grab_ms))
        return i420


Row = tuple[str, int | None, float]


def summary(slices: list[list[Row]], seconds: float, interval_ms: float) -> dict[str, Any]:
    rows = [r for part in slices for r in part]
    caught = missed = 0.0
    for part in slices:
        distinct = sorted({s for _, s, _ in part if s is not None})
        caught += len(distinct)
        if len(distinct) > 1:  # each gap of k repaint intervals hides k-1 repaints
            gaps = np.diff(np.array(distinct, dtype=np.int64))
            missed += float(np.clip(np.rint(gaps / interval_ms) - 1, 0, None).sum())
    return {
        "capture_fps": round(len(rows) / seconds, 1),
        "stamps_per_s": round(caught / seconds, 1),
        "missed_share": round(missed / max(1.0, missed + caught), 3),
        "grab_ms": round(float(np.mean([g for _, _, g in rows])) if rows else 0.0, 2),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--res", choices=sorted(SIZES), default="1080p")
    ap.add_argument("--fps", type=float, default=60.0)
    ap.add_argument("--content-hz", type=float, default=59.5)
    ap.add_argument("--seconds", type=float, default=16.0)
    ap.add_argument("--slice", type=float, default=2.0)
    args = ap.parse_args()
    width, height = SIZES[args.res]
    server, display = xvfb(width, height)
    content = subprocess.Popen(
        [sys.executable, str(HERE / "cast_content.py"), "--display", display, "--width",
         str(width), "--height", str(height), "--fps", f"{args.content_hz:g}", "--scene",
         "video"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(2.0)
        cap = StampedCapture(fps=args.fps, display=display)
        change.enable(cap)
        cap.start()
        time.sleep(1.0)
        per: dict[str, list[list[Row]]] = {"grid": [], "interval": []}
        spent = {"grid": 0.0, "interval": 0.0}
        end = time.monotonic() + args.seconds
        turn = 0
        while time.monotonic() < end:
            limit = ("grid", "interval")[turn % 2]
            cap.grab_limit = limit
            time.sleep(0.1)  # settle into the new limiter before counting
            start, t0 = len(cap.log), time.monotonic()
            time.sleep(args.slice)
            spent[limit] += time.monotonic() - t0
            per[limit].append([r for r in cap.log[start:] if r[0] == limit])
            turn += 1
        cap.stop()
    finally:
        content.terminate()
        server.terminate()
        content.wait(5)
        server.wait(5)
    interval_ms = 1000.0 / args.content_hz
    result: dict[str, Any] = {"res": args.res, "fps": args.fps,
                              "content_hz": args.content_hz}
    for limit, slices in per.items():
        result[limit] = summary(slices, spent[limit], interval_ms)
    g, i = result["grid"], result["interval"]
    result["ratios"] = {f"{k}_grid_over_interval": round(g[k] / i[k], 3) if i[k] else None
                        for k in ("capture_fps", "stamps_per_s")}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
