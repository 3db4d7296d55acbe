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
