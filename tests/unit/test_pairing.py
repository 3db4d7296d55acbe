"""Pairing: SPAKE2 over the cast code, then key confirmation over both DTLS fingerprints."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from castapp import protocol as p
from castapp.pairing import (
    Pairing,
    PairingError,
    PairingFailedError,
    PairingRole,
    TamperedError,
    fingerprints,
)

FP_S = "sha-256 " + ":".join(["AB"] * 32)
FP_R = "sha-256 " + ":".join(["CD"] * 32)
FP_M = "sha-256 " + ":".join(["EE"] * 32)  # the man in the middle's certificate


def sdp(fp: str, extra: str = "") -> str:
    alg, value = fp.split(" ")
    return (f"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
            f"a=fingerprint:{alg} {value.lower()}\r\n{extra}")


def pair(code_s: str, code_r: str, pin_s: str | None = None, pin_r: str | None = None
         ) -> tuple[Pairing, Pairing]:
    s = Pairing(PairingRole.SENDER, code_s, "sender1", "tv1", pin=pin_s)
    r = Pairing(PairingRole.RECEIVER, code_r, "sender1", "tv1", pin=pin_r)
    a, b = s.start(), r.start()
    # the bodies go through the service as JSON: round-trip them as the peers would
    s.receive(p.decode_peer(p.peer_body(b)))  # type: ignore[arg-type]
    r.receive(p.decode_peer(p.peer_body(a)))  # type: ignore[arg-type]
    return s, r


def run(s: Pairing, r: Pairing, offer: str, answer: str, *, relay_offer: str | None = None,
        relay_answer: str | None = None) -> None:
    """The whole confirmation, with the SDPs as a relay hands them over."""
    confirm_s = s.confirm(offer)
    r.check_confirm(confirm_s)
    r.check_remote_sdp(relay_offer or offer)
    confirm_r = r.confirm(answer)
    s.check_confirm(confirm_r)
    s.check_remote_sdp(relay_answer or answer)


def test_the_right_code_pairs_and_confirms_both_fingerprints():
    s, r = pair("482 913", "482913")  # as typed: spaces do not matter
    run(s, r, sdp(FP_S), sdp(FP_R))
    assert s.confirmed and r.confirmed


@settings(max_examples=15, deadline=None)
@given(code=st.text("0123456789", min_size=6, max_size=6),
       other=st.text("0123456789", min_size=6, max_size=6))
def test_a_wrong_code_never_completes(code, other):
    if code == other:
        return
    s, r = pair(code, other)
    with pytest.raises(PairingFailedError):
        r.check_confirm(s.confirm(sdp(FP_S)))
    assert r.failed
    with pytest.raises(PairingFailedError):  # and a dead pairing stays dead
        r.confirm(sdp(FP_R))


def test_swapped_fingerprints_are_detected_on_both_ends():
    # the relay rewrites the fingerprint in the offer: the receiver refuses it
    s, r = pair("482913", "482913")
    r.check_confirm(s.confirm(sdp(FP_S)))
    with pytest.raises(TamperedError) as info:
        r.check_remote_sdp(sdp(FP_M))
    assert str(info.value) == "The connection was tampered with — not casting."
    # the relay rewrites the answer: the sender refuses it
    s, r = pair("482913", "482913")
    r.check_confirm(s.confirm(sdp(FP_S)))
    r.check_remote_sdp(sdp(FP_S))
    s.check_confirm(r.confirm(sdp(FP_R)))
    with pytest.raises(TamperedError):
        s.check_remote_sdp(sdp(FP_M))


def test_a_relay_that_also_rewrites_the_confirmation_breaks_the_mac():
    s, r = pair("482913", "482913")
    confirm = s.confirm(sdp(FP_S))
    forged = p.KeyConfirm(mac=confirm.mac, fingerprint=fingerprints(sdp(FP_M)))
    with pytest.raises(PairingFailedError):
        r.check_confirm(forged)
    s, r = pair("482913", "482913")
    r.check_confirm(s.confirm(sdp(FP_S)))
    confirm = r.confirm(sdp(FP_R))
    with pytest.raises(PairingFailedError):
        s.check_confirm(p.KeyConfirm(mac=confirm.mac, fingerprint=fingerprints(sdp(FP_M))))


def test_the_pin_is_part_of_the_secret():
    s, r = pair("482913", "482913", pin_s="1234", pin_r="1234")
    run(s, r, sdp(FP_S), sdp(FP_R))
    s, r = pair("482913", "482913", pin_s="1235", pin_r="1234")
    with pytest.raises(PairingFailedError):
        r.check_confirm(s.confirm(sdp(FP_S)))
    s, r = pair("482913", "482913", pin_s=None, pin_r="1234")
    with pytest.raises(PairingFailedError):
        r.check_confirm(s.confirm(sdp(FP_S)))


def test_one_online_guess_per_attempt():
    # an attacker holding one side can test exactly one code per pairing attempt: the honest
    # side's state is spent after one PAKE message, and dead after a failed confirmation
    honest = Pairing(PairingRole.RECEIVER, "482913", "x", "tv")
    mine = honest.start()
    guess = Pairing(PairingRole.SENDER, "000000", "x", "tv")
    honest.receive(guess.start())
    guess.receive(mine)
    with pytest.raises(PairingError):  # no second PAKE message into the same attempt
        honest.receive(Pairing(PairingRole.SENDER, "482913", "x", "tv").start())
    with pytest.raises(PairingFailedError):
        honest.check_confirm(guess.confirm(sdp(FP_S)))
    for step in (lambda: honest.check_confirm(guess.confirm(sdp(FP_S))),
                 lambda: honest.confirm(sdp(FP_R)),
                 lambda: honest.check_remote_sdp(sdp(FP_S))):
        with pytest.raises(PairingError):
            step()


def test_the_peer_ids_are_bound():
    s = Pairing(PairingRole.SENDER, "482913", "sender1", "tv1")
    r = Pairing(PairingRole.RECEIVER, "482913", "sender2", "tv1")  # told another sender id
    a, b = s.start(), r.start()
    s.receive(b)
    r.receive(a)
    with pytest.raises(PairingFailedError):
        r.check_confirm(s.confirm(sdp(FP_S)))


def test_hostile_pake_messages_fail_cleanly():
    for data in ("", "AAAA", "!!", "A" * 1000):
        r = Pairing(PairingRole.RECEIVER, "482913", "s", "tv")
        r.start()
        with pytest.raises(PairingFailedError):
            r.receive(p.PakeMessage(step=0, data=data))


def test_fingerprints_are_canonical_and_sdp_order_free():
    two = sdp(FP_S, "a=fingerprint:SHA-384 aa:bb\r\n")
    assert fingerprints(two) == "sha-256 " + ":".join(["AB"] * 32) + ";sha-384 AA:BB"
    assert fingerprints("v=0\r\n") == ""
    s, _r = pair("482913", "482913")
    with pytest.raises(PairingError):
        s.confirm("v=0\r\n")  # no fingerprint: nothing to bind


def test_the_side_that_finds_tampering_tells_the_other_in_a_way_the_relay_cannot_forge():
    # offer rewritten: the receiver finds it, its notice makes the sender refuse too
    s, r = pair("482913", "482913")
    r.check_confirm(s.confirm(sdp(FP_S)))
    with pytest.raises(TamperedError):
        r.check_remote_sdp(sdp(FP_M))
    notice = r.tamper_notice()
    assert notice.tampered and notice.fingerprint == fingerprints(sdp(FP_M))
    with pytest.raises(TamperedError):
        s.check_confirm(p.decode_peer(p.peer_body(notice)))  # type: ignore[arg-type]
    assert s.failed and r.failed
    # answer rewritten: the sender finds it and tells the receiver
    s, r = pair("482913", "482913")
    run_until_answer = s.confirm(sdp(FP_S))
    r.check_confirm(run_until_answer)
    r.check_remote_sdp(sdp(FP_S))
    s.check_confirm(r.confirm(sdp(FP_R)))
    with pytest.raises(TamperedError):
        s.check_remote_sdp(sdp(FP_M))
    with pytest.raises(TamperedError):
        r.check_confirm(s.tamper_notice())
    # a notice the relay made up (no key) is not evidence of anything but a broken pairing
    s, r = pair("482913", "482913")
    r.check_confirm(s.confirm(sdp(FP_S)))
    forged = p.KeyConfirm(mac="QUFBQQ==", fingerprint=fingerprints(sdp(FP_M)), tampered=True)
    with pytest.raises(PairingFailedError):
        s.check_confirm(forged)
    with pytest.raises(PairingError):
        r.tamper_notice()  # nothing was found: no notice to give
