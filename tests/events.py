"""Waiting for one kind of signaling event in tests."""

from __future__ import annotations

import asyncio
from typing import TypeVar

from castapp.signaling.client import SignalingClient

E = TypeVar("E")


async def next_of(client: SignalingClient, kind: type[E], timeout: float = 10.0) -> E:
    """The next event of ``kind`` from ``client``, skipping others (reconnect chatter)."""
    async def wait() -> E:
        while True:
            ev = await client.next_event()
            if isinstance(ev, kind):
                return ev
    return await asyncio.wait_for(wait(), timeout)
