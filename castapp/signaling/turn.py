"""ICE servers for clients, with TURN credentials minted by coturn's REST-API scheme.

username = ``<expiry unix seconds>:<id>``; credential = base64(HMAC-SHA1(secret, username)).
The shared secret never leaves the service.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field

from castapp.protocol import IceServer

DEFAULT_TTL_S = 3600


def turn_credential(secret: str, username: str) -> str:
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _scheme(url: str) -> str:
    return url.split(":", 1)[0].lower()


def check_url(url: str) -> str:
    """Validate a ``stun:``/``turn:``/``turns:`` URL given on the command line."""
    if _scheme(url) not in ("stun", "stuns", "turn", "turns") or ":" not in url:
        raise ValueError(f"not a STUN or TURN URL: {url!r}")
    return url


@dataclass(frozen=True)
class IceConfig:
    stun: tuple[str, ...] = ()
    turn: tuple[str, ...] = ()
    turn_secret: str | None = None
    ttl_s: int = DEFAULT_TTL_S
    extra: tuple[IceServer, ...] = field(default=())

    def __post_init__(self) -> None:
        for url in (*self.stun, *self.turn):
            check_url(url)
        if self.turn and not self.turn_secret:
            raise ValueError("TURN servers need a shared secret (--turn-secret)")
        if not 60 <= self.ttl_s <= 7 * 86400:
            raise ValueError("the TURN credential lifetime must be 60 s to 7 days")

    def servers_for(self, client_id: str, now: float) -> list[IceServer]:
        """The ICE servers handed to one client; empty when none are configured."""
        out: list[IceServer] = []
        if self.stun:
            out.append(IceServer(urls=list(self.stun)))
        if self.turn and self.turn_secret:
            username = f"{int(now) + self.ttl_s}:{client_id}"
            out.append(
                IceServer(
                    urls=list(self.turn),
                    username=username,
                    credential=turn_credential(self.turn_secret, username),
                )
            )
        out.extend(self.extra)
        return out
