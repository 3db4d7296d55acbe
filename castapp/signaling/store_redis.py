"""The Redis room store: many service instances share codes, rooms, rate limits and delivery.

Every decision (claiming a code, adding a sender, counting a rate limit) is one Lua script, so
it is atomic across instances. Messages for a peer connected to another instance go through
that instance's pub/sub channel. Instances heartbeat; one that stops is taken over by the
first instance to notice (:meth:`RedisStore.lost_peers`). The key layout is described in
:mod:`castapp.signaling.redis_scripts`. Needs one Redis server, not Redis Cluster: the
scripts touch keys they compute.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Sequence
from urllib.parse import urlsplit

from castapp.protocol import PeerInfo, Role
from castapp.signaling import redis_scripts as lua
from castapp.signaling.limits import Attempt, Scope, Verdict
from castapp.signaling.redis_presence import FAILURES, Presence
from castapp.signaling.redis_wire import RedisConnection
from castapp.signaling.store import (
    AddSender,
    Claim,
    DeliverFn,
    PeerRecord,
    Relay,
    ResetFn,
    RoomRecord,
)

log = logging.getLogger(__name__)

#: How long a room whose receiver dropped stays in Redis after its hold ends.
_HELD_ROOM_LINGER_S = 60.0


class StoreUnavailableError(ConnectionError):
    """Redis cannot be reached (at start-up)."""


def redacted(url: str) -> str:
    """The Redis URL without a password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return parts._replace(netloc=f"{user}{host}{port}").geturl()


