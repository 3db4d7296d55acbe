"""Shared fixtures: real room services on ephemeral loopback ports, real clients."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace

import pytest
from dbus_bus import session_bus  # noqa: F401 - shared fixture
from redis_server import redis_instances, redis_server  # noqa: F401 - shared fixtures

from castapp.signaling.client import SignalingClient
from castapp.signaling.rooms import RoomConfig
from castapp.signaling.server import RoomServer, ServiceConfig
from castapp.signaling.store import RoomStore
from castapp.signaling.tokens import TokenSigner

ServerFactory = Callable[..., Awaitable[RoomServer]]
ClientFactory = Callable[..., Awaitable[SignalingClient]]


@pytest.fixture
def room_key() -> bytes:
    return secrets.token_bytes(32)


@pytest.fixture
async def start_server(room_key: bytes) -> AsyncIterator[ServerFactory]:
    """Start real room services on 127.0.0.1; all are stopped at the end of the test."""
    servers: list[RoomServer] = []

    async def start(port: int = 0, heartbeat_s: float = 15.0, store: RoomStore | None = None,
                    **rooms: object) -> RoomServer:
        service = {k: rooms.pop(k) for k in list(rooms) if k in ServiceConfig.__dataclass_fields__}
        config = ServiceConfig(
            host="127.0.0.1",
            port=port,
            heartbeat_s=heartbeat_s,
            rooms=replace(RoomConfig(), **rooms),  # type: ignore[arg-type]
            **service,  # type: ignore[arg-type]
        )
        server = RoomServer(config, TokenSigner(room_key), store)
        await server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.stop()


@pytest.fixture
async def server(start_server: ServerFactory) -> RoomServer:
    return await start_server()


@pytest.fixture
async def make_client() -> AsyncIterator[ClientFactory]:
    clients: list[SignalingClient] = []

    async def make(url: str, name: str = "", connect: bool = True, **kw: object) -> SignalingClient:
        client = SignalingClient(url, name=name, **kw)  # type: ignore[arg-type]
        clients.append(client)
        if connect:
            await client.connect()
        return client

    yield make
    for client in clients:
        await client.close()



@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """aioice never offers 127.0.0.1: peers in this process offer only that host candidate
    (nothing leaves the machine; restored after the test)."""
    import aioice.ice

    def loopback(use_ipv4: bool = True, use_ipv6: bool = False) -> list[str]:
        return ["127.0.0.1"] if use_ipv4 else []

    monkeypatch.setattr(aioice.ice, "get_host_addresses", loopback)
