"""The room service inside a receiver: a default port with a fallback, and what it shows.

Everything here listens on loopback only; advertising is covered by the LAN tests, which run
in namespaces of their own.
"""

import socket

import aiohttp
import pytest

from castapp.embedded import EmbeddedService, start_room_server
from castapp.links import make_link
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


async def test_the_desktop_sender_trusts_the_receivers_own_certificate_by_its_link(
        tmp_path, room_key):
    """The https link of the QR code names the receiver's certificate: a client given it
    connects over wss to that certificate and no other; without it the certificate is
    untrusted, and a link naming another certificate is refused in words."""
    from castapp.links import parse_cast_input
    from castapp.signaling.client import SignalingClient, UntrustedCertificateError

    service = EmbeddedService(TokenSigner(room_key), host="127.0.0.1", port=0,
                              advertise=False, https_dir=tmp_path)
    await service.start()
    try:
        assert service.identity is not None and service.https_port is not None
        link = make_link("127.0.0.1", service.https_port, "482913", tls=True,
                         pin=service.identity.fingerprint)
        target = parse_cast_input(link, None)
        assert target.pin == service.identity.fingerprint.replace(":", "").lower()
        url = target.server_url
        assert url is not None and url.startswith("wss://") and "#pin=" in url
        async with SignalingClient(url, reconnect=False) as client:
            registered = await client.register()
            assert registered.code
        plain = url.partition("#")[0]
        with pytest.raises(UntrustedCertificateError, match="not trusted"):
            async with SignalingClient(plain, reconnect=False):
                pass
        other = url[:-4] + ("0000" if not url.endswith("0000") else "1111")
        with pytest.raises(UntrustedCertificateError, match="not the one the receiver's link"):
            async with SignalingClient(other, reconnect=False):
                pass
    finally:
        await service.stop()
