"""Run by test_audio_out.py in its own process (Qt reads PULSE_SERVER once, at start)."""

from __future__ import annotations

import sys
import time

import numpy as np
from PySide6.QtCore import QCoreApplication, QTimer
from PySide6.QtWidgets import QApplication

from castapp.gui.audio_out import QtAudioOut
from castapp.rtc.audio.playout import PlayoutBuffer

seconds = float(sys.argv[1])
app = QApplication([])
buffer = PlayoutBuffer()
rng = np.random.default_rng(11)
step = 1200
n = int((seconds + 1) * 48000)
freqs = np.repeat(rng.uniform(300, 3000, n // step + 1), step)[:n]
mono = (0.3 * 32767 * np.sin(2 * np.pi * np.cumsum(freqs) / 48000)).astype(np.int16)
pcm = np.repeat(mono[:, None], 2, axis=1).astype("<i2").tobytes()
out = QtAudioOut(buffer)
out.start()
pos = 0
t0 = time.monotonic()


def feed() -> None:
    """Push 20 ms frames at the pace they would arrive from the network."""
    global pos
    due = int((time.monotonic() - t0) * 48000) * 4
    while pos < min(due, len(pcm)):
        buffer.push(pcm[pos: pos + 3840], pos / (48000 * 4))
        pos += 3840


timer = QTimer()
timer.timeout.connect(feed)
timer.start(5)
QTimer.singleShot(int(seconds * 1000), QCoreApplication.quit)
app.exec()
print(buffer.glitches, flush=True)
