"""Receiver tokens: what lets a receiver keep its cast code, bound to the receiver's key.

A token names its code, the id of the receiver's public key (see
:mod:`castapp.signaling.identity`), when it was issued and when it expires, and is signed with
the service's room key, so it still proves ownership after a restart of the service (the key
lives in the state directory) or on another instance sharing the key. It is *not* a bearer
secret: using it needs a signature by the receiver's private key over a per-connection nonce.
Tokens expire (``ttl``) and are rotated at every registration; leaving a room revokes every
token issued for it until then. Tokens never appear in logs; use :meth:`TokenSigner.label`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

_PREFIX = "t2"
_MAC_BYTES = 18
KEY_FILE = "room-key"
#: How long a token stays good if its receiver never registers again (30 days).
TOKEN_TTL_S = 30 * 24 * 3600.0


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class TokenClaim:
    code: str
    #: The id of the receiver key the code is bound to (non-secret): the room's owner.
    owner: str
    issued: int
    expires: int


class TokenSigner:
    def __init__(self, key: bytes, ttl: float = TOKEN_TTL_S) -> None:
        if len(key) < 16:
            raise ValueError("the room key must be at least 16 bytes")
        self._key = key
        self.ttl = ttl

    @property
    def key(self) -> bytes:
        """The room key, for other values derived from it (the guard PIN)."""
        return self._key

    def mint(self, code: str, owner: str, now: float) -> tuple[str, TokenClaim]:
        claim = TokenClaim(code, owner, int(now), int(now + self.ttl))
        body = (f"{_PREFIX}.{_b64(code.encode())}.{owner}.{claim.issued}.{claim.expires}."
                f"{_b64(secrets.token_bytes(6))}")
        return f"{body}.{self._mac(body)}", claim

    def verify(self, token: str, now: float) -> TokenClaim | None:
        """The claim a genuine, unexpired token makes, or None for anything forged, expired
        or malformed (total: never raises, whatever the text)."""
        if not isinstance(token, str) or not token.isascii() or len(token) > 256:
            return None
        parts = token.split(".")
        if len(parts) != 7 or parts[0] != _PREFIX:
            return None
        body, mac = token.rsplit(".", 1)
        if not hmac.compare_digest(self._mac(body), mac):
            return None
        try:
            code = _unb64(parts[1]).decode()
            issued, expires = int(parts[3]), int(parts[4])
        except (ValueError, UnicodeDecodeError, TypeError):
            return None
        if expires <= now:
            return None
        return TokenClaim(code, parts[2], issued, expires)

    def label(self, code: str) -> str:
        """A short, non-secret name for a room, for logs: the code cannot be read back."""
        return hmac.new(self._key, b"label\x00" + code.encode(), hashlib.sha256).hexdigest()[:8]

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest()[:_MAC_BYTES])


def load_or_create_key(state_dir: Path) -> bytes:
    """The room key kept in ``state_dir``; made (readable by the owner only) on first use."""
    path = state_dir / KEY_FILE
    try:
        key = path.read_bytes()
        if len(key) >= 16:
            return key
    except FileNotFoundError:
        pass
    state_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    os.replace(tmp, path)
    return key
