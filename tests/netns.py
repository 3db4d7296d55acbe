"""Private network namespaces for tests whose peers must not see a real interface.

A namespace gets loopback plus a veth pair with both ends inside it (198.51.100.1 and .2), so
aiortc has a host address to offer and nothing can leave the namespace.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def require_netns() -> None:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        raise RuntimeError(
            "this test needs root and iproute2 to make a private network namespace; "
            "run it as root after scripts/setup.sh"
        )


@contextmanager
def private_namespace() -> Iterator[str]:
    require_netns()
    name = f"castapp-{secrets.token_hex(4)}"
    _ip("netns", "add", name)
    try:
        _ip("-n", name, "link", "set", "lo", "up")
        _ip("-n", name, "link", "add", "va", "type", "veth", "peer", "name", "vb")
        _ip("-n", name, "addr", "add", "198.51.100.1/24", "dev", "va")
        _ip("-n", name, "addr", "add", "198.51.100.2/24", "dev", "vb")
        _ip("-n", name, "link", "set", "va", "up")
        _ip("-n", name, "link", "set", "vb", "up")
        yield name
    finally:
        pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True)
        for pid in pids.stdout.split():
            subprocess.run(["kill", "-9", pid], capture_output=True)
        _ip("netns", "del", name)


def in_namespace(name: str, argv: list[str]) -> list[str]:
    return ["ip", "netns", "exec", name, *argv]


def _delete_namespace(name: str) -> None:
    pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True)
    for pid in pids.stdout.split():
        subprocess.run(["kill", "-9", pid], capture_output=True)
    subprocess.run(["ip", "netns", "del", name], capture_output=True)


@contextmanager
def bridged_lan(hosts: int = 3, prefix: str = "10.10.0") -> Iterator[list[str]]:
    """A LAN of ``hosts`` namespaces on one bridge; yields the host namespaces' names.

    The bridge ``br0`` lives in a namespace of its own; host ``i`` (from 1) has ``lo`` and an
    ``eth0`` at ``{prefix}.{10 + i}/24`` on a veth whose other end is in the bridge. Every
    interface is made inside these namespaces, so nothing (multicast included) can reach a
    real network.
    """
    require_netns()
    tag = secrets.token_hex(3)
    bridge = f"castapp-{tag}-br"
    names = [f"castapp-{tag}-h{i}" for i in range(1, hosts + 1)]
    made: list[str] = []
    try:
        _ip("netns", "add", bridge)
        made.append(bridge)
        _ip("-n", bridge, "link", "set", "lo", "up")
        _ip("-n", bridge, "link", "add", "br0", "type", "bridge")
        _ip("-n", bridge, "link", "set", "br0", "up")
        for i, ns in enumerate(names, 1):
            _ip("netns", "add", ns)
            made.append(ns)
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip("-n", bridge, "link", "add", f"p{i}", "type", "veth", "peer", "name", "eth0",
                "netns", ns)
            _ip("-n", bridge, "link", "set", f"p{i}", "master", "br0")
            _ip("-n", bridge, "link", "set", f"p{i}", "up")
            _ip("-n", ns, "addr", "add", f"{prefix}.{10 + i}/24", "dev", "eth0")
            _ip("-n", ns, "link", "set", "eth0", "up")
        yield names
    finally:
        for ns in reversed(made):
            _delete_namespace(ns)


def multicast_sent(ns: str | None = None) -> int:
    """IPv4 multicast packets sent so far from namespace ``ns`` (None: this process's own)."""
    argv = ["cat", "/proc/net/netstat"]
    text = subprocess.run(in_namespace(ns, argv) if ns else argv, capture_output=True,
                          text=True, check=True).stdout
    header, values = [line.split() for line in text.splitlines() if line.startswith("IpExt:")]
    return int(values[header.index("OutMcastPkts")])
