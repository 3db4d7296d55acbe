"""The receiver window shows its code page before the network stack (aiohttp, the session, the
room service, the QR encoder) is imported, and its code before the media stack (aiortc, PyAV,
NumPy, Qt's sound output); each comes on a thread."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(120)
PROBE = Path(__file__).with_name("receiver_startup_probe.py")


def test_window_and_code_show_before_the_media_stack_is_imported(tmp_path: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, str(PROBE), str(tmp_path)], capture_output=True,
                          text=True, env=env, timeout=100)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["visible"] is True
    assert result["at_show"] == []
    # the session and the room service came before the code was shown, the media after it
    assert set(result["after_code"]) == {"aiohttp", "segno", "castapp.session.receiver",
                                         "castapp.embedded"}
    assert result["code"] and result["shown_code"] == result["code"]
    assert set(result["after_media"]) == {"aiortc", "av", "numpy", "castapp.rtc.peer",
                                          "castapp.gui.audio_out", *result["after_code"]}
