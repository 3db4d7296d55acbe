"""Cast codes, receiver tokens and TURN credentials."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from castapp.codes import LETTERS, CodeFormat, group, pin_of
from castapp.signaling.identity import ReceiverIdentity, check_proof
from castapp.signaling.tokens import TokenSigner, load_or_create_key
from castapp.signaling.turn import IceConfig, turn_credential


def test_codes_normalize_display_and_generate():
    fmt = CodeFormat()
    assert fmt.normalize("482 913") == "482913"
    assert fmt.normalize(" 482-913\n") == "482913"
    assert fmt.normalize("482\u00a0913") == "482913"
    assert fmt.normalize("\uff14\uff18\uff12\u3000\uff19\uff11\uff13") == "482913"  # IME
    for bad in ("48291", "4829134", "48a913", "", "\u0664\u0668\u0662\u0669\u0661\u0663"):
        assert fmt.normalize(bad) is None
    assert fmt.display("482913") == "482 913"
    assert group("12345678") == "1234 5678"
    codes = {fmt.generate() for _ in range(200)}
    assert all(len(c) == 6 and c.isdigit() for c in codes) and len(codes) > 190


def test_a_pin_is_digits_however_typed():
    for typed in ("0206", " 02 06 ", "02-06", "\uff10\uff12\uff10\uff16"):  # full-width too
        assert pin_of(typed) == "0206", typed
    for typed in ("", "   ", "abc", "02a6", "123456789", "\u0660\u0662"):  # Arabic-Indic
        assert pin_of(typed) is None, typed


def test_letter_codes_are_case_insensitive():
    fmt = CodeFormat(length=5, alphabet=LETTERS)
    code = fmt.generate()
    assert fmt.normalize(code.lower()) == code
    assert fmt.space == len(LETTERS) ** 5


@pytest.mark.parametrize("kw", [{"length": 2}, {"alphabet": "abcdefghijk"}, {"alphabet": "0011"}])
def test_bad_code_formats_are_refused(kw):
    with pytest.raises(ValueError):
        CodeFormat(**kw)


def test_tokens_prove_their_code_and_resist_forgery(tmp_path):
    key = load_or_create_key(tmp_path)
    assert load_or_create_key(tmp_path) == key  # stable across restarts
    assert (tmp_path / "room-key").stat().st_mode & 0o777 == 0o600
    signer = TokenSigner(key, ttl=100)
    owner = ReceiverIdentity().id
    token, claim = signer.mint("482913", owner, 1000.0)
    assert signer.verify(token, 1000.0) == claim and claim.code == "482913"
    assert claim.owner == owner and "482913" not in owner
    head, _code, *rest = token.split(".")
    forged_code = "MTExMTEx"  # base64url("111111")
    assert signer.verify(".".join([head, forged_code, *rest]), 1000.0) is None
    assert signer.verify(token[:-1] + ("A" if token[-1] != "A" else "B"), 1000.0) is None
    assert TokenSigner(b"another key of 32 bytes........").verify(token, 1000.0) is None
    assert signer.verify(token, 1099.0) == claim
    assert signer.verify(token, 1100.0) is None  # expired
    for junk in ("", "t2", "t2.!!.x.y.z.w.v", "x.y.z.w", "t2.." + "a" * 300, "t1.MTIz.a.b"):
        assert signer.verify(junk, 1000.0) is None


def test_a_proof_binds_the_nonce_the_key_and_the_token():
    me, thief = ReceiverIdentity(token="t2.tok"), ReceiverIdentity(token="t2.tok")
    key, proof = me.prove("nonce-1")
    assert check_proof("nonce-1", key, proof, "t2.tok") == me.id
    assert check_proof("nonce-2", key, proof, "t2.tok") is None  # a replay elsewhere
    assert check_proof("nonce-1", key, proof, "t2.other") is None
    other_key, _ = thief.prove("nonce-1")
    assert check_proof("nonce-1", other_key, proof, "t2.tok") is None
    for junk in ("", "é", "!!", "A" * 200):
        assert check_proof("nonce-1", junk, proof, "t2.tok") is None
        assert check_proof("nonce-1", key, junk, "t2.tok") is None
    again = ReceiverIdentity.from_credential(me.credential)
    assert again.id == me.id and again.token == "t2.tok"
    assert ReceiverIdentity.from_credential("t1.MTIz.abc.def").id != me.id  # old bearer
    assert ReceiverIdentity.from_credential("c1.é.x").token == ""

def _openssl_credential(secret: str, username: str) -> str:
    digest = subprocess.run(
        ["openssl", "dgst", "-sha1", "-hmac", secret, "-binary"],
        input=username.encode(), capture_output=True, check=True,
    ).stdout
    return subprocess.run(
        ["openssl", "base64", "-A"], input=digest, capture_output=True, check=True
    ).stdout.decode().strip()


def test_turn_credentials_match_an_independent_computation():
    assert shutil.which("openssl"), "openssl is needed: run scripts/setup.sh"
    cfg = IceConfig(stun=("stun:turn.example.org:3478",),
                    turn=("turn:turn.example.org:3478", "turns:turn.example.org:443"),
                    turn_secret="s3cr3t", ttl_s=600)
    servers = cfg.servers_for("peerA", now=1_700_000_000.9)
    assert servers[0].urls == ["stun:turn.example.org:3478"] and servers[0].username is None
    turn = servers[1]
    assert turn.username == "1700000600:peerA"
    assert turn.credential == _openssl_credential("s3cr3t", "1700000600:peerA")
    assert turn.credential == turn_credential("s3cr3t", turn.username)


def test_no_ice_servers_unless_configured():
    assert IceConfig().servers_for("p", 0) == []


@pytest.mark.parametrize(
    "kw",
    [{"turn": ("turn:x:3478",)}, {"stun": ("http://x",)}, {"ttl_s": 5,
                                                          "turn_secret": "s"}],
)
def test_bad_ice_config_is_refused(kw):
    with pytest.raises(ValueError):
        IceConfig(**kw)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=300) | st.binary(max_size=100).map(lambda b: b.decode("latin-1")))
def test_token_parsing_is_total(text):
    signer = TokenSigner(b"k" * 32)
    for token in (text, "t2.MTIz.abc.1.2.x." + text, "t2." + text):
        assert signer.verify(token, 0.0) is None
    ReceiverIdentity.from_credential(text)
    ReceiverIdentity.from_credential("c1." + text)


def test_a_non_ascii_mac_is_refused_not_raised():
    signer = TokenSigner(b"k" * 32)
    token, _ = signer.mint("482913", "owner", 0.0)
    assert signer.verify(token[:-2] + "é", 0.0) is None
    assert signer.verify(token[:-2] + "\udcff", 0.0) is None
