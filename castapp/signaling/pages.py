"""The web pages the room service serves: the browser sender at ``/``, the browser TV at ``/tv``.

The pages are static files shipped in :mod:`castapp.web`. Every answer carries a strict
Content-Security-Policy: scripts, styles and connections only from the service's own origin,
no inline script, no framing, nothing loaded from elsewhere. ``POST /qr`` draws the QR code of
a link (the TV page's link to the sender page with its code in the fragment) as SVG with
segno; the link travels in the request body so it never appears in an address or a log.
"""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from importlib import resources
from urllib.parse import urlsplit

import segno
from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: The policy of every page and file served here.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
    "media-src 'self' blob: mediastream:; connect-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "display-capture=(self), camera=(), microphone=(), geolocation=()",
    "Cache-Control": "no-cache",
}
#: The files under ``/web/`` (a fixed list: no path from a request reaches the file system).
FILES = {
    "style.css": "text/css",
    "common.js": "text/javascript",
    "sender.js": "text/javascript",
    "tv.js": "text/javascript",
    "spake2.js": "text/javascript",
    "pairing.js": "text/javascript",
    "i18n.js": "text/javascript",
}
PAGES = {"/": "index.html", "/tv": "tv.html"}
QR_PATH = "/qr"
MAX_LINK = 512


def _read(name: str) -> bytes:
    return resources.files("castapp.web").joinpath(name).read_bytes()


def _answer(body: bytes, content_type: str) -> web.Response:
    return web.Response(body=body, content_type=content_type, charset="utf-8",
                        headers=SECURITY_HEADERS)


def qr_svg(link: str) -> bytes:
    """The QR code of ``link`` as a standalone SVG (black on white, with its quiet zone)."""
    out = io.BytesIO()
    segno.make(link, error="m", micro=False).save(out, kind="svg", scale=8, border=4,
                                                   xmldecl=False, svgns=True)
    return out.getvalue()


def _link_ok(link: str) -> bool:
    if not link or len(link) > MAX_LINK or not link.isprintable():
        return False
    parts = urlsplit(link)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def add_routes(app: web.Application) -> None:
    """Serve the pages, their files and the QR drawing on ``app``."""
    cache: dict[str, bytes] = {}

    def page(name: str, content_type: str) -> Handler:
        async def handler(request: web.Request) -> web.Response:
            if name not in cache:
                cache[name] = _read(name)
            return _answer(cache[name], content_type)
        return handler

    for path, name in PAGES.items():
        app.router.add_get(path, page(name, "text/html"))
    for name, content_type in FILES.items():
        app.router.add_get(f"/web/{name}", page(name, content_type))

    async def qr(request: web.Request) -> web.Response:
        if request.content_length is None or request.content_length > MAX_LINK:
            raise web.HTTPRequestEntityTooLarge(max_size=MAX_LINK,
                                                actual_size=request.content_length or 0,
                                                headers=SECURITY_HEADERS)
        try:
            link = (await request.read()).decode("utf-8")
        except UnicodeDecodeError:
            link = ""
        if not _link_ok(link):
            raise web.HTTPBadRequest(text="Send an http(s) link of at most 512 characters.",
                                     headers=SECURITY_HEADERS)
        return _answer(qr_svg(link), "image/svg+xml")

    app.router.add_post(QR_PATH, qr)
