"""The room service's garbage-collector tuning and its pause metrics."""

from __future__ import annotations

import asyncio
import gc
import os
import re
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from castapp.signaling.server import RoomServer, ServiceConfig
from castapp.signaling.tokens import TokenSigner

ROOT = Path(__file__).resolve().parents[2]


async def _metrics(url: str) -> str:
    base = url.replace("ws://", "http://").removesuffix("/ws")
    async with aiohttp.ClientSession() as http, http.get(f"{base}/metrics") as resp:
        assert resp.status == 200
        return await resp.text()


def _value(text: str, name: str) -> float:
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    assert found is not None, name
    return float(found.group(1))


async def test_pauses_are_counted_by_generation(room_key):
    server = RoomServer(ServiceConfig(port=0, gc_metrics=True), TokenSigner(room_key))
    await server.start()
    try:
        first = await _metrics(server.url)
        before = _value(first, 'castapp_gc_pause_seconds_count{generation="1"}')
        freed = _value(first, 'castapp_gc_collected_objects_total{generation="1"}')
        cycle: list[object] = []
        cycle.append(cycle)
        del cycle
        gc.collect(1)
        gc.collect(1)
        text = await _metrics(server.url)
    finally:
        await server.stop()
    assert _value(text, 'castapp_gc_pause_seconds_count{generation="1"}') >= before + 2
    assert _value(text, 'castapp_gc_pause_seconds_bucket{generation="1",le="+Inf"}') >= 2
    assert _value(text, 'castapp_gc_collected_objects_total{generation="1"}') >= freed + 1
    assert server.gc_pauses is not None and server.gc_pauses not in gc.callbacks


async def test_embedded_service_leaves_the_collector_alone(room_key):
    server = RoomServer(ServiceConfig(port=0), TokenSigner(room_key))
    threshold = gc.get_threshold()
    await server.start()
    try:
        text = await _metrics(server.url)
    finally:
        await server.stop()
    assert "castapp_gc_pause_seconds" not in text
    assert gc.get_threshold() == threshold


def _serve(env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "castapp", "serve", "--port", "0", "--state-dir",
         str(ROOT / "build" / "test-serve-gc")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "CASTAPP_ROOM_KEY": "k" * 64, "PYTHONPATH": str(ROOT), **env})
    assert proc.stdout is not None
    line = ""
    while "room service on" not in line and proc.poll() is None:  # after its log lines
        line = proc.stdout.readline()
    found = re.search(r"ws://\S+", line)
    if found is None:
        proc.kill()
        pytest.fail(f"castapp serve did not start: {line}")
    return proc, found.group(0)


@pytest.mark.parametrize(("setting", "tuned"), [("", True), ("python", False)])
async def test_standalone_service_freezes_start_up_objects(setting: str, tuned: bool):
    proc, url = _serve({"CASTAPP_SERVE_GC": setting})
    try:
        text = await _metrics(url)
    finally:
        proc.terminate()
        proc.wait(20)
    frozen = _value(text, "castapp_gc_frozen_objects")
    assert (frozen > 10_000) if tuned else (frozen == 0)
    assert 'castapp_gc_pause_seconds_count{generation="2"}' in text



def _frame(data: bytes, opcode: int) -> bytes:
    """A client frame with a zero mask key (the payload goes as it is)."""
    assert len(data) < 126
    return bytes([0x80 | opcode, 0x80 | len(data)]) + b"\0\0\0\0" + data


async def _drop(host: str, port: int) -> None:
    """Say hello, try a code, then close and go without waiting for the service's close frame
    (a client that goes away while the service is still busy with its last message)."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
                 + _frame(b'{"type":"hello","versions":[2]}', 1))
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101")
    await reader.read(200)  # welcome
    writer.write(_frame(b'{"type":"join","code":"000000","name":"x"}', 1)
                 + _frame(b"\x03\xe8", 8))
    writer.close()


async def test_a_dropped_client_leaves_no_garbage(redis_instances):
    """A client that goes away without the closing handshake is freed at once, not left in a
    reference cycle for the collector (whose pause would delay every relay)."""
    server = await redis_instances()
    host, port = server.url.removeprefix("ws://").removesuffix("/ws").rsplit(":", 1)
    gc.collect()
    gc.disable()

    def ours() -> int:  # connections of this test's service (earlier tests' may linger)
        return sum(1 for o in gc.get_objects()
                   if isinstance(o, web.WebSocketResponse) and id(o) not in before)

    before = {id(o) for o in gc.get_objects() if isinstance(o, web.WebSocketResponse)}
    try:
        await asyncio.gather(*(_drop(host, int(port)) for _ in range(20)))
        for _ in range(300):
            await asyncio.sleep(0.01)
            if not server.connections:
                break
        # their handlers finish and let go (slower on a loaded machine); what stays is held
        # by a reference cycle, which only the disabled collector would free
        for _ in range(100):
            await asyncio.sleep(0.05)
            left = ours()
            if left == 0:
                break
        found = gc.collect()
    finally:
        gc.enable()
    assert server.rooms.counters["connections"] >= 20
    assert left == 0, f"{left} dropped connections still held ({found} objects in cycles)"
