"""Codes survive reconnects and restarts; dead peers are noticed; shutdown is announced."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
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
