"""The pages in Debian's Firefox ESR, driven over WebDriver BiDi without any download."""

from __future__ import annotations

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
