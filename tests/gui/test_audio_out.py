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
    seconds = 5.0  # of which QtMultimedia's start-up takes 1-2 s on a loaded machine
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


def test_statistics_box_has_a_sound_line(qtbot, tmp_path: Path) -> None:
    """Key I's box says the heard call's codec, bitrate, playout buffer, jitter and A/V
    offset, from a real playback's figures; a call without sound adds no line."""
    import asyncio

    import numpy as np
    from aiortc.mediastreams import AudioStreamTrack

    from castapp.gui.receiver_window import ReceiverWindow
    from castapp.rtc.audio.playout import AudioPlayback, AudioPlayer

    window = ReceiverWindow("TV", tmp_path / "shots")
    qtbot.addWidget(window)
    window.show_stats(None, None)
    assert not any(line.startswith("Sound") for line in window.stats_lines())

    loop = asyncio.new_event_loop()
    try:
        playback = AudioPlayback(AudioPlayer(AudioStreamTrack()), loop.create_future())
        pcm = np.zeros(960 * 2, dtype="<i2").tobytes()  # 20 ms frames, 2 ms of jitter each
        for i in range(50):
            playback.buffer.push(pcm, i * 0.02, arrival=100.0 + i * 0.02 + (i % 2) * 0.002)

        class Sync:  # what the call's LipSync measured: sound 12 ms ahead
            offset_ms, correction_ms = 12.0, 0.0

        playback.sync = Sync()
        fields = playback.stats_fields()
    finally:
        loop.close()
    window.show_sound_stats(fields)
    window.show_stats(None, None)
    line = window.stats_lines()[-1]
    assert line.startswith("Sound: Opus 0 kbit/s"), line
    assert f"buffer {fields['audio_buffer_ms']:.0f} ms" in line and fields["audio_buffer_ms"] >= 30
    assert f"jitter {fields['audio_jitter_ms']:.0f} ms" in line and fields["audio_jitter_ms"] > 0
    assert line.endswith("A/V +12 ms"), line
