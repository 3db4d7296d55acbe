"""A lean WebSocket load generator for benchmarks/rooms.py.

aiohttp's client costs the benchmark about as much CPU per pairing as the service spends on
it, so on a small machine the generator, not the service, set the pace and the tail. Here each
client is an asyncio protocol that writes WebSocket frames itself (masked with a zero key,
which the protocol allows and which makes masking a copy) and answers in the callback that
reads a message, with no task switch: a receiver answers an offer as soon as it arrives, a
sender sends ``hello`` and ``join`` in one write and its offer in the callback that reads
``joined``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
import time
from collections.abc import Callable
from typing import Any, cast

_ZERO_MASK = b"\0\0\0\0"


def frame(text: str | bytes, opcode: int = 1) -> bytes:
    """One masked client frame (the mask key is zero, so the payload goes as it is)."""
    data = text.encode() if isinstance(text, str) else text
    n = len(data)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    return head + _ZERO_MASK + data


class Client(asyncio.Protocol):
    """A WebSocket client connection; ``on_message`` gets each text message (bytes)."""

    def __init__(self, host: str, path: str, first: list[str]) -> None:
        key = base64.b64encode(os.urandom(16)).decode()
        self._request = (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
                         f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                         "Sec-WebSocket-Version: 13\r\n\r\n").encode()
        self._first = b"".join(frame(m) for m in first)  # sent with the upgrade request
        self.transport: asyncio.Transport | None = None
        self._buf = b""
        self._upgraded = False
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses: no isinstance check
        self.transport = cast(asyncio.Transport, transport)
        # the server reads the frames after the upgrade: one write for the lot
        self.transport.write(self._request + self._first)

    def send(self, text: str) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(frame(text))

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(frame(struct.pack("!H", 1000), opcode=8))
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        buf = self._buf + data
        if not self._upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self._buf = buf
                return
            if not buf.startswith(b"HTTP/1.1 101"):
                self.fail(ConnectionError(buf[:end].decode(errors="replace")))
                return
            self._upgraded = True
            buf = buf[end + 4:]
        pos, size = 0, len(buf)
        while size - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            n, at = b1 & 0x7F, pos + 2
            if n == 126:
                if size - at < 2:
                    break
                n, at = struct.unpack_from("!H", buf, at)[0], at + 2
            elif n == 127:
                if size - at < 8:
                    break
                n, at = struct.unpack_from("!Q", buf, at)[0], at + 8
            if size - at < n:
                break
            payload, pos = buf[at:at + n], at + n
            opcode = b0 & 0x0F
            if opcode == 1:
                self.on_message(payload)
            elif opcode == 9 and self.transport is not None:
                self.transport.write(frame(payload, opcode=10))
            elif opcode == 8:
                self.close()
        self._buf = buf[pos:]

    def on_message(self, data: bytes) -> None:
        raise NotImplementedError

    def fail(self, exc: BaseException) -> None:
        if not self.closed.done():
            self.closed.set_exception(exc)
        if self.transport is not None:
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


class Receiver(Client):
    """Registers, then answers every offer at once; notes how long each offer took."""

    def __init__(self, host: str, path: str) -> None:
        super().__init__(host, path, ['{"type":"hello","versions":[2]}',
                                      '{"type":"register","name":"bench"}'])
        self.registered: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.offer_lat: list[float] = []
        self.code = ""

    def on_message(self, data: bytes) -> None:
        if data.startswith(b'{"type":"offer"'):
            msg = json.loads(data)
            now = time.perf_counter()
            self.offer_lat.append((now - float(msg["sdp"])) * 1000)
            self.send(f'{{"type":"answer","to":"{msg["from"]}","sdp":"{time.perf_counter()!r}"}}')
        elif not self.registered.done():
            msg = json.loads(data)
            if msg["type"] == "registered":
                self.code = msg["code"]
                self.registered.set_result(msg["code"])
            elif msg["type"] == "error":
                self.registered.set_exception(ConnectionError(msg.get("code", "error")))


class Sender(Client):
    """Joins by code, offers, waits for the answer, leaves: one pairing."""

    def __init__(self, host: str, path: str, code: str,
                 done: Callable[[Sender, BaseException | None], None]) -> None:
        super().__init__(host, path, ['{"type":"hello","versions":[2]}',
                                      f'{{"type":"join","code":"{code}","name":"s"}}'])
        self._done = done
        self.started = time.perf_counter()
        # a pairing that has not ended in 30 s fails (as the aiohttp clients' receive timeout)
        self._timer = asyncio.get_running_loop().call_later(30.0, self._too_slow)
        self.join_ms: float | None = None
        self.answer_ms: float | None = None
        self._finished = False

    def on_message(self, data: bytes) -> None:
        msg: dict[str, Any] = json.loads(data)
        kind = msg["type"]
        if kind == "joined":
            self.join_ms = (time.perf_counter() - self.started) * 1000
            to = msg["receiver"]["peer_id"]
            self.send(f'{{"type":"offer","to":"{to}","sdp":"{time.perf_counter()!r}"}}')
        elif kind == "answer":
            self.answer_ms = (time.perf_counter() - float(msg["sdp"])) * 1000
            self.send('{"type":"leave"}')
            self.close()
            self._finish(None)
        elif kind == "error":
            self.close()
            self._finish(ConnectionError(msg.get("code", "error")))

    def _too_slow(self) -> None:
        self._finish(TimeoutError("no answer within 30 s"))
        if self.transport is not None:
            self.transport.abort()

    def _finish(self, exc: BaseException | None) -> None:
        self._timer.cancel()
        if not self._finished:
            self._finished = True
            self._done(self, exc)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self._finish(ConnectionError("closed before the answer"))


def split_url(url: str) -> tuple[str, int, str]:
    """``ws://host:port/path`` as (host, port, path)."""
    rest = url.removeprefix("ws://")
    hostport, _, path = rest.partition("/")
    host, _, port = hostport.rpartition(":")
    return host, int(port), "/" + path


