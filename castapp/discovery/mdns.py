"""Advertise a receiver over mDNS/DNS-SD and find one by its code (zeroconf, asyncio).

Adverts name receivers only; :func:`find_receiver` checks the code online with each
candidate's service (:mod:`castapp.discovery.probe`), as many candidates as answer, so fake
adverts, however many, cost the sender time but cannot hide the real receiver.

Both run IPv4 only (the embedded room service listens on IPv4) and only on the addresses they
are given, by default those :func:`~castapp.discovery.interfaces.choose_addresses` picks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Collection, Sequence
from typing import Any

import aiohttp
import zeroconf
from zeroconf import IPVersion, ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from castapp.discovery.interfaces import choose_addresses, local_addresses
from castapp.discovery.probe import probe
from castapp.discovery.record import (
    SERVICE_TYPE,
    Advert,
    AdvertError,
    NotFound,
    NotFoundReason,
    Receiver,
)

log = logging.getLogger(__name__)

#: How long a sender looks for a receiver by default.
BROWSE_TIMEOUT_S = 3.0
#: Probes in flight at once, and how long one may take.
PROBE_CONCURRENCY = 32
PROBE_TIMEOUT_S = 1.5
#: After ``timeout``, candidates already seen are still probed for at most this long.
PROBE_GRACE_S = 10.0
_RESOLVE_MS = 1500
_MAX_INSTANCE = 48  # bytes: a DNS label holds 63, and a suffix follows


def lan_addresses(only: Collection[str] = ()) -> list[str]:
    """The IPv4 addresses to advertise on and browse from (see ``choose_addresses``)."""
    return [a.address for a in choose_addresses(local_addresses(), only=only, versions=(4,))]


def _instance_name(name: str) -> str:
    """A DNS-SD instance label: the display name, cut to fit, and a random suffix."""
    base = "".join(c if c.isalnum() or c in " -_" else "-" for c in name)
    base = base.encode()[:_MAX_INSTANCE].decode(errors="ignore").strip()
    return f"{base or 'castapp'} {secrets.token_hex(3)}"


#: What advertising can raise: a socket that cannot join the multicast group, zeroconf's
#: refusals (a name taken, a record it will not send), a name that makes no advert.
ADVERT_FAILURES: tuple[type[Exception], ...] = (OSError, ValueError, zeroconf.Error)


class Advertiser:
    """One receiver's advert. :meth:`publish` again when the code changes; :meth:`close`
    withdraws it with goodbye packets so browsers forget it at once."""

    def __init__(self, addresses: Sequence[str]) -> None:
        if not addresses:
            raise ValueError("no address to advertise on")
        self.addresses = list(addresses)
        self._zc: AsyncZeroconf | None = None
        self._info: AsyncServiceInfo | None = None
        self._instance = ""
        self._lock = asyncio.Lock()

    @property
    def instance(self) -> str | None:
        """The DNS-SD instance name in use, once published."""
        return self._info.name if self._info is not None else None

    async def publish(self, code: str, name: str, port: int) -> None:
        """Advertise the receiver ``name`` whose service listens on ``port``. ``code`` is not
        in the advert in any form: senders check it online with the service."""
        advert = Advert.for_receiver(name)
        async with self._lock:
            await self._publish(advert, port)

    async def _publish(self, advert: Advert, port: int) -> None:
        if self._zc is None:
            self._zc = AsyncZeroconf(interfaces=self.addresses, ip_version=IPVersion.V4Only)
            self._instance = _instance_name(advert.name)
        info = AsyncServiceInfo(
            SERVICE_TYPE,
            f"{self._instance}.{SERVICE_TYPE}",
            port=port,
            properties=advert.to_txt(),
            server=f"castapp-{secrets.token_hex(4)}.local." if self._info is None
            else self._info.server,
            parsed_addresses=self.addresses,
        )
        if self._info is None:
            await (await self._zc.async_register_service(info, allow_name_change=True))
        else:
            info.name = self._info.name
            await (await self._zc.async_update_service(info))
        self._info = info
        log.info("advertising %s on %s port %d", info.name, ", ".join(self.addresses), port)

    async def close(self) -> None:
        async with self._lock:
            await self._close()

    async def _close(self) -> None:
        zc, info = self._zc, self._info
        self._zc = self._info = None
        if zc is None:
            return
        if info is not None:
            with contextlib.suppress(*ADVERT_FAILURES):  # the goodbye is a courtesy; close anyway
                await (await zc.async_unregister_service(info))
        await zc.async_close()
        log.info("advert withdrawn")


async def find_receiver(
    code: str,
    *,
    timeout: float = BROWSE_TIMEOUT_S,
    addresses: Sequence[str] | None = None,
    skip: Collection[str] = (),
    pin: str | None = None,
) -> Receiver | NotFound:
    """Look on the LAN for the receiver showing ``code``; return as soon as one proves it.

    Every castapp advert is a candidate; each candidate's service is probed online (the code
    never leaves this machine). ``addresses`` are the local IPv4 addresses to browse from
    (default: :func:`lan_addresses`); ``skip`` holds instance names to pass over; ``pin`` is
    the guard PIN the TV shows while its service is guarded. Browses for ``timeout`` seconds,
    then finishes probing the candidates already seen (at most ``PROBE_GRACE_S`` more); never
    raises for what the network sends.
    """
    addresses = lan_addresses() if addresses is None else list(addresses)
    if not addresses:
        return NotFound(NotFoundReason.NO_NETWORK)
    loop = asyncio.get_running_loop()
    found: asyncio.Future[Receiver] = loop.create_future()
    seen: set[str] = set()  # instances whose castapp advert was read
    other: list[Advert] = []  # adverts of another protocol version
    guarded: list[bool] = []
    tasks: set[asyncio.Task[None]] = set()
    gate = asyncio.Semaphore(PROBE_CONCURRENCY)
    zc = AsyncZeroconf(interfaces=addresses, ip_version=IPVersion.V4Only)
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, force_close=True))

    async def check(name: str) -> None:
        try:
            await read(name)
        except Exception as exc:  # broad: whatever a hostile record does, browsing goes on
            log.debug("ignoring an advert that could not be read: %r", exc)

    async def read(name: str) -> None:
        info = AsyncServiceInfo(SERVICE_TYPE, name)
        if not await info.async_request(zc.zeroconf, _RESOLVE_MS):
            return
        try:
            advert = Advert.parse(info.properties, len(info.text or b""))
        except AdvertError as exc:
            log.debug("ignoring an advert: %s", exc)
            return
        seen.add(name)
        hosts = tuple(info.parsed_addresses(IPVersion.V4Only))
        if not hosts or not info.port:
            return
        if not advert.compatible:
            other.append(advert)
            return
        async with gate:
            if found.done():
                return
            result = await probe(http, f"http://{hosts[0]}:{info.port}", code, pin=pin,
                                 timeout=PROBE_TIMEOUT_S)
        guarded.append(result.guarded)
        if result.matches and not found.done():
            found.set_result(Receiver(advert.name, hosts[0], info.port, hosts, name,
                                      advert.version))

    def on_change(zeroconf: Zeroconf, service_type: str, name: str,
                  state_change: ServiceStateChange) -> None:
        if state_change is ServiceStateChange.Removed or name in skip or found.done():
            return
        if len(name) > 255 or name in names:
            return
        names.add(name)
        task = loop.create_task(check(name))
        tasks.add(task)

    names: set[str] = set()
    browser = AsyncServiceBrowser(zc.zeroconf, [SERVICE_TYPE], handlers=[on_change])
    try:
        try:
            return await asyncio.wait_for(asyncio.shield(found), timeout)
        except TimeoutError:
            pass
        # the candidates already seen are still checked: a flood of fake adverts delays
        # the answer, it does not hide the receiver
        pending = [t for t in tasks if not t.done()]
        if pending:
            waiter: asyncio.Future[Any] = asyncio.ensure_future(asyncio.wait(pending))
            await asyncio.wait([waiter, found], timeout=PROBE_GRACE_S,
                               return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
        if found.done():
            return found.result()
        if other:
            return NotFound(NotFoundReason.INCOMPATIBLE, len(seen), other[0].name,
                            other[0].version, guarded=any(guarded))
        return NotFound(NotFoundReason.NO_ANSWER, len(seen), guarded=any(guarded))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await browser.async_cancel()
        await zc.async_close()
        await http.close()
