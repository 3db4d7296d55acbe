"""A screen capture that fails mid-cast: one sentence for the person, one line in the log.

The screen is a real Xvfb that the test stops while it is captured; the cast runs between
two real ``castapp`` processes in a private network namespace.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from castproc import CastProc
from netns import in_namespace, private_namespace
from xvfb import xvfb

from castapp.rtc.capture import SCREEN_FAILURES, ScreenCapture

pytestmark = [pytest.mark.timeout(90),
              # a capture thread that dies of its own clean-up fails the test
              pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")]


def _capture_until_the_screen_goes() -> ScreenCapture:
    with xvfb(320, 240) as display:
        source = ScreenCapture(display=display, fps=30)
        source.start()
        source.wait_newer(timeout=10)
    deadline = time.monotonic() + 10
    while source.running and time.monotonic() < deadline:
        time.sleep(0.05)
    source.stop()
    return source


def _failure_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records
            if r.name == "castapp.rtc.capture" and r.levelno >= logging.ERROR]


def test_a_screen_that_goes_away_is_said_in_words(caplog):
    source = _capture_until_the_screen_goes()
    assert isinstance(source.error, SCREEN_FAILURES), repr(source.error)
    assert str(source.error), "a reason a person can read"


def test_a_failed_capture_logs_one_line_under_a_plain_formatter(caplog):
    # as an application embedding castapp would log: no castapp formatter in between
    caplog.set_level(logging.INFO, logger="castapp")
    source = _capture_until_the_screen_goes()
    assert isinstance(source.error, SCREEN_FAILURES), source.error
    records = _failure_records(caplog)
    assert len(records) == 1, [r.getMessage() for r in records]
    text = logging.Formatter("%(levelname)s %(name)s: %(message)s").format(records[0])
    assert "\n" not in text and "Traceback" not in text, text
    assert text.startswith("ERROR castapp.rtc.capture: castapp-capture-1 failed (")
    assert type(source.error).__name__ in text


def test_a_failed_capture_shows_where_at_debug(caplog):
    caplog.set_level(logging.DEBUG, logger="castapp")
    source = _capture_until_the_screen_goes()
    records = _failure_records(caplog)
    assert len(records) == 1
    assert records[0].exc_info is not None and records[0].exc_info[1] is source.error
    text = logging.Formatter("%(message)s").format(records[0])
    assert "Traceback" in text


def _cast_until_the_screen_goes(ns: str, tmp_path: Path, level: str) -> tuple[CastProc, int]:
    rx = CastProc(in_namespace(ns, []), "receive", "--headless", "--admission", "open",
                  "--listen", "127.0.0.1:0", "--state-dir", str(tmp_path))
    try:
        port = rx.expect("service")["port"]
        code = rx.expect("code")["code"]
        with xvfb(640, 480) as display:
            tx = CastProc(in_namespace(ns, []), "--log-level", level, "send", "--headless",
                          "--server", f"ws://127.0.0.1:{port}/ws", code, "--display", display)
            tx.expect("state", state="casting", timeout=30)
        # the X server is gone while the screen is cast
        err = tx.expect("error", timeout=20)
        assert err["code"] == "source_failed"
        assert err["message"].startswith("Cannot capture the screen: ")
        assert "\n" not in err["message"]
        # said in words, not as the name of an exception type
        assert not re.search(r"\b[A-Z]\w*(Error|Exception)\b", err["message"]), err["message"]
        status = tx.proc.wait(20)
        time.sleep(0.2)  # the reader thread takes the last lines
        return tx, status
    finally:
        rx.stop()


def test_a_failing_capture_ends_the_cast_with_one_sentence_and_one_log_line(tmp_path):
    with private_namespace() as ns:
        tx, status = _cast_until_the_screen_goes(ns, tmp_path, "INFO")
    output = "".join(tx.other)
    assert status == 1, output
    assert "Traceback" not in output, output
    assert not any(line.startswith((" ", "\t")) for line in tx.other), output
    logged = [line for line in tx.other if "castapp-capture-" in line and " failed (" in line]
    assert len(logged) == 1, output
    assert not any("castapp-capture-1 stopped" in line for line in tx.other), output


def test_at_debug_the_log_shows_where_the_capture_failed(tmp_path):
    with private_namespace() as ns:
        tx, status = _cast_until_the_screen_goes(ns, tmp_path, "DEBUG")
    output = "".join(tx.other)
    assert status == 1
    assert "Traceback" in output and "castapp/rtc/capture.py" in output
