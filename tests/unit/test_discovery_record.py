"""The advert's TXT record: the code never appears, a sender who knows it recognises it."""

import pytest

from castapp.discovery.record import (
    MAX_NAME,
    SALT_BYTES,
    TAG_BYTES,
    Advert,
    AdvertError,
    code_tag,
    display_name,
)
from castapp.protocol import PROTOCOL_VERSION

WHERE = (8765, ["10.10.0.11"])


def wire(advert: Advert) -> tuple[dict[bytes, bytes | None], int]:
    txt = {k.encode(): v.encode() for k, v in advert.to_txt().items()}
    return txt, sum(1 + len(k) + 1 + len(v) for k, v in txt.items())


def test_a_sender_with_the_code_recognises_the_advert_however_it_typed_it():
    advert = Advert.for_code("482913", "Living room TV", *WHERE)
    parsed = Advert.parse(*wire(advert))
    assert parsed == advert
    assert parsed.matches("482 913", *WHERE) and parsed.matches("482-913", *WHERE)
    assert parsed.matches("\uff14\uff18\uff12\uff19\uff11\uff13", *WHERE)  # full-width digits
    assert not parsed.matches("482914", *WHERE)
    assert parsed.compatible and parsed.version == PROTOCOL_VERSION


def test_the_code_is_nowhere_in_the_record_and_each_advert_has_its_own_salt():
    a = Advert.for_code("482913", "TV", *WHERE)
    b = Advert.for_code("482913", "TV", *WHERE)
    for advert in (a, b):
        text = repr(wire(advert)[0])
        assert "482913" not in text and "482 913" not in text
    assert a.salt != b.salt and len(a.salt) == SALT_BYTES
    assert len(a.tag) == TAG_BYTES  # 16 bits: about 15 six-digit codes share each tag
    # the tag tells an advert's code from others only together with its own salt
    tags = {code_tag("482913", bytes([i]) * SALT_BYTES, *WHERE) for i in range(32)}
    assert len(tags) > 24


def test_a_copied_record_does_not_match_at_another_address_or_port():
    advert = Advert.for_code("482913", "TV", 8765, ["10.10.0.11", "192.168.1.5"])
    assert advert.matches("482913", 8765, ["192.168.1.5", "10.10.0.11"])  # order is free
    assert not advert.matches("482913", 8765, ["10.10.0.66"])
    assert not advert.matches("482913", 8766, ["10.10.0.11", "192.168.1.5"])
    assert not advert.matches("482913", 8765, ["10.10.0.11"])


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"s": "zz" * SALT_BYTES}, "salt"),
        ({"s": "00"}, "salt"),
        ({"t": "abc"}, "tag"),
        ({"t": "ABCD"}, "tag"),  # hex is lower case
        ({"v": "1" * 40}, "version"),
        ({"v": "-1"}, "version"),
        ({"v": "\u0661"}, "version"),  # an Arabic-Indic digit is not a version
        ({"a": "s0"}, "scheme"),
        ({"n": None}, "no value"),
        ({"t": None}, "no value"),
        ({"n": b"\xff\xfe"}, "UTF-8"),
    ],
)
def test_malformed_records_are_refused(change, words):
    txt, size = wire(Advert.for_code("482913", "TV", *WHERE))
    for key, value in change.items():
        txt[key.encode()] = value.encode() if isinstance(value, str) else value
    with pytest.raises(AdvertError, match=words):
        Advert.parse(txt, size)


@pytest.mark.parametrize("missing", [b"v", b"n", b"a", b"s", b"t"])
def test_a_record_missing_a_field_is_refused(missing):
    txt, size = wire(Advert.for_code("482913", "TV", *WHERE))
    del txt[missing]
    with pytest.raises(AdvertError, match="no"):
        Advert.parse(txt, size)


def test_an_oversized_record_is_not_read():
    txt, _ = wire(Advert.for_code("482913", "TV", *WHERE))
    with pytest.raises(AdvertError, match="too large"):
        Advert.parse(txt, 401)


def test_unknown_fields_are_ignored_and_other_versions_are_read_but_not_compatible():
    txt, size = wire(Advert.for_code("482913", "TV", *WHERE))
    txt[b"future"] = b"whatever"
    txt[b"v"] = b"99"
    advert = Advert.parse(txt, size)
    assert advert.version == 99 and not advert.compatible
    assert advert.matches("482913", *WHERE)


def test_names_from_the_network_are_made_safe_to_show():
    assert display_name("Living\x00 room\u202e TV\n") == "Living room TV"
    assert len(display_name("x" * 500)) == MAX_NAME
    advert = Advert.for_code("482913", "a\u0007b", *WHERE)
    assert advert.name == "ab"
