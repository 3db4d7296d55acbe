"""A receiver's key pair, and the credential it keeps to hold on to its cast code.

A receiver makes an Ed25519 key pair on first start. The room service binds the receiver's
code to the public key: the token it issues names the key, and registering with that token
needs a signature over a nonce the service drew for this connection. A copied token, or a
recorded ``register`` message, is worth nothing without the private key.

The receiver keeps one string, its *credential* (``c1.<private key>.<token>``), in its state
directory (readable by its user only) and hands it back to :meth:`SignalingClient.register`
on the next start; every registration rotates the token inside it. The private key never
leaves the receiver. Nothing here is ever logged.
"""

from __future__ import annotations

import base64
import hashlib
import secrets

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

_PREFIX = "c1"
_CONTEXT = b"castapp register v1\x00"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    """Decode unpadded URL-safe base64; raises ValueError for anything else."""
    if not text.isascii():
        raise ValueError("not base64")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_id(public: bytes) -> str:
    """The stable, non-secret name of a public key (owner of the codes it holds)."""
    return b64(hashlib.sha256(b"castapp key\x00" + public).digest()[:12])


def proof_message(nonce: str, public: bytes, token: str) -> bytes:
    return _CONTEXT + nonce.encode() + b"\x00" + public + b"\x00" + token.encode()


def check_proof(nonce: str, key: str, proof: str, token: str) -> str | None:
    """The key id if ``proof`` signs this connection's ``nonce``, the key and the token; else
    None. Total over any input."""
    try:
        public = unb64(key)
        signature = unb64(proof)
        if len(public) != 32 or len(signature) != 64 or not nonce:
            return None
        Ed25519PublicKey.from_public_bytes(public).verify(
            signature, proof_message(nonce, public, token))
    except (ValueError, InvalidSignature):
        return None
    return key_id(public)


class ReceiverIdentity:
    """A receiver's private key and the latest token the service gave it."""

    def __init__(self, seed: bytes | None = None, token: str = "") -> None:
        self._seed = seed if seed is not None else secrets.token_bytes(32)
        self._private = Ed25519PrivateKey.from_private_bytes(self._seed)
        self.public = self._private.public_key().public_bytes_raw()
        self.token = token

    @classmethod
    def from_credential(cls, credential: str | None) -> ReceiverIdentity:
        """The identity a credential holds; a new key pair for None or anything unreadable
        (such as a bearer token from an older version: the receiver then gets a new code)."""
        if credential:
            parts = credential.split(".", 2)
            if len(parts) == 3 and parts[0] == _PREFIX:
                try:
                    seed = unb64(parts[1])
                except ValueError:
                    seed = b""
                if len(seed) == 32:
                    return cls(seed, parts[2])
        return cls()

    @property
    def credential(self) -> str:
        return f"{_PREFIX}.{b64(self._seed)}.{self.token}"

    @property
    def id(self) -> str:
        return key_id(self.public)

    def prove(self, nonce: str) -> tuple[str, str]:
        """(public key, signature) for ``register`` on a connection with ``nonce``."""
        sig = self._private.sign(proof_message(nonce, self.public, self.token))
        return b64(self.public), b64(sig)
