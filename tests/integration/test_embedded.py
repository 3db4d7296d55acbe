"""The room service inside a receiver: a default port with a fallback, and what it shows.

Everything here listens on loopback only; advertising is covered by the LAN tests, which run
in namespaces of their own.
"""

import socket

import aiohttp
import pytest

from castapp.embedded import EmbeddedService, start_room_server
from castapp.signaling.server import ServiceConfig
from castapp.signaling.tokens import TokenSigner

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def taken_port():
    """A port on 127.0.0.1 that something else is listening on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


async def healthy(url: str) -> bool:
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        return resp.status == 200 and (await resp.json())["status"] == "ok"


async def test_a_taken_port_falls_back_to_a_free_one(taken_port, room_key):
    server = await start_room_server(ServiceConfig(host="127.0.0.1", port=taken_port),
                                     TokenSigner(room_key))
    try:
        assert server.port not in (None, 0, taken_port)
        assert await healthy(f"http://127.0.0.1:{server.port}/healthz")
    finally:
        await server.stop()


async def test_a_free_default_port_is_kept(room_key):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        free = sock.getsockname()[1]
    server = await start_room_server(ServiceConfig(host="127.0.0.1", port=free),
                                     TokenSigner(room_key))
    try:
        assert server.port == free
    finally:
        await server.stop()


async def test_an_address_that_is_not_ours_is_an_error_not_a_fallback(room_key):
    with pytest.raises(OSError):
        await start_room_server(ServiceConfig(host="192.0.2.123", port=0),
                                TokenSigner(room_key))


async def test_a_service_on_loopback_shows_no_address_and_advertises_nothing(taken_port,
                                                                             room_key,
                                                                             make_client):
    service = EmbeddedService(TokenSigner(room_key), host="127.0.0.1", port=taken_port)
    await service.start()
    try:
        assert service.port != taken_port
        assert service.address is None and service.link("482913") is None
        assert service.url == f"ws://127.0.0.1:{service.port}/ws"
        client = await make_client(service.url, name="TV")
        reg = await client.register()
        assert await service.advertise(reg.code, "TV") is False  # nothing to advertise on
    finally:
        await service.stop()
