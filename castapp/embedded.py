"""The room service inside a receiver's process, found on the LAN by its code.

On a home or office network nobody runs a server: the receiver starts the room service on all
interfaces (port 8765, or any free port when that one is taken), registers with it over
loopback and advertises itself over mDNS by name (its code is checked online, never advertised)
and answers discovery probes. A receiver pointed at a
standalone service creates none of this.

With ``https_dir`` it also serves the pages and ``/ws`` over HTTPS on a second port (8766,
or any free one), with the self-signed certificate kept in that folder
(:mod:`castapp.selfsigned`): a guest's browser can share a screen only from a secure page.
castapp senders keep using plain ``ws://`` on the first port (their pairing over the code
protects the media), and discovery probes go there too.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
from collections.abc import Collection
from pathlib import Path

from castapp.app.platform import raise_open_file_limit
from castapp.discovery.interfaces import (
    Kind,
    NetAddress,
    choose_addresses,
    classify,
    local_addresses,
)
from castapp.discovery.mdns import Advertiser
from castapp.links import DEFAULT_PORT, make_link
from castapp.selfsigned import Identity, load_or_create
from castapp.signaling.server import RoomServer, ServiceConfig
from castapp.signaling.tokens import TokenSigner

log = logging.getLogger(__name__)

_ALL = ("0.0.0.0", "")
#: Bind errors that a free port cures; anything else (a wrong address) is reported.
_PORT_ERRORS = (errno.EADDRINUSE, errno.EACCES)
#: Where the HTTPS pages listen (the next port after the service's).
HTTPS_PORT = DEFAULT_PORT + 1


async def start_room_server(config: ServiceConfig, signer: TokenSigner) -> RoomServer:
    """Start a room service on ``config.port``, or on any free port when that one is taken."""
    raise_open_file_limit()
    server = RoomServer(config, signer)
    try:
        await server.start()
        return server
    except OSError as exc:
        await server.stop()
        if config.port == 0 or exc.errno not in _PORT_ERRORS:
            raise
        log.info("port %d is taken; the room service takes any free port", config.port)
    config.port = 0
    server = RoomServer(config, signer)
    await server.start()
    return server


class EmbeddedService:
    """A room service for one receiver, listening on ``host`` and advertised on the LAN.

    ``only`` restricts the advert (and the address shown) to these interface names or
    addresses; ``advertise=False`` hosts without an advert.
    """

    def __init__(
        self,
        signer: TokenSigner,
        *,
        host: str = "0.0.0.0",
        port: int = DEFAULT_PORT,
        only: Collection[str] = (),
        advertise: bool = True,
        public_metrics: bool = False,
        https_dir: Path | None = None,
        https_port: int = HTTPS_PORT,
    ) -> None:
        # /metrics would tell the whole LAN whether someone is casting: this machine only,
        # unless asked for
        self.config = ServiceConfig(host=host, port=port, probe=True,
                                    metrics_access="any" if public_metrics else "loopback")
        self.signer = signer
        self.only = tuple(only)
        self.advertising = advertise
        self.server: RoomServer | None = None
        #: Where senders on the LAN reach this service, best first (IPv4).
        self.addresses: list[NetAddress] = []
        self._advertiser: Advertiser | None = None
        self.https_dir = https_dir
        #: The HTTPS port once listening (None: plain HTTP only).
        self.https_port: int | None = None
        self._https_wanted = https_port
        #: The certificate the HTTPS port shows (None without HTTPS).
        self.identity: Identity | None = None

    async def start(self) -> int:
        """Listen; returns the port. Raises OSError when it cannot listen at all (or, with
        ``https_dir``, cannot keep its certificate there)."""
        self.server = await start_room_server(self.config, self.signer)
        self.addresses = self._reachable()
        if self.https_dir is not None:
            self.identity = load_or_create(self.https_dir, "castapp receiver",
                                           [a.address for a in self.addresses])
            ctx = self.identity.ssl_context()
            port = self._https_wanted if self.config.port != 0 else 0
            try:
                self.https_port = await self.server.add_site(self.config.host, port, ctx)
            except OSError as exc:
                if port == 0 or exc.errno not in _PORT_ERRORS:
                    raise
                log.info("port %d is taken; HTTPS takes any free port", port)
                self.https_port = await self.server.add_site(self.config.host, 0, ctx)
        return self.port

    def refresh_addresses(self) -> bool:
        """Look at the interfaces again (a network that came up later); True if changed."""
        addresses = self._reachable()
        changed = addresses != self.addresses
        self.addresses = addresses
        return changed

    def _reachable(self) -> list[NetAddress]:
        host = self.config.host
        if host in _ALL:
            return choose_addresses(local_addresses(), only=self.only, versions=(4,))
        ip = ipaddress.ip_address(host)
        kind = classify("", host)
        if ip.version != 4 or kind is Kind.LOOPBACK:
            return []
        return [NetAddress("", host, kind)]

    @property
    def port(self) -> int:
        if self.server is None or self.server.port is None:
            raise RuntimeError("the room service is not running")
        return self.server.port

    @property
    def url(self) -> str:
        """Where this process's own receiver connects (loopback when listening everywhere)."""
        if self.server is None:
            raise RuntimeError("the room service is not running")
        return self.server.url

    @property
    def address(self) -> str | None:
        """The address to show people, or None when no other machine can reach this one."""
        return self.addresses[0].address if self.addresses else None

    def link(self, code: str) -> str | None:
        """``https://address:port/#code`` (the sender page, on the HTTPS port when there is
        one, else ``http://``) for the QR code and the help line."""
        if not self.address:
            return None
        if self.https_port is not None:
            pin = self.identity.fingerprint if self.identity is not None else None
            return make_link(self.address, self.https_port, code, tls=True, pin=pin)
        return make_link(self.address, self.port, code)

    async def advertise(self, code: str, name: str) -> bool:
        """Advertise (or re-advertise) ``code``; False when there is nothing to advertise on."""
        if not self.advertising or not self.addresses:
            return False
        if self._advertiser is None:
            self._advertiser = Advertiser([a.address for a in self.addresses])
        await self._advertiser.publish(code, name, self.port)
        return True

    async def stop_advertising(self) -> None:
        """Withdraw the advert, with goodbye packets so browsers forget it at once."""
        advertiser, self._advertiser = self._advertiser, None
        if advertiser is not None:
            await advertiser.close()

    async def stop(self, reason: str = "The receiver closed.") -> None:
        """Withdraw the advert first (so no sender finds a closing service), then stop."""
        await self.stop_advertising()
        if self.server is not None:
            await self.server.stop(reason)
