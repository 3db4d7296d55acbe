"""A small client of the Janus WebSocket API: one session, plugin handles, transactions.

Every request carries the token the room service minted (see :mod:`castapp.sfu.token`) and
waits at most ``timeout_s`` for its answer. Whatever the server sends is checked before use:
a frame that is not a JSON object of the expected shape is dropped, frames are bounded in
size, and an answer missing what was asked for raises :class:`JanusError` with one plain
sentence. A keepalive runs while the session is open (Janus ends idle sessions after 60 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from dataclasses import dataclass, field
from typing import Any

import aiohttp

log = logging.getLogger(__name__)

#: Largest frame accepted from Janus (an SDP with candidates is a few kB).
MAX_FRAME = 256 * 1024
KEEPALIVE_S = 20.0
PROTOCOL = "janus-protocol"

Json = dict[str, Any]


class JanusError(Exception):
    """Janus refused a request or could not be reached; ``str()`` is one plain sentence.
    ``code`` is the plugin's ``error_code`` when it gave one."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


def _obj(value: object) -> Json:
    return value if isinstance(value, dict) else {}


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class Jsep:
    type: str
    sdp: str

    @classmethod
    def parse(cls, value: object) -> Jsep | None:
        v = _obj(value)
        kind, sdp = v.get("type"), v.get("sdp")
        if kind in ("offer", "answer") and isinstance(sdp, str) and sdp:
            return cls(kind, sdp)
        return None


@dataclass(frozen=True)
class Event:
    """A plugin event: its data (``plugindata.data``) and an SDP, if it carried one."""

    data: Json
    jsep: Jsep | None


@dataclass
class Handle:
    """One plugin handle in a session."""

    session: JanusSession
    id: int
    events: asyncio.Queue[Event] = field(default_factory=asyncio.Queue)
    hangups: int = 0

    async def request(self, body: Json, jsep: Jsep | None = None) -> Event:
        """Send a plugin message and wait for its answer (synchronous or the event after
        the ``ack``); raises :class:`JanusError` when the plugin reports an error."""
        msg: Json = {"janus": "message", "handle_id": self.id, "body": body}
        if jsep is not None:
            msg["jsep"] = {"type": jsep.type, "sdp": jsep.sdp}
        reply = await self.session.call(msg, until_event=True)
        data = _obj(_obj(reply.get("plugindata")).get("data"))
        if "error" in data:
            raise JanusError(f"The SFU refused the request: {str(data.get('error'))[:200]}.",
                             _int(data.get("error_code")))
        return Event(data, Jsep.parse(reply.get("jsep")))

    async def trickle_done(self) -> None:
        await self.session.call({"janus": "trickle", "handle_id": self.id,
                                 "candidate": {"completed": True}})

    async def detach(self) -> None:
        with contextlib.suppress(JanusError):
            await self.session.call({"janus": "detach", "handle_id": self.id})
        self.session.handles.pop(self.id, None)


