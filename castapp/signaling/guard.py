"""Connection limits below HTTP: per-address caps, a deadline for the first request, and
accept errors logged once per interval instead of once per failed accept.

aiohttp reads a request only once its headers are complete, so a client that opens sockets
and never finishes a request (slowloris) is invisible to handlers. :class:`ConnectionGuard`
sees every accepted TCP connection through :class:`GuardedRunner`: it refuses an address's
connections past ``per_address`` (closing them at once, before any byte is read) and closes
any connection that has not completed a request within ``first_request_s``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

log = logging.getLogger(__name__)

_ACCEPT_MESSAGE = "socket.accept() out of system resource"
#: After an accept error asyncio retries each failed accept of the burst a second later, even
#: once the listening socket is closed; those retries fail with this and mean nothing.
_RETRY_CALLBACK = "_start_serving"


class ConnectionGuard:
    def __init__(self, per_address: int, first_request_s: float, *,
                 log_interval_s: float = 10.0) -> None:
        self.per_address = per_address
        self.first_request_s = first_request_s
        self.log_interval_s = log_interval_s
        self.by_address: Counter[str] = Counter()
        self.refused = 0
        self.timed_out = 0
        self.accept_errors = 0
        self._open: dict[RequestHandler, tuple[str, asyncio.TimerHandle | None]] = {}
        self._started: set[RequestHandler] = set()
        self._logged_accept = 0.0
        self._unlogged_accept = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._previous: Any = None

    # -------------------------------------------------------------- connections
    def opened(self, handler: RequestHandler, transport: asyncio.Transport) -> None:
        peer = transport.get_extra_info("peername")
        addr = str(peer[0]) if isinstance(peer, tuple) and peer else "unknown"
        self.by_address[addr] += 1
        if self.per_address and self.by_address[addr] > self.per_address:
            self.refused += 1
            self._open[handler] = (addr, None)
            transport.abort()
            return
        timer = None
        if self.first_request_s > 0:
            timer = asyncio.get_running_loop().call_later(
                self.first_request_s, self._deadline, handler, transport)
        self._open[handler] = (addr, timer)

    def started(self, handler: object) -> None:
        """A request on this connection was read in full."""
        if isinstance(handler, RequestHandler) and handler in self._open:
            self._started.add(handler)
            addr, timer = self._open[handler]
            if timer is not None:
                timer.cancel()
                self._open[handler] = (addr, None)

    def closed(self, handler: RequestHandler) -> None:
        entry = self._open.pop(handler, None)
        self._started.discard(handler)
        if entry is None:
            return
        addr, timer = entry
        if timer is not None:
            timer.cancel()
        self.by_address[addr] -= 1
        if self.by_address[addr] <= 0:
            del self.by_address[addr]

    def _deadline(self, handler: RequestHandler, transport: asyncio.Transport) -> None:
        if handler not in self._started and not transport.is_closing():
            self.timed_out += 1
            transport.abort()

    # -------------------------------------------------------------- accept errors
    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        """Route this loop's accept-error reports through :meth:`_exception`."""
        self._loop = loop
        self._previous = loop.get_exception_handler()
        loop.set_exception_handler(self._exception)

    def uninstall(self) -> None:
        """Give the loop its previous handler back, once asyncio's pending accept retries
        (scheduled a second after an accept error) have run out."""
        loop = self._loop
        if loop is None or loop.get_exception_handler() != self._exception:
            return
        if self.accept_errors:
            loop.call_later(1.5, self._restore, loop)
        else:
            self._restore(loop)

    def _restore(self, loop: asyncio.AbstractEventLoop) -> None:
        if loop.get_exception_handler() == self._exception:
            loop.set_exception_handler(self._previous)
        self._loop = None

    def _exception(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        handle = context.get("handle")
        if (self.accept_errors and isinstance(context.get("exception"), ValueError)
                and _RETRY_CALLBACK in repr(getattr(handle, "_callback", ""))):
            return  # a retry of an accept on a socket closed since
        if str(context.get("message", "")).startswith(_ACCEPT_MESSAGE):
            self.accept_errors += 1
            self._unlogged_accept += 1
            now = time.monotonic()
            if now - self._logged_accept >= self.log_interval_s:
                exc = context.get("exception")
                log.warning("cannot accept connections (%s): %d failed accepts since the "
                            "last report",
                            getattr(exc, "strerror", None) or exc, self._unlogged_accept)
                self._logged_accept, self._unlogged_accept = now, 0
            return
        if self._previous is not None:
            self._previous(loop, context)
        else:
            loop.default_exception_handler(context)


class _GuardedServer(web.Server):
    def __init__(self, guard: ConnectionGuard, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._guard = guard

    def connection_made(self, handler: RequestHandler, transport: asyncio.Transport) -> None:
        super().connection_made(handler, transport)
        self._guard.opened(handler, transport)

    def connection_lost(self, handler: RequestHandler, exc: BaseException | None = None
                        ) -> None:
        super().connection_lost(handler, exc)
        self._guard.closed(handler)


class GuardedRunner(web.AppRunner):
    """An :class:`aiohttp.web.AppRunner` whose server reports every connection to a guard."""

    def __init__(self, app: web.Application, guard: ConnectionGuard, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._guard = guard

    async def _make_server(self) -> web.Server:
        base = await super()._make_server()
        return _GuardedServer(self._guard, base.request_handler,
                              request_factory=base.request_factory,
                              handler_cancellation=base.handler_cancellation,
                              loop=base._loop, **base._kwargs)
