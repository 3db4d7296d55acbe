"""Cast codes, receiver tokens and TURN credentials."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from castapp.codes import LETTERS, CodeFormat, group
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
    signer = TokenSigner(key)
    token, claim = signer.mint("482913")
    assert signer.verify(token) == claim and claim.code == "482913"
    assert claim.owner not in ("482913",) and "482913" not in claim.owner
    head, _code, nonce, mac = token.split(".")
    forged_code = "MTExMTEx"  # base64url("111111")
    assert signer.verify(f"{head}.{forged_code}.{nonce}.{mac}") is None
    assert signer.verify(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert TokenSigner(b"another key of 32 bytes........").verify(token) is None
    for junk in ("", "t1", "t1.!!.x.y", "x.y.z.w", "t1.." + "a" * 300):
        assert signer.verify(junk) is None


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
    for token in (text, "t1.MTIz.abc." + text, "t1." + text):
        assert signer.verify(token) is None


def test_a_non_ascii_mac_is_refused_not_raised():
    signer = TokenSigner(b"k" * 32)
    token, _ = signer.mint("482913")
    assert signer.verify(token[:-2] + "é") is None
    assert signer.verify(token[:-2] + "\udcff") is None
