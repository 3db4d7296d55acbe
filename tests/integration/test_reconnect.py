"""Codes survive reconnects and restarts; dead peers are noticed; shutdown is announced."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import sys
import time
from pathlib import Path

import pytest
from events import next_of

from castapp import protocol as p
from castapp.signaling.client import ConnectionLost, Reconnected


async def test_code_survives_a_receiver_reconnect(server, make_client):
    first = await make_client(server.url)
    reg = await first.register()
    await first.close()
    again = await make_client(server.url)
    reg2 = await again.register(reg.token)
    assert reg2.code == reg.code


async def test_forged_or_foreign_token_gets_a_new_code(server, make_client):
    first = await make_client(server.url)
    reg = await first.register()
    thief = await make_client(server.url)
    forged = reg.token[:-4] + ("AAAA" if not reg.token.endswith("AAAA") else "BBBB")
    stolen = await thief.register(forged)
    assert stolen.code != reg.code


async def test_same_receiver_connecting_twice_replaces_the_old_connection(server, make_client):
    first = await make_client(server.url, reconnect=False)
    reg = await first.register()
    second = await make_client(server.url)
    assert (await second.register(reg.token)).code == reg.code
    lost = await next_of(first, ConnectionLost)
    assert lost.retry_in_s == -1.0


async def test_receiver_vanishing_tells_the_sender(server, make_client):
    receiver = await make_client(server.url, reconnect=False)
    sender = await make_client(server.url)
    reg = await receiver.register()
    await sender.join(reg.code)
    # drop the TCP connection without a close handshake, as a crashed TV would
    assert receiver._ws is not None
    transport = receiver._ws._response.connection.transport  # type: ignore[union-attr]
    transport.abort()
    left = await next_of(sender, p.PeerLeft)
    assert left.peer_id == receiver.peer_id and left.reason is p.LeaveReason.DISCONNECTED


async def test_silent_peer_is_timed_out_by_heartbeat(start_server, make_client):
    server = await start_server(heartbeat_s=0.3)
    sender = await make_client(server.url)
    receiver = await make_client(server.url, reconnect=False)
    reg = await receiver.register()
    await sender.join(reg.code)
    await next_of(receiver, p.PeerJoined)
    # a sender that goes silent (no heartbeats, no close): the receiver is told
    sender._reader.cancel()  # type: ignore[union-attr]
    left = await next_of(receiver, p.PeerLeft, timeout=5)
    assert left.peer_id == sender.peer_id and left.reason is p.LeaveReason.TIMEOUT


async def _sender_whose_receiver_dropped(server, make_client):
    """A paired sender whose receiver just disconnected (and was reported as gone)."""
    receiver = await make_client(server.url, reconnect=False)
    sender = await make_client(server.url)
    reg = await receiver.register()
    await sender.join(reg.code)
    await receiver.close()
    await next_of(sender, p.PeerLeft)
    return sender, reg


async def test_grace_then_room_closes_for_waiting_senders(start_server, make_client):
    server = await start_server(grace_s=0.5)
    sender, reg = await _sender_whose_receiver_dropped(server, make_client)
    closed = await next_of(sender, p.RoomClosed, timeout=5)
    assert "did not come back" in closed.reason
    # the code is free again: a new receiver with the old token still gets it back
    back = await make_client(server.url)
    assert (await back.register(reg.token)).code == reg.code


async def test_receiver_coming_back_in_grace_meets_waiting_sender(server, make_client):
    sender, reg = await _sender_whose_receiver_dropped(server, make_client)
    back = await make_client(server.url)
    assert (await back.register(reg.token)).code == reg.code
    hello = await next_of(sender, p.PeerJoined)
    assert hello.peer.peer_id == back.peer_id
    seen = await next_of(back, p.PeerJoined)
    assert seen.peer.peer_id == sender.peer_id


async def test_code_survives_an_in_process_service_restart(start_server, make_client):
    server = await start_server()
    port = server.port
    receiver = await make_client(server.url, backoff=(0.05, 0.5))
    reg = await receiver.register()
    await server.stop()
    assert isinstance(await next_of(receiver, p.Shutdown), p.Shutdown)
    await start_server(port=port)  # same room key, empty memory
    await next_of(receiver, Reconnected)
    again = await next_of(receiver, p.Registered)
    assert again.code == reg.code and receiver.code == reg.code


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _spawn_service(port: int, state: Path) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "castapp", "serve", "--port", str(port),
        "--state-dir", str(state),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    while True:  # wait for the banner rather than sleeping
        line = await asyncio.wait_for(proc.stdout.readline(), 20)
        assert line, "the service exited before listening"
        if b"room service on" in line:
            return proc


@pytest.mark.timeout(60)
async def test_sigterm_announces_shutdown_and_clients_move_to_a_new_instance(
    tmp_path, make_client
):
    port = _free_port()
    url = f"ws://127.0.0.1:{port}/ws"
    proc = await _spawn_service(port, tmp_path)
    try:
        receiver = await make_client(url, backoff=(0.05, 0.5))
        sender = await make_client(url, backoff=(0.05, 0.5))
        reg = await receiver.register()
        await sender.join(reg.code)
        proc.send_signal(signal.SIGTERM)
        notice = await next_of(receiver, p.Shutdown)
        assert notice.retry_after_ms > 0
        assert await asyncio.wait_for(proc.wait(), 10) == 0
        out = (await proc.stdout.read()).decode()  # type: ignore[union-attr]
        assert reg.code not in out and reg.token not in out  # secrets never logged
        proc = await _spawn_service(port, tmp_path)
        assert (await next_of(receiver, p.Registered)).code == reg.code
        joined = await next_of(sender, p.Joined)
        assert joined.receiver.peer_id == receiver.peer_id
    finally:
        if proc.returncode is None:
            proc.terminate()
            await proc.wait()



@pytest.mark.timeout(60)
async def test_a_client_that_never_answers_the_close_does_not_hold_the_shutdown(tmp_path):
    """A client that stops reading (a frozen laptop, a hostile client) never sends its close
    frame back, and one that never said hello waits out its hello timeout; the service
    gives them 2 s, not aiohttp's 10 and 60 s, before it exits."""
    import aiohttp

    port = _free_port()
    proc = await _spawn_service(port, tmp_path)
    try:
        async with aiohttp.ClientSession() as http:
            url = f"ws://127.0.0.1:{port}/ws"
            silent = await http.ws_connect(url, autoclose=False, autoping=False)  # no hello
            greeted = await http.ws_connect(url, autoclose=False, autoping=False)
            await greeted.send_bytes(p.encode(p.Hello(versions=list(p.SUPPORTED_VERSIONS))))
            await asyncio.sleep(0.5)  # the service has both; from now on nothing is read
            began = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(proc.wait(), 15) == 0
            took = time.monotonic() - began
            await silent.close()
            await greeted.close()
        assert took < 5.0, took
    finally:
        if proc.returncode is None:
            proc.terminate()
            await proc.wait()

