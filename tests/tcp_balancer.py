"""A small TCP load balancer on 127.0.0.1, standing in for nginx in front of instances.

New connections go to the backends in turn; a backend that refuses is skipped, as nginx does
with ``proxy_next_upstream error``. Bytes are copied both ways until either side closes.
"""

from __future__ import annotations

import asyncio
import contextlib


class TcpBalancer:
    def __init__(self, backends: list[int]) -> None:
        self.backends = backends
        self.port = 0
        self.placed: list[int] = []  # the backend port each accepted connection went to
        self._next = 0
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._pipes):
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def _connect(self) -> tuple[int, asyncio.StreamReader, asyncio.StreamWriter] | None:
        for _ in range(len(self.backends)):
            port = self.backends[self._next % len(self.backends)]
            self._next += 1
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                continue
            return port, reader, writer
        return None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream = await self._connect()
        if upstream is None:
            writer.close()
            return
        port, up_reader, up_writer = upstream
        self.placed.append(port)
        task = asyncio.current_task()
        assert task is not None
        self._pipes.add(task)
        try:
            await asyncio.gather(self._copy(reader, up_writer), self._copy(up_reader, writer))
        except asyncio.CancelledError:
            pass  # stopped: the connection just ends
        finally:
            self._pipes.discard(task)
            for w in (writer, up_writer):
                w.close()

    @staticmethod
    async def _copy(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()
        with contextlib.suppress(ConnectionError, OSError, RuntimeError):
            dst.write_eof()
