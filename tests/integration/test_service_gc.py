"""The room service's garbage-collector tuning and its pause metrics."""

from __future__ import annotations

import gc
import os
import re
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

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
        before = _value(await _metrics(server.url),
                        'castapp_gc_pause_seconds_count{generation="1"}')
        gc.collect(1)
        gc.collect(1)
        text = await _metrics(server.url)
    finally:
        await server.stop()
    assert _value(text, 'castapp_gc_pause_seconds_count{generation="1"}') >= before + 2
    assert _value(text, 'castapp_gc_pause_seconds_bucket{generation="1",le="+Inf"}') >= 2
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
