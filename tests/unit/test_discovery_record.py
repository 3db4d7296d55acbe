"""The advert's TXT record: a name and a version, nothing derived from the code."""

import pytest

from castapp.discovery.probe import Prober, answer
from castapp.discovery.record import MAX_NAME, Advert, AdvertError, display_name
from castapp.protocol import PROTOCOL_VERSION


def wire(advert: Advert) -> tuple[dict[bytes, bytes | None], int]:
    txt = {k.encode(): v.encode() for k, v in advert.to_txt().items()}
    return txt, sum(1 + len(k) + 1 + len(v) for k, v in txt.items())


def test_the_record_names_the_receiver_and_nothing_else():
    advert = Advert.for_receiver("Living room TV")
    parsed = Advert.parse(*wire(advert))
    assert parsed == advert and parsed.compatible and parsed.version == PROTOCOL_VERSION
    assert set(advert.to_txt()) == {"v", "n", "a"}
    # the same for any code: there is nothing in it a listener could test a guess against
    assert Advert.for_receiver("TV").to_txt() == Advert.for_receiver("TV").to_txt()


def test_the_online_check_proves_the_code_without_sending_it():
    prober = Prober("482 913")
    assert b"482913" not in prober.request and b"482 913" not in prober.request
    assert Prober("482913").check(_encode(answer(Prober("482913").request, "482913", None))
                                  ).matches is False  # another exchange's reply
    same = Prober("482-913")
    assert same.check(_encode(answer(same.request, "482913", None))).matches
    wrong = Prober("482914")
    assert not wrong.check(_encode(answer(wrong.request, "482913", None))).matches
    # while guarded the PIN is part of the secret, and the reply says so
    guarded = Prober("482913")
    result = guarded.check(_encode(answer(guarded.request, "482913", "123456")))
    assert not result.matches and result.guarded
    with_pin = Prober("482913", "123456")
    assert with_pin.check(_encode(answer(with_pin.request, "482913", "123456"))).matches


def test_hostile_probe_traffic_fails_cleanly():
    for junk in (b"", b"{}", b'{"pake": "!!"}', b'{"pake": "' + b"A" * 400 + b'"}', b"[" * 999):
        with pytest.raises(ValueError):
            answer(junk, "482913", None)
        assert not Prober("482913").check(junk).matches
    assert not Prober("482913").check(b'{"pake": "AAAA", "confirm": "AAAA"}').matches


def _encode(reply: object) -> bytes:
    import msgspec

    return msgspec.json.encode(reply)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"v": "1" * 40}, "version"),
        ({"v": "-1"}, "version"),
        ({"v": "\u0661"}, "version"),  # an Arabic-Indic digit is not a version
        ({"a": "s1"}, "scheme"),  # the old offline-testable tag scheme is not read
        ({"n": None}, "no value"),
        ({"n": b"\xff\xfe"}, "UTF-8"),
    ],
)
def test_malformed_records_are_refused(change, words):
    txt, size = wire(Advert.for_receiver("TV"))
    for key, value in change.items():
        txt[key.encode()] = value.encode() if isinstance(value, str) else value
    with pytest.raises(AdvertError, match=words):
        Advert.parse(txt, size)


@pytest.mark.parametrize("missing", [b"v", b"n", b"a"])
def test_a_record_missing_a_field_is_refused(missing):
    txt, size = wire(Advert.for_receiver("TV"))
    del txt[missing]
    with pytest.raises(AdvertError, match="no"):
        Advert.parse(txt, size)


def test_an_oversized_record_is_not_read():
    txt, _ = wire(Advert.for_receiver("TV"))
    with pytest.raises(AdvertError, match="too large"):
        Advert.parse(txt, 401)


def test_unknown_fields_are_ignored_and_other_versions_are_read_but_not_compatible():
    txt, size = wire(Advert.for_receiver("TV"))
    txt[b"future"] = b"whatever"
    txt[b"v"] = b"99"
    advert = Advert.parse(txt, size)
    assert advert.version == 99 and not advert.compatible


def test_names_from_the_network_are_made_safe_to_show():
    assert display_name("Living\x00 room\u202e TV\n") == "Living room TV"
    assert len(display_name("x" * 500)) == MAX_NAME
    assert Advert.for_receiver("a\u0007b").name == "ab"
