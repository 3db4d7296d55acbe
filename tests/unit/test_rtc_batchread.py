"""Batched datagram reading (castapp.rtc.batchread) on real loopback sockets."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import aioice.ice
import pytest

from castapp.rtc import adapt, batchread
from castapp.rtc.backlog import kernel_arrival


class Ticker:
    """Counts passes of the event loop: one callback a pass, rescheduling itself."""

    def __init__(self) -> None:
        self.passes = 0
        self._stopped = False
        asyncio.get_running_loop().call_soon(self._tick)

    def _tick(self) -> None:
        if not self._stopped:
            self.passes += 1
            asyncio.get_running_loop().call_soon(self._tick)

    def stop(self) -> None:
        self._stopped = True


class Recorder(asyncio.DatagramProtocol):
    def __init__(self, ticker: Ticker | None = None, close_after: int = 0) -> None:
        self.ticker = ticker
        self.close_after = close_after
        self.got: list[tuple[bytes, int]] = []
        self.stamps: list[float | None] = []
        self.errors: list[Exception] = []
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.got.append((data, self.ticker.passes if self.ticker else 0))
        self.stamps.append(kernel_arrival(self.transport.get_extra_info("socket").fileno()))
        if self.close_after and len(self.got) == self.close_after:
            self.transport.close()

    def error_received(self, exc: Exception) -> None:
        self.errors.append(exc)


async def _endpoint(protocol: Recorder, batched: bool) -> tuple[Any, tuple[str, int]]:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: protocol,
                                                      local_addr=("127.0.0.1", 0))
    sock = transport.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
    kernel_arrival(sock.fileno())  # turns the socket's arrival stamps on
    if batched:
        assert batchread.install(transport)
    await asyncio.sleep(0)  # the transport registers its reader
    await asyncio.sleep(0)
    return transport, transport.get_extra_info("sockname")


def _send(addr: tuple[str, int], count: int, start: int = 0) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for i in range(start, start + count):
            s.sendto(bytes([0x80, 0x60]) + i.to_bytes(2, "big") + bytes(1196), addr)


async def _burst(batched: bool, count: int) -> Recorder:
    """``count`` datagrams all waiting on the socket before the loop looks at it."""
    ticker = Ticker()
    protocol = Recorder(ticker)
    transport, addr = await _endpoint(protocol, batched)
    _send(addr, count)  # blocking: the loop does not run meanwhile
    for _ in range(2000):
        if len(protocol.got) == count:
            break
        await asyncio.sleep(0)
    ticker.stop()
    transport.close()
    return protocol


async def test_a_burst_is_read_in_few_passes_of_the_loop() -> None:
    count = 200
    batched = await _burst(True, count)
    single = await _burst(False, count)
    assert [int.from_bytes(d[2:4], "big") for d, _ in batched.got] == list(range(count))
    assert len(single.got) == count
    passes = len({tick for _, tick in batched.got})
    assert passes <= -(-count // batchread.BATCH) + 1, passes
    # What it replaces: one datagram a pass.
    assert len({tick for _, tick in single.got}) == count


async def test_each_datagram_is_handled_right_after_it_is_read() -> None:
    """A watcher asking the kernel when "the last datagram read" arrived (the stale gate)
    gets each datagram's own time, though several are read in one pass."""
    ticker = Ticker()
    protocol = Recorder(ticker)
    transport, addr = await _endpoint(protocol, True)
    _send(addr, 20)
    time.sleep(0.08)  # blocking: both groups wait on the socket together
    _send(addr, 20, start=20)
    for _ in range(500):
        if len(protocol.got) == 40:
            break
        await asyncio.sleep(0)
    ticker.stop()
    transport.close()
    assert len(protocol.got) == 40
    assert len({tick for _, tick in protocol.got}) == 1  # one pass read all forty
    if protocol.stamps[0] is None:
        pytest.skip("the kernel gives no arrival times here")
    stamps = [s for s in protocol.stamps if s is not None]
    assert len(stamps) == 40
    assert max(stamps[:20]) - min(stamps[:20]) < 0.04
    assert min(stamps[20:]) - max(stamps[:20]) > 0.06


async def test_closing_in_the_handler_stops_the_reading() -> None:
    protocol = Recorder(close_after=3)
    transport, addr = await _endpoint(protocol, True)
    _send(addr, 10)
    await asyncio.sleep(0.05)
    assert len(protocol.got) == 3
    assert transport.is_closing()
    assert protocol.errors == []


async def test_a_socket_error_reaches_the_protocol_and_reading_goes_on() -> None:
    """A connected socket told by ICMP that nobody listens: error_received, as before."""
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as closed:
        closed.bind(("127.0.0.1", 0))
        gone = closed.getsockname()
    protocol = Recorder()
    transport, _ = await loop.create_datagram_endpoint(lambda: protocol, remote_addr=gone)
    assert batchread.install(transport)
    await asyncio.sleep(0.01)
    transport.sendto(b"anyone?")
    for _ in range(100):
        if protocol.errors:
            break
        await asyncio.sleep(0.01)
    assert protocol.errors and isinstance(protocol.errors[0], ConnectionRefusedError)
    assert not transport.is_closing()
    transport.close()


async def test_other_transports_are_left_alone() -> None:
    assert not batchread.install(asyncio.BaseTransport())
    loop = asyncio.get_running_loop()
    server = await loop.create_server(asyncio.Protocol, "127.0.0.1", 0)
    _, writer = await asyncio.open_connection(*server.sockets[0].getsockname()[:2])
    assert not batchread.install(writer.transport)
    writer.close()
    server.close()


class _Connection:
    """What StunProtocol hands a non-STUN datagram to."""

    def __init__(self, ticker: Ticker) -> None:
        self.ticker = ticker
        self.got: list[int] = []

    def data_received(self, data: bytes, component: int) -> None:
        self.got.append(self.ticker.passes)

    def protocol_lost(self, protocol: object) -> None:
        pass


@pytest.mark.parametrize("adapted", [True, False])
async def test_ice_sockets_read_in_batches_once_installed(adapted: bool) -> None:
    """aioice's host sockets (``StunProtocol``) read bursts in batches with castapp's
    adaptations installed, one datagram a pass without them."""
    was = adapt.installed()
    if adapted:
        adapt.install()
    else:
        adapt.uninstall()
    try:
        ticker = Ticker()
        connection = _Connection(ticker)
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.create_datagram_endpoint(
            lambda: aioice.ice.StunProtocol(connection),  # type: ignore[arg-type]
            local_addr=("127.0.0.1", 0))
        protocol.local_candidate = aioice.Candidate(  # type: ignore[attr-defined]
            foundation="x", component=1, transport="udp", priority=1, host="127.0.0.1",
            port=1, type="host")
        transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF,
                                                      1 << 21)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        _send(transport.get_extra_info("sockname"), 100)
        for _ in range(1000):
            if len(connection.got) == 100:
                break
            await asyncio.sleep(0)
        ticker.stop()
        transport.close()
        passes = len(set(connection.got))
        assert len(connection.got) == 100
        assert (passes <= 3) if adapted else (passes == 100)
    finally:
        if was:
            adapt.install()
        else:
            adapt.uninstall()
