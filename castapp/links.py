"""Links: a receiver's room service address and code in one string.

The receiver's QR code holds the room service's web page with the code in the fragment, which
a phone camera or any browser opens (the fragment never reaches the service)::

    http://192.168.1.20:8765/#482913
    https://cast.example.org:443/#482913
    https://192.168.1.20:8766/?pin=<sha256, base64url>#482913

A receiver that serves HTTPS with a certificate of its own puts the certificate's SHA-256 in
the link (``pin``): the desktop sender then trusts that one certificate, and no other, on
that address. The browser ignores it.

The desktop sender accepts that link, pasted instead of a code, and the ``castapp://`` form::

    castapp://192.168.1.20:8765/482913
    castapp://[fe80::1%25eth0]:8765/482913
    castapp://cast.example.org:443/482913?tls=1

Everything here is pure parsing: no network, no Qt.
"""

from __future__ import annotations

import base64
import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, quote, unquote, urlsplit

from castapp.codes import CodeFormat, clean

SCHEME = "castapp"
WEB_SCHEMES = ("http", "https")
DEFAULT_PORT = 8765
_MAX_INPUT = 512
_LOOSE_CODE = re.compile(r"^[A-Z0-9]{4,16}$")
_PIN = re.compile(r"^[0-9a-f]{64}$")
_PIN_B64 = re.compile(r"^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9.])*$")


class LinkError(ValueError):
    """What was typed or scanned is neither a code nor a castapp link."""


@dataclass(frozen=True, slots=True)
class CastTarget:
    """Where to cast: a code, and the room service to find it on (None: discover it)."""

    code: str
    host: str | None = None
    port: int | None = None
    tls: bool = False
    #: SHA-256 (hex) of the one certificate to trust on ``host`` (a receiver's own), or None.
    pin: str | None = None

    @property
    def server_url(self) -> str | None:
        """The WebSocket URL of the room service, or None when the link named no host (a
        pinned certificate rides in the URL's fragment, which is never sent)."""
        if self.host is None:
            return None
        url = service_url(self.host, self.port or DEFAULT_PORT, tls=self.tls)
        return f"{url}#pin={self.pin}" if self.pin and self.tls else url


def _host_for_url(host: str) -> str:
    try:
        addr = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host
    if addr.version == 6:
        return "[" + host.replace("%", "%25") + "]"
    return host


def service_url(host: str, port: int, *, tls: bool = False) -> str:
    """The room service's WebSocket URL for a host and port."""
    return f"{'wss' if tls else 'ws'}://{_host_for_url(host)}:{port}/ws"


def make_link(host: str, port: int, code: str, *, tls: bool = False,
              pin: str | None = None) -> str:
    """The link for a receiver's QR code: ``http(s)://host:port/#code`` (the sender page);
    ``pin``: the SHA-256 of the receiver's own certificate (any case, colons or not)."""
    query = f"?pin={pin_b64(pin)}" if pin and tls else ""
    return (f"{'https' if tls else 'http'}://{_host_for_url(host)}:{port}/{query}"
            f"#{quote(code, safe='')}")


def pin_hex(fingerprint: str) -> str:
    """A SHA-256 fingerprint (hex, any case, colons or not; or the 43 characters of its
    unpadded base64url form) as 64 lower-case hex digits; raises ValueError otherwise."""
    text = fingerprint.replace(":", "").strip()
    if _PIN_B64.match(text):
        return base64.urlsafe_b64decode(text + "=").hex()
    text = text.lower()
    if not _PIN.match(text):
        raise ValueError("not a SHA-256 fingerprint")
    return text


def pin_b64(fingerprint: str) -> str:
    """The link's short form of a SHA-256 fingerprint: 43 characters of base64url, so the QR
    code stays easy to scan."""
    return base64.urlsafe_b64encode(bytes.fromhex(pin_hex(fingerprint))).decode().rstrip("=")


def make_app_link(host: str, port: int, code: str, *, tls: bool = False) -> str:
    """The ``castapp://host:port/code`` form of a receiver's link."""
    link = f"{SCHEME}://{_host_for_url(host)}:{port}/{quote(code, safe='')}"
    return link + ("?tls=1" if tls else "")


def is_link(text: str) -> bool:
    """Whether ``text`` starts like a link (``castapp:``, ``http:`` or ``https:``)."""
    head = text.strip().lower()
    return any(head.startswith(scheme + ":") for scheme in (SCHEME, *WEB_SCHEMES))


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
        return True
    except ValueError:
        return bool(_HOSTNAME.match(host))


