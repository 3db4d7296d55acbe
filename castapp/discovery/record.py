"""What a receiver puts in its DNS-SD record, and how a sender checks it against a code.

mDNS is heard by every machine on the LAN, and a cast code is the secret of a room, so the
record never holds the code. It holds a *code tag* instead: a short scrypt digest of the code,
the service's port and addresses, under a random salt drawn for each advert. A sender who knows
the code computes the same tag and recognises the receiver; a listener learns only 16 bits
about the code, and each guess costs it a memory-hard hash that is good for one advert only.
Because the port and addresses are inside the tag, copying a receiver's record into an advert
for another machine does not lure senders there. ``docs/discovery.md`` has the reasoning and
its limits.

Records from the network are hostile: :meth:`Advert.parse` bounds every field and refuses
anything it does not understand. Pure code: no sockets, no zeroconf.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import secrets
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from castapp.codes import clean
from castapp.links import make_link, service_url
from castapp.protocol import PROTOCOL_VERSION, SUPPORTED_VERSIONS

SERVICE_TYPE = "_castapp._tcp.local."
#: The tag scheme: scrypt(n=2**14, r=8, p=1) of the code, first 16 bits.
TAG_SCHEME = "s1"
SALT_BYTES = 8
TAG_BYTES = 2
MAX_NAME = 64
#: A record whose TXT data is larger than this is not read at all.
MAX_TXT_BYTES = 400
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 16}
_PERSON = b"castapp code tag\x00"
_HEX = re.compile(r"^[0-9a-f]+$")


class AdvertError(ValueError):
    """A record that is not a castapp receiver's, or is malformed."""


def code_tag(code: str, salt: bytes, port: int, addresses: Iterable[str]) -> bytes:
    """The tag of ``code`` (as typed: spaces and case do not matter) for a service at
    ``addresses`` (in any order) and ``port``, under ``salt``."""
    where = ",".join(sorted(set(addresses))) + f"|{port}|"
    digest = hashlib.scrypt(clean(code).encode(), salt=_PERSON + where.encode() + salt,
                            **_SCRYPT)
    return digest[:TAG_BYTES]


def display_name(text: str) -> str:
    """A name fit to show: no control or format characters, at most ``MAX_NAME`` long."""
    kept = "".join(c for c in text if unicodedata.category(c)[0] != "C")
    return " ".join(kept.split())[:MAX_NAME]


@dataclass(frozen=True, slots=True)
class Advert:
    """The TXT record of one receiver's advert."""

    version: int
    name: str
    salt: bytes
    tag: bytes
    scheme: str = TAG_SCHEME

    @classmethod
    def for_code(cls, code: str, name: str, port: int, addresses: Iterable[str], *,
                 salt: bytes | None = None) -> Advert:
        """A fresh advert for ``code`` served at ``addresses`` and ``port``, with a new random
        salt unless one is given."""
        salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
        return cls(PROTOCOL_VERSION, display_name(name), salt,
                   code_tag(code, salt, port, addresses))

    def matches(self, code: str, port: int, addresses: Iterable[str]) -> bool:
        """Whether ``code`` at ``addresses`` and ``port`` (as resolved from the advert) has
        this advert's tag. Costs one scrypt: run it off the event loop."""
        if self.scheme != TAG_SCHEME:
            return False
        return hmac.compare_digest(code_tag(code, self.salt, port, addresses), self.tag)

    @property
    def compatible(self) -> bool:
        return self.version in SUPPORTED_VERSIONS

    def to_txt(self) -> dict[str, str]:
        return {"v": str(self.version), "n": self.name, "a": self.scheme,
                "s": self.salt.hex(), "t": self.tag.hex()}

    @classmethod
    def parse(cls, props: Mapping[bytes, bytes | None], size: int) -> Advert:
        """Read a TXT record (``size`` is its length on the wire); raises :class:`AdvertError`."""
        if size > MAX_TXT_BYTES:
            raise AdvertError("the record is too large")
        fields: dict[str, str] = {}
        for key, value in props.items():
            if key in (b"v", b"n", b"a", b"s", b"t"):
                if value is None:
                    raise AdvertError("a field has no value")
                try:
                    fields[key.decode()] = value.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise AdvertError("a field is not UTF-8") from exc
        try:
            version, name, scheme = fields["v"], fields["n"], fields["a"]
            salt, tag = fields["s"], fields["t"]
        except KeyError as exc:
            raise AdvertError(f"the record has no {exc.args[0]!r} field") from None
        if not version.isascii() or not version.isdigit() or len(version) > 4:
            raise AdvertError("the version is not a number")
        if len(name.encode()) > MAX_NAME * 4:
            raise AdvertError("the name is too long")
        if scheme != TAG_SCHEME:
            raise AdvertError("unknown tag scheme")
        if len(salt) != SALT_BYTES * 2 or not _HEX.match(salt):
            raise AdvertError("the salt is malformed")
        if len(tag) != TAG_BYTES * 2 or not _HEX.match(tag):
            raise AdvertError("the tag is malformed")
        return cls(int(version), display_name(name), bytes.fromhex(salt), bytes.fromhex(tag),
                   scheme)


@dataclass(frozen=True, slots=True)
class Receiver:
    """A receiver found on the LAN whose advert matches the code being looked for."""

    name: str
    host: str
    port: int
    #: Every IPv4 address it advertised, in its order of preference; ``host`` is the first.
    addresses: tuple[str, ...]
    #: The DNS-SD instance name: tells receivers apart (to skip one that refused the code).
    instance: str
    version: int

    @property
    def server_url(self) -> str:
        return service_url(self.host, self.port)

    def link(self, code: str) -> str:
        return make_link(self.host, self.port, code)


class NotFoundReason(enum.Enum):
    NO_ANSWER = "no_answer"  # nothing advertised this code within the time allowed
    INCOMPATIBLE = "incompatible"  # a receiver has this code but speaks another protocol
    NO_NETWORK = "no_network"  # no usable network interface to look on


@dataclass(frozen=True, slots=True)
class NotFound:
    """Nothing answered for the code: the UI offers to enter an address instead."""

    reason: NotFoundReason
    #: How many castapp receivers answered at all (none of them with this code).
    seen: int = 0
    #: For ``INCOMPATIBLE``: the receiver's display name and protocol version.
    name: str | None = None
    version: int | None = None
