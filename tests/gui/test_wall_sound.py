"""The TV window's sound: the heard presenter plays through QAudioSink into a real PulseAudio
sink, the wall marks whose sound it is, and M mutes (told to the session, heard as silence)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from castproc import castapp_env
from pulse_server import RATE, as_mono, pulse_server

pytestmark = pytest.mark.timeout(90)


def test_tv_window_plays_marks_and_mutes_the_sound(tmp_path: Path) -> None:
    seconds = 3.0
    with pulse_server(tmp_path, ("tv",)) as tv:
        recorder = tv.record("tv.monitor", tmp_path / "tv.raw")
        env = castapp_env(PULSE_SERVER=tv.server, QT_QPA_PLATFORM="offscreen",
                          HOME=tv.env["HOME"], XDG_RUNTIME_DIR=tv.env["XDG_RUNTIME_DIR"])
        env.pop("DISPLAY", None)
        done = subprocess.run(
            [sys.executable, str(Path(__file__).with_name("wall_sound_play.py")), str(seconds),
             str(tmp_path / "shots")], env=env, capture_output=True, text=True, timeout=60)
        recorder.terminate()
        recorder.wait()
    assert done.returncode == 0, done.stderr[-2000:]
    shown = json.loads(done.stdout.strip().splitlines()[-1])
    # three presenters: the heard one's tile says so; M mutes every tile with sound; the
    # presenter who sends no sound never has a mark
    assert shown["before"] == {"a": "Sound", "b": None, "c": None}
    assert shown["after"] == {"a": "Muted", "b": "Muted", "c": None, "muted": True}
    assert shown["muted_calls"] == [True, False, True] and shown["mute_checked"]
    assert any(text.startswith("Mute sound") for text in shown["menu"])
    # spotlit, Grace's tile is asked large; once the session plays her sound, hers says so
    assert shown["spotlit_asked"] is True
    assert shown["spotlit"] == {"a": None, "b": "Sound", "c": None}
    heard = as_mono((tmp_path / "tv.raw").read_bytes())
    # sound before M, silence after: the recording's tail (after M) is quiet
    loud = np.abs(heard) > 500
    assert loud.sum() > RATE, "the TV's sink heard (almost) nothing before mute"
    last_loud = int(np.flatnonzero(loud)[-1])
    assert len(heard) - last_loud > 2 * RATE, "sound went on after M"
