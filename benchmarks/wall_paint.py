"""What the TV's wall costs to draw: one full-screen source against four tiles.

    python benchmarks/wall_paint.py [--frames 120] [--size 1920x1080]

Each scenario feeds real decoded H.264 frames (x264 then FFmpeg's decoder, as a call does)
to the receiver window's wall and repaints it synchronously after every round of frames;
it reports wall-clock and CPU milliseconds per repaint and the ratios against one
full-screen source measured in the same run:

- ``one_full``: one presenter at the screen's size (today's single cast);
- ``four_hinted``: four presenters sending what the wall asks of them (their tile's size);
- ``four_unhinted``: four presenters sending full-size pictures (senders that ignore hints).

``ratio_cpu_per_s_four_hinted`` weighs each by the rate the wall asks for (30 fps for one
full-screen source, 15 fps for each of four tiles).

Decoding is not included (it happens before the wall); conversion, scaling and painting are.
Runs on Qt's offscreen platform unless ``QT_QPA_PLATFORM`` says otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication

from castapp.gui.wall import Wall
from castapp.layout import FULL_FPS, TILE_FPS, Layout, divisor_for
from castapp.rtc import pattern
from castapp.rtc.receive import ReceivedFrame
from castapp.session.room import CallPhase, CallView


def decoded_frames(width: int, height: int, count: int, shift: int) -> list[ReceivedFrame]:
    encoder = av.CodecContext.create("libx264", "w")
    encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuv420p"
    encoder.time_base = Fraction(1, 90000)
    encoder.options = {"preset": "ultrafast", "tune": "zerolatency", "crf": "23"}
    decoder = av.CodecContext.create("h264", "r")
    base = pattern.make_base(width, height)
    base[:height] = np.roll(base[:height], shift * width // 8, axis=1)
    out: list[ReceivedFrame] = []
    for i in range(count):
        raw = av.VideoFrame.from_numpy_buffer(pattern.draw_frame(base, width, height, i),
                                              format="yuv420p")
        raw.pts = i * 3000
        for packet in encoder.encode(raw):
            for frame in decoder.decode(packet):
                out.append(ReceivedFrame(frame, len(out), time.time(), time.monotonic(), 0))
    return out


def run(app: QApplication, size: tuple[int, int], sources: list[tuple[int, int]],
        frames: int) -> dict[str, float]:
    wall = Wall()
    wall.resize(*size)
    wall.show()
    app.processEvents()
    calls = [CallView(f"p{i}", f"P{i}", CallPhase.SHOWING, verified=True)
             for i in range(len(sources))]
    wall.set_calls(calls)
    wall.set_layout(Layout.AUTO)
    streams = [decoded_frames(w, h, frames, i) for i, (w, h) in enumerate(sources)]
    wall_ms: list[float] = []
    cpu_ms: list[float] = []
    for n in range(min(len(s) for s in streams)):
        for call, stream in zip(calls, streams, strict=True):
            wall.offer(call.peer_id, stream[n])
        t0, c0 = time.perf_counter(), time.process_time()
        wall.repaint()
        wall_ms.append((time.perf_counter() - t0) * 1000)
        cpu_ms.append((time.process_time() - c0) * 1000)
    assert all(wall.up_to_date(c.peer_id) for c in calls), "every frame drawn"
    wall.close()
    app.processEvents()
    warm = wall_ms[5:] or wall_ms
    return {
        "repaint_ms_p50": round(statistics.median(warm), 2),
        "repaint_ms_p95": round(float(np.percentile(warm, 95)), 2),
        "cpu_ms_mean": round(statistics.fmean(cpu_ms[5:] or cpu_ms), 2),
        "frames": len(wall_ms),
    }


def sent_sizes(app: QApplication, screen: tuple[int, int],
               source: tuple[int, int]) -> list[tuple[int, int]]:
    """What four senders of ``source`` send after the wall's hints (whole divisors)."""
    wall = Wall()
    wall.resize(*screen)
    wall.show()
    app.processEvents()
    wall.set_calls([CallView(f"p{i}", f"P{i}", CallPhase.SHOWING, width=source[0],
                             height=source[1]) for i in range(4)])
    sizes = []
    for hint in wall.hints().values():
        d = divisor_for(source[0], source[1], hint.width, hint.height)
        sizes.append((source[0] // d // 2 * 2, source[1] // d // 2 * 2))
    wall.close()
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--size", default="1920x1080")
    args = parser.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    hinted = sent_sizes(app, (w, h), (w, h))
    results = {
        "one_full": run(app, (w, h), [(w, h)], args.frames),
        "four_hinted": run(app, (w, h), hinted, args.frames),
        "four_unhinted": run(app, (w, h), [(w, h)] * 4, args.frames),
    }
    ref = results["one_full"]["cpu_ms_mean"]
    # CPU per second of casting at the rates the wall asks for: the full-screen source at
    # FULL_FPS; four tiles at TILE_FPS each (one repaint above draws all four new frames).
    per_s_full = ref * FULL_FPS
    per_s_four = results["four_hinted"]["cpu_ms_mean"] * TILE_FPS
    print(json.dumps({
        "benchmark": "wall_paint",
        "screen": f"{w}x{h}",
        "platform": os.environ.get("QT_QPA_PLATFORM"),
        "four_hinted_sizes": [f"{a}x{b}" for a, b in hinted],
        **results,
        "ratio_cpu_four_hinted": round(results["four_hinted"]["cpu_ms_mean"] / ref, 2),
        "ratio_cpu_four_unhinted": round(results["four_unhinted"]["cpu_ms_mean"] / ref, 2),
        "cpu_ms_per_s_one_full": round(per_s_full, 1),
        "cpu_ms_per_s_four_hinted": round(per_s_four, 1),
        "ratio_cpu_per_s_four_hinted": round(per_s_four / per_s_full, 2),
    }, indent=2))


if __name__ == "__main__":
    main()