class RedisStore:
    def __init__(
        self,
        url: str,
        *,
        prefix: str = "castapp:",
        instance_ttl_s: float = 10.0,
        instance: str | None = None,
    ) -> None:
        if instance_ttl_s <= 0:
            raise ValueError("the instance TTL must be positive")
        self.url = url
        self.prefix = prefix
        self.instance = instance or secrets.token_hex(6)
        # one pipelined connection for every command (see redis_wire: no pool to wait for)
        self._redis = RedisConnection(url, decode=True, timeout=2.0, connect_timeout=1.0)
        self.presence = Presence(self._redis, url, prefix, self.instance, instance_ttl_s)
        script = self._redis.register_script
        self._claim = script(lua.CLAIM_ROOM)
        self._detach = script(lua.DETACH_RECEIVER)
        self._expire = script(lua.EXPIRE_ROOM)
        self._delete = script(lua.DELETE_ROOM)
        self._add_sender = script(lua.ADD_SENDER)
        self._rate = script(lua.RATE)
        self._attempt = script(lua.ATTEMPT)
        self._refund = script(lua.REFUND)
        self._forward = script(lua.FORWARD)
        self._relay = script(lua.RELAY)
        self._reap = script(lua.REAP)
        self._put_peer = script(lua.PUT_PEER)
        self._drop_peer = script(lua.DROP_PEER)
        self._ipeers = f"{prefix}ipeers:{self.instance}"

    def _room(self, code: str) -> list[str]:
        return [f"{self.prefix}room:{code}", f"{self.prefix}senders:{code}"]

    def _peer(self, peer_id: str) -> str:
        return f"{self.prefix}peer:{peer_id}"

    # ------------------------------------------------------------------ lifecycle
    async def start(self, deliver: DeliverFn, reset: ResetFn) -> None:
        try:
            await self._redis.load_scripts()
            await self.presence.start(deliver, reset)
        except FAILURES as exc:
            await self.close()
            raise StoreUnavailableError(
                f"cannot reach Redis at {redacted(self.url)}: {exc}"
            ) from None
        log.info("sharing rooms through Redis at %s as instance %s", redacted(self.url),
                 self.instance)

    async def close(self) -> None:
        await self.presence.stop()
        await self._redis.aclose()

    async def healthy(self) -> bool:
        if not (self.presence.subscribed and self.presence.beating):
            return False
        try:
            return bool(await asyncio.wait_for(self._redis.ping(), 1.0))
        except FAILURES:
            return False

    # ------------------------------------------------------------------ rooms
    async def claim_room(self, code: str, owner: str, receiver: PeerInfo, now: float,
                         fresh: bool = False) -> Claim:
        out = await self._claim(
            keys=self._room(code),
            args=[owner, receiver.peer_id, receiver.name, repr(now), "1" if fresh else "0"],
        )
        if not int(out[0]):
            return Claim(ok=False)
        senders = tuple(
            PeerInfo(peer_id=out[i], role=Role.SENDER, name=out[i + 1])
            for i in range(2, len(out) - 1, 2)
        )
        return Claim(ok=True, replaced=out[1] or None, senders=senders)

    async def get_room(self, code: str, now: float) -> RoomRecord | None:
        owner, receiver, rname, hold = await self._redis.hmget(
            self._room(code)[0], ["owner", "receiver", "rname", "hold"]
        )
        if owner is None:
            return None
        hold_until = float(hold) if hold else None
        if not receiver:
            if hold_until is None or hold_until <= now:
                return None
            return RoomRecord(code, owner, None, hold_until)
        live = PeerInfo(peer_id=receiver, role=Role.RECEIVER, name=rname or "")
        return RoomRecord(code, owner, live, None)

    async def detach_receiver(self, code: str, peer_id: str, hold_until: float) -> bool:
        expire_ms = int((hold_until + _HELD_ROOM_LINGER_S) * 1000)
        done = await self._detach(
            keys=self._room(code), args=[peer_id, repr(hold_until), expire_ms]
        )
        return bool(done)

    async def expire_room(self, code: str, owner: str, now: float) -> list[str] | None:
        out = await self._expire(keys=self._room(code), args=[owner, repr(now)])
        return list(out[1:]) if int(out[0]) else None

    async def delete_room(self, code: str, owner: str) -> list[str]:
        return list(await self._delete(keys=self._room(code), args=[owner]))

    async def add_sender(self, code: str, peer: PeerInfo, limit: int) -> AddSender:
        out = await self._add_sender(keys=self._room(code), args=[peer.peer_id, peer.name, limit])
        return AddSender(out)

    async def remove_sender(self, code: str, peer_id: str) -> None:
        await self._redis.hdel(self._room(code)[1], peer_id)

    async def room_senders(self, code: str) -> list[PeerInfo]:
        found = await self._redis.hgetall(self._room(code)[1])
        return [PeerInfo(peer_id=i, role=Role.SENDER, name=n) for i, n in found.items()]

    # ------------------------------------------------------------------ peers
    async def put_peer(self, peer: PeerRecord) -> None:
        await self._put_peer(
            keys=[self._peer(peer.peer_id), self._ipeers],
            args=[peer.peer_id, peer.role.value, peer.name, peer.code, self.instance],
        )

    async def get_peer(self, peer_id: str) -> PeerRecord | None:
        role, name, code = await self._redis.hmget(self._peer(peer_id), ["role", "name", "code"])
        if role is None or code is None:
            return None
        return PeerRecord(peer_id, Role(role), name or "", code)

    async def drop_peer(self, peer_id: str) -> None:
        await self._drop_peer(keys=[self._peer(peer_id), self._ipeers], args=[peer_id])

    # ------------------------------------------------------------------ rate limits
    async def hit(self, key: str, limit: int, window: float, now: float) -> float:
        wait = await self._rate(
            keys=[f"{self.prefix}rl:{key}"], args=[limit, repr(window), repr(now), 1]
        )
        return float(wait)

    async def blocked_for(self, key: str, limit: int, window: float, now: float) -> float:
        wait = await self._rate(
            keys=[f"{self.prefix}rl:{key}"], args=[limit, repr(window), repr(now), 0]
        )
        return float(wait)

    async def attempt(self, scopes: Sequence[Scope], now: float) -> Attempt:
        args: list[str | int] = [repr(now)]
        for scope in scopes:
            args += [scope.limit, repr(scope.window), 1 if scope.hard else 0]
        verdict, wait = await self._attempt(
            keys=[f"{self.prefix}rl:{s.key}" for s in scopes], args=args
        )
        return Attempt(Verdict(verdict), float(wait))

    async def refund(self, scopes: Sequence[Scope], now: float) -> None:
        await self._refund(keys=[f"{self.prefix}rl:{s.key}" for s in scopes])

    async def revoke(self, key: str, at: float, until: float) -> None:
        ms = max(1, int((until - at) * 1000))
        await self._redis.set(f"{self.prefix}{key}", repr(at), px=ms)

    async def revoked_at(self, key: str, now: float) -> float | None:
        value = await self._redis.get(f"{self.prefix}{key}")
        return float(value) if value is not None else None

    # ------------------------------------------------------------------ delivery
    async def forward(self, peer_id: str, payload: bytes) -> bool:
        taken = await self._forward(
            keys=[self._peer(peer_id)], args=[self.prefix, peer_id, payload]
        )
        return int(taken) > 0

    async def relay(self, peer_id: str, code: str, to_receiver: bool, payload: bytes) -> Relay:
        got = int(await self._relay(
            keys=[self._peer(peer_id)],
            args=[self.prefix, peer_id, code, "1" if to_receiver else "0", payload],
        ))
        if got < 0:
            return Relay.NOT_IN_ROOM
        return Relay.FORWARDED if got else Relay.UNDELIVERABLE

    async def lost_peers(self, now: float) -> list[PeerRecord]:
        lost: list[PeerRecord] = []
        for _ in range(16):  # at most this many dead instances per call
            out = await self._reap(
                keys=[f"{self.prefix}instances"], args=[self.prefix, self.instance]
            )
            if not out:
                break
            lost.extend(
                PeerRecord(out[i], Role(out[i + 1]), out[i + 2], out[i + 3])
                for i in range(1, len(out) - 3, 4)
            )
        return lost

    async def prune(self, now: float) -> None:
        return None  # Redis expires held rooms and rate-limit windows by itself
