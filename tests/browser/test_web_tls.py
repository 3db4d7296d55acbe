"""The standalone service with --tls-cert/--tls-key serves the sender page over HTTPS at a LAN
address: a secure context, so the browser can share a screen, and /ws over wss."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
sys.path.insert(0, str(Path(__file__).parent))
from castproc import JsonProc, castapp_env
from chromium import chromium, wait_until
from netns import in_namespace, private_namespace
from test_web_tv import open_when_up

pytestmark = pytest.mark.timeout(120)

ADDRESS = "198.51.100.1"  # the namespace's "LAN" address: not localhost
PORT = 8443


def make_cert(where: Path) -> tuple[Path, Path, str]:
    """A self-signed certificate for ADDRESS and the SPKI hash Chromium is told to trust."""
    cert, key = where / "cert.pem", where / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=castapp test", "-addext", f"subjectAltName=IP:{ADDRESS}",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    pub = subprocess.run(["openssl", "x509", "-in", str(cert), "-pubkey", "-noout"],
                         check=True, capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=pub,
                         check=True, capture_output=True).stdout
    return cert, key, base64.b64encode(hashlib.sha256(der).digest()).decode()


def test_the_sender_page_over_tls_is_a_secure_context(tmp_path):
    cert, key, spki = make_cert(tmp_path)
    with private_namespace() as ns:
        service = JsonProc(in_namespace(ns, [
            sys.executable, "-m", "castapp", "serve", "--host", ADDRESS, "--port", str(PORT),
            "--tls-cert", str(cert), "--tls-key", str(key),
            "--state-dir", str(tmp_path / "svc")]), castapp_env())
        try:
            flags = [f"--ignore-certificate-errors-spki-list={spki}",
                     "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
            with chromium(ns, tmp_path, flags=flags) as browser:
                page = browser.new_page()
                open_when_up(page, f"https://{ADDRESS}:{PORT}/#000000")
                wait_until(page, "() => document.body.dataset.ready === '1'")
                assert page.evaluate("() => window.isSecureContext") is True
                assert page.input_value("#code") == "000000"
                assert page.text_content("#status") == 'Code filled in. Press "Share your screen".'
                page.click("#share")  # shares, then asks the service over wss://
                wait_until(page, "() => document.body.dataset.phase === 'idle'"
                           " && document.getElementById('status').textContent !== ''", 15)
                assert page.text_content("#status") == (
                    "No receiver has this code. Check the code on the TV.")
                headers = open_when_up(page, f"https://{ADDRESS}:{PORT}/tv").headers
                assert "script-src 'self'" in headers["content-security-policy"]
        finally:
            service.stop()
