"""What a receiver puts in its DNS-SD record: its name and protocol version, nothing more.

mDNS is heard by every machine on the LAN, and a cast code is the secret of a room, so the
record holds nothing derived from the code: no tag a listener could test guesses against
offline. A sender checks the code online instead, with each candidate's service
(:mod:`castapp.discovery.probe`: a SPAKE2 exchange in which neither side sends the code, and
which the service counts against its join limits). ``docs/discovery.md`` has the reasoning.

Records from the network are hostile: :meth:`Advert.parse` bounds every field and refuses
anything it does not understand. Pure code: no sockets, no zeroconf.
"""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from castapp.links import make_link, service_url
from castapp.protocol import PROTOCOL_VERSION, SUPPORTED_VERSIONS

SERVICE_TYPE = "_castapp._tcp.local."
#: The code check scheme: ``p1`` = online SPAKE2 probe at ``POST /probe``.
CHECK_SCHEME = "p1"
MAX_NAME = 64
#: A record whose TXT data is larger than this is not read at all.
MAX_TXT_BYTES = 400


class AdvertError(ValueError):
    """A record that is not a castapp receiver's, or is malformed."""


def display_name(text: str) -> str:
    """A name fit to show: no control or format characters, at most ``MAX_NAME`` long."""
    kept = "".join(c for c in text if unicodedata.category(c)[0] != "C")
    return " ".join(kept.split())[:MAX_NAME]


@dataclass(frozen=True, slots=True)
class Advert:
    """The TXT record of one receiver's advert."""

    version: int
    name: str
    scheme: str = CHECK_SCHEME

    @classmethod
    def for_receiver(cls, name: str) -> Advert:
        return cls(PROTOCOL_VERSION, display_name(name))

    @property
    def compatible(self) -> bool:
        return self.version in SUPPORTED_VERSIONS

    def to_txt(self) -> dict[str, str]:
        return {"v": str(self.version), "n": self.name, "a": self.scheme}

    @classmethod
    def parse(cls, props: Mapping[bytes, bytes | None], size: int) -> Advert:
        """Read a TXT record (``size`` is its length on the wire); raises :class:`AdvertError`."""
        if size > MAX_TXT_BYTES:
            raise AdvertError("the record is too large")
        fields: dict[str, str] = {}
        for key, value in props.items():
            if key in (b"v", b"n", b"a"):
                if value is None:
                    raise AdvertError("a field has no value")
                try:
                    fields[key.decode()] = value.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise AdvertError("a field is not UTF-8") from exc
        try:
            version, name, scheme = fields["v"], fields["n"], fields["a"]
        except KeyError as exc:
            raise AdvertError(f"the record has no {exc.args[0]!r} field") from None
        if not version.isascii() or not version.isdigit() or len(version) > 4:
            raise AdvertError("the version is not a number")
        if len(name.encode()) > MAX_NAME * 4:
            raise AdvertError("the name is too long")
        if scheme != CHECK_SCHEME:
            raise AdvertError("unknown code check scheme")
        return cls(int(version), display_name(name), scheme)


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
    NO_ANSWER = "no_answer"  # no receiver proved this code within the time allowed
    #: no receiver proved the code, and one that speaks another protocol was seen (it may be
    #: the one: its code cannot be checked)
    INCOMPATIBLE = "incompatible"
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
    #: Some receiver's service is guarded (codes are being guessed there): the code alone is
    #: not enough; ask for the PIN the TV shows and look again with it.
    guarded: bool = False
