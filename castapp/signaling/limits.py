"""Who a failed join is counted against: the address, its network prefix, the whole service.

A wrong cast code is counted in three fixed windows at once, in one atomic step of the store
(so concurrent guesses cannot slip between a check and a count):

- the client's **address** and its **prefix** (/24 for IPv4, /64 for IPv6): hard limits; past
  them the address gets ``rate_limited`` until its window ends;
- the **whole service**: a soft limit. Past it the service is *guarded* until the window ends:
  a join then needs the cast code *and* the guard PIN the TV shows, and every failure looks the
  same (``pin_required``) whether the code exists or not. Guessing from any number of addresses
  therefore learns nothing past the global budget, and the real sender is not locked out: it
  types the PIN from the screen. ``docs/security.md`` has the figures.

Pure: no sockets; the store keeps the windows.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import ipaddress
from dataclasses import dataclass


class Verdict(enum.Enum):
    OK = "ok"  # counted; the join is judged on its code
    REFUSED = "refused"  # a hard limit is spent: rate_limited, nothing counted
    GUARDED = "guarded"  # the service-wide budget is spent: code and guard PIN needed


@dataclass(frozen=True, slots=True)
class Scope:
    """One fixed window: at most ``limit`` failures per ``window`` seconds."""

    key: str
    limit: int
    window: float
    #: A hard scope refuses past its limit; a soft one makes the join guarded.
    hard: bool = True


@dataclass(frozen=True, slots=True)
class Attempt:
    verdict: Verdict
    #: Seconds until the scope that refused or guarded opens again (0 when OK).
    wait: float = 0.0


GLOBAL_KEY = "join:all"


def prefix_of(addr: str) -> str:
    """The network an address belongs to for limits: /24 (IPv4), /64 (IPv6)."""
    try:
        ip = ipaddress.ip_address(addr.split("%", 1)[0])
    except ValueError:
        return addr[:64]
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    bits = 24 if ip.version == 4 else 64
    return str(ipaddress.ip_network(f"{ip}/{bits}", strict=False))


def join_scopes(addr: str, *, per_address: int, per_prefix: int, address_window: float,
                service: int, service_window: float) -> tuple[Scope, ...]:
    """The windows a failed join from ``addr`` counts in, hard ones first."""
    return (
        Scope(f"join:a:{addr[:64]}", per_address, address_window),
        Scope(f"join:p:{prefix_of(addr)}", per_prefix, address_window),
        Scope(GLOBAL_KEY, service, service_window, hard=False),
    )


GUARD_PIN_DIGITS = 6


def guard_pin(key: bytes, code: str, owner: str) -> str:
    """The guard PIN of a room: stable for the room's owner, unknowable without the room key.

    Every service instance sharing the key computes the same PIN, so nothing is stored.
    """
    mac = hmac.new(key, b"guard pin\x00" + code.encode() + b"\x00" + owner.encode(),
                   hashlib.sha256).digest()
    return str(int.from_bytes(mac[:8], "big") % 10**GUARD_PIN_DIGITS).zfill(GUARD_PIN_DIGITS)


DAY_S = 86400.0


def guessing_odds(*, receivers: int, code_space: int, service: int, service_window: float,
                  per_address: int, per_prefix: int, address_window: float,
                  networks: int = 1, pin_space: int = 10**GUARD_PIN_DIGITS) -> float:
    """The chance that an attacker joins one of ``receivers`` live rooms within a day, from
    ``networks`` addresses each in its own /24 (or /64), guessing as fast as the limits allow.

    Only ``service`` failures per ``service_window`` are ever judged on the code alone; past
    them a join also needs the room's guard PIN, which each network may try at its
    address/prefix rate.
    """
    plain = service * DAY_S / service_window
    guarded = networks * min(per_address, per_prefix) * DAY_S / address_window
    miss = (1 - receivers / code_space) ** plain
    miss *= (1 - receivers / (code_space * pin_space)) ** guarded
    return float(1 - miss)
