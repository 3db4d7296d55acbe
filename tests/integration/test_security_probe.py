"""The online code check of LAN discovery, against a real embedded service and fake ones."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from castapp.discovery.probe import probe
from castapp.embedded import EmbeddedService
from castapp.signaling.client import SignalingClient
from castapp.signaling.rooms import RoomConfig
from castapp.signaling.tokens import TokenSigner


@pytest.fixture
async def hosted(room_key):
    service = EmbeddedService(TokenSigner(room_key), host="127.0.0.1", port=0, advertise=False)
    service.config.rooms = RoomConfig(join_failures=4, join_failures_prefix=100,
                                      join_failures_service=100)
    await service.start()
    tv = SignalingClient(service.url, name="tv")
    await tv.connect()
    reg = await tv.register()
    base = service.url.replace("ws://", "http://").removesuffix("/ws")
    yield service, reg.code, base
    await tv.close()
    await service.stop()


async def test_the_right_code_is_proven_and_a_wrong_one_is_not(hosted):
    service, code, base = hosted
    async with aiohttp.ClientSession() as http:
        assert (await probe(http, base, code[:3] + " " + code[3:])).matches
        wrong = "000000" if code != "000000" else "111111"
        assert not (await probe(http, base, wrong)).matches
        # the proven sender joins, and neither its probe nor its join is left as a failure
        sender = SignalingClient(service.url)
        await sender.connect()
        await sender.join(code)
        await sender.close()
    assert service.server.rooms.counters["probes"] == 2


async def test_probes_count_against_the_join_limits(hosted):
    _service, code, base = hosted
    wrong = "000000" if code != "000000" else "111111"
    async with aiohttp.ClientSession() as http:
        for _ in range(4):
            assert not (await probe(http, base, wrong)).matches
        # the address has spent its guesses: even the right code is not proven now
        assert not (await probe(http, base, code)).matches
        async with http.post(base + "/probe", data=b"{}") as resp:
            assert resp.status == 429


async def test_a_standalone_service_has_no_probe(server):
    base = server.url.replace("ws://", "http://").removesuffix("/ws")
    async with aiohttp.ClientSession() as http, http.post(base + "/probe", data=b"{}") as resp:
        assert resp.status in (404, 405)


async def test_fake_services_do_not_match_and_do_not_hang_the_sender():
    held: list[asyncio.StreamWriter] = []

    async def tarpit(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)  # accept, read nothing, answer nothing

    async def liar(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(2048)
        body = b'{"pake":"AAAA","confirm":"AAAA"}'
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                     + str(len(body)).encode() + b"\r\n\r\n" + body)
        await writer.drain()
        writer.close()

    servers = [await asyncio.start_server(h, "127.0.0.1", 0) for h in (tarpit, liar)]
    ports = [s.sockets[0].getsockname()[1] for s in servers]
    try:
        async with aiohttp.ClientSession() as http:
            t0 = time.monotonic()
            results = await asyncio.gather(
                *(probe(http, f"http://127.0.0.1:{p}", "482913", timeout=1.0) for p in ports))
            assert [r.matches for r in results] == [False, False]
            assert time.monotonic() - t0 < 2.5
    finally:
        for w in held:
            w.close()
        for s in servers:
            s.close()
