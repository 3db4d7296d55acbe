"""The window's QAudioSink output plays a PlayoutBuffer into a real PulseAudio sink."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from castproc import castapp_env
from pulse_server import RATE, as_mono, matching_windows, melody, pulse_server

pytestmark = pytest.mark.timeout(90)


def test_qaudiosink_plays_the_buffer_into_the_default_output(tmp_path: Path) -> None:
    seconds = 4.0
    with pulse_server(tmp_path, ("tv",)) as tv:
        recorder = tv.record("tv.monitor", tmp_path / "tv.raw")
        env = castapp_env(PULSE_SERVER=tv.server, QT_QPA_PLATFORM="offscreen",
                          HOME=tv.env["HOME"], XDG_RUNTIME_DIR=tv.env["XDG_RUNTIME_DIR"])
        env.pop("DISPLAY", None)
        done = subprocess.run([sys.executable, str(Path(__file__).with_name("audio_out_play.py")),
                               str(seconds)], env=env, capture_output=True, text=True, timeout=60)
        recorder.terminate()
        recorder.wait()
    assert done.returncode == 0, done.stderr[-2000:]
    heard = as_mono((tmp_path / "tv.raw").read_bytes())
    signal = melody(seconds + 1, step_s=0.025)
    assert len(heard) > 2 * RATE
    loud, found, _ = matching_windows(signal[:, 0], heard, threshold=0.8)
    # a window may straddle an underrun of this loaded machine; nearly all are the signal
    assert loud >= 25 and found >= 0.8 * loud, (loud, found, done.stdout)
    assert os.environ.get("PULSE_SERVER") != tv.server  # the test's own process is untouched
