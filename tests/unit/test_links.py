import base64

import pytest

from castapp.codes import CodeFormat
from castapp.links import LinkError, make_link, parse_cast_input, parse_link

FMT = CodeFormat()


@pytest.mark.parametrize(
    ("host", "port", "url"),
    [
        ("192.168.1.20", 8765, "ws://192.168.1.20:8765/ws"),
        ("cast.example.org", 9000, "ws://cast.example.org:9000/ws"),
        ("fe80::1%eth0", 8765, "ws://[fe80::1%25eth0]:8765/ws"),
    ],
)
def test_link_round_trip(host, port, url):
    link = make_link(host, port, "482913")
    target = parse_link(link, FMT)
    assert (target.code, target.host, target.port) == ("482913", host, port)
    assert target.server_url == url


def test_tls_link():
    target = parse_link(make_link("cast.example.org", 443, "482913", tls=True), FMT)
    assert target.tls and target.server_url == "wss://cast.example.org:443/ws"


@pytest.mark.parametrize("text", ["482 913", " 482-913 ", "\uff14\uff18\uff12\uff19\uff11\uff13"])
def test_plain_codes_have_no_host(text):
    target = parse_cast_input(text, FMT)
    assert target.code == "482913" and target.host is None and target.server_url is None


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("castapp://10.0.0.1:8765/12", "valid code"),
        ("castapp:///482913", "host"),
        ("castapp://bad host:1/482913", "host"),
        ("castapp://10.0.0.1:99999/482913", "address"),
        ("castapp://" + "a" * 600, "too long"),
        ("hello", "not a valid code"),
    ],
)
def test_bad_input_says_what_is_wrong(text, words):
    with pytest.raises(LinkError, match=words):
        parse_cast_input(text, FMT)


@pytest.mark.parametrize(
    ("text", "ok", "missing", "problem"),
    [
        ("", False, 6, False),
        ("48", False, 4, False),
        ("482 9", False, 2, False),
        ("482 913", True, 0, False),
        ("4829134", False, 0, True),
        ("48a", False, 0, True),
        ("castapp://10.0.0.1:8765/482913", True, 0, False),
        ("castapp://10.0.0.1:8765/48", False, 0, True),
    ],
)
def test_check_input_as_you_type(text, ok, missing, problem):
    from castapp.links import check_input

    check = check_input(text, FMT)
    assert check.ok is ok
    assert check.missing == missing
    assert (check.problem is not None) is problem


@pytest.mark.parametrize(
    ("text", "url"),
    [
        ("", None),
        ("10.0.0.5", "ws://10.0.0.5:8765/ws"),
        ("tv.local:9000", "ws://tv.local:9000/ws"),
        ("wss://cast.example.org", "wss://cast.example.org:8765/ws"),
        ("wss://cast.example.org:443/ws", "wss://cast.example.org:443/ws"),
    ],
)
def test_server_field(text, url):
    from castapp.links import server_url_from_text

    assert server_url_from_text(text) == url


@pytest.mark.parametrize("text", ["ftp://x", "ws://:80", "host:notaport", "a b:1"])
def test_bad_server_field(text):
    from castapp.links import server_url_from_text

    with pytest.raises(LinkError):
        server_url_from_text(text)


@pytest.mark.parametrize(
    ("text", "code"),
    [("482 913", "482913"), ("ab-cd-ef-gh", "ABCDEFGH"), ("castapp://10.0.0.1:8765/7TQK", "7TQK")],
)
def test_any_plausible_code_when_the_format_is_not_known(text, code):
    assert parse_cast_input(text, None).code == code


@pytest.mark.parametrize("text", ["12", "1" * 17, "48291!", "castapp://10.0.0.1:8765/12"])
def test_implausible_codes_are_refused_even_without_a_format(text):
    with pytest.raises(LinkError):
        parse_cast_input(text, None)


@pytest.mark.parametrize(
    ("text", "host", "port", "tls"),
    [
        ("http://192.168.1.20:8765/#482913", "192.168.1.20", 8765, False),
        ("http://192.168.1.20:8765/?code=482-913", "192.168.1.20", 8765, False),
        ("https://cast.example.org/#482 913", "cast.example.org", 443, True),
        ("HTTP://[fe80::1%25eth0]:8765/#482913", "fe80::1%eth0", 8765, False),
    ],
)
def test_web_links_of_the_qr_code_are_accepted(text, host, port, tls):
    target = parse_cast_input(text, FMT)
    assert (target.code, target.host, target.port, target.tls) == ("482913", host, port, tls)


def test_the_qr_code_holds_the_sender_page_and_the_app_form_still_works():
    from castapp.links import make_app_link

    assert make_link("10.0.0.1", 8765, "482913") == "http://10.0.0.1:8765/#482913"
    assert make_link("cast.example.org", 443, "482913", tls=True) == (
        "https://cast.example.org:443/#482913")
    app = parse_cast_input(make_app_link("10.0.0.1", 8765, "482913"), FMT)
    assert (app.code, app.host, app.port) == ("482913", "10.0.0.1", 8765)


@pytest.mark.parametrize("text", ["http://10.0.0.1:8765/", "https://10.0.0.1/#48",
                                  "http:///#482913", "ftp://10.0.0.1/#482913"])
def test_bad_web_links_say_what_is_wrong(text):
    from castapp.links import check_input

    with pytest.raises(LinkError):
        parse_cast_input(text, FMT)
    assert check_input(text, FMT).problem is not None or text.startswith("ftp")


PIN = "AB:" * 31 + "CD"


def test_an_https_link_names_the_receivers_certificate_and_the_page_ignores_it() -> None:
    link = make_link("192.168.1.20", 8766, "482913", tls=True, pin=PIN)
    short = base64.urlsafe_b64encode(bytes.fromhex("ab" * 31 + "cd")).decode().rstrip("=")
    assert link == f"https://192.168.1.20:8766/?pin={short}#482913" and len(short) == 43
    target = parse_link(link, None)
    assert (target.code, target.port, target.tls) == ("482913", 8766, True)
    assert target.pin == "ab" * 31 + "cd"
    assert target.server_url == f"wss://192.168.1.20:8766/ws#pin={'ab' * 31}cd"
    # plain http never carries one; a link without it trusts the machine's authorities
    assert make_link("192.168.1.20", 8765, "482913", pin=PIN) == "http://192.168.1.20:8765/#482913"
    assert parse_link("https://cast.example.org/#482913", None).server_url == \
        "wss://cast.example.org:443/ws"


def test_a_bad_certificate_fingerprint_in_a_link_is_refused_in_words() -> None:
    with pytest.raises(LinkError, match="fingerprint"):
        parse_link("https://192.168.1.20:8766/?pin=abc#482913", None)
    with pytest.raises(LinkError, match="fingerprint"):
        parse_link("https://192.168.1.20:8766/?pin=" + "A" * 42 + "B#482913", None)


def test_the_client_reads_the_pin_from_the_urls_fragment_only_for_wss() -> None:
    from castapp.signaling.client import pinned

    assert pinned("wss://h:1/ws#pin=" + "ab" * 32) == ("wss://h:1/ws", bytes.fromhex("ab" * 32))
    assert pinned("ws://h:1/ws#pin=" + "ab" * 32) == ("ws://h:1/ws", None)
    assert pinned("wss://h:1/ws#pin=zz") == ("wss://h:1/ws", None)
    assert pinned("wss://h:1/ws") == ("wss://h:1/ws", None)
