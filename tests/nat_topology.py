"""Two NATed home networks and a public network, built from network namespaces.

::

    hostA 10.10.1.2 ── rtrA (NAT) 203.0.113.11 ─┐
                                                 ├─ pub: bridge 203.0.113.1 (coturn, room service)
    hostB 10.10.2.2 ── rtrB (NAT) 203.0.113.12 ─┘

Each router masquerades its LAN behind its WAN address (``cone``: endpoint-independent and
port-preserving; ``symmetric``: a fresh random port per destination) and drops unsolicited
WAN traffic to itself, as a home router does (without that, an early hole-punching packet
would claim the mapping the local side needs). Nothing is attached to the host's own network
namespace; every address is a documentation or private range that exists only in here.
Needs root, iproute2 and nftables.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

NatKind = Literal["cone", "symmetric"]

PUB_IP = "203.0.113.1"
WAN = {"A": "203.0.113.11", "B": "203.0.113.12"}
LAN = {"A": ("10.10.1.1", "10.10.1.2"), "B": ("10.10.2.1", "10.10.2.2")}

_ROUTER_RULES = """
table ip castapp {
    chain postnat { type nat hook postrouting priority 100; }
    chain wanin {
        type filter hook input priority 0; policy accept;
        iifname "wan" ct state established,related accept
        iifname "wan" drop
    }
    chain fw { type filter hook forward priority 0; policy accept; }
}
"""


def require_tools() -> None:
    missing = [t for t in ("ip", "nft", "turnserver", "ss") if shutil.which(t) is None]
    if os.geteuid() != 0 or missing:
        raise RuntimeError(
            "the NAT tests need root plus iproute2, nftables and coturn "
            f"(missing: {', '.join(missing) or 'root'}); run scripts/setup.sh as root"
        )


def _run(*argv: str, stdin: str | None = None) -> None:
    done = subprocess.run(argv, input=stdin, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr.strip()}")


class NatTopology:
    """Build with :meth:`build`, always :meth:`close` (also after a failed build)."""

    def __init__(self) -> None:
        tag = secrets.token_hex(3)
        self.ns = {n: f"castapp-{n}-{tag}" for n in ("pub", "rtrA", "rtrB", "hostA", "hostB")}
        self._made: list[str] = []

    @property
    def pub(self) -> str:
        return self.ns["pub"]

    def host(self, side: str) -> str:
        return self.ns[f"host{side}"]

    def router(self, side: str) -> str:
        return self.ns[f"rtr{side}"]

    # ------------------------------------------------------------------ building
    def _ip(self, ns: str, *args: str) -> None:
        _run("ip", "-n", self.ns[ns], *args)

    def build(self) -> NatTopology:
        require_tools()
        for name in self.ns.values():
            _run("ip", "netns", "add", name)
            self._made.append(name)
            _run("ip", "-n", name, "link", "set", "lo", "up")
        self._ip("pub", "link", "add", "br0", "type", "bridge")
        self._ip("pub", "addr", "add", f"{PUB_IP}/24", "dev", "br0")
        self._ip("pub", "link", "set", "br0", "up")
        for side in ("A", "B"):
            rtr, host = f"rtr{side}", f"host{side}"
            self._ip("pub", "link", "add", f"p{side}", "type", "veth", "peer", "name", "wan",
                     "netns", self.ns[rtr])
            self._ip("pub", "link", "set", f"p{side}", "master", "br0", "up")
            self._ip(rtr, "addr", "add", f"{WAN[side]}/24", "dev", "wan")
            self._ip(rtr, "link", "set", "wan", "up")
            self._ip(rtr, "link", "add", "lan", "type", "veth", "peer", "name", "eth0",
                     "netns", self.ns[host])
            gw, addr = LAN[side]
            self._ip(rtr, "addr", "add", f"{gw}/24", "dev", "lan")
            self._ip(rtr, "link", "set", "lan", "up")
            self._ip(host, "addr", "add", f"{addr}/24", "dev", "eth0")
            self._ip(host, "link", "set", "eth0", "up")
            self._ip(host, "route", "add", "default", "via", gw)
            _run("ip", "netns", "exec", self.ns[rtr], "sysctl", "-qw", "net.ipv4.ip_forward=1")
            self.nft(side, _ROUTER_RULES)
        self.set_nat("cone")
        return self

    def nft(self, side: str, script: str) -> None:
        _run("ip", "netns", "exec", self.router(side), "nft", "-f", "-", stdin=script)

    # ------------------------------------------------------------------ behaviour
    def set_nat(self, kind: NatKind, sides: Sequence[str] = ("A", "B")) -> None:
        rule = "masquerade fully-random" if kind == "symmetric" else "masquerade"
        for side in sides:
            self.nft(side, f'flush chain ip castapp postnat\n'
                           f'add rule ip castapp postnat oifname "wan" {rule}\n')

    def block_udp(self, blocked: bool) -> None:
        """A firewall on both routers that lets no UDP through (TCP still passes)."""
        for side in ("A", "B"):
            script = "flush chain ip castapp fw\n"
            if blocked:
                script += "add rule ip castapp fw meta l4proto udp drop\n"
            self.nft(side, script)

    def cut(self, side: str, down: bool) -> None:
        """Drop everything a router forwards, as if its uplink went dead."""
        script = "flush chain ip castapp fw\n"
        if down:
            script += "add rule ip castapp fw drop\n"
        self.nft(side, script)

    def reset(self) -> None:
        self.set_nat("cone")
        self.block_udp(False)

    # ------------------------------------------------------------------ processes
    def exec_argv(self, ns: str, argv: Sequence[str]) -> list[str]:
        return ["ip", "netns", "exec", self.ns.get(ns, ns), *argv]

    def close(self) -> None:
        for name in reversed(self._made):
            pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True)
            for pid in pids.stdout.split():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
        self._made.clear()


# ---------------------------------------------------------------------- coturn
COTURN_CONF = """\
listening-ip={ip}
relay-ip={ip}
listening-port={port}
min-port=49160
max-port=49400
realm=castapp.test
server-name=castapp.test
fingerprint
use-auth-secret
static-auth-secret={secret}
denied-peer-ip=10.0.0.0-10.255.255.255
no-multicast-peers
no-cli
no-tls
no-dtls
no-rfc5780
no-stun-backward-compatibility
userdb={dir}/turndb
pidfile={dir}/turnserver.pid
log-file={dir}/turnserver.log
simple-log
verbose
"""


def wait_listening(topo: NatTopology, ns: str, port: int, proto: str = "t",
                   timeout: float = 10.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Poll ``ss`` in ``ns`` until something listens on ``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = subprocess.run(topo.exec_argv(ns, ["ss", f"-Hln{proto}", f"sport = :{port}"]),
                             capture_output=True, text=True).stdout
        if out.strip():
            return
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the process meant to listen on {port} exited")
        time.sleep(0.03)
    raise RuntimeError(f"nothing listens on port {port} in {ns} after {timeout} s")


def start_coturn(topo: NatTopology, workdir: Path, secret: str,
                 port: int = 3478) -> subprocess.Popen[bytes]:
    workdir.mkdir(parents=True, exist_ok=True)
    conf = workdir / "turnserver.conf"
    conf.write_text(COTURN_CONF.format(ip=PUB_IP, port=port, secret=secret, dir=workdir))
    proc = subprocess.Popen(topo.exec_argv("pub", ["turnserver", "-c", str(conf)]),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_listening(topo, "pub", port, "u", proc=proc)
    wait_listening(topo, "pub", port, "t", proc=proc)
    return proc


def stop(proc: subprocess.Popen[bytes] | subprocess.Popen[str], kill: bool = False) -> None:
    if proc.poll() is None:
        proc.kill() if kill else proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


# ---------------------------------------------------------------------- room service
class RoomService:
    """``castapp serve`` in pub, handing out coturn's STUN and TURN (UDP and TCP) servers.

    Without ``with_turn`` only STUN is handed out: a cast then has to go direct or through NAT.
    """

    def __init__(self, topo: NatTopology, workdir: Path, turn_secret: str,
                 port: int = 8765, with_turn: bool = True) -> None:
        self.topo, self.workdir, self.port = topo, workdir, port
        self.with_turn = with_turn
        self.turn_secret = turn_secret
        self.room_key = secrets.token_hex(32)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"ws://{PUB_IP}:{self.port}/ws"

    def start(self) -> RoomService:
        turn = f"turn:{PUB_IP}:3478"
        argv = [sys.executable, "-m", "castapp", "--log-level", "WARNING", "serve",
                "--host", PUB_IP, "--port", str(self.port), "--state-dir", str(self.workdir),
                "--stun", f"stun:{PUB_IP}:3478"]
        if self.with_turn:
            argv += ["--turn", turn, "--turn", f"{turn}?transport=tcp"]
        env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[1]),
                   CASTAPP_ROOM_KEY=self.room_key, CASTAPP_TURN_SECRET=self.turn_secret)
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = open(self.workdir / f"serve-{self.port}.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(self.topo.exec_argv("pub", argv), env=env,
                                     stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_listening(self.topo, "pub", self.port, "t", proc=self.proc)
        return self

    def kill(self) -> None:
        if self.proc is not None:
            stop(self.proc, kill=True)

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)
