"""The web TV at /tv in Debian's Chromium: an app sender casts to it by its code."""

from __future__ import annotations

import base64
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
sys.path.insert(0, str(Path(__file__).parent))
from castproc import CastProc
from chromium import READ_VIDEO, chromium, luma, wait_until
from netns import in_namespace, private_namespace
from qr_read import read_qr

from castapp.rtc import pattern

pytestmark = pytest.mark.timeout(150)

PORT = 8765  # inside the test's own namespace, so always free
BASE = f"http://127.0.0.1:{PORT}"


def open_when_up(page, url: str, timeout: float = 20.0):
    """Open ``url`` once the service answers (a fresh namespace's network may also still be
    settling: Chromium then says ERR_NETWORK_CHANGED); returns the page's response."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return page.goto(url, timeout=5000)
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def decode_qr(png: bytes) -> str:
    img = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    return read_qr(img)


def video_counter(page) -> int | None:
    shot = page.evaluate(READ_VIDEO)
    if shot is None:
        return None
    y = luma(base64.b64decode(shot["rgba"]), shot["w"], shot["h"])
    return pattern.read_counter(y)


@pytest.mark.parametrize("codec", ["h264", "vp8"])
def test_app_sender_casts_to_the_web_tv(tmp_path, codec):
    with private_namespace() as ns:
        service = CastProc(in_namespace(ns, []), "serve", "--port", str(PORT),
                           "--state-dir", str(tmp_path / "service"), json_lines=False)
        try:
            with chromium(ns, tmp_path, flags=["--use-fake-ui-for-media-stream"]) as browser:
                tv = browser.new_page()
                open_when_up(tv, f"{BASE}/tv")
                wait_until(tv, "() => document.body.dataset.code", 15)
                code = tv.evaluate("document.body.dataset.code")
                assert code.isdigit() and len(code) == 6
                assert tv.text_content("#tvcode") == f"{code[:3]} {code[3:]}"
                # the page proves possession of an Ed25519 key made in WebCrypto
                assert tv.evaluate("document.body.dataset.keyed") == "1"

                # the QR code holds the sender page's link with the code in the fragment
                tv.wait_for_selector("#qr:not([hidden])", timeout=10000)
                link = decode_qr(tv.locator("#qr").screenshot())
                assert link == f"{BASE}/#{code}"
                phone = browser.new_page()
                phone.goto(link)
                wait_until(phone, "() => document.body.dataset.ready === '1'")
                assert phone.input_value("#code") == code
                assert "#" not in phone.url  # the code leaves the address bar
                phone.close()

                # a reload keeps the code: the token plus a fresh proof by the same key
                tv.reload()
                wait_until(tv, "() => document.body.dataset.code", 15)
                assert tv.evaluate("document.body.dataset.code") == code

                # the desktop sender takes the QR code's link as it is
                tx = CastProc(in_namespace(ns, []), "send", "--headless", link,
                              "--synthetic", "640x360", "--fps", "30", "--name", "Ada",
                              "--codec", codec)
                try:
                    tx.expect("state", state="casting", timeout=40)
                    wait_until(tv, "() => document.getElementById('video').videoWidth > 0", 20)
                    assert tv.evaluate("document.body.dataset.casting") == "Ada"
                    assert tv.is_visible("#banner")
                    assert tv.text_content("#banner") == "Ada is casting"
                    # paired over the code: both ends confirmed the other's fingerprint
                    assert tv.evaluate("document.body.dataset.verified") == "1"
                    assert tv.is_hidden("#idle")
                    # the video element shows the sender's pattern, its counter advancing
                    counters = []
                    deadline = time.monotonic() + 20
                    while len(counters) < 5 and time.monotonic() < deadline:
                        if (value := video_counter(tv)) is not None:
                            counters.append(value)
                        time.sleep(0.25)
                    assert len(counters) >= 5, counters
                    assert len(set(counters)) >= 3, counters
                    size = tv.evaluate("() => [document.getElementById('video').videoWidth,"
                                       " document.getElementById('video').videoHeight]")
                    assert size == [640, 360]
                    decoded = wait_until(tv, "() => window.castappReceiveStats()"
                                         ".then(s => s && s.codec)", 10)
                    assert decoded.lower() == f"video/{codec}"
                finally:
                    tx.stop()
                # the sender stopped: back to the code screen, same code
                wait_until(tv, "() => document.body.dataset.casting === ''", 20)
                assert tv.is_visible("#idle")
                assert tv.text_content("#tvcode") == f"{code[:3]} {code[3:]}"
        finally:
            service.stop()


def test_the_web_tv_reconnects_and_keeps_its_code(tmp_path):
    state = tmp_path / "service"

    def serve() -> CastProc:
        return CastProc(in_namespace(ns, []), "serve", "--port", str(PORT),
                        "--state-dir", str(state), json_lines=False)

    with private_namespace() as ns:
        service = serve()
        try:
            with chromium(ns, tmp_path) as browser:
                tv = browser.new_page()
                open_when_up(tv, f"{BASE}/tv")
                code = wait_until(tv, "() => document.body.dataset.code", 15)
                service.stop()  # the service restarts (it tells the page to come back)
                wait_until(tv, "() => document.body.dataset.tvstate.startsWith('Lost') ||"
                               " document.body.dataset.tvstate.startsWith('Could not') ||"
                               " document.body.dataset.tvstate.startsWith('Connecting')", 15)
                service = serve()
                wait_until(tv, "() => document.body.dataset.tvstate.startsWith('Ready')", 45)
                assert tv.evaluate("() => document.body.dataset.code") == code
                assert tv.text_content("#tvcode") == f"{code[:3]} {code[3:]}"
        finally:
            service.stop()


def test_a_browser_guest_casts_to_the_web_tv_verified(tmp_path):
    """The web sender pairs over the code with the web TV, browser to browser: verified.

    Browsers gather ICE host candidates only where there is a default route, and with a
    browser at both ends nobody else offers one: the namespace gets a default route (inside
    it, nothing leaves).
    """
    fake_screen = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
    with private_namespace() as ns:
        subprocess.run(["ip", "-n", ns, "route", "add", "default", "dev", "va"], check=True)
        service = CastProc(in_namespace(ns, []), "serve", "--port", str(PORT),
                           "--state-dir", str(tmp_path / "service"), json_lines=False)
        try:
            with chromium(ns, tmp_path, flags=fake_screen) as browser:
                tv = browser.new_page()
                open_when_up(tv, f"{BASE}/tv")
                code = wait_until(tv, "() => document.body.dataset.code", 15)
                laptop = browser.new_page()
                laptop.goto(f"{BASE}/#{code}")
                wait_until(laptop, "() => document.body.dataset.ready === '1'")
                laptop.fill("#name", "Lin")
                laptop.click("#share")
                wait_until(tv, "() => document.getElementById('video').videoWidth > 0", 30)
                assert tv.evaluate("document.body.dataset.verified") == "1"
                assert tv.evaluate("document.body.dataset.casting") == "Lin"
                assert tv.text_content("#banner") == "Lin is casting"
                wait_until(laptop, "() => document.body.dataset.verified === '1'", 10)
                wait_until(laptop, "() => document.body.dataset.admission === 'allowed'", 10)
                assert laptop.evaluate("document.body.dataset.phase") == "casting"
                assert laptop.text_content("#status") == "On the TV: your screen is shown."
        finally:
            service.stop()
