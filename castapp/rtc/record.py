"""Record shown frames to a video file without slowing the display path.

``offer()`` is called with every frame shown; a writer thread encodes the newest one and
frames that arrive while it is busy are skipped, never queued.
"""

from __future__ import annotations

import threading
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from castapp.rtc.receive import ReceivedFrame


class Recorder:
    def __init__(self, path: Path, fps: int = 30) -> None:
        self.path = path
        self.fps = fps
        self.written = 0
        self.skipped = 0
        self._slot: ReceivedFrame | None = None
        self._cond = threading.Condition()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="castapp-recorder", daemon=True)
        self._thread.start()

    def offer(self, frame: ReceivedFrame) -> None:
        with self._cond:
            if self._slot is not None:
                self.skipped += 1
            self._slot = frame
            self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join(10)

    def _run(self) -> None:
        container: Any = None
        stream: Any = None
        t0 = 0.0
        last_pts = -1
        try:
            while True:
                with self._cond:
                    while self._slot is None and not self._closing:
                        self._cond.wait()
                    item, self._slot = self._slot, None
                if item is None:
                    break
                frame = item.frame
                if container is None:
                    container = av.open(str(self.path), mode="w")
                    stream = container.add_stream("libx264", rate=self.fps)
                    stream.width, stream.height = frame.width, frame.height
                    stream.pix_fmt = "yuv420p"
                    stream.codec_context.time_base = Fraction(1, 1000)
                    stream.options = {"preset": "ultrafast", "crf": "20"}
                    t0 = item.received_monotonic
                if (frame.width, frame.height) != (stream.width, stream.height):
                    frame = frame.reformat(stream.width, stream.height, format="yuv420p")
                out = av.VideoFrame.from_ndarray(
                    frame.to_ndarray(format="yuv420p"), format="yuv420p"
                )
                pts = max(last_pts + 1, int((item.received_monotonic - t0) * 1000))
                out.pts, out.time_base, last_pts = pts, Fraction(1, 1000), pts
                container.mux(stream.encode(out))
                self.written += 1
        finally:
            if container is not None:
                container.mux(stream.encode(None))
                container.close()
            self.closed_at = time.time()
