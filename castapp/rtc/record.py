"""Record what a receiver shows to a video file without slowing the display path.

Every call's pictures are offered (:meth:`Recorder.offer_call`) and the presenters on the
wall are named in their order (:meth:`Recorder.set_wall`). A writer thread records the
newest picture of each: one presenter as it is (fitted, aspect kept, when its size changes),
several laid out as a headless TV lays them out (:func:`castapp.layout.arrange`, automatic
layout) on a picture of the recording's size. Pictures that arrive while the writer is busy
only replace the older ones (never queued), and it records at most ``fps`` pictures a second.
The recording's size is the TV's screen (``size``): whoever presents first, portrait or
landscape, small or large, each presenter is fitted into it with its aspect kept, as the TV
shows it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from castapp.layout import arrange, fit, gap_for
from castapp.rtc.receive import ReceivedFrame
from castapp.session.room import Layout

log = logging.getLogger(__name__)

#: Luma and chroma of black (limited range), around the pictures.
_BLACK_Y, _BLACK_UV = 16, 128


def _even(n: int) -> int:
    return max(2, n // 2 * 2)


def compose(frames: Sequence[tuple[str, Any]], width: int, height: int,
            scaled: dict[str, tuple[Any, int, int, np.ndarray]] | None = None) -> np.ndarray:
    """One I420 picture (``height * 3 // 2`` rows of ``width``) of ``frames`` (key, PyAV
    video frame) laid out on a ``width`` x ``height`` wall, each fitted into its tile.

    ``scaled`` keeps each key's fitted picture between calls: a presenter whose picture
    and tile did not change is not scaled again."""
    scaled = {} if scaled is None else scaled
    out = np.empty((height * 3 // 2, width), np.uint8)
    flat_out = out.reshape(-1)
    quarter = (height // 2) * (width // 2)
    y_plane = flat_out[:height * width].reshape(height, width)
    u_plane = flat_out[height * width:height * width + quarter].reshape(height // 2, width // 2)
    v_plane = flat_out[height * width + quarter:].reshape(height // 2, width // 2)
    y_plane[:] = _BLACK_Y
    u_plane[:] = _BLACK_UV
    v_plane[:] = _BLACK_UV
    by_key = dict(frames)
    sizes = {k: (f.width, f.height) for k, f in frames}
    tiles = arrange(Layout.AUTO, list(by_key), width, height, gap=gap_for(len(frames)),
                    sources=sizes)
    for tile in tiles:
        frame = by_key[tile.peer_id]
        cell = tile.cell
        w, h = fit(frame.width, frame.height, cell.w, cell.h)
        w, h = min(_even(w), _even(cell.w)), min(_even(h), _even(cell.h))
        x = (cell.x + (cell.w - w) // 2) // 2 * 2
        y = (cell.y + (cell.h - h) // 2) // 2 * 2
        # the planes one after the other: Y (h x w), then U and V (h/2 x w/2 each)
        kept = scaled.get(tile.peer_id)
        if kept is not None and kept[0] is frame and kept[1:3] == (w, h):
            flat = kept[3]
        else:
            flat = frame.reformat(width=w, height=h, format="yuv420p").to_ndarray().ravel()
            scaled[tile.peer_id] = (frame, w, h, flat)
        quarter = (h // 2) * (w // 2)
        y_plane[y:y + h, x:x + w] = flat[:h * w].reshape(h, w)
        u_plane[y // 2:(y + h) // 2, x // 2:(x + w) // 2] = \
            flat[h * w:h * w + quarter].reshape(h // 2, w // 2)
        v_plane[y // 2:(y + h) // 2, x // 2:(x + w) // 2] = \
            flat[h * w + quarter:].reshape(h // 2, w // 2)
    for gone in set(scaled) - set(by_key):
        del scaled[gone]
    return out


class Recorder:
    def __init__(self, path: Path, size: tuple[int, int], fps: int = 30) -> None:
        self.path = path
        self.width, self.height = _even(size[0]), _even(size[1])
        self.fps = fps
        self.written = 0
        self.skipped = 0
        self._latest: dict[str, ReceivedFrame] = {}
        self._wall: list[str] = []
        self._changed = False
        self._pending: set[str] = set()  # presenters with a picture not yet recorded
        self._cond = threading.Condition()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="castapp-recorder", daemon=True)
        self._thread.start()

    def offer_call(self, key: str, frame: ReceivedFrame) -> None:
        """A picture of the presenter ``key`` (recorded while it is on the wall)."""
        with self._cond:
            if key in self._pending:
                self.skipped += 1
            self._pending.add(key)
            self._latest[key] = frame
            self._changed = True
            self._cond.notify()

    def set_wall(self, keys: Sequence[str]) -> None:
        """The presenters on the wall, in their order (the others are not recorded)."""
        with self._cond:
            if list(keys) == self._wall:
                return
            self._wall = list(keys)
            for gone in set(self._latest) - set(keys):
                del self._latest[gone]
            self._changed = True
            self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join(10)

    def _next(self) -> list[tuple[str, ReceivedFrame]] | None:
        """The pictures to record next, in wall order; None when closing."""
        with self._cond:
            while not self._changed and not self._closing:
                self._cond.wait()
            if self._closing:
                return None
            self._changed = False
            self._pending.clear()
            return [(k, self._latest[k]) for k in self._wall if k in self._latest]

    def _run(self) -> None:
        container: Any = None
        stream: Any = None
        t0 = 0.0
        last_pts = -1
        scaled: dict[str, tuple[Any, int, int, np.ndarray]] = {}
        try:
            while (shown := self._next()) is not None:
                if not shown:
                    continue
                newest = max(item.received_monotonic for _, item in shown)
                if container is None:
                    container = av.open(str(self.path), mode="w")
                    stream = container.add_stream("libx264", rate=self.fps)
                    stream.width, stream.height = self.width, self.height
                    stream.pix_fmt = "yuv420p"
                    stream.codec_context.time_base = Fraction(1, 1000)
                    stream.options = {"preset": "ultrafast", "crf": "20"}
                    t0 = newest
                frames = [(k, item.frame) for k, item in shown]
                only = frames[0][1]
                try:
                    if len(frames) == 1 and (only.width, only.height) == (stream.width,
                                                                          stream.height):
                        picture = only.to_ndarray(format="yuv420p")
                    else:
                        picture = compose(frames, stream.width, stream.height, scaled)
                except (ValueError, av.FFmpegError) as exc:  # one odd picture: not the file
                    log.warning("a picture could not be recorded: %s", exc)
                    continue
                started = time.monotonic()
                out = av.VideoFrame.from_ndarray(picture, format="yuv420p")
                pts = max(last_pts + 1, int((newest - t0) * 1000))
                out.pts, out.time_base, last_pts = pts, Fraction(1, 1000), pts
                container.mux(stream.encode(out))
                self.written += 1
                # at most fps pictures a second: what arrives meanwhile replaces, not queues
                pause = started + 1 / self.fps - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
        finally:
            if container is not None:
                container.mux(stream.encode(None))
                container.close()
            self.closed_at = time.time()
