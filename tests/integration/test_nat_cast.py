"""Casts between two NATed networks through a real coturn and a real room service.

``castapp receive --headless`` runs behind router B, ``castapp send`` behind router A; coturn
and ``castapp serve`` run on the public network between them (``tests/nat_topology.py``).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from castproc import CastProc
from nat_topology import (
    COTURN_CONF,
    PUB_IP,
    NatTopology,
    RoomService,
    start_coturn,
    stop,
    wait_listening,
)

from castapp.signaling.turn import turn_credential

pytestmark = pytest.mark.timeout(60)


@dataclass
class Net:
    topo: NatTopology
    service: RoomService
    secret: str
    workdir: Path


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    workdir = tmp_path_factory.mktemp("nat")
    topo = NatTopology()
    try:
        topo.build()
        secret = secrets.token_urlsafe(16)
        coturn = start_coturn(topo, workdir / "coturn", secret)
        service = RoomService(topo, workdir / "service", secret).start()
        try:
            yield Net(topo, service, secret, workdir)
        finally:
            service.stop()
            stop(coturn)
    finally:
        topo.close()


@pytest.fixture
def fresh(net: Net) -> Net:
    """Every test starts from cone NAT on both sides with UDP allowed."""
    net.topo.reset()
    net.topo.cut("A", False)
    return net


def receiver(net: Net, tmp: Path, *flags: str, url: str | None = None) -> CastProc:
    return CastProc(net.topo.exec_argv("hostB", []), "receive", "--headless", "--admission", "open",
                                                     "--server",
                    url or net.service.url, "--state-dir", str(tmp), "--name", "TV", *flags)


def sender(net: Net, code: str, *flags: str, url: str | None = None) -> CastProc:
    return CastProc(net.topo.exec_argv("hostA", []), "send", "--headless", "--server",
                    url or net.service.url, "--code", code, "--synthetic", "320x240",
                    "--fps", "20", "--name", "Laptop", "--stats", *flags)


def cast(net: Net, tmp: Path, *flags: str) -> tuple[CastProc, CastProc, str]:
    rx = receiver(net, tmp, "--stats", *flags)
    code = rx.expect("code")["code"]
    rx.expect("state", state="waiting")
    tx = sender(net, code, *flags)
    return rx, tx, code


def both_route(rx: CastProc, tx: CastProc, route: str, timeout: float = 20.0) -> str:
    """Both ends cast and show ``route`` (``*``: through NAT or relayed, whichever won)."""
    tx.expect("state", state="casting", timeout=timeout)
    rx.expect("state", state="receiving", timeout=timeout)
    shown = tx.expect("route")["route"]
    assert shown == route if route != "*" else shown in ("nat", "relay")
    assert rx.expect("route")["route"] == shown
    deadline = time.monotonic() + timeout
    stats = rx.expect("stats", route=shown)
    while stats["width"] is None and time.monotonic() < deadline:
        # the report came before the first picture was decoded (a busy machine): the next
        stats = rx.expect("stats", timeout=max(0.1, deadline - time.monotonic()), route=shown)
    assert stats["width"] == 320 and stats["height"] == 240, stats
    return str(shown)


def test_cone_nat_on_both_sides_connects_through_stun(fresh: Net, tmp_path: Path) -> None:
    # with a relay on offer the first pair to answer wins, which is often the relay; a
    # service handing out STUN only shows that cone NATs need nothing more
    stun_only = RoomService(fresh.topo, fresh.workdir / "stun", fresh.secret, port=8767,
                            with_turn=False).start()
    rx = receiver(fresh, tmp_path, "--stats", url=stun_only.url)
    code = rx.expect("code")["code"]
    tx = sender(fresh, code, url=stun_only.url)
    try:
        both_route(rx, tx, "nat")
        # the sender's own stats show where its media goes
        sent = tx.expect("stats", route="nat")
        assert sent["path"] in ("srflx", "prflx")
    finally:
        tx.stop()
        rx.stop()
        stun_only.stop()


def test_relay_only_goes_through_the_turn_server(fresh: Net, tmp_path: Path) -> None:
    rx, tx, _ = cast(fresh, tmp_path, "--relay-only")
    try:
        both_route(rx, tx, "relay")
    finally:
        tx.stop()
        rx.stop()


def test_symmetric_nat_connects_through_the_turn_relay(fresh: Net, tmp_path: Path) -> None:
    fresh.topo.set_nat("symmetric")
    rx, tx, _ = cast(fresh, tmp_path)
    try:
        both_route(rx, tx, "relay")
    finally:
        tx.stop()
        rx.stop()


def test_blocked_udp_connects_with_turn_over_tcp(fresh: Net, tmp_path: Path) -> None:
    fresh.topo.block_udp(True)
    rx, tx, _ = cast(fresh, tmp_path)
    try:
        # UDP TURN and STUN each wait out aioice's 5 s gathering timeout on both sides first
        both_route(rx, tx, "relay", timeout=30)
    finally:
        tx.stop()
        rx.stop()


def test_wrong_turn_secret_is_diagnosed(fresh: Net, tmp_path: Path) -> None:
    fresh.topo.set_nat("symmetric")  # no direct path: only the relay could help
    wrong = RoomService(fresh.topo, fresh.workdir / "wrong", "not-" + fresh.secret, port=8766)
    wrong.start()
    try:
        rx = receiver(fresh, tmp_path, url=wrong.url)
        code = rx.expect("code")["code"]
        rx.expect("state", state="waiting")
        tx = sender(fresh, code, url=wrong.url)  # the default 20 s deadline
        try:
            joining = tx.expect("state", state="joining")
            warned = tx.expect("warning", timeout=10)  # said as soon as coturn refuses
            assert warned["code"] == "turn_refused"
            print(f"TURN refusal said {warned['t'] - joining['t']:.2f} s after joining")
            err = tx.expect("error", timeout=30)
            assert err["code"] == "turn_refused"
            assert "TURN server refused the credentials" in err["message"]
            late = err["t"] - joining["t"]
            print(f"wrong TURN secret reported {late:.2f} s after joining")
            assert late < 3.0, f"the refusal was reported {late:.1f} s after joining"
            assert tx.proc.wait(10) == 1
            # the receiver is told and shows its code again
            rx.expect("state", state="waiting", timeout=10)
        finally:
            tx.stop()
            rx.stop()
    finally:
        wrong.stop()


def _cut_sender_side(net: Net, rx: CastProc, tx: CastProc, seconds: float) -> float:
    """Cut the sender's uplink for ``seconds``; how late frames came back after it returned."""
    net.topo.cut("A", True)
    cut_at = time.time()
    lost = rx.expect("state", state="reconnecting", timeout=10)
    assert lost["t"] - cut_at < 3.0  # noticed within about 2 s
    tx.expect("state", state="reconnecting", timeout=10)
    time.sleep(max(0.0, cut_at + seconds - time.time()))
    net.topo.cut("A", False)
    restored_at = time.time()
    back = rx.expect("state", state="receiving", timeout=seconds + 15)
    tx.expect("state", state="casting", timeout=5)
    return float(back["t"] - restored_at)


