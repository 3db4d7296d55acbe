"""Health, metrics, ICE servers handed out, and TLS."""

from __future__ import annotations

import ssl
import subprocess
import time

import aiohttp
import pytest

from castapp import protocol as p
from castapp.signaling.client import UnknownCodeError
from castapp.signaling.server import RoomServer, ServiceConfig
from castapp.signaling.tokens import TokenSigner
from castapp.signaling.turn import IceConfig, turn_credential


async def test_healthz_and_metrics(server, make_client):
    receiver = await make_client(server.url)
    sender = await make_client(server.url)
    reg = await receiver.register()
    await sender.join(reg.code)
    await sender.send_offer(receiver.peer_id, "sdp")
    await receiver.next_event(5)
    await receiver.next_event(5)
    with pytest.raises(UnknownCodeError):
        await (await make_client(server.url)).join("000000" if reg.code != "000000" else "1")
    base = server.url.replace("ws://", "http://").removesuffix("/ws")
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/healthz") as resp:
            assert resp.status == 200 and (await resp.json())["status"] == "ok"
        async with http.get(f"{base}/metrics") as resp:
            text = await resp.text()
    assert "castapp_receivers 1" in text
    assert "castapp_senders 1" in text
    assert "castapp_relayed_total 1" in text
    assert 'castapp_errors_total{code="unknown_code"} 1' in text
    assert reg.code not in text


async def test_ice_servers_with_short_lived_turn_credentials(start_server, make_client):
    ice = IceConfig(stun=("stun:127.0.0.1:3478",), turn=("turn:127.0.0.1:3478",),
                    turn_secret="topsecret", ttl_s=120)
    server = await start_server(ice=ice)
    receiver = await make_client(server.url)
    sender = await make_client(server.url)
    reg = await receiver.register()
    joined = await sender.join(reg.code)
    for servers, peer in ((reg.ice_servers, receiver.peer_id), (joined.ice_servers,
                                                               sender.peer_id)):
        assert servers[0] == p.IceServer(urls=["stun:127.0.0.1:3478"])
        turn = servers[1]
        expiry, who = turn.username.split(":")
        assert who == peer
        assert 100 < int(expiry) - time.time() <= 121
        assert turn.credential == turn_credential("topsecret", turn.username)


async def test_tls(tmp_path, room_key):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    config = ServiceConfig(port=0, tls_cert=cert, tls_key=key)
    tls = RoomServer(config, TokenSigner(room_key))
    port = await tls.start()
    try:
        assert tls.url == f"wss://127.0.0.1:{port}/ws"
        ctx = ssl.create_default_context(cafile=str(cert))
        async with aiohttp.ClientSession() as http, http.ws_connect(tls.url, ssl=ctx) as ws:
            await ws.send_str('{"type":"hello","versions":[2]}')
            assert (await ws.receive_json(timeout=5))["type"] == "welcome"
        # a client that does not trust the certificate cannot connect
        async with aiohttp.ClientSession() as http:
            with pytest.raises(aiohttp.ClientConnectorCertificateError):
                await http.ws_connect(tls.url)
    finally:
        await tls.stop()


async def test_metrics_bearer_token(room_key):
    server = RoomServer(ServiceConfig(port=0, metrics_token="s3cret"), TokenSigner(room_key))
    await server.start()
    base = server.url.replace("ws://", "http://").removesuffix("/ws")
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/metrics") as resp:
                assert resp.status == 401 and "castapp_" not in await resp.text()
            bad = {"Authorization": "Bearer wrong"}
            async with http.get(f"{base}/metrics", headers=bad) as resp:
                assert resp.status == 401
            good = {"Authorization": "Bearer s3cret"}
            async with http.get(f"{base}/metrics", headers=good) as resp:
                assert resp.status == 200 and "castapp_receivers 0" in await resp.text()
            async with http.get(f"{base}/healthz") as resp:
                assert resp.status == 200  # health stays open for load balancers
    finally:
        await server.stop()


async def test_embedded_metrics_are_for_this_machine_only(room_key):
    from aiohttp import web
    from aiohttp.test_utils import make_mocked_request

    from castapp.embedded import EmbeddedService

    embedded = EmbeddedService(TokenSigner(room_key), host="127.0.0.1", port=0, advertise=False)
    await embedded.start()
    try:
        server = embedded.server
        assert server is not None and server.config.metrics_access == "loopback"
        base = embedded.url.replace("ws://", "http://").removesuffix("/ws")
        async with aiohttp.ClientSession() as http, http.get(f"{base}/metrics") as resp:
            assert resp.status == 200  # from loopback
        # a LAN client (the request as aiohttp would hand it over from 192.0.2.7)
        lan = make_mocked_request("GET", "/metrics", app=server.app,
                                  transport=_Peer(("192.0.2.7", 50000)))
        with pytest.raises(web.HTTPForbidden):
            await server._metrics(lan)
        for addr in ("127.0.0.5", "::1", "::ffff:127.0.0.1"):
            await server._metrics(make_mocked_request(
                "GET", "/metrics", app=server.app, transport=_Peer((addr, 1))))
    finally:
        await embedded.stop()


class _Peer:
    """Just enough of a transport for aiohttp to read the peer address from."""

    def __init__(self, peer: tuple[str, int]) -> None:
        self.peer = peer

    def get_extra_info(self, name: str, default: object = None) -> object:
        return self.peer if name == "peername" else default

    def is_closing(self) -> bool:
        return False
