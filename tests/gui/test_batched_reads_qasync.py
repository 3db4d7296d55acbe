"""On the TV windows' loop (asyncio inside Qt through qasync), an ICE socket reads a burst in
a few batches, in order, instead of one Qt socket event per datagram."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import aioice

from castapp.rtc import adapt, batchread


class _Connection:
    """What aioice's StunProtocol hands a non-STUN datagram to; notes the loop pass."""

    def __init__(self) -> None:
        self.passes = 0
        self.got: list[tuple[int, int]] = []  # (sequence, pass)

    def tick(self) -> None:
        self.passes += 1
        asyncio.get_running_loop().call_soon(self.tick)

    def data_received(self, data: bytes, component: int) -> None:
        self.got.append((int.from_bytes(data[2:4], "big"), self.passes))

    def protocol_lost(self, protocol: Any) -> None:
        pass


async def _burst(count: int) -> _Connection:
    loop = asyncio.get_running_loop()
    connection = _Connection()
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: aioice.ice.StunProtocol(connection),  # type: ignore[arg-type]
        local_addr=("127.0.0.1", 0))
    sock = transport.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
    protocol.local_candidate = aioice.Candidate(
        foundation="x", component=1, transport="udp", priority=1, host="127.0.0.1", port=1,
        type="host")
    await asyncio.sleep(0.05)  # the readers are registered
    loop.call_soon(connection.tick)
    addr = transport.get_extra_info("sockname")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for i in range(count):  # blocking: the whole burst waits on the socket
            s.sendto(bytes([0x80, 0x60]) + i.to_bytes(2, "big") + bytes(1196), addr)
    for _ in range(200):
        if len(connection.got) == count:
            break
        await asyncio.sleep(0.01)
    transport.close()
    return connection


def test_a_burst_is_read_in_batches_on_the_windows_loop(run) -> None:
    was = adapt.installed()
    try:
        adapt.use_batched_reads(True)
        batched = run(_burst(200))
        adapt.use_batched_reads(False)
        single = run(_burst(200))
    finally:
        adapt.use_batched_reads(True)
        if not was:
            adapt.uninstall()
    assert [seq for seq, _ in batched.got] == list(range(200))
    assert len({p for _, p in batched.got}) <= -(-200 // batchread.BATCH) + 1
    # Without it: one datagram a pass (the check can tell the two apart).
    assert [seq for seq, _ in single.got] == list(range(200))
    assert len({p for _, p in single.got}) > 100
