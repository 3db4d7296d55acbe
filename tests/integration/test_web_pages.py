"""The web pages the room service serves: strict headers, a fixed set of files, hostile input."""

from __future__ import annotations

import re

import aiohttp
import pytest

from castapp.signaling.pages import FILES, PAGES, QR_PATH

ALLOWED_SOURCES = {"'self'", "'none'", "blob:", "mediastream:"}


def base_of(server) -> str:
    return server.url.replace("ws://", "http://").removesuffix("/ws")


def parse_csp(header: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


def assert_strict(headers) -> None:
    csp = parse_csp(headers["Content-Security-Policy"])
    assert csp["default-src"] == ["'none'"]
    assert csp["script-src"] == ["'self'"]  # no inline script, no eval, no other host
    assert csp["frame-ancestors"] == ["'none'"] and csp["base-uri"] == ["'none'"]
    for directive, sources in csp.items():
        assert set(sources) <= ALLOWED_SOURCES, (directive, sources)
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"


async def test_every_page_and_file_has_a_strict_policy(server):
    base = base_of(server)
    async with aiohttp.ClientSession() as http:
        for path in [*PAGES, *(f"/web/{name}" for name in FILES)]:
            async with http.get(base + path) as res:
                assert res.status == 200, path
                assert_strict(res.headers)
                body = await res.text()
                # nothing is loaded from elsewhere: no address of another host in any file
                assert not re.search(r"(https?|wss?):/+[\w\[]", body), path
        async with http.get(base + "/") as res:
            page = await res.text()
        assert "<script>" not in page and " on" + "click=" not in page
        assert 'src="/web/sender.js"' in page


@pytest.mark.parametrize("path", ["/web/../pyproject.toml", "/web/%2e%2e/castapp/cli.py",
                                  "/web/__init__.py", "/web/", "/tv/../../etc/passwd",
                                  "/index.html"])
async def test_no_other_file_is_served(server, path):
    async with aiohttp.ClientSession() as http, http.get(base_of(server) + path) as res:
        assert res.status == 404


async def test_the_qr_drawing_takes_only_a_short_web_link(server):
    url = base_of(server) + QR_PATH
    async with aiohttp.ClientSession() as http:
        async with http.post(url, data=b"http://127.0.0.1:8765/#482913") as res:
            assert res.status == 200 and res.content_type == "image/svg+xml"
            svg = await res.text()
            assert svg.startswith("<svg") and "<script" not in svg
            assert_strict(res.headers)
        for bad in [b"javascript:alert(1)", b"http://", b"\xff\xfe", b"x" * 600,
                    b"http://a/\n<script>", b""]:
            async with http.post(url, data=bad) as res:
                assert res.status in (400, 413), bad
                assert "Traceback" not in await res.text()
        async with http.get(url) as res:  # only POST: the link never sits in an address
            assert res.status == 405
