"""A Janus SFU in a private network namespace that the test process itself enters.

``janus_in_namespace`` makes a namespace (tests/netns.py: loopback plus a veth pair at
198.51.100.1/.2, nothing attached to the host), switches this thread into it with setns,
and starts Janus there with a generated configuration: its WebSocket API on the namespace's
127.0.0.1, its ICE restricted to 198.51.100.1. Room services, receivers and senders the
test starts afterwards live in the namespace too. On exit Janus stops, the thread returns to
its own namespace and the namespace is deleted.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

from castapp.sfu.jcfg import JanusSettings
from castapp.sfu.process import JanusProcess

sys.path.insert(0, str(Path(__file__).parent.parent))
from netns import private_namespace

CLONE_NEWNET = 0x40000000
SECRET = "sfu-test-secret"
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


@contextlib.contextmanager
def entered(name: str) -> Iterator[None]:
    """This thread (and processes it starts) in namespace ``name`` until the block ends."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open(f"/var/run/netns/{name}", os.O_RDONLY)
        try:
            _setns(target)
        finally:
            os.close(target)
        try:
            yield
        finally:
            _setns(home)
    finally:
        os.close(home)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def janus_in_namespace(workdir: Path) -> Iterator[JanusProcess]:
    with private_namespace() as ns, entered(ns):
        settings = JanusSettings(ws_port=free_port(), token_secret=SECRET,
                                 ice_enforce="198.51.100.1", rtp_ports=(30000, 30999))
        loop = asyncio.new_event_loop()
        try:
            janus = loop.run_until_complete(JanusProcess.start(workdir / "janus", settings))
        finally:
            loop.close()
        try:
            yield janus
        finally:
            janus.stop()