class JanusSession:
    """A Janus session over one WebSocket; use :meth:`open`."""

    def __init__(self, url: str, token: str, timeout_s: float = 10.0) -> None:
        self.url = url
        self.token = token
        self.timeout_s = timeout_s
        self.id: int | None = None
        self.handles: dict[int, Handle] = {}
        self.closed = asyncio.Event()
        self._http: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._waiting: dict[str, asyncio.Queue[Json | None]] = {}
        self._tasks: list[asyncio.Task[None]] = []

    @classmethod
    async def open(cls, url: str, token: str, timeout_s: float = 10.0) -> JanusSession:
        self = cls(url, token, timeout_s)
        try:
            await self._connect()
        except BaseException:
            await self.close()
            raise
        return self

    async def _connect(self) -> None:
        self._http = aiohttp.ClientSession()
        try:
            self._ws = await self._http.ws_connect(
                self.url, protocols=(PROTOCOL,), max_msg_size=MAX_FRAME,
                timeout=aiohttp.ClientWSTimeout(ws_close=2.0), heartbeat=None,
                autoping=True)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            log.info("SFU %s: %s", self.url, exc)
            raise JanusError(f"The SFU at {self.url} could not be reached.") from None
        self._tasks.append(asyncio.create_task(self._read()))
        reply = await self.call({"janus": "create"})
        self.id = _int(_obj(reply.get("data")).get("id"))
        if self.id is None:
            raise JanusError("The SFU did not open a session.")
        self._tasks.append(asyncio.create_task(self._keepalive()))

    async def attach(self, plugin: str = "janus.plugin.videoroom") -> Handle:
        reply = await self.call({"janus": "attach", "plugin": plugin})
        hid = _int(_obj(reply.get("data")).get("id"))
        if hid is None:
            raise JanusError("The SFU did not attach its video room.")
        handle = self.handles[hid] = Handle(self, hid)
        return handle

    async def call(self, msg: Json, *, until_event: bool = False) -> Json:
        """Send ``msg`` with a new transaction and return the answer (``success``; with
        ``until_event`` the ``event`` that follows an ``ack``)."""
        ws = self._ws
        if ws is None or ws.closed or self.closed.is_set():
            raise JanusError("The connection to the SFU is closed.")
        tx = secrets.token_hex(8)
        msg = {**msg, "transaction": tx, "token": self.token}
        if self.id is not None:
            msg["session_id"] = self.id
        replies: asyncio.Queue[Json | None] = asyncio.Queue(maxsize=8)
        self._waiting[tx] = replies
        try:
            await ws.send_str(json.dumps(msg))
            async with asyncio.timeout(self.timeout_s):
                while True:
                    reply = await replies.get()
                    if reply is None:
                        raise ConnectionError("closed")
                    kind = reply.get("janus")
                    if kind == "error":
                        err = _obj(reply.get("error"))
                        raise JanusError(f"The SFU refused the request: "
                                         f"{str(err.get('reason', 'no reason given'))[:200]}.")
                    if kind == "ack" and until_event:
                        continue
                    return reply
        except TimeoutError:
            raise JanusError("The SFU did not answer in time.") from None
        except (ConnectionError, aiohttp.ClientError):
            raise JanusError("The connection to the SFU was lost.") from None
        finally:
            self._waiting.pop(tx, None)

    def _dispatch(self, msg: Json) -> None:
        tx = msg.get("transaction")
        if isinstance(tx, str) and (replies := self._waiting.get(tx)) is not None:
            if not replies.full():
                replies.put_nowait(msg)
            return
        handle = self.handles.get(_int(msg.get("sender")) or -1)
        if handle is None:
            return
        kind = msg.get("janus")
        if kind == "event":
            data = _obj(_obj(msg.get("plugindata")).get("data"))
            handle.events.put_nowait(Event(data, Jsep.parse(msg.get("jsep"))))
        elif kind == "webrtcup":
            handle.events.put_nowait(Event({"castapp": "webrtcup"}, None))
        elif kind == "hangup":
            handle.hangups += 1
            handle.events.put_nowait(Event({"castapp": "hangup"}, None))

    async def _read(self) -> None:
        assert self._ws is not None
        try:
            async for frame in self._ws:
                if frame.type != aiohttp.WSMsgType.TEXT:
                    continue
                try:
                    msg = json.loads(frame.data)
                except ValueError:
                    continue
                if isinstance(msg, dict):
                    self._dispatch(msg)
        finally:
            self.closed.set()
            for replies in self._waiting.values():
                with contextlib.suppress(asyncio.QueueFull):
                    replies.put_nowait(None)

    async def _keepalive(self) -> None:
        while True:
            await asyncio.sleep(KEEPALIVE_S)
            try:
                await self.call({"janus": "keepalive"})
            except JanusError as exc:  # an expired token: the session lives on its socket
                log.debug("SFU keepalive refused: %s", exc)
                return

    async def close(self) -> None:
        if self._ws is not None and not self._ws.closed and self.id is not None:
            with contextlib.suppress(JanusError, ConnectionError, TimeoutError):
                await asyncio.wait_for(self.call({"janus": "destroy"}), 2.0)
        for task in self._tasks:
            task.cancel()
        # a reader task that failed has already said so (``closed`` and its error)
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):  # broad: said before
                await task
        if self._ws is not None:
            await self._ws.close()
        if self._http is not None:
            await self._http.close()
        self.closed.set()