@pytest.mark.parametrize("seconds", [5, 30])
def test_cut_link_on_the_sender_side_resumes_by_itself(fresh: Net, tmp_path: Path,
                                                        seconds: int) -> None:
    rx, tx, code = cast(fresh, tmp_path)
    try:
        both_route(rx, tx, "*")
        late = _cut_sender_side(fresh, rx, tx, seconds)
        print(f"frames back {late:.2f} s after a {seconds} s cut of the sender's uplink")
        if os.environ.get("CASTAPP_TEST_DUMP"):
            Path(os.environ["CASTAPP_TEST_DUMP"]).write_text(
                "".join(tx.other) + "\n=====\n" + "".join(rx.other))
        assert late < 1.0, f"frames resumed {late:.1f} s late: {''.join(tx.other)[-4000:]}"
        assert rx.expect("stats")["fps"] > 5
        assert not [e for e in rx.seen if e["event"] == "code" and e["code"] != code]
        tx.drain()
        rebuilt = [e for e in tx.seen if e["event"] == "state" and e["state"] == "connecting"]
        assert len(rebuilt) <= 1  # only the first connection; recovery never shows set-up
    finally:
        tx.stop()
        rx.stop()


def test_route_stays_on_the_best_path_across_reconnects(fresh: Net, tmp_path: Path) -> None:
    """Cone NATs, STUN and TURN both offered: once through NAT, always through NAT."""
    rx, tx, _ = cast(fresh, tmp_path)
    try:
        both_route(rx, tx, "*")
        routes = []
        for _ in range(3):
            _cut_sender_side(fresh, rx, tx, 3)
            routes.append(tx.expect("route", timeout=10)["route"])
        print(f"routes after each reconnect: {routes}")
        assert routes == ["nat"] * len(routes), routes
    finally:
        tx.stop()
        rx.stop()


def test_room_service_restart_does_not_stop_the_cast(fresh: Net, tmp_path: Path) -> None:
    rx, tx, code = cast(fresh, tmp_path)
    try:
        both_route(rx, tx, "*")
        fresh.service.kill()
        rx.expect("service", timeout=10)  # it noticed the service is gone
        fresh.service.start()
        back = rx.expect("service", ok=True, timeout=20)
        assert back["code"] == code  # the receiver kept its code
        for _ in range(2):
            rx.expect("stats")
        gaps = [e["gap_ms"] for e in rx.seen if e["event"] == "stats"]
        assert max(gaps) < 1000, gaps  # frames never stopped for more than a moment
        assert not [e for e in rx.seen if e.get("state") == "reconnecting"]
        assert tx.proc.poll() is None
    finally:
        tx.stop()
        rx.stop()


