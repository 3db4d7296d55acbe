"""Pieces shared by the screen-cast benchmark processes.

* **The time stamp.** The content app paints the wall-clock time (milliseconds mod 2**20)
  as a barcode of large black and white cells; every process can read it back from a luma
  (Y) plane with a few numpy look-ups. Layout, in units of the frame height H, so that it
  survives any aspect-preserving downscale: cells of H/30 squared, two rows of 14 starting
  one cell in from the top-left corner, on a black backing. Cell 0 is always white and
  cell 1 always black (the reference levels); cells 2..21 carry the 20 value bits (most
  significant first), cells 22..27 a 6-bit check value that rejects misreads.
* **Sample files.** The sender side and the receiving probe both keep the Y planes of the
  frames whose stamp satisfies :func:`is_sample` (about one content repaint in 23), written
  as ``<stamp>.npy``. The orchestrator pairs files with the same stamp and computes PSNR-Y.
* **Control.** Each measured process reads commands from stdin (``measure`` opens the
  measurement window, ``stop`` closes it and asks for the final report) and writes JSON
  lines to stdout.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import sys
import threading
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")

STAMP_BITS = 20
STAMP_MOD = 1 << STAMP_BITS
CHECK_BITS = 6
COLS, ROWS = 14, 2
CELLS = COLS * ROWS
CELL_FRACTION = 1 / 30  # cell edge as a fraction of the frame height
SAMPLE_EVERY = 23  # stamps divisible by this are kept for PSNR (~2.6 repaints a second)

assert CELLS == 2 + STAMP_BITS + CHECK_BITS


def now_ms() -> float:
    return time.time() * 1000.0


def check_value(value: int) -> int:
    """6 bits derived from the 20-bit value (multiplicative hash)."""
    return ((value * 2654435761) & 0xFFFFFFFF) >> (32 - CHECK_BITS)


def stamp_for(wall_ms: float) -> int:
    return round(wall_ms) % STAMP_MOD


def stamp_bits(value: int) -> list[bool]:
    """Colours of all cells for ``value``: True is white."""
    bits = [True, False]
    bits += [bool(value >> (STAMP_BITS - 1 - i) & 1) for i in range(STAMP_BITS)]
    check = check_value(value)
    bits += [bool(check >> (CHECK_BITS - 1 - i) & 1) for i in range(CHECK_BITS)]
    return bits


def cell_rect(index: int, height: int) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of a cell on a screen ``height`` pixels tall."""
    cell = height * CELL_FRACTION
    row, col = divmod(index, COLS)
    x0, y0 = (1 + col) * cell, (1 + row) * cell
    return round(x0), round(y0), round(x0 + cell), round(y0 + cell)


def backing_rect(height: int) -> tuple[int, int, int, int]:
    cell = height * CELL_FRACTION
    return round(cell * 0.5), round(cell * 0.5), round(cell * (COLS + 1.5)), round(
        cell * (ROWS + 1.5)
    )


class StampReader:
    """Reads the stamp from a Y plane; index arrays are cached per frame size."""

    def __init__(self) -> None:
        self._size: tuple[int, int] | None = None
        self._ys = np.zeros(0, dtype=np.intp)
        self._xs = np.zeros(0, dtype=np.intp)
        self._weights = 1 << np.arange(STAMP_BITS - 1, -1, -1)
        self._check_weights = 1 << np.arange(CHECK_BITS - 1, -1, -1)
        self.misreads = 0

    def _layout(self, width: int, height: int) -> None:
        cell = height * CELL_FRACTION
        offsets = np.array([-0.25, 0.0, 0.25]) * cell
        ys: list[np.ndarray] = []
        xs: list[np.ndarray] = []
        for index in range(CELLS):
            row, col = divmod(index, COLS)
            cy, cx = (1.5 + row) * cell, (1.5 + col) * cell
            gy, gx = np.meshgrid(cy + offsets, cx + offsets, indexing="ij")
            ys.append(gy.ravel())
            xs.append(gx.ravel())
        self._ys = np.clip(np.rint(np.concatenate(ys)), 0, height - 1).astype(np.intp)
        self._xs = np.clip(np.rint(np.concatenate(xs)), 0, width - 1).astype(np.intp)
        self._size = (width, height)

    def read(self, y: np.ndarray) -> int | None:
        """The stamp in a luma plane ``y`` (height x width, any row stride), or None."""
        height, width = y.shape[:2]
        if self._size != (width, height):
            self._layout(width, height)
        levels = y[self._ys, self._xs].reshape(CELLS, 9).mean(axis=1)
        white, black = float(levels[0]), float(levels[1])
        if white - black < 80:
            self.misreads += 1
            return None
        mid, margin = (white + black) / 2, (white - black) / 4
        data = levels[2:]
        if np.any(np.abs(data - mid) < margin):
            self.misreads += 1
            return None
        bits = data > mid
        value = int(bits[:STAMP_BITS] @ self._weights)
        check = int(bits[STAMP_BITS:] @ self._check_weights)
        if check != check_value(value):
            self.misreads += 1
            return None
        return value


def latency_ms(stamp: int, wall_ms: float) -> float:
    """Milliseconds from the stamped paint to ``wall_ms`` (same clock, mod 2**20)."""
    return (wall_ms - stamp) % STAMP_MOD


def is_sample(stamp: int) -> bool:
    return stamp % SAMPLE_EVERY == 0


def plane_y(frame: Any) -> np.ndarray:
    """The Y plane of a yuv420p ``av.VideoFrame`` as a zero-copy (height, width) view."""
    plane = frame.planes[0]
    buf = np.frombuffer(plane, dtype=np.uint8)
    return buf.reshape(frame.height, plane.line_size)[:, : frame.width]


class SampleWriter:
    """Writes Y planes as ``<stamp>.npy`` on a background thread, at most ``limit``."""

    def __init__(self, directory: Path, limit: int = 60) -> None:
        self.directory = directory
        self.limit = limit
        self.enabled = False
        self.written = 0
        self._taken: set[int] = set()
        self._queue: queue.Queue[tuple[int, np.ndarray] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="cast-samples", daemon=True)
        directory.mkdir(parents=True, exist_ok=True)
        self._thread.start()

    def wants(self, stamp: int) -> bool:
        """Sampling is on, ``stamp`` is a sample stamp, not yet kept, and room is left."""
        return (self.enabled and is_sample(stamp) and stamp not in self._taken
                and len(self._taken) < self.limit)

    def offer(self, stamp: int, y: np.ndarray, *, copy: bool) -> None:
        """Keep ``y`` (written as ``<stamp>.npy``) if :meth:`wants` it."""
        if not self.wants(stamp):
            return
        self._taken.add(stamp)
        self._queue.put((stamp, y.copy() if copy else y))

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            stamp, y = item
            np.save(self.directory / f"{stamp}.npy", np.ascontiguousarray(y))
            self.written += 1

    def close(self, timeout: float = 10.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout)


def emit(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


async def stdin_commands() -> asyncio.StreamReader:
    """A StreamReader over this process's stdin."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader


def percentiles(values: list[float], qs: tuple[int, ...] = (50, 95, 99)) -> dict[str, float]:
    if not values:
        return {f"p{q}": float("nan") for q in qs}
    arr = np.asarray(values, dtype=np.float64)
    return {f"p{q}": round(float(np.percentile(arr, q)), 1) for q in qs}


def run_on_qasync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to its end on asyncio inside Qt through qasync, as the TV's windows run
    their loop (a core application: the loop is the same without windows)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import qasync
    from PySide6.QtCore import QCoreApplication

    app = QCoreApplication.instance() or QCoreApplication([])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()
