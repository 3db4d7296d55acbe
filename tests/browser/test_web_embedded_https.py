"""The receiver's built-in room service serves the sender page over HTTPS at its LAN address,
with a self-signed certificate it makes once and keeps; the TV shows the start of that
certificate's SHA-256 fingerprint, and a browser that accepted the certificate (pinned here
as Chromium would be told to trust it) casts to the app receiver, paired.
"""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from castapp.links import pin_b64

sys.path.insert(0, str(Path(__file__).parents[1]))
sys.path.insert(0, str(Path(__file__).parent))
from castproc import CastProc
from chromium import chromium, wait_until
from netns import in_namespace, private_namespace
from test_web_tv import open_when_up

pytestmark = pytest.mark.timeout(150)

ADDRESS = "198.51.100.1"  # the namespace's "LAN" address: not localhost
PORT = 8765
FAKE_SCREEN = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]

#: Runs in the namespace: the SHA-256 of the certificate the HTTPS port presents.
SERVED = ("import hashlib, ssl, sys; pem = ssl.get_server_certificate((sys.argv[1], "
          "int(sys.argv[2]))); print(hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest())")


def receiver(ns: str, state: Path) -> CastProc:
    return CastProc(in_namespace(ns, []), "receive", "--headless", "--admission", "open",
                    "--listen", f"{ADDRESS}:{PORT}", "--no-advertise", "--state-dir",
                    str(state), "--name", "Meeting room", "--https")


def pairs(hex_digest: str) -> str:
    return ":".join(hex_digest[i:i + 2] for i in range(0, len(hex_digest), 2)).upper()


def test_the_embedded_service_serves_https_with_a_kept_certificate(tmp_path):
    state = tmp_path / "rx"
    with private_namespace() as ns:
        rx = receiver(ns, state)
        try:
            code = rx.expect("code", timeout=30)["code"]
            shown = rx.expect("https", timeout=10)
            link, short = shown["link"], shown["fingerprint"]
            assert link.startswith(f"https://{ADDRESS}:8766/?pin=") and link.endswith(f"#{code}")
            # castapp senders keep the plain link (their pairing protects the media)
            [help_line] = [e for e in rx.seen if e.get("event") == "help"]
            assert help_line["link"] == f"http://{ADDRESS}:{PORT}/#{code}"
            cert = x509.load_pem_x509_certificate((state / "https-cert.pem").read_bytes())
            der = cert.public_bytes(serialization.Encoding.DER)
            full = pairs(hashlib.sha256(der).hexdigest())
            assert full.startswith(short + ":") and len(short.split(":")) == 8
            # the link names the whole certificate, for desktop senders that open it
            assert f"?pin={pin_b64(full)}#" in link
            served = subprocess.run(in_namespace(ns, [sys.executable, "-c", SERVED, ADDRESS,
                                                      "8766"]),
                                    capture_output=True, text=True, check=True).stdout.strip()
            assert pairs(served) == full  # the port shows the certificate the TV names
            spki = base64.b64encode(hashlib.sha256(cert.public_key().public_bytes(
                serialization.Encoding.DER,
                serialization.PublicFormat.SubjectPublicKeyInfo)).digest()).decode()
            flags = [f"--ignore-certificate-errors-spki-list={spki}", *FAKE_SCREEN]
            with chromium(ns, tmp_path, flags=flags) as browser:
                page = browser.new_page()
                open_when_up(page, link)  # the QR code's link, code filled in
                wait_until(page, "() => document.body.dataset.ready === '1'")
                assert page.evaluate("() => window.isSecureContext") is True
                assert page.input_value("#code") == code
                page.fill("#name", "Grace")
                page.click("#share")  # over wss:// to the same service
                got = rx.expect("state", state="receiving", timeout=40)
                assert [c["verified"] for c in got["calls"]] == [True], got
                wait_until(page, "() => document.body.dataset.connection === 'connected'", 20)
                page.click("#stop")
                rx.expect("state", state="waiting", timeout=20)
        finally:
            assert rx.finish() == 0
        # restarted: the same certificate, the same fingerprint shown
        again = receiver(ns, state)
        try:
            assert again.expect("https", timeout=30)["fingerprint"] == short
        finally:
            assert again.finish() == 0
        assert pairs(hashlib.sha256(x509.load_pem_x509_certificate(
            (state / "https-cert.pem").read_bytes()).public_bytes(
            serialization.Encoding.DER)).hexdigest()) == full
