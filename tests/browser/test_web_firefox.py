"""The pages in Debian's Firefox ESR, driven over WebDriver BiDi without any download."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from castproc import CastProc, JsonProc, castapp_env
from netns import in_namespace, private_namespace

pytestmark = pytest.mark.timeout(150)

PORT = 8765
FIREFOX = Path("/usr/bin/firefox-esr")


def test_the_pages_work_in_firefox(tmp_path):
    if not FIREFOX.exists():
        pytest.fail("firefox-esr not found: run scripts/setup.sh", pytrace=False)
    with private_namespace() as ns:
        service = CastProc(in_namespace(ns, []), "serve", "--port", str(PORT),
                           "--state-dir", str(tmp_path / "svc"), json_lines=False)
        try:
            driver = JsonProc(in_namespace(ns, [
                sys.executable, str(Path(__file__).parent / "firefox_tv.py"),
                f"http://127.0.0.1:{PORT}", str(tmp_path)]), castapp_env())
            try:
                got = driver.expect("result", timeout=90)
            finally:
                driver.stop()
        finally:
            service.stop()
    assert got["code"].isdigit() and len(got["code"]) == 6
    assert got["keyed"] == "1"  # Firefox's WebCrypto has Ed25519: the code survives reloads
    assert got["qr"]
    page = got["sender_page"]
    assert page["code"] == got["code"] and page["share"] and not page["disabled"]
    assert page["status"] == 'Code filled in. Press "Share your screen".'


def test_the_app_casts_into_firefox(tmp_path):
    """An app sender casts to the TV page in Firefox, paired over the code.

    Firefox gathers ICE host candidates only where there is a default route: in a namespace
    without one it has no candidate at all and ICE fails at once (as every cast into Firefox
    did here before). The route below stays inside the test's own namespace.
    """
    if not FIREFOX.exists():
        pytest.fail("firefox-esr not found: run scripts/setup.sh", pytrace=False)
    with private_namespace() as ns:
        subprocess.run(["ip", "-n", ns, "route", "add", "default", "dev", "va"], check=True)
        service = CastProc(in_namespace(ns, []), "serve", "--port", str(PORT),
                           "--state-dir", str(tmp_path / "svc"), json_lines=False)
        try:
            driver = JsonProc(in_namespace(ns, [
                sys.executable, str(Path(__file__).parent / "firefox_tv.py"),
                f"http://127.0.0.1:{PORT}", str(tmp_path), "--cast"]), castapp_env())
            try:
                code = driver.expect("code", timeout=90)["code"]
                tx = CastProc(in_namespace(ns, []), "send", "--headless",
                              f"http://127.0.0.1:{PORT}/#{code}", "--synthetic", "320x240",
                              "--fps", "30", "--name", "Ada", "--codec", "vp8")
                try:
                    tx.expect("state", state="casting", timeout=40)
                    got = driver.expect("result", timeout=60)["cast"]
                finally:
                    tx.stop()
            finally:
                driver.stop()
        finally:
            service.stop()
    assert got["connection"] == "connected", got
    assert got["verified"] == "1" and got["casting"] == "Ada"
    assert got["width"] == 320
    assert got["stats"]["codec"].lower() == "video/vp8"
    assert got["stats"]["framesDecoded"] > 30, got
