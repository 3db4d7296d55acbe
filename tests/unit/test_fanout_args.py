"""``castapp send`` with several codes: what is refused before anything connects."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from castapp.app.fanout import split_codes
from castapp.cli import build_parser
from castapp.cli_gui import window_codes

ROOT = Path(__file__).parents[2]


def send(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run([sys.executable, "-m", "castapp", "send", *args], env=env,
                          capture_output=True, text=True, timeout=60)


def test_the_window_gets_every_code_of_the_command_line() -> None:
    parser = build_parser()
    args = parser.parse_args(["send", "123456", "654321", "castapp://host:8765/111222"])
    assert window_codes(args) == "123456, 654321, castapp://host:8765/111222"
    assert split_codes(window_codes(args)) == ["123456", "654321", "castapp://host:8765/111222"]
    assert window_codes(parser.parse_args(["send"])) == ""


def test_more_screens_than_one_cast_reaches_are_refused() -> None:
    codes = [f"{100000 + i}" for i in range(9)]
    done = send("--headless", "--server", "ws://127.0.0.1:9/ws", "--synthetic", "320x180",
                *codes)
    assert done.returncode == 2
    assert "at most 8 screens" in done.stderr and "Traceback" not in done.stderr
