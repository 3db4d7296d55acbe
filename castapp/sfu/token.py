"""Short-lived Janus tokens, minted by the room service like TURN credentials.

Janus checks HMAC-signed tokens itself when it runs with ``token_auth = true`` and
``token_auth_secret`` (the secret the room service is given with ``--sfu-secret``):
token = ``<expiry>,janus,janus.plugin.videoroom:<base64(HMAC-SHA1(secret, data))>`` where
data is the part before the colon. The secret never leaves the service; a token opens a
session on the SFU until its expiry and reaches the VideoRoom plugin only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from castapp.protocol import SfuAccess

DEFAULT_TTL_S = 3600
PLUGIN = "janus.plugin.videoroom"


def mint_token(secret: str, expires: int, plugins: tuple[str, ...] = (PLUGIN,)) -> str:
    data = ",".join((str(int(expires)), "janus", *plugins))
    digest = hmac.new(secret.encode(), data.encode(), hashlib.sha1).digest()
    return f"{data}:{base64.b64encode(digest).decode()}"


def check_sfu_url(url: str) -> str:
    """Validate the SFU's WebSocket URL given on the command line."""
    if not url.startswith(("ws://", "wss://")) or len(url) > 512 or " " in url:
        raise ValueError(f"not a WebSocket URL for the SFU: {url!r}")
    return url


@dataclass(frozen=True)
class SfuConfig:
    """What ``castapp serve --sfu URL --sfu-secret S`` hands to clients."""

    url: str
    secret: str
    ttl_s: int = DEFAULT_TTL_S

    def __post_init__(self) -> None:
        check_sfu_url(self.url)
        if not self.secret:
            raise ValueError("the SFU needs a shared secret (--sfu-secret)")
        if not 60 <= self.ttl_s <= 86400:
            raise ValueError("the SFU token lifetime must be 60 s to 1 day")

    def access(self, now: float) -> SfuAccess:
        expires = int(now) + self.ttl_s
        return SfuAccess(url=self.url, token=mint_token(self.secret, expires),
                         expires=expires)
