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
    ("text", "code"),
    [("482 913", "482913"), ("ab-cd-ef-gh", "ABCDEFGH"), ("castapp://10.0.0.1:8765/7TQK", "7TQK")],
)
def test_any_plausible_code_when_the_format_is_not_known(text, code):
    assert parse_cast_input(text, None).code == code


@pytest.mark.parametrize("text", ["12", "1" * 17, "48291!", "castapp://10.0.0.1:8765/12"])
def test_implausible_codes_are_refused_even_without_a_format(text):
    with pytest.raises(LinkError):
        parse_cast_input(text, None)
