"""The pages' SPAKE2 and key confirmation (castapp/web/spake2.js, pairing.js) in Debian's
Chromium agree byte for byte with the ``spake2`` package and ``castapp.pairing``.

Same password, ids and random scalar give the same messages and the same key; a castapp
pairing runs end to end between the page and Python in both roles; hostile PAKE messages are
refused by both alike.
"""

from __future__ import annotations

import base64
import sys
from pathlib import Path

import pytest
from spake2 import SPAKE2_A, SPAKE2_B
from spake2.parameters.ed25519 import ParamsEd25519

sys.path.insert(0, str(Path(__file__).parents[1]))
sys.path.insert(0, str(Path(__file__).parent))
from castproc import CastProc
from chromium import chromium
from netns import in_namespace, private_namespace
from test_web_tv import open_when_up

from castapp import protocol as p
from castapp.pairing import Pairing, PairingFailedError, PairingRole, TamperedError, fingerprints

pytestmark = pytest.mark.timeout(150)

PORT = 8765
VECTORS = [  # password, idA, idB, entropy seeds
    (b"castapp pake v1\x00123456\x00", b"peer-sender", b"peer-tv", 1, 2),
    (b"", b"", b"", 3, 4),
    (b"castapp pake v1\x00K7M4Q9\x004821", "Zoë\u2019s laptop".encode(), b"r" * 64, 250, 9),
]

SPAKE_JS = """async ([pw, idA, idB, ea, eb]) => {
  const s = await import('/web/spake2.js');
  const u = (h) => Uint8Array.from(h.match(/../g) || [], (x) => parseInt(x, 16));
  const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  const a = new s.Spake2('A', u(pw), u(idA), u(idB));
  const b = new s.Spake2('B', u(pw), u(idA), u(idB));
  const ma = await a.start(u(ea)), mb = await b.start(u(eb));
  const t0 = performance.now();
  const ka = await a.finish(mb);
  const ms = performance.now() - t0;
  return {ma: hex(ma), mb: hex(mb), ka: hex(ka), kb: hex(await b.finish(ma)), ms};
}"""

PARAMS_JS = """async () => {
  const s = await import('/web/spake2.js');
  const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  const e = new TextEncoder();
  return {M: hex(s.encodePoint(await s.arbitraryElement(e.encode('M')))),
          N: hex(s.encodePoint(await s.arbitraryElement(e.encode('N')))),
          S: hex(s.encodePoint(await s.arbitraryElement(e.encode('symmetric')))),
          pw: (await s.passwordScalar(e.encode('castapp'))).toString()};
}"""

REFUSE_JS = """async (messages) => {
  const s = await import('/web/spake2.js');
  const u = (h) => Uint8Array.from(h.match(/../g) || [], (x) => parseInt(x, 16));
  const out = [];
  for (const m of messages) {
    const b = new s.Spake2('B', new TextEncoder().encode('pw'), new Uint8Array(), new Uint8Array());
    await b.start();
    try { await b.finish(u(m)); out.push('accepted'); } catch (e) { out.push('refused'); }
  }
  return out;
}"""

PAIRING_NEW = """async ([role, code, s, r, pin, attempt, entropy]) => {
  const m = await import('/web/pairing.js');
  const u = (h) => Uint8Array.from(h.match(/../g) || [], (x) => parseInt(x, 16));
  window.testPairing = new m.Pairing(role, code, s, r, {pin, attempt});
  return await window.testPairing.start(u(entropy));
}"""
PAIRING_CALL = """async ([method, arg]) => {
  try { return {ok: await window.testPairing[method](arg)}; }
  catch (e) { return {error: e.constructor.name, words: e.message}; }
}"""

OFFER_JS = """async () => {
  const pc = new RTCPeerConnection();
  pc.addTransceiver('video', {direction: 'sendonly'});
  const offer = await pc.createOffer();
  const m = await import('/web/pairing.js');
  pc.close();
  return {sdp: offer.sdp, fp: m.fingerprints(offer.sdp)};
}"""


