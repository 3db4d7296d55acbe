"""``castapp send`` with several codes: what is refused before anything connects."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def send(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run([sys.executable, "-m", "castapp", "send", *args], env=env,
                          capture_output=True, text=True, timeout=60)


def test_the_window_refuses_several_codes_in_words() -> None:
    done = send("123456", "654321")
    assert done.returncode == 2
    assert "takes one code" in done.stderr and "Traceback" not in done.stderr


def test_more_screens_than_one_cast_reaches_are_refused() -> None:
    codes = [f"{100000 + i}" for i in range(9)]
    done = send("--headless", "--server", "ws://127.0.0.1:9/ws", "--synthetic", "320x180",
                *codes)
    assert done.returncode == 2
    assert "at most 8 screens" in done.stderr and "Traceback" not in done.stderr
