"""The web sender tells, in words, where it stands: admission states, phones, insecure pages."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
sys.path.insert(0, str(Path(__file__).parent))
from castproc import JsonProc, castapp_env
from chromium import chromium, wait_until
from netns import in_namespace, private_namespace
from test_web_tv import open_when_up

pytestmark = pytest.mark.timeout(150)

PORT = 8765
# a synthetic screen stands in for the picker (this test is about words, not pixels)
FAKE_SCREEN = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]


def status(page) -> str:
    return page.text_content("#status") or ""


def test_admission_states_are_said_in_words(tmp_path):
    with private_namespace() as ns:
        service = JsonProc(in_namespace(ns, [sys.executable, "-m", "castapp", "serve", "--host",
                                             "0.0.0.0", "--port", str(PORT), "--state-dir",
                                             str(tmp_path / "svc")]), castapp_env())
        try:
            with chromium(ns, tmp_path, flags=FAKE_SCREEN) as browser:
                page = browser.new_page()
                open_when_up(page, f"http://127.0.0.1:{PORT}/")
                tv = JsonProc(in_namespace(ns, [sys.executable, str(Path(__file__).parent /
                                                "scripted_tv.py"), f"ws://127.0.0.1:{PORT}/ws"]),
                              castapp_env())
                try:
                    code = tv.expect("code")["code"]
                    # a wrong code first: said at once, and the page can try again
                    page.fill("#code", "000000" if code != "000000" else "111111")
                    page.click("#share")
                    wait_until(page, "() => document.body.dataset.phase === 'idle'", 15)
                    assert status(page) == "No receiver has this code. Check the code on the TV."
                    assert page.is_visible("#share")

                    page.fill("#code", f"{code[:3]} {code[3:]}")
                    page.fill("#name", "Lin")
                    page.click("#share")
                    assert tv.expect("joined")["name"] == "Lin (browser)"
                    wait_until(page, "() => document.body.dataset.admission === 'waiting'")
                    assert status(page) == "Waiting for the TV to allow you…"
                    # the TV's view hint is followed (scaled down and slowed in the encoder)
                    wait_until(page, "() => document.body.dataset.view === '640x360@15'")
                    assert page.evaluate("() => document.body.dataset.tile") == "2/4"
                    wait_until(page, "() => document.body.dataset.admission === 'pin'")
                    assert status(page) == "Type the PIN shown on the TV."
                    assert page.is_visible("#pin")
                    # the PIN goes into the pairing over the code, never in clear
                    page.fill("#pin", "1111")
                    page.press("#pin", "Enter")
                    assert tv.expect("confirm")["ok"] is False
                    wait_until(page, "() => document.body.dataset.admission === 'wrong_pin'")
                    assert status(page) == "That PIN was not the one on the TV. Type it again."
                    page.fill("#pin", "2468")
                    page.click("#sendpin")
                    assert tv.expect("confirm")["ok"] is True
                    offer = tv.expect("offer")  # only once the TV let it on
                    assert offer["confirmed"] and offer["video"] and offer["sendonly"]
                    assert offer["codecs"]
                    wait_until(page, "() => document.body.dataset.phase === 'idle'")
                    assert status(page) == "The TV said no. Your screen is not shared."
                    assert page.is_visible("#share") and page.is_hidden("#pin")
                    said = [*tv.seen, *list(tv.lines.queue)]
                    assert not any(e.get("event") == "clear_pin" for e in said), said
                    tv.expect("left")  # the page left the room
                finally:
                    tv.stop()

                # the same page at a LAN address over plain http is not a secure context
                lan = browser.new_page()
                lan.goto(f"http://198.51.100.1:{PORT}/#482913")
                wait_until(lan, "() => document.body.dataset.ready === '1'")
                assert lan.input_value("#code") == "482913"
                assert status(lan).startswith("Sharing needs a secure page: open this page with"
                                              " https://")

                # the answer gets Chromium's start/floor bitrate hints on every video codec
                answer = ("v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n"
                          "a=fmtp:111 minptime=10\r\nm=video 9 UDP/TLS/RTP/SAVPF 96 97 102\r\n"
                          "a=rtpmap:96 VP8/90000\r\na=rtpmap:97 rtx/90000\r\n"
                          "a=fmtp:97 apt=96\r\na=rtpmap:102 H264/90000\r\n"
                          "a=fmtp:102 packetization-mode=1\r\n")
                hinted = page.evaluate("async (sdp) => (await import('/web/sender.js'))"
                                       ".screenAnswer(sdp)", answer)
                # from the app's bits per pixel for screens: 1080p30 floors at 1.87 Mbit/s
                hint = "x-google-start-bitrate=3732;x-google-min-bitrate=1866"
                assert f"a=rtpmap:96 VP8/90000\r\na=fmtp:96 {hint}\r\n" in hinted
                assert f"a=fmtp:102 packetization-mode=1;{hint}\r\n" in hinted
                assert "a=fmtp:97 apt=96\r\n" in hinted and "a=fmtp:111 minptime=10\r\n" in hinted
                small = page.evaluate("async () => (await import('/web/sender.js'))"
                                      ".screenBitrates(1280, 720, 15)")
                assert small == {"start": 829, "min": 500}  # fewer pixels, a lower floor

                # a browser without getDisplayMedia (a phone) is told so
                phone = browser.new_page()
                phone.add_init_script("delete MediaDevices.prototype.getDisplayMedia;")
                phone.goto(f"http://127.0.0.1:{PORT}/#482913")
                wait_until(phone, "() => document.body.dataset.ready === '1'")
                assert status(phone).startswith("This browser cannot share a screen (phones")
                assert phone.is_disabled("#share")
        finally:
            service.stop()


#: Runs in a page: hostile frames over the page's own /ws; the answers and whether it stayed open.
HOSTILE = """async () => {
  const ws = new WebSocket(`ws://${location.host}/ws`);
  const got = [];
  ws.onmessage = (ev) => got.push(JSON.parse(ev.data));
  await new Promise((ok) => { ws.onopen = ok; });
  ws.send(JSON.stringify({type: "hello", versions: [2], client: "x".repeat(500)}));
  ws.send(JSON.stringify({type: "hello", versions: [2], client: "castapp-web-sender"}));
  ws.send("[".repeat(5000) + "]".repeat(5000));
  ws.send(new Uint8Array([1, 2, 3]));
  ws.send(JSON.stringify({type: "join", code: "1".repeat(40)}));
  ws.send(JSON.stringify({type: "offer", to: "nobody", sdp: "x"}));
  ws.send(JSON.stringify({type: "ping", ts: 1}));
  await new Promise((ok) => setTimeout(ok, 1500));
  return {open: ws.readyState === WebSocket.OPEN, got};
}"""


def test_a_hostile_page_is_just_another_client(tmp_path):
    with private_namespace() as ns:
        service = JsonProc(in_namespace(ns, [sys.executable, "-m", "castapp", "serve", "--port",
                                             str(PORT), "--state-dir", str(tmp_path / "svc")]),
                           castapp_env())
        try:
            with chromium(ns, tmp_path) as browser:
                page = browser.new_page()
                open_when_up(page, f"http://127.0.0.1:{PORT}/")
                result = page.evaluate(HOSTILE)
                assert result["open"]
                types = [m["type"] for m in result["got"]]
                codes = [m.get("code") for m in result["got"] if m["type"] == "error"]
                assert "welcome" in types and "pong" in types
                assert codes.count("bad_message") >= 3 and "not_in_room" in codes
                assert all("Traceback" not in (m.get("message") or "") for m in result["got"])
        finally:
            service.stop()
        assert "Traceback" not in "".join(service.other)
