"""Which addresses a receiver advertises and shows: the LAN one, not bridges or tunnels."""

import pytest

from castapp.discovery.interfaces import Kind, choose_addresses, classify, rank_addresses

DESKTOP = [
    ("lo", "127.0.0.1"),
    ("lo", "::1"),
    ("docker0", "172.17.0.1"),
    ("br-3f2a9c1d", "172.18.0.1"),
    ("virbr0", "192.168.122.1"),
    ("veth12ab", "169.254.3.4"),
    ("tun0", "10.8.0.6"),
    ("wg0", "10.66.0.2"),
    ("tailscale0", "100.101.102.103"),
    ("wlp2s0", "fe80::1c2d:3e4f:5a6b:7c8d"),
    ("wlp2s0", "2001:db8::5"),
    ("wlp2s0", "192.168.1.23"),
    ("enp3s0", "192.168.50.7"),
]


@pytest.mark.parametrize(
    ("name", "address", "kind"),
    [
        ("eth0", "192.168.1.2", Kind.LAN),
        ("en0", "10.0.0.5", Kind.LAN),
        ("Wi-Fi", "192.168.1.9", Kind.LAN),
        ("br0", "192.168.1.2", Kind.LAN),  # a host bridge that carries the LAN
        ("docker0", "172.17.0.1", Kind.VIRTUAL),
        ("br-3f2a9c1d", "172.18.0.1", Kind.VIRTUAL),
        ("virbr0", "192.168.122.1", Kind.VIRTUAL),
        ("vethab12", "10.1.0.1", Kind.VIRTUAL),
        ("vEthernet (WSL)", "172.20.0.1", Kind.VIRTUAL),
        ("bridge100", "192.168.64.1", Kind.VIRTUAL),
        ("tun0", "10.8.0.6", Kind.VPN),
        ("wg0", "10.66.0.2", Kind.VPN),
        ("tailscale0", "100.101.102.103", Kind.VPN),
        ("utun3", "10.2.0.2", Kind.VPN),
        ("Ethernet 3", "100.64.0.9", Kind.VPN),  # carrier-grade NAT space: an overlay
        ("OpenVPN Connect", "10.9.0.2", Kind.VPN),
        ("eth0", "169.254.10.1", Kind.LINK_LOCAL),
        ("eth0", "fe80::1", Kind.LINK_LOCAL),
        ("lo", "127.0.0.1", Kind.LOOPBACK),
        ("lo0", "::1", Kind.LOOPBACK),
    ],
)
def test_classify(name, address, kind):
    assert classify(name, address) is kind


def test_the_lan_addresses_win_ipv4_first_in_the_order_listed():
    chosen = choose_addresses(DESKTOP)
    assert [(a.interface, a.address) for a in chosen] == [
        ("wlp2s0", "192.168.1.23"),
        ("enp3s0", "192.168.50.7"),
        ("wlp2s0", "2001:db8::5"),
    ]
    assert [a.address for a in choose_addresses(DESKTOP, versions=(4,))] == [
        "192.168.1.23", "192.168.50.7"]


def test_ranking_keeps_every_address_best_first():
    kinds = [a.kind for a in rank_addresses(DESKTOP)]
    assert kinds == sorted(kinds)
    assert rank_addresses(DESKTOP)[-1].kind is Kind.LOOPBACK


def test_without_a_lan_the_best_there_is_but_never_loopback():
    only_virtual = [("lo", "127.0.0.1"), ("wg0", "10.66.0.2"), ("docker0", "172.17.0.1")]
    assert [a.address for a in choose_addresses(only_virtual)] == ["172.17.0.1"]
    assert choose_addresses([("lo", "127.0.0.1"), ("lo", "::1")]) == []
    assert choose_addresses([]) == []


def test_a_chosen_interface_or_address_overrides_the_ranking():
    assert [a.address for a in choose_addresses(DESKTOP, only=["tailscale0"])] == [
        "100.101.102.103"]
    assert [a.address for a in choose_addresses(DESKTOP, only=["192.168.50.7"])] == [
        "192.168.50.7"]
    assert choose_addresses(DESKTOP, only=["nosuch0"]) == []


def test_garbage_and_duplicates_are_dropped():
    pairs = [("eth0", "not an address"), ("eth0", "224.0.0.251"), ("eth0", "0.0.0.0"),
             ("eth0", "192.168.1.2"), ("eth0", "192.168.1.2"), ("eth0", "fe80::1%eth0")]
    assert [(a.address, a.kind) for a in rank_addresses(pairs)] == [
        ("192.168.1.2", Kind.LAN), ("fe80::1", Kind.LINK_LOCAL)]
