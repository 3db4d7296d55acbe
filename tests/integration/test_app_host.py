"""Receiver hosting (castapp.app.host), as ``castapp receive`` and the receiver window use it.

A real embedded room service and a real receiver session run in a private network
namespace; the link the window's QR code and the command's help line show is checked
against the namespace's own addresses.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from castproc import JsonProc, castapp_env
from netns import in_namespace, private_namespace, require_netns

pytestmark = pytest.mark.timeout(60)

# Runs a ReceiverHost in the namespace and prints each host event as a JSON line.
HOST = r'''
import asyncio, json, sys
from dataclasses import asdict
from pathlib import Path

from castapp.app import host as host_mod

host_mod.ADDRESS_RECHECK_S = 0.2


def show(event):
    print(json.dumps({"event": type(event).__name__, **asdict(event)}), flush=True)


async def main():
    options = host_mod.ReceiverOptions(state_dir=Path(sys.argv[1]), listen=("0.0.0.0", 0),
                                       advertise=False, name="TV")
    host = host_mod.ReceiverHost(options, on_event=show)
    await host.start()
    await asyncio.sleep(float(sys.argv[2]))
    await host.stop()


asyncio.run(main())
'''


def host_events(ns: str, state: Path, seconds: float) -> JsonProc:
    return JsonProc(in_namespace(ns, [sys.executable, "-c", HOST, str(state), str(seconds)]),
                    castapp_env())


def expect_event(proc: JsonProc, name: str, timeout: float = 20.0) -> dict:
    return proc.expect(name, timeout)


def test_link_uses_the_lan_address_never_loopback(tmp_path):
    with private_namespace() as ns:  # addresses 198.51.100.1 and .2 besides loopback
        proc = host_events(ns, tmp_path, 1.0)
        try:
            hosted = expect_event(proc, "Hosted")
            link = expect_event(proc, "LinkShown")
            assert proc.proc.wait(20) == 0
        finally:
            proc.stop()
    assert hosted["address"] in ("198.51.100.1", "198.51.100.2")
    assert link["address"] == f"{hosted['address']}:{hosted['port']}"
    assert link["link"] == f"http://{hosted['address']}:{hosted['port']}/#{link['code']}"
    assert not link["local_only"]
    # the code's token is kept, readable by its owner only
    assert (tmp_path / "receiver-token").stat().st_mode & 0o777 == 0o600


def test_a_network_that_comes_up_later_replaces_the_local_link(tmp_path):
    require_netns()
    ns = f"castapp-{secrets.token_hex(4)}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        proc = host_events(ns, tmp_path, 10.0)
        try:
            hosted = expect_event(proc, "Hosted")
            first = expect_event(proc, "LinkShown")
            assert hosted["address"] is None and first["local_only"]
            # the receiver started before its network: now the network comes up
            for step in (["link", "add", "eth0", "type", "veth", "peer", "name", "eth1"],
                         ["addr", "add", "10.20.0.5/24", "dev", "eth0"],
                         ["link", "set", "eth1", "up"], ["link", "set", "eth0", "up"]):
                subprocess.run(["ip", "-n", ns, *step], check=True)
            started = time.monotonic()
            again = expect_event(proc, "Hosted")
            link = expect_event(proc, "LinkShown")
            assert time.monotonic() - started < 5
        finally:
            proc.stop()
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    assert again["address"] == "10.20.0.5"
    assert link["code"] == first["code"] and not link["local_only"]
    assert link["link"] == f"http://10.20.0.5:{hosted['port']}/#{link['code']}"
