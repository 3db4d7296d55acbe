"""Cost of turning a BGRA grab into I420, per route, as JSON with ratios.

    python benchmarks/convert.py [--repeat 200]

Routes: castapp's converter on libyuv and on swscale (PyAV's reformatter), and the
OpenCV route castapp used before (``cv2.cvtColor(COLOR_BGRA2YUV_I420)`` and ``cv2.resize``)
as the reference when OpenCV is importable (it is not a castapp dependency any more:
``pip install opencv-python-headless`` to get the reference). Cases: 720p, 1080p, 4K and
the 1680x1050 / odd sizes that need padding, plus 4K downscaled to 1080p. Figures are the
median wall time of one call in ms and the CPU time per call; ``ratio_vs_cv2`` < 1 means
faster than OpenCV in the same run. The machine is noisy: compare within one run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from castapp.rtc.capture import fit_size
from castapp.rtc.convert import I420Converter, libyuv_available

CASES: dict[str, tuple[int, int, tuple[int, int] | None]] = {
    "720p": (1280, 720, None),
    "1080p": (1920, 1080, None),
    "1680x1050": (1680, 1050, None),
    "1919x1079_odd": (1919, 1079, None),
    "4k": (3840, 2160, None),
    "4k_to_1080p": (3840, 2160, (1920, 1080)),
}


def desktop(width: int, height: int) -> np.ndarray:
    """Screen-like content: flat areas, text-like strokes, a gradient."""
    rng = np.random.default_rng(7)
    img = np.full((height, width, 4), 235, np.uint8)
    img[..., 3] = 255
    img[: height // 3, :, 0] = np.linspace(0, 255, width, dtype=np.uint8)
    strokes = rng.random((height - height // 3, width)) < 0.08
    img[height // 3 :][strokes, :3] = 30
    return img


def measure(fn: Callable[[], object], repeat: int) -> dict[str, float]:
    for _ in range(5):
        fn()
    walls, cpus = [], []
    for _ in range(repeat):
        c0, w0 = time.process_time(), time.perf_counter()
        fn()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return {"ms": round(statistics.median(walls) * 1000, 3),
            "cpu_ms": round(statistics.mean(cpus) * 1000, 3)}


def cv2_route(bgra: np.ndarray, size: tuple[int, int]) -> Callable[[], object] | None:
    try:
        import cv2  # type: ignore[import-not-found]
    except ImportError:
        return None
    h, w = bgra.shape[:2]
    even = bgra[: h - h % 2, : w - w % 2]  # the old route cropped odd sizes

    def run() -> object:
        src = even
        if size != (src.shape[1], src.shape[0]):
            src = cv2.resize(src, size, interpolation=cv2.INTER_AREA)
        return cv2.cvtColor(src, cv2.COLOR_BGRA2YUV_I420)

    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    result: dict[str, object] = {"libyuv": libyuv_available()}
    for name, (w, h, max_size) in CASES.items():
        bgra = desktop(w, h)
        size = fit_size(w, h, max_size)
        row: dict[str, object] = {"out": f"{size[0]}x{size[1]}"}
        backends = ["libyuv", "swscale"] if libyuv_available() else ["swscale"]
        for backend in backends:
            conv = I420Converter(backend)  # type: ignore[arg-type]
            row[backend] = measure(
                lambda conv=conv, bgra=bgra, size=size: conv.convert(bgra, size), args.repeat)
        ref = cv2_route(bgra, size)
        if ref is not None:
            row["cv2"] = measure(ref, args.repeat)
            for backend in backends:
                entry = row[backend]
                assert isinstance(entry, dict)
                entry["ratio_vs_cv2"] = round(entry["ms"] / row["cv2"]["ms"], 2)  # type: ignore[index]
        result[name] = row
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
