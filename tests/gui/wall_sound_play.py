"""Run by test_wall_sound.py in its own process (Qt reads PULSE_SERVER once, at start).

A real TV window with two presenters on its wall plays the first one's sound (a call's
``AudioPlayback`` through the window's ``QAudioSink`` output) into the default PulseAudio
sink; after ``seconds`` the key M is pressed. Prints what the wall showed, as JSON.
"""

from __future__ import annotations

import asyncio
import fractions
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import av
import numpy as np
import qasync
from aiortc.mediastreams import MediaStreamTrack
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

sys.path.insert(0, str(Path(__file__).parent))
from room_driver import RoomDriver

from castapp.gui.audio_out import qt_sound_out
from castapp.gui.receiver_window import ReceiverWindow
from castapp.rtc.audio.playout import AudioPlayback
from castapp.session.room import CallPhase, CallView

seconds = float(sys.argv[1])
shots = Path(sys.argv[2])


class Melody(MediaStreamTrack):
    """Decoded 20 ms frames of tones, at the pace the network would bring them."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        rng = np.random.default_rng(11)
        n = int((seconds * 2 + 2) * 48000)
        freqs = np.repeat(rng.uniform(300, 3000, n // 1200 + 1), 1200)[:n]
        mono = (0.3 * 32767 * np.sin(2 * np.pi * np.cumsum(freqs) / 48000)).astype(np.int16)
        self.pcm = np.repeat(mono[:, None], 2, axis=1)
        self.pts = 0
        self.t0 = time.monotonic()

    async def recv(self) -> av.AudioFrame:
        await asyncio.sleep(max(0.0, self.t0 + self.pts / 48000 - time.monotonic()))
        frame = av.AudioFrame.from_ndarray(self.pcm[self.pts: self.pts + 960].reshape(1, -1),
                                           format="s16", layout="stereo")
        frame.sample_rate, frame.time_base, frame.pts = 48000, fractions.Fraction(1, 48000), \
            self.pts
        self.pts += 960
        return frame


class Room(RoomDriver):
    """The session's room half, with its sound: only the heard presenter plays."""

    def __init__(self, window: ReceiverWindow) -> None:
        super().__init__(window)
        self.playback: AudioPlayback | None = None
        self.muted_calls: list[bool] = []

    def set_muted(self, muted: bool) -> None:
        self.muted_calls.append(muted)
        if self.playback is not None:
            self.playback.set_muted(muted)


async def main() -> dict[str, object]:
    window = ReceiverWindow("TV", shots)
    room = Room(window)
    window.set_controls(room)
    window.resize(1280, 720)
    window.show()
    # Ada's sound is the one the session plays; Grace sends sound too; Lin sends none
    room.add(CallView("a", "Ada", CallPhase.SHOWING, verified=True, sound=True, heard=True))
    room.add(CallView("b", "Grace", CallPhase.SHOWING, verified=True, sound=True))
    room.add(CallView("c", "Lin", CallPhase.SHOWING, verified=True))
    wall = window.wall
    room.playback = AudioPlayback.start(Melody(), qt_sound_out)
    assert room.playback is not None, "no sound output"
    await asyncio.sleep(seconds)
    before = {p: wall.sound_mark(p) for p in "abc"}
    window.activateWindow()
    QTest.keyClick(window, Qt.Key.Key_M)
    await asyncio.sleep(0.1)
    after = {**{p: wall.sound_mark(p) for p in "abc"}, "muted": wall.muted}
    menu = [a.text() for a in window.build_menu().actions()]
    QTest.keyClick(window, Qt.Key.Key_M)  # sound back on
    wall.set_spotlight("b")
    await asyncio.sleep(0.1)
    spotlit_asked = room.views.get("b", (0,) * 6)[5]
    # the session moves the sound with the spotlight and says so
    room.calls = [replace(c, heard=c.peer_id == "b") for c in room.calls]
    room.publish()
    spotlit = {p: wall.sound_mark(p) for p in "abc"}
    QTest.keyClick(window, Qt.Key.Key_M)
    await asyncio.sleep(seconds)
    stats = room.playback.buffer.stats()
    room.playback.stop()
    return {"before": before, "after": after, "menu": menu, "spotlit": spotlit,
            "spotlit_asked": spotlit_asked,
            "muted_calls": room.muted_calls, "glitches": stats.glitches,
            "mute_checked": wall.act_mute.isChecked()}


app = QApplication([])
loop = qasync.QEventLoop(app)
asyncio.set_event_loop(loop)
with loop:
    result = loop.run_until_complete(main())
print(json.dumps(result), flush=True)
