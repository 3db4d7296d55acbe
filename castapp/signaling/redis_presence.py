"""An instance's presence in Redis: its heartbeat and its inbox of forwarded messages.

Every instance keeps ``alive:<id>`` fresh and listens on its own channel ``to:<id>``. When the
heartbeat finds that Redis no longer knew the instance (Redis restarted empty, or the other
instances took it for dead during a long outage) the local clients' state is gone from the
shared store, so the instance asks them to connect again (``reset``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from castapp.logs import failed
from castapp.signaling import redis_scripts as lua
from castapp.signaling.redis_wire import RedisConnection, RedisWireError, Subscriber
from castapp.signaling.store import DeliverFn, ResetFn
from castapp.tasks import cancel_and_wait

log = logging.getLogger(__name__)

#: What a failing Redis raises (lost connections and timeouts included).
FAILURES = (RedisWireError, OSError, TimeoutError)


class Presence:
    def __init__(
        self,
        client: RedisConnection,
        url: str,
        prefix: str,
        instance: str,
        ttl_s: float,
    ) -> None:
        self._redis = client
        self._url = url
        self._prefix = prefix
        self.instance = instance
        self.ttl_s = ttl_s
        self.channel = f"{prefix}to:{instance}"
        self._beat = client.register_script(lua.HEARTBEAT)
        self._deliver: DeliverFn | None = None
        self._reset: ResetFn | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._subscribed = asyncio.Event()
        self.last_beat = 0.0
        self.resets = 0
        self.forwarded_in = 0

    @property
    def subscribed(self) -> bool:
        return self._subscribed.is_set()

    @property
    def beating(self) -> bool:
        """The last heartbeat got through recently enough to still be valid."""
        return time.monotonic() - self.last_beat < self.ttl_s

    async def start(self, deliver: DeliverFn, reset: ResetFn) -> None:
        self._deliver, self._reset = deliver, reset
        await self.heartbeat()  # raises if Redis cannot be reached at all
        self._tasks = [
            asyncio.create_task(self._listen(), name="castapp-redis-inbox"),
            asyncio.create_task(self._beating(), name="castapp-redis-heartbeat"),
        ]
        await asyncio.wait_for(self._subscribed.wait(), 5.0)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            await cancel_and_wait(task)
        self._tasks = []
        with contextlib.suppress(*FAILURES):
            await self._redis.srem(f"{self._prefix}instances", self.instance)
            await self._redis.delete(f"{self._prefix}alive:{self.instance}")

    # ------------------------------------------------------------------ heartbeat
    async def heartbeat(self) -> bool:
        """Refresh the instance's lease; True if Redis had lost the instance."""
        keys = [f"{self._prefix}instances", f"{self._prefix}alive:{self.instance}"]
        added = await self._beat(keys=keys, args=[self.instance, int(self.ttl_s * 1000)])
        first = self.last_beat == 0.0
        self.last_beat = time.monotonic()
        return bool(added) and not first

    async def _beating(self) -> None:
        interval = self.ttl_s / 4
        failing = False
        while True:
            await asyncio.sleep(interval)
            try:
                lost = await self.heartbeat()
            except FAILURES as exc:
                if not failing:
                    log.warning("Redis heartbeat failed: %s", exc)
                failing = True
                continue
            if failing:
                log.info("Redis heartbeat works again")
                failing = False
            if lost and self._reset is not None:
                self.resets += 1
                log.warning("Redis no longer knew this instance; asking its clients to reconnect")
                try:
                    await self._reset()
                except Exception as exc:  # broad: the heartbeat goes on; clients reconnect anyway
                    failed(log, "reconnecting the clients failed", exc)

    # ------------------------------------------------------------------ inbox
    async def _listen(self) -> None:
        delay = 0.05
        while True:
            inbox = Subscriber(self._url, self.channel)
            try:
                await inbox.subscribe()
                self._subscribed.set()
                delay = 0.05
                while True:
                    await self._hand_over(await inbox.next())
            except FAILURES as exc:
                if self._subscribed.is_set():
                    log.warning("lost the Redis subscription: %s", exc)
                self._subscribed.clear()
            finally:
                with contextlib.suppress(*FAILURES):
                    await inbox.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    async def _hand_over(self, data: object) -> None:
        if not isinstance(data, bytes) or b"\x00" not in data or self._deliver is None:
            return
        peer, _, payload = data.partition(b"\x00")
        self.forwarded_in += 1
        try:
            await self._deliver(peer.decode("ascii", "replace"), payload)
        except Exception as exc:  # broad: one bad message must not end the subscription
            failed(log, "delivering a forwarded message failed", exc)