def entropy(seed: int) -> bytes:
    return bytes((i * 7 + seed) & 0xFF for i in range(64))


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pairing")
    with private_namespace() as ns:
        service = CastProc(in_namespace(ns, []), "serve", "--port", str(PORT),
                           "--state-dir", str(tmp / "service"), json_lines=False)
        try:
            with chromium(ns, tmp) as browser:
                pg = browser.new_page()
                open_when_up(pg, f"http://127.0.0.1:{PORT}/")
                yield pg
        finally:
            service.stop()


def test_group_constants_match_the_package(page):
    got = page.evaluate(PARAMS_JS)
    assert got["M"] == ParamsEd25519.M.to_bytes().hex()
    assert got["N"] == ParamsEd25519.N.to_bytes().hex()
    assert got["S"] == ParamsEd25519.S.to_bytes().hex()
    assert int(got["pw"]) == ParamsEd25519.group.password_to_scalar(b"castapp")


@pytest.mark.parametrize("vector", VECTORS, ids=["castapp", "empty", "pin-unicode"])
def test_spake2_messages_and_keys_match_the_package(page, vector):
    pw, id_a, id_b, sa, sb = vector
    a = SPAKE2_A(pw, idA=id_a, idB=id_b, entropy_f=lambda n: entropy(sa)[:n])
    b = SPAKE2_B(pw, idA=id_a, idB=id_b, entropy_f=lambda n: entropy(sb)[:n])
    ma, mb = a.start(), b.start()
    ka, kb = a.finish(mb), b.finish(ma)
    got = page.evaluate(SPAKE_JS, [pw.hex(), id_a.hex(), id_b.hex(), entropy(sa).hex(),
                                   entropy(sb).hex()])
    assert got["ma"] == ma.hex() and got["mb"] == mb.hex()
    assert got["ka"] == ka.hex() and got["kb"] == kb.hex()
    assert ka == kb
    assert got["ms"] < 500, got["ms"]  # one finish, in the page


def test_hostile_pake_messages_are_refused_like_the_package(page):
    zero = bytes([1]) + bytes(31)
    order8 = bytes.fromhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")
    off_curve = bytes([2]) + bytes(31)
    a = SPAKE2_A(b"pw").start()
    messages = {
        "own side": b"B" + a[1:],
        "no side": b"C" + a[1:],
        "neutral": b"A" + zero,
        "small order": b"A" + order8,
        "off curve": b"A" + off_curve,
        "short": b"A" + a[1:20],
        "honest": a,
    }
    got = page.evaluate(REFUSE_JS, [m.hex() for m in messages.values()])
    expected = []
    for m in messages.values():
        b = SPAKE2_B(b"pw")
        b.start()
        try:
            b.finish(m)
            expected.append("accepted")
        except Exception:
            expected.append("refused")
    assert dict(zip(messages, got, strict=True))["honest"] == "accepted"
    # the page refuses whatever the package refuses (and, stricter, a short element)
    for name, js, py in zip(messages, got, expected, strict=True):
        if name != "short":
            assert js == py, name
    assert got.count("refused") == len(messages) - 1


def test_fingerprints_of_a_chromium_offer_are_canonical_alike(page):
    offer = page.evaluate(OFFER_JS)
    assert offer["fp"] and offer["fp"] == fingerprints(offer["sdp"])
    assert offer["fp"].startswith("sha-256 ")


def _js(page, method: str, arg: object = None) -> dict:
    return page.evaluate(PAIRING_CALL, [method, arg])