def candidate(to: str, stamp: float) -> str:
    """A trickled candidate for ``to`` that carries its send time (``perf_counter``)."""
    return f'{{"type":"candidate","to":"{to}","candidate":{{"candidate":"{stamp!r}"}}}}'


def _stamp(data: bytes) -> float | None:
    """The send time a relayed candidate carries, or None for any other message."""
    if not data.startswith(b'{"type":"candidate"'):
        return None
    msg = json.loads(data)
    return float(msg["candidate"]["candidate"])


class Steady(Client):
    """A client that stays: notes the latency of every candidate relayed to it and hands
    every other message to :meth:`on_control`."""

    lat: list[float]

    def on_message(self, data: bytes) -> None:
        stamp = _stamp(data)
        if stamp is not None:
            self.lat.append((time.perf_counter() - stamp) * 1000)
            return
        self.on_control(json.loads(data))

    def on_control(self, msg: dict[str, Any]) -> None:
        raise NotImplementedError


class SteadyReceiver(Steady):
    """Registers and stays; notes the latency of every candidate relayed to it and the peer id
    of the sender that joined it."""

    def __init__(self, host: str, path: str, lat: list[float]) -> None:
        super().__init__(host, path, ['{"type":"hello","versions":[2]}',
                                      '{"type":"register","name":"bench"}'])
        loop = asyncio.get_running_loop()
        self.registered: asyncio.Future[str] = loop.create_future()
        self.joined: asyncio.Future[str] = loop.create_future()
        self.lat = lat

    def on_control(self, msg: dict[str, Any]) -> None:
        kind = msg["type"]
        if kind == "registered" and not self.registered.done():
            self.registered.set_result(msg["code"])
        elif kind == "peer_joined" and not self.joined.done():
            self.joined.set_result(msg["peer"]["peer_id"])
        elif kind == "error" and not self.registered.done():
            self.registered.set_exception(ConnectionError(msg.get("code", "error")))


class SteadySender(Steady):
    """Joins by code and stays; notes the latency of every candidate relayed to it."""

    def __init__(self, host: str, path: str, code: str, lat: list[float]) -> None:
        super().__init__(host, path, ['{"type":"hello","versions":[2]}',
                                      f'{{"type":"join","code":"{code}","name":"s"}}'])
        self.joined: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.lat = lat
        self.peer_id = ""

    def on_control(self, msg: dict[str, Any]) -> None:
        kind = msg["type"]
        if kind == "welcome":
            self.peer_id = msg["peer_id"]
        elif kind == "joined" and not self.joined.done():
            self.joined.set_result(msg["receiver"]["peer_id"])
        elif kind == "error" and not self.joined.done():
            self.joined.set_exception(ConnectionError(msg.get("code", "error")))
