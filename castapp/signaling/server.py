"""The room service over HTTP: a WebSocket at ``/ws``, ``/healthz`` and ``/metrics``.

A thin dispatcher over :class:`~castapp.signaling.rooms.Rooms`: it validates every frame,
answers pings, enforces size and flood limits, detects dead connections and turns refusals
into ``error`` messages. A bad message never costs the connection, except for frames too big
to read and a failed version agreement.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import logging
import random
import secrets
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
from aiohttp import WSCloseCode, WSMsgType, web

from castapp import __version__
from castapp import protocol as p
from castapp.discovery import probe
from castapp.logs import failed
from castapp.protocol import ErrorCode, LeaveReason
from castapp.signaling import gcpause, pages
from castapp.signaling.guard import ConnectionGuard, GuardedRunner
from castapp.signaling.limits import Verdict
from castapp.signaling.metrics import render_metrics
from castapp.signaling.rooms import RoomConfig, Rooms, ServiceError, new_peer_id
from castapp.signaling.store import RoomStore
from castapp.signaling.store_memory import MemoryStore
from castapp.signaling.tokens import TokenSigner

log = logging.getLogger(__name__)

#: How long closing a connection waits for the client's own close frame (aiohttp: 10 s).
#: A client that does not answer would otherwise hold a shutdown for that long.
CLOSE_REPLY_S = 2.0
#: How long a shutdown waits for the connections still open after every client was told
#: (one that never said hello waits out its hello timeout) before it ends them (aiohttp: 60 s).
SHUTDOWN_GRACE_S = 2.0

CLOSE_REPLACED = 4001
CLOSE_TIMEOUT = 4002
CLOSE_VERSION = 4003


@dataclass
class ServiceConfig:
    host: str = "127.0.0.1"
    port: int = 8765
    rooms: RoomConfig = field(default_factory=RoomConfig)
    heartbeat_s: float = 15.0
    #: Time a client has to send ``hello`` after connecting.
    hello_timeout_s: float = 10.0
    max_message_bytes: int = p.MAX_MESSAGE_BYTES
    #: Messages a connection may send per second (sustained) and in a burst.
    message_rate: float = 50.0
    message_burst: int = 200
    trust_proxy: bool = False
    #: TCP connections one address may hold at once (0: no cap; none behind a trusted proxy,
    #: which sees every client under its own address).
    max_connections_per_address: int = 64
    #: A connection must complete its first HTTP request within this (slowloris).
    first_request_timeout_s: float = 10.0
    #: A WebSocket that has not registered or joined within this is closed (idle,
    #: never-registering or ping-only sockets).
    room_timeout_s: float = 30.0
    #: Who may read ``/metrics``: ``"any"`` client, or ``"loopback"`` clients only (the
    #: embedded service: the LAN must not learn whether someone is casting).
    metrics_access: str = "any"
    #: When set, ``/metrics`` needs ``Authorization: Bearer <metrics_token>``.
    metrics_token: str | None = None
    #: Answer LAN discovery probes (``POST /probe``) for the receiver this service hosts.
    probe: bool = False
    tls_cert: Path | None = None
    tls_key: Path | None = None
    #: Record garbage-collection pauses for ``/metrics`` (``castapp.signaling.gcpause``).
    gc_metrics: bool = False
    #: Tune the collector for a long-running service once listening (``gcpause.tune``):
    #: the standalone service only, as it changes the whole process.
    gc_tuned: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError(f"the port must be 0 to 65535, not {self.port}")
        if not 0 < self.heartbeat_s <= 300:
            raise ValueError("the heartbeat interval must be more than 0 and at most 300 s")
        if not self.message_rate >= 1:
            raise ValueError("at least one message per second must be allowed")


class _Bucket:
    """A token bucket: ``rate`` per second, up to ``burst`` at once."""

    __slots__ = ("burst", "level", "rate", "stamp")

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate, self.burst, self.level, self.stamp = rate, burst, float(burst), now

    def take(self, now: float) -> bool:
        self.level = min(self.burst, self.level + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.level >= 1.0:
            self.level -= 1.0
            return True
        return False


def _drop_traceback(exc: BaseException | None) -> None:
    """Free the frames a connection's last error holds.

    aiohttp keeps the error of a close frame that could not be written (the client had
    already gone) on the response, and the error's traceback holds the frames that hold the
    response: a reference cycle that keeps the whole connection (request, transport, parser,
    some fifty objects) alive until a garbage collection. Clients that drop without the
    closing handshake then pile up garbage and make the collector pause, every relay of the
    instance waiting; without the traceback the connection is freed at once."""
    while exc is not None:
        exc.__traceback__ = None
        exc = exc.__context__


class WsConnection:
    def __init__(self, ws: web.WebSocketResponse, addr: str, bucket: _Bucket) -> None:
        self.ws = ws
        self.addr = addr
        self.peer_id = new_peer_id()
        self.nonce = secrets.token_urlsafe(18)
        self.last_seen = time.monotonic()
        self.bucket = bucket
        self.close_reason = LeaveReason.DISCONNECTED
        self.warned_flood = 0.0
        #: Since when the connection is in no room (None while it is in one).
        self.roomless_since: float | None = time.monotonic()

    async def send(self, payload: bytes) -> None:
        if self.ws.closed:
            return
        try:
            await self.ws.send_frame(payload, WSMsgType.TEXT)
        except (ConnectionError, RuntimeError) as exc:
            log.debug("send to %s failed: %s", self.peer_id, exc)

    async def close(self, reason: str) -> None:
        self.close_reason = LeaveReason.REPLACED
        await self.ws.close(code=CLOSE_REPLACED, message=reason.encode()[:120])


class RoomServer:
    """The room service. ``start()`` binds (port 0 picks a free one); ``stop()`` shuts down."""

    def __init__(
        self,
        config: ServiceConfig,
        signer: TokenSigner,
        store: RoomStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.store: RoomStore = store if store is not None else MemoryStore()
        self.rooms = Rooms(self.store, signer, config.rooms, clock)
        self.connections: dict[str, WsConnection] = {}
        self.port: int | None = None
        self.started = time.time()
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self.gc_pauses: gcpause.Pauses | None = None
        cap = 0 if config.trust_proxy else config.max_connections_per_address
        self.guard = ConnectionGuard(cap, config.first_request_timeout_s)
        self.app = web.Application(middlewares=[self._mark_started])
        self.app.router.add_get(p.WS_PATH, self._ws)
        self.app.router.add_get("/healthz", self._healthz)
        self.app.router.add_get("/metrics", self._metrics)
        pages.add_routes(self.app)  # the browser sender at /, the browser TV at /tv
        if config.probe:
            self.app.router.add_post(probe.PATH, self._probe)

    # -------------------------------------------------------------- lifecycle
    async def start(self) -> int:
        await self.store.start(self._deliver_forwarded, self._store_reset)
        ssl_ctx = None
        if self.config.tls_cert is not None:
            ssl_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ssl_ctx.load_cert_chain(self.config.tls_cert, self.config.tls_key)
        self.guard.install(asyncio.get_running_loop())
        self._runner = GuardedRunner(self.app, self.guard, access_log=None,
                                     handle_signals=False, shutdown_timeout=SHUTDOWN_GRACE_S)
        await self._runner.setup()
        site = web.TCPSite(
            self._runner,
            self.config.host,
            self.config.port,
            ssl_context=ssl_ctx,
            reuse_address=True,
            backlog=4096,
        )
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._tasks = [
            asyncio.create_task(self._reaper(), name="castapp-reaper"),
            asyncio.create_task(self._ticker(), name="castapp-ticker"),
        ]
        if self.config.gc_tuned:
            gcpause.tune()
        if self.config.gc_metrics:  # after tune()'s own collection, which no client waits for
            self.gc_pauses = gcpause.Pauses().install()
        log.info("room service listening on %s:%s", self.config.host, self.port)
        return self.port

    async def add_site(self, host: str, port: int, ssl_ctx: ssl.SSLContext) -> int:
        """Serve the same pages and ``/ws`` on one more port, over TLS (a receiver's own
        HTTPS for browsers); returns the port. Call after :meth:`start`."""
        assert self._runner is not None, "start() first"
        site = web.TCPSite(self._runner, host, port, ssl_context=ssl_ctx, reuse_address=True)
        await site.start()
        assert site._server is not None
        return int(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]

    @property
    def url(self) -> str:
        scheme = "wss" if self.config.tls_cert else "ws"
        host = self.config.host if self.config.host not in ("0.0.0.0", "::") else "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"{scheme}://{host}:{self.port}{p.WS_PATH}"

    async def stop(self, reason: str = "The room service is restarting.") -> None:
        """Tell every client, close every connection, then stop listening."""
        if self._stopping:
            return
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        await self._send_away(reason)
        if self._runner is not None:
            await self._runner.cleanup()
        await self.store.close()
        self.guard.uninstall()
        if self.gc_pauses is not None:
            self.gc_pauses.remove()
        log.info("room service stopped")

    async def _send_away(self, reason: str) -> None:
        """Tell every client to connect again a little later, and close its connection."""
        notice = p.Shutdown(reason=reason, retry_after_ms=0)
        conns = list(self.connections.values())
        for conn in conns:
            notice.retry_after_ms = random.randint(300, 1500)  # spread the reconnect storm
            await conn.send(p.encode(notice))
        await asyncio.gather(
            *(c.ws.close(code=WSCloseCode.GOING_AWAY, message=b"shutdown") for c in conns),
            return_exceptions=True,
        )

    async def _deliver_forwarded(self, peer_id: str, payload: bytes) -> None:
        await self.rooms.deliver_local(peer_id, payload)

    async def _store_reset(self) -> None:
        """The shared store lost this instance's rooms: clients register or join again."""
        self.rooms.counters["store_resets"] += 1
        await self._send_away("The room service lost its state; connect again.")

    async def _reaper(self) -> None:
        limit = self.config.heartbeat_s * 2.5
        roomless = self.config.room_timeout_s
        while True:
            await asyncio.sleep(min(self.config.heartbeat_s, roomless) / 3)
            now = time.monotonic()
            for conn in list(self.connections.values()):
                member = self.rooms.members.get(conn.peer_id)
                if member is not None and member.code is not None:
                    conn.roomless_since = None
                elif conn.roomless_since is None:
                    conn.roomless_since = now
                if conn.last_seen < now - limit:
                    why = b"heartbeat timeout"
                elif conn.roomless_since is not None and conn.roomless_since < now - roomless:
                    why = b"no room joined"
                else:
                    continue
                conn.close_reason = LeaveReason.TIMEOUT
                log.info("peer %s timed out (%s)", conn.peer_id, why.decode())
                await conn.ws.close(code=CLOSE_TIMEOUT, message=why)

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            try:
                await self.rooms.tick()
            except Exception as exc:  # broad: the ticker must outlive a bad store moment (or a bug)
                failed(log, "room clean-up failed", exc)

    # -------------------------------------------------------------- HTTP
    @web.middleware
    async def _mark_started(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.guard.started(request.protocol)
        response: web.StreamResponse = await handler(request)
        return response

    async def _healthz(self, request: web.Request) -> web.Response:
        ok = not self._stopping and await self.store.healthy()
        body = {"status": "ok" if ok else "unhealthy", "version": __version__}
        return web.json_response(body, status=200 if ok else 503)

    async def _metrics(self, request: web.Request) -> web.Response:
        cfg = self.config
        if cfg.metrics_access == "loopback" and not _is_loopback(request.remote):
            raise web.HTTPForbidden(text="Metrics are available on this machine only.")
        if cfg.metrics_token is not None:
            given = request.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {cfg.metrics_token}".encode()):
                raise web.HTTPUnauthorized(text="Metrics need the bearer token.",
                                           headers={"WWW-Authenticate": "Bearer"})
        return web.Response(
            text=render_metrics(self), content_type="text/plain", charset="utf-8"
        )

    async def _probe(self, request: web.Request) -> web.Response:
        """LAN discovery: prove, without either side sending it, that this service's receiver
        shows the sender's code (``castapp.discovery.probe``)."""
        try:
            async with asyncio.timeout(self.config.first_request_timeout_s):
                body = await request.content.read(1024)
        except TimeoutError:
            raise web.HTTPRequestTimeout(text="The probe came too slowly.") from None
        found = await self.rooms.probe_attempt(self._client_addr(request))
        if found is None:
            raise web.HTTPNotFound(text="No receiver is showing a code here.")
        attempt, code, pin = found
        if attempt.verdict is Verdict.REFUSED:
            self.rooms.counters["rate_limited_joins"] += 1
            return web.json_response({"error": ErrorCode.RATE_LIMITED.value,
                                      "retry_after_s": round(attempt.wait, 3)}, status=429)
        self.rooms.counters["probes"] += 1
        loop = asyncio.get_running_loop()
        try:
            reply = await loop.run_in_executor(None, probe.answer, body, code, pin)
        except ValueError:
            raise web.HTTPBadRequest(text="Not a discovery probe.") from None
        return web.Response(body=msgspec.json.encode(reply), content_type="application/json")

    def _client_addr(self, request: web.Request) -> str:
        if self.config.trust_proxy:
            forwarded = request.headers.get("X-Forwarded-For", "")
            if forwarded:
                return forwarded.split(",")[-1].strip()[:64]
        return request.remote or "unknown"

    # -------------------------------------------------------------- WebSocket
    async def _ws(self, request: web.Request) -> web.StreamResponse:
        if self._stopping:
            raise web.HTTPServiceUnavailable(text="The room service is shutting down.")
        ws = web.WebSocketResponse(max_msg_size=p.HARD_FRAME_LIMIT, autoping=True,
                                   timeout=CLOSE_REPLY_S)
        await ws.prepare(request)
        cfg = self.config
        now = time.monotonic()
        conn = WsConnection(ws, self._client_addr(request), _Bucket(cfg.message_rate,
                                                                    cfg.message_burst, now))
        self.rooms.counters["connections"] += 1
        try:
            if await self._handshake(conn):
                self.connections[conn.peer_id] = conn
                self.rooms.attach(conn)
                await self._serve(conn)
        finally:
            self.connections.pop(conn.peer_id, None)
            try:
                await self.rooms.detach(conn, conn.close_reason)
            except Exception as exc:  # broad: the store is down; its records expire or get reaped
                log.warning("could not record that peer %s left: %r", conn.peer_id, exc)
            if not ws.closed:
                await ws.close()
            _drop_traceback(ws.exception())
        return ws

    async def _handshake(self, conn: WsConnection) -> bool:
        deadline = time.monotonic() + self.config.hello_timeout_s
        while (left := deadline - time.monotonic()) > 0:
            try:
                frame = await conn.ws.receive(timeout=left)
            except TimeoutError:
                break
            if frame.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
                return False
            if frame.type is WSMsgType.ERROR:
                return False
            msg = await self._parse(conn, frame)
            if msg is None:
                continue
            if not isinstance(msg, p.Hello):
                await self._error(conn, ErrorCode.HELLO_REQUIRED,
                                  "Send hello with your protocol versions first.", ref=None)
                continue
            common = sorted(set(msg.versions) & set(p.SUPPORTED_VERSIONS))
            if not common:
                supported = ", ".join(map(str, p.SUPPORTED_VERSIONS))
                await self._error(
                    conn,
                    ErrorCode.UNSUPPORTED_VERSION,
                    f"This room service speaks protocol version {supported}; "
                    "please update castapp.",
                    ref="hello",
                )
                await conn.ws.close(code=CLOSE_VERSION, message=b"unsupported version")
                return False
            welcome = p.Welcome(
                version=common[-1],
                peer_id=conn.peer_id,
                heartbeat_s=self.config.heartbeat_s,
                max_message_bytes=self.config.max_message_bytes,
                nonce=conn.nonce,
            )
            await conn.send(p.encode(welcome))
            return True
        await conn.ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"no hello")
        return False

    async def _serve(self, conn: WsConnection) -> None:
        async for frame in conn.ws:
            msg = await self._parse(conn, frame)
            if msg is None:
                continue
            if isinstance(msg, p.Ping):
                await conn.send(p.encode(p.Pong(ts=msg.ts)))
                continue
            try:
                await self.rooms.handle(conn, msg)
            except ServiceError as exc:
                ref = msg.__struct_config__.tag
                await self._error(conn, exc.code, exc.message, ref, exc.retry_after_s)
            except Exception as exc:  # broad: a bug, told to the client as internal_error
                failed(log, f"internal error handling a {type(msg).__name__} message", exc)
                await self._error(conn, ErrorCode.INTERNAL,
                                  "The room service hit an internal error.", None)
        if conn.ws.close_code == WSCloseCode.MESSAGE_TOO_BIG:
            self.rooms.errors[ErrorCode.TOO_LARGE] += 1

    async def _parse(self, conn: WsConnection, frame: object) -> p.Inbound | None:
        """Validate one frame; answers the client and returns None for anything wrong."""
        now = time.monotonic()
        conn.last_seen = now
        kind = getattr(frame, "type", None)
        data = getattr(frame, "data", None)
        if not conn.bucket.take(now):
            self.rooms.counters["flood_dropped"] += 1
            if now - conn.warned_flood > 1.0:
                conn.warned_flood = now
                await self._error(conn, ErrorCode.RATE_LIMITED,
                                  "Too many messages; some were dropped.", None,
                                  retry_after_s=1.0)
            return None
        if kind is WSMsgType.BINARY:
            await self._error(conn, ErrorCode.BAD_MESSAGE,
                              "Binary frames are not supported; send JSON text.", None)
            return None
        if kind is not WSMsgType.TEXT or not isinstance(data, str):
            return None
        limit = self.config.max_message_bytes
        if len(data) > limit or (len(data) * 4 > limit and len(data.encode()) > limit):
            await self._error(conn, ErrorCode.TOO_LARGE,
                              f"Messages may be at most {limit} bytes.", None)
            return None
        try:
            return p.decode_inbound(data)
        except p.ProtocolError as exc:
            await self._error(conn, exc.code, exc.message, exc.ref)
            return None

    async def _error(
        self,
        conn: WsConnection,
        code: ErrorCode,
        message: str,
        ref: str | None,
        retry_after_s: float | None = None,
    ) -> None:
        self.rooms.errors[code] += 1
        err = p.Error(code=code, message=message, ref=ref, retry_after_s=retry_after_s)
        await conn.send(p.encode(err))


def _is_loopback(addr: str | None) -> bool:
    try:
        ip = ipaddress.ip_address((addr or "").split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


async def run_until_signalled(server: RoomServer) -> None:
    """Serve until SIGINT or SIGTERM, then tell clients and stop cleanly."""
    import signal

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await server.start()
    print(f"castapp room service on {server.url}", flush=True)
    await stop.wait()
    await server.stop()