# ---------------------------------------------------------------- the receiver's side cut
# ``castapp receive`` behind router B, ``castapp send`` behind router A, service and coturn
# between them (tests/nat_topology.py). Router B drops everything for a while, as a TV whose
# uplink went dead would see it.


@pytest.fixture(scope="module")
def nat(tmp_path_factory: pytest.TempPathFactory):
    sys.path.insert(0, str(Path(__file__).parents[1]))
    from nat_topology import NatTopology, RoomService, start_coturn, stop

    workdir = tmp_path_factory.mktemp("nat-reconnect")
    topo = NatTopology()
    try:
        topo.build()
        secret = secrets.token_urlsafe(16)
        coturn = start_coturn(topo, workdir / "coturn", secret)
        service = RoomService(topo, workdir / "service", secret).start()
        try:
            yield topo, service
        finally:
            service.stop()
            stop(coturn)
    finally:
        topo.close()


def _states(proc) -> list[str]:
    return [e["state"] for e in proc.seen if e["event"] == "state"]


@pytest.mark.timeout(150)
@pytest.mark.parametrize("outage_s", [5.0, 30.0])
def test_a_cut_on_the_receivers_side_recovers_once_without_flapping(nat, tmp_path,
                                                                    outage_s: float) -> None:
    from castproc import CastProc

    topo, service = nat
    topo.reset()
    topo.cut("B", False)
    rx = CastProc(topo.exec_argv("hostB", []), "receive", "--headless", "--admission", "open",
                                               "--server",
                  service.url, "--state-dir", str(tmp_path), "--name", "TV", "--stats")
    try:
        code = rx.expect("code")["code"]
        tx = CastProc(topo.exec_argv("hostA", []), "send", "--headless", "--server",
                      service.url, "--code", code, "--synthetic", "320x240", "--fps", "20",
                      "--name", "Laptop", "--stats", "--connect-timeout", "60")
        try:
            rx.expect("state", state="receiving", timeout=20)
            rx.expect("stats", timeout=10)
            topo.cut("B", True)
            cut_at = time.time()
            rx.expect("state", state="reconnecting", timeout=10)
            time.sleep(max(0.0, cut_at + outage_s - time.time()))
            topo.cut("B", False)
            restored_at = time.time()
            try:
                back = rx.expect("state", state="receiving", timeout=20)
            except AssertionError as exc:
                tx.drain()
                if os.environ.get("CASTAPP_TEST_LOG_DIR"):
                    out = Path(os.environ["CASTAPP_TEST_LOG_DIR"])
                    (out / "receiver.log").write_text("".join(rx.other))
                    (out / "sender.log").write_text("".join(tx.other))
                raise AssertionError(f"{exc}\nsender: {tx.seen[-12:]}\n"
                                     f"{''.join(tx.other)[-3000:]}") from None
            late = back["t"] - restored_at
            if os.environ.get("CASTAPP_TEST_LOG_DIR"):
                out = Path(os.environ["CASTAPP_TEST_LOG_DIR"])
                (out / "receiver.log").write_text(f"restored {restored_at}\n" + "".join(rx.other))
            stats = rx.expect("stats", timeout=10)
            while stats["t"] < back["t"] + 1.0:  # a full second of frames since they came back
                stats = rx.expect("stats", timeout=10)
            rx.drain()
            print(f"outage {outage_s:.0f} s: frames back {late:.2f} s after the link")

            # one reconnecting -> receiving and nothing else: no waiting, no flapping
            assert _states(rx) == ["starting", "waiting", "connecting", "receiving",
                                   "reconnecting", "receiving"], _states(rx)
            assert late < 2.0, f"frames came back {late:.2f} s after the link"
            assert stats["fps"] > 5
            assert stats["rtt_ms"] is not None  # measured by the receiver itself
            assert not [e for e in rx.seen if e["event"] == "code" and e["code"] != code]
        finally:
            tx.stop()
    finally:
        rx.stop()


