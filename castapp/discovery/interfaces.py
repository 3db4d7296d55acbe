"""Which of this machine's addresses to advertise and to show people.

A laptop or TV box often has more than its LAN interface: container bridges (``docker0``,
``br-…``, ``virbr0``, ``veth…``), VPN tunnels (``tun0``, ``wg0``, ``tailscale0``) and loopback.
A sender on the LAN can reach only the LAN address, so that is the one to advertise and print.
:func:`rank_addresses` and :func:`choose_addresses` are pure functions over
``(interface name, address)`` pairs; :func:`local_addresses` reads the real ones.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Collection, Iterable
from dataclasses import dataclass


class Kind(enum.IntEnum):
    """How likely an address is to be reachable from the LAN: lower is better."""

    LAN = 0
    VIRTUAL = 1  # container and virtual-machine bridges
    VPN = 2  # tunnels: the peers behind them are not on this LAN
    LINK_LOCAL = 3  # 169.254/16, fe80::/10: no DHCP answered
    LOOPBACK = 4


_VIRTUAL_PREFIXES = (
    "docker", "br-", "virbr", "veth", "vnet", "vmnet", "vboxnet", "lxcbr", "lxdbr", "podman",
    "cni", "flannel", "cali", "weave", "kube", "vxlan", "genev", "bridge", "awdl", "llw",
    "anpi", "ap1",
)
_VIRTUAL_WORDS = ("virtualbox", "vmware", "hyper-v", "vethernet", "docker", "wsl")
_VPN_PREFIXES = (
    "tun", "tap", "wg", "tailscale", "utun", "zt", "ppp", "ipsec", "nordlynx", "proton",
    "mullvad", "ham", "gpd",
)
_VPN_WORDS = ("vpn", "wireguard", "tailscale", "zerotier", "openvpn", "tunnel")
_CGNAT = ipaddress.ip_network("100.64.0.0/10")  # Tailscale and other overlay networks


@dataclass(frozen=True, slots=True)
class NetAddress:
    interface: str
    address: str
    kind: Kind

    @property
    def version(self) -> int:
        return ipaddress.ip_address(self.address).version


def classify(interface: str, address: str) -> Kind:
    """The kind of one address, from its interface's name and the address itself."""
    ip = ipaddress.ip_address(address)
    name = interface.lower()
    if ip.is_loopback or name == "lo" or name.startswith("lo0") or "loopback" in name:
        return Kind.LOOPBACK
    if ip.is_link_local:
        return Kind.LINK_LOCAL
    if name.startswith(_VPN_PREFIXES) or any(w in name for w in _VPN_WORDS):
        return Kind.VPN
    if ip.version == 4 and ip in _CGNAT:
        return Kind.VPN
    if name.startswith(_VIRTUAL_PREFIXES) or any(w in name for w in _VIRTUAL_WORDS):
        return Kind.VIRTUAL
    return Kind.LAN


def _parse(pairs: Iterable[tuple[str, str]]) -> list[NetAddress]:
    seen: set[tuple[str, str]] = set()
    out: list[NetAddress] = []
    for interface, address in pairs:
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            continue
        if ip.is_multicast or ip.is_unspecified or (interface, str(ip)) in seen:
            continue
        seen.add((interface, str(ip)))
        out.append(NetAddress(interface, str(ip), classify(interface, str(ip))))
    return out


def rank_addresses(pairs: Iterable[tuple[str, str]]) -> list[NetAddress]:
    """Every valid address, best first: by kind, then IPv4 before IPv6, then as listed."""
    parsed = _parse(pairs)
    order = {a: i for i, a in enumerate(parsed)}
    return sorted(parsed, key=lambda a: (a.kind, a.version, order[a]))


def choose_addresses(
    pairs: Iterable[tuple[str, str]],
    *,
    only: Collection[str] = (),
    versions: Collection[int] = (4, 6),
) -> list[NetAddress]:
    """The addresses to advertise and show, best first.

    With ``only`` (interface names or addresses someone chose), exactly those, whatever their
    kind. Otherwise the LAN addresses; when there are none, the best kind there is (a machine
    whose only network is a VPN or a bridge still wants to be found there), but never
    loopback, which no other machine can reach. Empty when nothing fits.
    """
    ranked = [a for a in rank_addresses(pairs) if a.version in versions]
    if only:
        return [a for a in ranked if a.interface in only or a.address in only]
    ranked = [a for a in ranked if a.kind is not Kind.LOOPBACK]
    if not ranked:
        return []
    best = ranked[0].kind
    return [a for a in ranked if a.kind is best]


def local_addresses() -> list[tuple[str, str]]:
    """This machine's ``(interface name, address)`` pairs, IPv4 and IPv6 (without scope)."""
    import ifaddr  # zeroconf's own interface lister

    pairs: list[tuple[str, str]] = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            address = ip.ip if isinstance(ip.ip, str) else ip.ip[0]
            pairs.append((adapter.nice_name, address))
    return pairs
