"""The web sender at / in Debian's Chromium under Xvfb: a real screen to an app receiver."""

from __future__ import annotations

import base64
import sys
import time
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
sys.path.insert(0, str(Path(__file__).parent))
from castproc import CastProc
from chromium import chromium, wait_until
from netns import in_namespace, private_namespace
from xvfb import xvfb

from castapp.rtc import pattern

pytestmark = pytest.mark.timeout(180)

W, H = 1280, 720  # the Xvfb screen
PW, PH = 1280, 480  # the pattern, drawn in the page below the browser's toolbar
PORT = 8765  # the receiver's embedded service, inside the test's own namespace


def pattern_page(counter: int) -> str:
    """A page showing castapp's test pattern with ``counter``, pixel for pixel."""
    i420 = pattern.draw_frame(pattern.make_base(PW, PH), PW, PH, counter)
    bgr = cv2.cvtColor(i420, cv2.COLOR_YUV2BGR_I420)
    png = base64.b64encode(cv2.imencode(".png", bgr)[1].tobytes()).decode()
    return ("<html><body style='margin:0;background:#000;overflow:hidden'>"
            f"<img style='display:block' width={PW} height={PH} src='data:image/png;base64,{png}'>"
            "</body></html>")


def read_screen(y: np.ndarray, tops: list[int]) -> int | None:
    """The pattern's counter in a frame of the screen; the page starts below the browser's
    toolbar, whose height is found once (``tops`` keeps it)."""
    for top in [*tops, *range(0, H - PH + 1, 2)]:
        value = pattern.read_counter(np.ascontiguousarray(y[top : top + PH, :PW]))
        if value is not None:
            tops[:] = [top]
            return value
    return None


def recorded_counters(path: Path) -> list[int | None]:
    out: list[int | None] = []
    tops: list[int] = []
    with av.open(str(path)) as box:
        for frame in box.decode(video=0):
            if (frame.width, frame.height) != (W, H):
                out.append(None)
                continue
            out.append(read_screen(frame.to_ndarray(format="gray"), tops))  # luma as decoded
    return out


def test_web_sender_shares_a_real_screen_with_an_app_receiver(tmp_path):
    record = tmp_path / "shown.mkv"
    with xvfb(W, H) as display, private_namespace() as ns:
        rx = CastProc(in_namespace(ns, []), "receive", "--headless", "--admission", "open",
                      "--listen", f"127.0.0.1:{PORT}", "--state-dir", str(tmp_path / "rx"),
                      "--record", str(record), "--screen", f"{W}x{H}",
                      "--name", "Meeting room")
        try:
            rx.expect("service")
            code = rx.expect("code")["code"]
            rx.expect("state", state="waiting")
            flags = ["--auto-select-desktop-capture-source=Entire screen",
                     f"--window-size={W},{H}", "--window-position=0,0"]
            with chromium(ns, tmp_path, flags=flags, headless=False, display=display) as browser:
                sender = browser.pages[0] if browser.pages else browser.new_page()
                sender.goto(f"http://127.0.0.1:{PORT}/#{code}")  # the QR code's link
                wait_until(sender, "() => document.body.dataset.ready === '1'")
                assert sender.input_value("#code") == code
                sender.fill("#name", "Grace")
                screen = browser.new_page()  # on top: this is what the screen shows
                screen.set_content(pattern_page(4242))
                sender.click("#share")
                # the TV knows it is a browser guest (the wall badges it "Browser")
                shown = rx.expect("state", state="receiving", sender="Grace (browser)",
                                  timeout=40)
                # paired over the code, as the app sender is: shown verified
                assert [c["verified"] for c in shown["calls"]] == [True], shown
                wait_until(sender, "() => document.body.dataset.connection === 'connected'", 20)
                assert sender.text_content("#status") == "On the TV: your screen is shown."
                time.sleep(3)
                screen.set_content(pattern_page(777))  # the picture changes on the TV too
                time.sleep(3)
                sender.click("#stop")
                assert sender.text_content("#status") == "You stopped sharing."
                rx.expect("state", state="waiting", timeout=20)
        finally:
            assert rx.finish() == 0
    counters = recorded_counters(record)
    read = [c for c in counters if c is not None]
    assert read.count(4242) >= 10, counters[:40]
    assert read.count(777) >= 10, counters[-40:]
    assert read.index(777) > read.index(4242)
