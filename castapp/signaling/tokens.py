"""Receiver tokens: a secret that lets a receiver keep its cast code.

A token names its code and is signed with the service's room key, so it still proves
ownership after a restart of the service (the key lives in the state directory) or on
another instance sharing the key. Tokens never appear in logs; use :func:`token_id`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

_PREFIX = "t1"
_MAC_BYTES = 18
KEY_FILE = "room-key"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class TokenClaim:
    code: str
    #: A stable, non-secret id of the token (its nonce), used to tell owners apart.
    owner: str


class TokenSigner:
    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the room key must be at least 16 bytes")
        self._key = key

    @property
    def key(self) -> bytes:
        """The room key, for other values derived from it (the guard PIN)."""
        return self._key

    def mint(self, code: str) -> tuple[str, TokenClaim]:
        nonce = _b64(secrets.token_bytes(12))
        mac = self._mac(code, nonce)
        return f"{_PREFIX}.{_b64(code.encode())}.{nonce}.{mac}", TokenClaim(code, nonce)

    def verify(self, token: str) -> TokenClaim | None:
        """The claim a genuine token makes, or None for anything forged or malformed (total:
        never raises, whatever the text)."""
        if not isinstance(token, str) or not token.isascii() or len(token) > 256:
            return None
        parts = token.split(".")
        if len(parts) != 4 or parts[0] != _PREFIX:
            return None
        try:
            code = _unb64(parts[1]).decode()
        except (ValueError, UnicodeDecodeError, TypeError):
            return None
        nonce, mac = parts[2], parts[3]
        if not hmac.compare_digest(self._mac(code, nonce), mac):
            return None
        return TokenClaim(code, nonce)

    def label(self, code: str) -> str:
        """A short, non-secret name for a room, for logs: the code cannot be read back."""
        return hmac.new(self._key, b"label\x00" + code.encode(), hashlib.sha256).hexdigest()[:8]

    def _mac(self, code: str, nonce: str) -> str:
        msg = f"{code}\x00{nonce}".encode()
        return _b64(hmac.new(self._key, msg, hashlib.sha256).digest()[:_MAC_BYTES])


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
