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
