"""The web sender pairs over the cast code as the app sender does: the app TV shows it
verified, a room service that swaps DTLS fingerprints is refused by both ends, and a TV that
does not know the code gets nothing.

Chromium (a synthetic screen stands in for the picker) and the real ``castapp receive``
through castapp's own service with a malicious relay (tampering_service.py).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
sys.path.insert(0, str(Path(__file__).parent))
from castproc import CastProc, JsonProc, castapp_env
from chromium import chromium, wait_until
from netns import in_namespace, private_namespace
from test_web_tv import BASE, PORT, open_when_up

pytestmark = pytest.mark.timeout(150)

TAMPERED = "The connection was tampered with — not casting."
FAILED = "The code did not match; check the code on the TV and try again."
SERVICE = str(Path(__file__).with_name("tampering_service.py"))
FAKE_SCREEN = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]


def share(page, code: str, name: str) -> None:
    open_when_up(page, f"{BASE}/")
    wait_until(page, "() => document.body.dataset.ready === '1'")
    page.fill("#code", code)
    page.fill("#name", name)
    page.click("#share")


@pytest.mark.parametrize("mode", ["offer", "answer", "both", "honest"])
def test_a_relay_that_swaps_fingerprints_is_refused_by_the_web_sender_and_the_app_tv(
        tmp_path, mode):
    with private_namespace() as ns:
        service = JsonProc(in_namespace(ns, [sys.executable, SERVICE, str(PORT), mode]),
                           castapp_env())
        try:
            service.expect("ready", timeout=20)
            rx = CastProc(in_namespace(ns, []), "receive", "--headless", "--admission", "open",
                          "--server", f"ws://127.0.0.1:{PORT}/ws", "--no-advertise",
                          "--state-dir", str(tmp_path / "rx"), "--name", "Meeting room")
            try:
                code = rx.expect("code", timeout=30)["code"]
                rx.expect("state", state="waiting", timeout=20)
                with chromium(ns, tmp_path, flags=FAKE_SCREEN) as browser:
                    page = browser.new_page()
                    console: list[str] = []
                    page.on("console", lambda m: console.append(m.text))
                    share(page, code, "Grace")
                    if mode == "honest":
                        shown = rx.expect("state", state="receiving", timeout=40)
                        [call] = shown["calls"]
                        assert call["browser"] and call["verified"] is True, call
                        wait_until(page, "() => document.body.dataset.connection === "
                                         "'connected'", 20)
                        assert page.evaluate("document.body.dataset.verified") == "1"
                        assert not any("security:" in line for line in console), console
                        page.click("#stop")
                        rx.expect("state", state="waiting", timeout=20)
                        return
                    wait_until(page, "() => document.body.dataset.phase === 'idle'", 40)
                    assert page.text_content("#status") == TAMPERED
                    assert page.evaluate("document.body.dataset.fault") == "tampered"
                    assert page.evaluate("document.body.dataset.connection") != "connected"
                    time.sleep(2.0)  # nothing is shown later either
                    assert not any(e.get("state") == "receiving"
                                   for e in [*rx.seen, *list(rx.lines.queue)])
                    log = "".join(rx.other)
                    assert "security: the connection of sender" in log, log[-2000:]
                    if mode == "answer":  # found by the page: it said so, with proof
                        assert any(line.startswith("security: the connection to the TV")
                                   for line in console), console
            finally:
                assert rx.finish() == 0
            assert service.expect("rewritten", timeout=1)["count"] >= 1  # the attack happened
        finally:
            service.stop()


def test_a_tv_that_does_not_know_the_code_gets_no_media(tmp_path):
    with private_namespace() as ns:
        service = CastProc(in_namespace(ns, []), "serve", "--port", str(PORT),
                           "--state-dir", str(tmp_path / "service"), json_lines=False)
        try:
            with chromium(ns, tmp_path, flags=FAKE_SCREEN) as browser:
                page = browser.new_page()
                open_when_up(page, f"{BASE}/")  # the service is up
                tv = JsonProc(in_namespace(ns, [sys.executable, str(Path(__file__).parent /
                                                "scripted_tv.py"), f"ws://127.0.0.1:{PORT}/ws",
                                                "wrong_code"]), castapp_env())
                try:
                    code = tv.expect("code")["code"]
                    share(page, code, "Grace")
                    tv.expect("pake", timeout=20)
                    tv.expect("confirm", timeout=10)  # its own, under a key of another code
                    wait_until(page, "() => document.body.dataset.phase === 'idle'", 20)
                    assert page.text_content("#status") == FAILED
                    assert page.evaluate("document.body.dataset.fault") == "failed"
                    assert page.evaluate("document.body.dataset.verified") is None
                    assert page.evaluate("document.body.dataset.connection") != "connected"
                    tv.expect("left", timeout=10)
                finally:
                    tv.stop()
        finally:
            service.stop()
