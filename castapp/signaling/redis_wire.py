"""A lean, pipelined Redis connection for the room store.

One TCP (or TLS, or Unix-socket) connection carries every command of an instance: each command
is written as soon as it is issued and its reply is matched in order, so concurrent commands
share system calls and never queue for a pooled connection. Writes issued in the same event
loop turn go out in one ``send``; replies are parsed by hiredis. A reply that does not come
within ``timeout`` seconds drops the connection (replies would no longer match their
commands); the next command connects again.

:class:`Subscriber` is the receiving side of pub/sub on a connection of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ssl
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import parse_qs, unquote, urlsplit

import hiredis

from castapp.tasks import cancel_and_wait

#: What a command argument may be.
Arg = str | bytes | int | float


def pack(args: tuple[Arg, ...]) -> bytes:
    """One command in the Redis protocol."""
    packed: bytes = hiredis.pack_command(args)  # type: ignore[arg-type]  # stub: 1-tuple only
    return packed


class RedisWireError(Exception):
    """Base of what this module raises."""


class ReplyError(RedisWireError):
    """Redis answered a command with an error."""


class ConnectionLostError(RedisWireError, ConnectionError):
    """The connection to Redis failed or was closed."""


@dataclass(frozen=True)
class Endpoint:
    """Where Redis is and how to log in, read from a ``redis://``, ``rediss://`` or ``unix://``
    URL."""

    host: str = "127.0.0.1"
    port: int = 6379
    path: str | None = None
    tls: bool = False
    username: str | None = None
    password: str | None = None
    db: int = 0

    @classmethod
    def from_url(cls, url: str) -> Endpoint:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        user = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password is not None else None
        db_text = query.get("db", [""])[0]
        if parts.scheme == "unix":
            return cls(path=unquote(parts.path), username=user, password=password,
                       db=int(db_text or 0))
        if parts.scheme not in ("redis", "rediss"):
            raise ValueError("a Redis URL starts with redis://, rediss:// or unix://")
        path_db = parts.path.strip("/")
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 6379,
            tls=parts.scheme == "rediss",
            username=user,
            password=password,
            db=int(path_db or db_text or 0),
        )

    def hello(self) -> list[tuple[Arg, ...]]:
        """The commands that set a new connection up."""
        out: list[tuple[Arg, ...]] = []
        if self.password is not None:
            out.append(("AUTH", self.username, self.password) if self.username
                       else ("AUTH", self.password))
        if self.db:
            out.append(("SELECT", self.db))
        return out


class _Protocol(asyncio.Protocol):
    """Replies in order to the futures waiting for them; pushes to ``on_push``."""

    def __init__(self, decode: bool, on_push: Callable[[Any], None] | None,
                 on_lost: Callable[[BaseException | None], None]) -> None:
        self.reader = hiredis.Reader(encoding="utf-8" if decode else None, errors="replace")
        self.waiting: deque[tuple[asyncio.Future[Any], float]] = deque()
        self.transport: asyncio.Transport | None = None
        self._on_push = on_push
        self._on_lost = on_lost
        self._out: list[bytes] = []
        self._flush_soon = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports (castapp serve runs on uvloop when installed) are not
        # asyncio.Transport subclasses: no isinstance check
        self.transport = cast(asyncio.Transport, transport)

    def send(self, packed: bytes, fut: asyncio.Future[Any] | None) -> None:
        if fut is not None:
            self.waiting.append((fut, time.monotonic()))
        self._out.append(packed)
        if not self._flush_soon:  # one write for everything issued in this loop turn
            self._flush_soon = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_soon = False
        if self.transport is not None and not self.transport.is_closing() and self._out:
            self.transport.write(b"".join(self._out))
        self._out.clear()

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        while True:
            try:
                reply = self.reader.gets()
            except hiredis.ProtocolError as exc:
                self.fail(ConnectionLostError(f"Redis sent something unreadable: {exc}"))
                return
            if reply is False:
                return
            if self.waiting:
                fut, _ = self.waiting.popleft()
                if not fut.done():
                    if isinstance(reply, hiredis.ReplyError):
                        fut.set_exception(ReplyError(str(reply)))
                    else:
                        fut.set_result(reply)
            elif self._on_push is not None:
                self._on_push(reply)

    def oldest(self) -> float | None:
        return self.waiting[0][1] if self.waiting else None

    def fail(self, exc: BaseException) -> None:
        while self.waiting:
            fut, _ = self.waiting.popleft()
            if not fut.done():
                fut.set_exception(exc)
        if self.transport is not None:
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.fail(ConnectionLostError(f"the connection to Redis was lost: {exc or 'closed'}"))
        self._on_lost(exc)


class Script:
    """A Lua script run by its SHA1 digest; loaded into Redis the first time it is missing."""

    def __init__(self, conn: RedisConnection, source: str) -> None:
        self._conn = conn
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    async def __call__(self, keys: Sequence[Arg] = (), args: Sequence[Arg] = ()) -> Any:
        try:
            return await self._conn.execute("EVALSHA", self.sha, len(keys), *keys, *args)
        except ReplyError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
            return await self._conn.execute("EVAL", self.source, len(keys), *keys, *args)


class RedisConnection:
    """Commands over one pipelined connection, connected on first use and after a loss."""

    def __init__(
        self,
        url: str,
        *,
        decode: bool = True,
        timeout: float | None = 2.0,
        connect_timeout: float = 1.0,
        on_push: Callable[[Any], None] | None = None,
    ) -> None:
        self.endpoint = Endpoint.from_url(url)
        self.decode = decode
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self._on_push = on_push
        self._proto: _Protocol | None = None
        self._connecting: asyncio.Task[_Protocol] | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._closed = False
        self._scripts: list[Script] = []
        self.connects = 0

    @property
    def connected(self) -> bool:
        return self._proto is not None

    def register_script(self, source: str) -> Script:
        script = Script(self, source)
        self._scripts.append(script)
        return script

    async def load_scripts(self) -> None:
        """Load every registered script, so that the first calls do not send their source."""
        await asyncio.gather(*(self.execute("SCRIPT", "LOAD", s.source) for s in self._scripts))

    async def _open(self) -> _Protocol:
        loop = asyncio.get_running_loop()
        ep = self.endpoint

        def lost(_exc: BaseException | None) -> None:
            if self._proto is proto:
                self._proto = None

        proto = _Protocol(self.decode, self._on_push, lost)
        try:
            async with asyncio.timeout(self.connect_timeout):
                if ep.path is not None:
                    await loop.create_unix_connection(lambda: proto, ep.path)
                else:
                    await loop.create_connection(
                        lambda: proto, ep.host, ep.port,
                        ssl=ssl.create_default_context() if ep.tls else None,
                    )
                for cmd in ep.hello():  # before any other command on this connection
                    fut: asyncio.Future[Any] = loop.create_future()
                    proto.send(pack(cmd), fut)
                    await fut
        except (OSError, TimeoutError, ReplyError) as exc:
            if proto.transport is not None:
                proto.transport.abort()
            if isinstance(exc, ReplyError):
                raise ConnectionLostError(f"Redis refused the login: {exc}") from None
            if isinstance(exc, TimeoutError):
                raise ConnectionLostError("Redis did not answer in time") from None
            raise
        self.connects += 1
        self._proto = proto
        if self.timeout is not None and (self._watchdog is None or self._watchdog.done()):
            self._watchdog = asyncio.create_task(self._watch(), name="castapp-redis-watchdog")
        return proto

    async def connection(self) -> _Protocol:
        if self._closed:
            raise ConnectionLostError("the Redis connection is closed")
        if self._proto is not None:
            return self._proto
        if self._connecting is None or self._connecting.done():
            self._connecting = asyncio.ensure_future(self._open())
        return await asyncio.shield(self._connecting)

    def send(self, proto: _Protocol, *args: Arg) -> Awaitable[Any]:
        """Write one command on ``proto``; the awaitable gives its reply."""
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        proto.send(pack(args), fut)
        return fut

    async def execute(self, *args: Arg) -> Any:
        proto = self._proto if self._proto is not None else await self.connection()
        return await self.send(proto, *args)

    async def _watch(self) -> None:
        """Drop a connection whose oldest command waits longer than the timeout."""
        assert self.timeout is not None
        period = max(0.05, self.timeout / 4)
        while not self._closed:
            await asyncio.sleep(period)
            proto = self._proto
            oldest = proto.oldest() if proto is not None else None
            if proto is not None and oldest is not None and \
                    time.monotonic() - oldest > self.timeout:
                self._proto = None
                proto.fail(TimeoutError("Redis did not answer in time"))

    # ------------------------------------------------------------------ plain commands
    async def ping(self) -> bool:
        return bool(await self.execute("PING") in ("PONG", b"PONG"))

    async def hmget(self, key: str, fields: Sequence[str]) -> list[Any]:
        return list(await self.execute("HMGET", key, *fields))

    async def hgetall(self, key: str) -> dict[Any, Any]:
        flat = await self.execute("HGETALL", key)
        return dict(zip(flat[::2], flat[1::2], strict=True))

    async def set(self, key: str, value: str, *, px: int | None = None) -> None:
        """``SET key value`` (with ``PX`` milliseconds to expire, when given)."""
        extra: tuple[Arg, ...] = ("PX", px) if px is not None else ()
        await self.execute("SET", key, value, *extra)

    async def get(self, key: str) -> Any:
        return await self.execute("GET", key)

    async def hdel(self, key: str, *fields: str) -> int:
        return int(await self.execute("HDEL", key, *fields))

    async def srem(self, key: str, *members: str) -> int:
        return int(await self.execute("SREM", key, *members))

    async def delete(self, *keys: str) -> int:
        return int(await self.execute("DEL", *keys))

    async def aclose(self) -> None:
        self._closed = True
        await cancel_and_wait(self._watchdog)
        if self._connecting is not None and not self._connecting.done():
            self._connecting.cancel()
            with contextlib.suppress(BaseException):  # broad: a cancelled connect ends as it may
                await self._connecting
        proto, self._proto = self._proto, None
        if proto is not None and proto.transport is not None:
            proto.transport.close()


class Subscriber:
    """Messages of one pub/sub channel, on a connection of its own."""

    def __init__(self, url: str, channel: str, connect_timeout: float = 1.0) -> None:
        self.channel = channel
        self._messages: asyncio.Queue[bytes | BaseException] = asyncio.Queue()
        self._conn = RedisConnection(url, decode=False, timeout=None,
                                     connect_timeout=connect_timeout, on_push=self._push)

    def _push(self, reply: Any) -> None:
        if isinstance(reply, list) and len(reply) == 3 and reply[0] == b"message":
            self._messages.put_nowait(reply[2])

    async def subscribe(self) -> None:
        """Connect and subscribe; raises if Redis cannot be reached."""
        while not self._messages.empty():
            self._messages.get_nowait()
        proto = await self._conn.connection()
        lost = proto.transport
        await self._conn.send(proto, "SUBSCRIBE", self.channel)

        def on_lost(exc: BaseException | None, prev: Callable[..., None] = proto._on_lost) -> None:
            prev(exc)
            self._messages.put_nowait(ConnectionLostError(f"lost the subscription: {exc}"))

        if lost is not None and not lost.is_closing():
            proto._on_lost = on_lost
        else:
            raise ConnectionLostError("lost the subscription while subscribing")

    async def next(self) -> bytes:
        """The next message; raises :class:`ConnectionLostError` when the connection drops."""
        item = await self._messages.get()
        if isinstance(item, BaseException):
            raise item
        return item

    async def aclose(self) -> None:
        await self._conn.aclose()
