"""A room service that swaps DTLS fingerprints cannot sit between the app sender and the web
TV: both ends refuse with the tampering message and the TV shows no frame.

Chromium's TV page and the real ``castapp send`` pair over the code through castapp's own
service with a malicious relay (tampering_service.py); the honest relay casts.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
sys.path.insert(0, str(Path(__file__).parent))
from castproc import CastProc, JsonProc, castapp_env
from chromium import chromium, tv_code, wait_until
from netns import in_namespace, private_namespace
from test_web_tv import BASE, PORT, open_when_up

pytestmark = pytest.mark.timeout(150)

TAMPERED = "The connection was tampered with — not casting."
SERVICE = str(Path(__file__).with_name("tampering_service.py"))


@pytest.mark.parametrize("mode", ["offer", "answer", "honest"])
def test_a_relay_that_swaps_fingerprints_is_refused_by_the_web_tv_and_the_app(tmp_path, mode):
    with private_namespace() as ns:
        service = JsonProc(in_namespace(ns, [sys.executable, SERVICE, str(PORT), mode]),
                           castapp_env())
        try:
            service.expect("ready", timeout=20)
            with chromium(ns, tmp_path) as browser:
                tv = browser.new_page()
                console: list[str] = []
                tv.on("console", lambda m: console.append(m.text))
                open_when_up(tv, f"{BASE}/tv")
                code = tv_code(tv, console)
                tx = CastProc(in_namespace(ns, []), "send", "--headless", f"{BASE}/#{code}",
                              "--synthetic", "320x240", "--fps", "30", "--name", "Ada")
                try:
                    if mode == "honest":
                        tx.expect("state", state="casting", timeout=40)
                        wait_until(tv, "() => document.getElementById('video').videoWidth > 0",
                                   20)
                        assert tv.evaluate("document.body.dataset.verified") == "1"
                        assert not any("security:" in line for line in console)
                        return
                    ended = tx.expect("state", state="ended", timeout=40)
                    assert ended["ended"] == "tampered", ended
                    widest = 0
                    deadline = time.monotonic() + 10
                    while time.monotonic() < deadline:
                        widest = max(widest, tv.evaluate(
                            "() => document.getElementById('video').videoWidth"))
                        if tv.evaluate("() => document.body.dataset.fault") == "tampered":
                            break
                        time.sleep(0.1)
                    assert tv.evaluate("() => document.body.dataset.fault") == "tampered"
                    assert tv.text_content("#tvstate") == TAMPERED
                    assert tv.is_visible("#idle") and tv.is_hidden("#cast")
                    time.sleep(1.0)  # nothing arrives later either
                    widest = max(widest, tv.evaluate(
                        "() => document.getElementById('video').videoWidth"))
                    assert widest == 0  # no frame was shown
                    assert tv.evaluate("() => window.castappReceiveStats()") is None
                    assert any(line.startswith("security: the connection of sender")
                               for line in console), console
                    assert "security: the connection to receiver" in "".join(tx.other)
                finally:
                    tx.stop()
            assert service.expect("rewritten", timeout=1)["count"] >= 1  # the attack happened
        finally:
            service.stop()


@pytest.mark.parametrize("mode", ["wrong_code", "bad_point", "silent"])
def test_a_sender_that_cannot_pair_gets_nothing_and_frees_the_tv(tmp_path, mode):
    """A wrong code never confirms (and its offer is never answered); a PAKE element of small
    order is refused; a sender that stops after its PAKE message is let go after 20 s."""
    with private_namespace() as ns:
        service = CastProc(in_namespace(ns, []), "serve", "--port", str(PORT),
                           "--state-dir", str(tmp_path / "service"), json_lines=False)
        try:
            with chromium(ns, tmp_path) as browser:
                tv = browser.new_page()
                console: list[str] = []
                tv.on("console", lambda m: console.append(m.text))
                open_when_up(tv, f"{BASE}/tv")
                code = tv_code(tv, console)
                mallory = JsonProc(in_namespace(ns, [
                    sys.executable, str(Path(__file__).with_name("scripted_sender.py")),
                    f"ws://127.0.0.1:{PORT}/ws", code, mode]), castapp_env())
                try:
                    assert mallory.expect("admission", timeout=20)["state"] == "allowed"
                    if mode == "wrong_code":
                        mallory.expect("pake", timeout=10)
                        assert mallory.expect("bye", timeout=10)["reason"] == "tampered"
                        wait_until(tv, "() => document.body.dataset.fault === 'tampered'", 10)
                        assert tv.text_content("#tvstate") == TAMPERED
                    elif mode == "bad_point":
                        wait_until(tv, "() => document.body.dataset.tvstate.includes("
                                       "'could not pair')", 10)
                        assert any("security: a malformed PAKE" in c for c in console), console
                    else:
                        mallory.expect("pake", timeout=10)
                        wait_until(tv, "() => document.body.dataset.tvstate.startsWith("
                                       "'Pairing with Mallory')", 10)
                        wait_until(tv, "() => document.body.dataset.tvstate.startsWith("
                                       "'A sender did not finish pairing')", 30)
                    said = [*mallory.seen, *list(mallory.lines.queue)]
                    assert not any(e.get("event") == "confirm" for e in said), said
                    assert tv.evaluate("() => document.getElementById('video').videoWidth") == 0
                    assert tv.is_visible("#idle")
                finally:
                    mallory.stop()
                # the TV is free again: the real app sender casts, paired
                tx = CastProc(in_namespace(ns, []), "send", "--headless", f"{BASE}/#{code}",
                              "--synthetic", "320x240", "--fps", "30", "--name", "Ada")
                try:
                    tx.expect("state", state="casting", timeout=40)
                    wait_until(tv, "() => document.body.dataset.verified === '1'", 20)
                finally:
                    tx.stop()
        finally:
            service.stop()