def _normalize(text: str, fmt: CodeFormat | None) -> str | None:
    """The canonical code; with no format, any 4 to 16 letters and digits."""
    if fmt is not None:
        return fmt.normalize(text)
    code = clean(text)
    return code if _LOOSE_CODE.match(code) else None


def parse_link(text: str, fmt: CodeFormat | None) -> CastTarget:
    """Read a ``castapp://`` or ``http(s)://`` link; raises :class:`LinkError` saying what is
    wrong."""
    if len(text) > _MAX_INPUT:
        raise LinkError("the link is too long")
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError as exc:
        raise LinkError("the link's address is not valid") from exc
    scheme = parts.scheme.lower()
    if scheme not in (SCHEME, *WEB_SCHEMES):
        raise LinkError("not a castapp link")
    host = unquote(parts.hostname or "")
    if not host or not _valid_host(host):
        raise LinkError("the link has no valid host")
    if scheme in WEB_SCHEMES:  # the sender page: the code in the fragment (or ?code=)
        tls = scheme == "https"
        raw = parts.fragment or parse_qs(parts.query).get("code", [""])[0]
        code = _normalize(unquote(raw), fmt)
        if code is None:
            raise LinkError("the link does not hold a valid code")
        pins = parse_qs(parts.query).get("pin", [])
        try:
            pin = pin_hex(pins[0]) if pins and tls else None
        except ValueError:
            raise LinkError("the link's certificate fingerprint is not valid") from None
        return CastTarget(code=code, host=host, port=port or (443 if tls else 80), tls=tls,
                          pin=pin)
    code = _normalize(unquote(parts.path.lstrip("/")), fmt)
    if code is None:
        raise LinkError("the link does not hold a valid code")
    query = parse_qs(parts.query)
    tls = query.get("tls", ["0"])[0] in ("1", "true", "yes")
    return CastTarget(code=code, host=host, port=port or DEFAULT_PORT, tls=tls)


def parse_cast_input(text: str, fmt: CodeFormat | None) -> CastTarget:
    """What a person typed, pasted or scanned: a bare code or a castapp link.

    ``fmt`` is the code format of the room service when it is known; None accepts any code of
    4 to 16 letters and digits (the service will say whether it exists).
    """
    stripped = text.strip()
    if is_link(stripped):
        return parse_link(stripped, fmt)
    if len(stripped) > _MAX_INPUT:
        raise LinkError("not a valid code")
    code = _normalize(stripped, fmt)
    if code is None:
        raise LinkError("not a valid code")
    return CastTarget(code=code)


@dataclass(frozen=True, slots=True)
class InputCheck:
    """How far what is being typed is from a usable code or link (for as-you-type hints)."""

    target: CastTarget | None = None
    #: Symbols still missing from a code typed so far (0 when complete or invalid).
    missing: int = 0
    #: Why it cannot become a code or link; None while it still can.
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.target is not None


def check_input(text: str, fmt: CodeFormat) -> InputCheck:
    stripped = text.strip()
    if not stripped:
        return InputCheck(missing=fmt.length)
    try:
        return InputCheck(target=parse_cast_input(stripped, fmt))
    except LinkError as exc:
        if is_link(stripped):
            return InputCheck(problem=str(exc))
    typed = fmt.typed_so_far(stripped)
    if typed is not None and typed < fmt.length:
        return InputCheck(missing=fmt.length - typed)
    return InputCheck(problem="not a valid code")


def server_url_from_text(text: str) -> str | None:
    """A room service address as a person types it (``host``, ``host:port``, ``ws://…``).

    Returns the WebSocket URL, None for an empty field; raises :class:`LinkError`.
    """
    text = text.strip()
    if not text:
        return None
    if len(text) > _MAX_INPUT:
        raise LinkError("the address is too long")
    if "://" not in text:
        text = "ws://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise LinkError("the address is not valid") from exc
    if parts.scheme not in ("ws", "wss", "http", "https"):
        raise LinkError("the address must start with ws:// or wss://")
    host = parts.hostname or ""
    if not host or not _valid_host(host):
        raise LinkError("the address has no valid host")
    tls = parts.scheme in ("wss", "https")
    return service_url(host, port or DEFAULT_PORT, tls=tls)