@pytest.mark.parametrize("js_role", ["receiver", "sender"])
def test_a_castapp_pairing_runs_between_the_page_and_python(page, js_role):
    sdp_s = "v=0\r\na=fingerprint:sha-256 ab:cd:EF\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
    sdp_r = "v=0\r\na=fingerprint:sha-256 12:34:56\r\n"
    py_role = PairingRole.SENDER if js_role == "receiver" else PairingRole.RECEIVER
    py = Pairing(py_role, "123 456", "snd-1", "tv-1", attempt=3)
    js_start = page.evaluate(PAIRING_NEW, [js_role, "123456", "snd-1", "tv-1", None, 3,
                                           entropy(5).hex()])
    py_start = py.start()
    py.receive(p.decode_peer(js_start))
    assert _js(page, "receive", p.to_builtins(py_start)) == {"ok": None}
    if js_role == "receiver":
        _js_confirm_flow_page_receiver(page, py, sdp_s, sdp_r)
    else:
        sent = _js(page, "confirm", sdp_s)["ok"]
        py.check_confirm(p.decode_peer(sent))
        py.check_remote_sdp(sdp_s)
        assert _js(page, "checkConfirm", p.to_builtins(py.confirm(sdp_r))) == {"ok": None}
        assert _js(page, "checkRemoteSdp", sdp_r) == {"ok": None}
        assert py.confirmed and page.evaluate("() => window.testPairing.confirmed")


def _js_confirm_flow_page_receiver(page, py: Pairing, sdp_s: str, sdp_r: str) -> None:
    assert _js(page, "checkConfirm", p.to_builtins(py.confirm(sdp_s))) == {"ok": None}
    assert _js(page, "checkRemoteSdp", sdp_s) == {"ok": None}
    answer = _js(page, "confirm", sdp_r)["ok"]
    py.check_confirm(p.decode_peer(answer))
    py.check_remote_sdp(sdp_r)
    # a relay that swaps the answer's fingerprint is caught by Python, and its notice,
    # authenticated under the shared key, makes the page refuse too
    with pytest.raises(TamperedError):
        py.check_remote_sdp(sdp_r.replace("12:34:56", "66:66:66"))
    notice = _js(page, "checkConfirm", p.to_builtins(py.tamper_notice()))
    assert notice == {"error": "TamperedError",
                      "words": "The connection was tampered with — not casting."}


def test_a_wrong_code_never_confirms_and_a_swapped_offer_is_tampering(page):
    py = Pairing(PairingRole.SENDER, "123456", "s", "r")
    js_start = page.evaluate(PAIRING_NEW, ["receiver", "123457", "s", "r", None, 0,
                                           entropy(6).hex()])
    py_start = py.start()
    py.receive(p.decode_peer(js_start))
    assert _js(page, "receive", p.to_builtins(py_start)) == {"ok": None}
    got = _js(page, "checkConfirm", p.to_builtins(py.confirm("a=fingerprint:sha-256 AA\r\n")))
    assert got == {"error": "PairingFailedError", "words": str(PairingFailedError())}
    assert _js(page, "confirm", "a=fingerprint:sha-256 BB\r\n")["error"] == "PairingFailedError"

    # the right code, then an offer whose fingerprint is not the confirmed one
    py = Pairing(PairingRole.SENDER, "123456", "s", "r")
    js_start = page.evaluate(PAIRING_NEW, ["receiver", "123456", "s", "r", None, 0,
                                           entropy(7).hex()])
    py_start = py.start()
    py.receive(p.decode_peer(js_start))
    _js(page, "receive", p.to_builtins(py_start))
    assert _js(page, "checkConfirm", p.to_builtins(py.confirm("a=fingerprint:sha-256 AA\r\n"))) \
        == {"ok": None}
    got = _js(page, "checkRemoteSdp", "a=fingerprint:sha-256 EE\r\n")
    assert got["error"] == "TamperedError"
    notice = p.decode_peer(_js(page, "tamperNotice")["ok"])
    with pytest.raises(TamperedError):  # the page's alarm is genuine to the app
        py.check_confirm(notice)


def test_the_pin_is_mixed_into_the_secret(page):
    py = Pairing(PairingRole.SENDER, "123456", "s", "r", pin="4821")
    js_start = page.evaluate(PAIRING_NEW, ["receiver", "123456", "s", "r", "4821", 0,
                                           entropy(8).hex()])
    py_start = py.start()
    py.receive(p.decode_peer(js_start))
    _js(page, "receive", p.to_builtins(py_start))
    assert _js(page, "checkConfirm", p.to_builtins(py.confirm("a=fingerprint:sha-256 AA\r\n"))) \
        == {"ok": None}
    assert base64.b64decode(js_start["data"])[:1] == b"B"
