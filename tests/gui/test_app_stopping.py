"""The desktop app stopped from outside its windows: Ctrl-C or SIGTERM close the windows as
the user would (the room service is stopped in order, exit status 0), and a display that
goes away is said in one sentence (exit status 1); never a traceback.

Each runs ``castapp receive`` (the window, with its built-in room service on loopback, not
advertised) as its own process on a private Xvfb screen.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from castproc import castapp_env
from xvfb import xvfb

pytestmark = pytest.mark.timeout(90)
READY = "receiver: starting -> waiting"


class App:
    def __init__(self, display: str, tmp_path: Path, *args: str) -> None:
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "castapp", "--log-level", "INFO", "receive", "--listen",
             "127.0.0.1:0", "--no-advertise", "--state-dir", str(tmp_path / "state"),
             "--config-dir", str(tmp_path / "config"), *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=castapp_env(DISPLAY=display, QT_QPA_PLATFORM="xcb"))
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            if READY in line:
                self.ready.set()

    def wait_ready(self) -> None:
        assert self.ready.wait(40), "".join(self.lines)[-3000:]

    def ended(self, timeout: float = 20) -> tuple[int, str]:
        try:
            status = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            pytest.fail("still running: " + "".join(self.lines)[-3000:])
        time.sleep(0.2)  # the reader takes the last lines
        return status, "".join(self.lines)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_signal_closes_the_window_and_stops_the_service_in_order(tmp_path, sig):
    with xvfb(1280, 720) as display:
        app = App(display, tmp_path)
        app.wait_ready()
        app.proc.send_signal(sig)
        status, output = app.ended()
    assert status == 0, output[-3000:]
    assert "Traceback" not in output and "KeyboardInterrupt" not in output, output[-3000:]
    assert "room service stopped" in output, output[-3000:]  # the orderly way out


def test_a_display_that_goes_away_is_said_in_one_sentence(tmp_path):
    with xvfb(1280, 720) as display:
        app = App(display, tmp_path, "--kiosk")
        app.wait_ready()
    # the X server is gone
    status, output = app.ended()
    assert status == 1, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    said = [line for line in output.splitlines() if line.startswith("castapp: ")]
    assert said == ["castapp: the display this window was on went away (its X server or "
                    "compositor stopped), so castapp stopped."], output[-3000:]