def _self_signed(workdir: Path) -> tuple[Path, Path]:
    """A certificate for the TURN server's address that nothing on this machine trusts."""
    workdir.mkdir(parents=True, exist_ok=True)
    cert, key = workdir / "turn.pem", workdir / "turn.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=castapp.test", "-addext", f"subjectAltName=IP:{PUB_IP}",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def test_untrusted_turns_certificate_is_named_as_such(fresh: Net, tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path / "tls")
    conf = COTURN_CONF.format(ip=PUB_IP, port=3490, secret=fresh.secret, dir=tmp_path / "tls")
    conf = conf.replace("no-tls\n", f"tls-listening-port=5349\ncert={cert}\npkey={key}\n")
    conf = conf.replace("min-port=49160\nmax-port=49400", "min-port=49500\nmax-port=49600")
    (tmp_path / "tls" / "turnserver.conf").write_text(conf)
    tls = subprocess.Popen(fresh.topo.exec_argv("pub", ["turnserver", "-c",
                                                        str(tmp_path / "tls" / "turnserver.conf")]),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stun_only = RoomService(fresh.topo, fresh.workdir / "stun-tls", fresh.secret, port=8768,
                            with_turn=False).start()
    try:
        wait_listening(fresh.topo, "pub", 5349, "t", proc=tls)
        user = f"{int(time.time()) + 3600}:laptop"
        rx = receiver(fresh, tmp_path / "rx", url=stun_only.url)
        code = rx.expect("code")["code"]
        rx.expect("state", state="waiting")
        tx = sender(fresh, code, "--relay-only", "--ice-server",
                    f"turns:{PUB_IP}:5349?transport=tcp", "--turn-user", user,
                    "--turn-pass", turn_credential(fresh.secret, user), url=stun_only.url)
        try:
            joining = tx.expect("state", state="joining")
            err = tx.expect("error", timeout=30)
            assert err["code"] == "turn_untrusted", err
            assert "certificate is not trusted" in err["message"]
            late = err["t"] - joining["t"]
            print(f"untrusted TURN certificate reported {late:.2f} s after joining")
            assert late < 3.0
            assert tx.proc.wait(10) == 1
        finally:
            tx.stop()
            rx.stop()
    finally:
        stun_only.stop()
        stop(tls)


def test_a_lossy_uplink_is_counted_and_costs_little_picture(fresh: Net, tmp_path: Path) -> None:
    """5 % of the sender's UDP packets dropped for 6 s (this kernel has no netem)."""
    rx = receiver(fresh, tmp_path, "--stats")
    code = rx.expect("code")["code"]
    rx.expect("state", state="waiting")
    # a picture of several packets a frame, so that losses hit parts of frames too
    tx = sender(fresh, code, "--synthetic", "960x540", "--fps", "30")
    try:
        tx.expect("state", state="casting")
        rx.expect("state", state="receiving")
        for _ in range(2):
            rx.expect("stats")
        rx.drain()
        tx.drain()
        before = tx.expect("stats")  # the first line printed from now on
        lossy_from = time.time()
        fresh.topo.nft("A", "flush chain ip castapp fw\n"
                            "add rule ip castapp fw meta l4proto udp numgen random mod 100 < 5 "
                            "drop\n")
        try:
            time.sleep(6)
        finally:
            fresh.topo.cut("A", False)
        lossy_to = time.time()
        time.sleep(1.5)
        tx.drain()
        rx.drain()
        after = tx.expect("stats")
        sent = [e for e in tx.seen if e["event"] == "stats" and e["t"] > before["t"]]
        requests = (after["pli"] - before["pli"]) + (after["fir"] - before["fir"])
        resends = after["nack"] - before["nack"]
        losses = [e["loss_pct"] for e in sent if e["loss_pct"]]
        gaps = [e["gap_ms"] for e in rx.seen if e["event"] == "stats" and e["t"] > before["t"]]
        during = [e["gap_ms"] for e in rx.seen
                  if e["event"] == "stats" and lossy_from + 1 < e["t"] <= lossy_to]
        print(f"5 % loss for 6 s: keyframe requests {requests}, NACKs {resends}, "
              f"reported loss {losses}, longest picture gaps {gaps} ms")
        summary = (requests, resends, losses, gaps, before, after)
        assert resends > 0 or requests > 0, summary  # the receiver asked, the sender counted it
        assert losses and max(losses) > 0, summary  # the receiver's reports say packets were lost
        # the picture keeps moving, during the losses and after them: every NACK is
        # answered (a resend and two more copies), a hole is asked for again after 0.1 s,
        # and one still open after 0.35 s is skipped with a keyframe request
        assert during and max(during) < 1500, gaps
        assert max(gaps) < 1500, gaps
        assert not [e for e in rx.seen if e.get("state") == "reconnecting"]
    finally:
        tx.stop()
        rx.stop()