# ---------------------------------------------------------------------- the sender's side
@pytest.fixture
def loopback_ice(monkeypatch: pytest.MonkeyPatch) -> None:
    """aioice never offers 127.0.0.1: restrict host candidates to loopback for these tests."""
    import aioice.ice
    monkeypatch.setattr(aioice.ice, "get_host_addresses",
                        lambda use_ipv4=True, use_ipv6=False: ["127.0.0.1"] if use_ipv4 else [])


class _Counted:
    """The real peer factory, counting the calls the sender builds."""

    def __init__(self) -> None:
        self.built = 0

    async def __call__(self, request):  # type: ignore[no-untyped-def]
        from castapp.rtc.offer import aiortc_offer
        self.built += 1
        return await aiortc_offer(request)


@pytest.mark.timeout(60)
async def test_sender_casts_through_a_service_restart_without_rebuilding(
    start_server, loopback_ice
):
    from castapp.rtc.capture import SyntheticSource
    from castapp.session.receiver import ReceiverSession
    from castapp.session.sender import SenderSession, SenderState

    server = await start_server()
    port = server.port
    source = SyntheticSource(320, 240, fps=20)
    shown: list[SenderState] = []
    factory = _Counted()
    receiver = ReceiverSession(server.url)
    sender = SenderSession(server.url, source, peer_factory=factory,
                           on_status=lambda st: shown.append(st.state))
    try:
        status = await receiver.start()
        await sender.cast(status.code or "")
        await sender.wait_for(SenderState.CASTING)
        await server.stop()
        await asyncio.sleep(0.5)
        await start_server(port=port)
        while sender.status.service_ok is False or not sender.client.joined:
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)
        assert sender.status.state is SenderState.CASTING
        assert factory.built == 1 and sender.status.reconnects == 0
        assert shown[shown.index(SenderState.CASTING):].count(SenderState.CASTING) == \
            len(shown[shown.index(SenderState.CASTING):])  # never left casting
        stats = await sender.stats()
        assert stats is not None and stats.packets_sent > 0
    finally:
        await sender.close()
        await receiver.stop()
        source.stop()


@pytest.mark.timeout(60)
async def test_waiting_sender_makes_one_new_call_when_the_receiver_returns(
    server, loopback_ice
):
    from castapp.rtc.capture import SyntheticSource
    from castapp.session.receiver import ReceiverSession
    from castapp.session.sender import SenderSession, SenderState

    source = SyntheticSource(320, 240, fps=20)
    factory = _Counted()
    first = ReceiverSession(server.url)
    sender = SenderSession(server.url, source, peer_factory=factory)
    back: ReceiverSession | None = None
    try:
        status = await first.start()
        await sender.cast(status.code or "")
        await sender.wait_for(SenderState.CASTING)
        # the TV crashes: its connection drops without a word, its call with it
        await first.client.close()
        await sender.wait_for(SenderState.WAITING, timeout=15)
        back = ReceiverSession(server.url, token=first.client.token)
        again = await back.start()
        assert again.code == status.code
        await sender.wait_for(SenderState.CASTING, timeout=15)
        assert factory.built == 2  # exactly one new call
        assert sender.status.fault is None
    finally:
        await sender.close()
        if back is not None:
            await back.stop()
        await first.stop()
        source.stop()
