"""Every datagram waiting on an ICE socket read in one event-loop pass, not one per pass.

asyncio's datagram transport reads one datagram each time the selector reports its socket
readable: every datagram of a burst costs a whole pass of the event loop (a ``select``
system call, the loop's timer bookkeeping, a handle run) before the next one is read; under
qasync, a Qt socket notifier's event besides. A 1080p keyframe arrives as 200-300 datagrams
at once, and reading them one pass at a time cost the receiver about 20 µs a datagram on top
of handling it (``benchmarks/rx_read.py``).

:func:`install` has a transport read up to :data:`BATCH` datagrams each time its socket is
readable, each handed to the protocol's ``datagram_received`` right after it is read (so a
watcher that asks the kernel about "the last datagram read", like
:class:`castapp.rtc.backlog.StaleGate`, still asks about the right one), stopping as soon as
the socket is empty or the transport closes. The bound keeps one busy socket from holding
the loop: :data:`BATCH` datagrams take well under a millisecond to read. It applies to
asyncio's selector transports (Linux, macOS; qasync on both); any other transport (Windows'
proactor) keeps its own reading.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from asyncio import selector_events
from typing import Any

log = logging.getLogger(__name__)

#: At most this many datagrams are read in one pass of the event loop.
BATCH = 64

_SelectorDatagram: Any = getattr(selector_events, "_SelectorDatagramTransport", None)


def check_asyncio() -> list[str]:
    """What this module assumes of asyncio's datagram transport and no longer holds (none
    where there is no selector datagram transport, or no source to read)."""
    if _SelectorDatagram is None:
        return []
    problems = []
    for name, needs in (
        ("__init__", ("self._add_reader", "self._sock_fd", "self._read_ready")),
        ("_read_ready", ("self._sock.recvfrom(self.max_size)",
                         "self._protocol.datagram_received(data, addr)",
                         "self._protocol.error_received(exc)")),
    ):
        try:
            source = inspect.getsource(getattr(_SelectorDatagram, name))
        except (OSError, TypeError):
            continue
        problems += [f"asyncio's datagram transport {name} has no {need}"
                     for need in needs if need not in source]
    return problems


def install(transport: asyncio.BaseTransport) -> bool:
    """Make ``transport`` read in batches from the next pass of its loop on; False (and
    nothing changed) for a transport of another kind."""
    if _SelectorDatagram is None or not isinstance(transport, _SelectorDatagram):
        return False
    loop = transport._loop
    # The transport registers its own one-datagram reader in a callback its constructor
    # scheduled; this one is scheduled after it, so it replaces that reader.
    loop.call_soon(_register, transport)
    return True


def _register(transport: Any) -> None:
    if transport.is_closing():
        return
    transport._add_reader(transport._sock_fd, _read_batch, transport)


def _read_batch(transport: Any) -> None:
    """What the transport's ``_read_ready`` does, up to :data:`BATCH` times."""
    sock = transport._sock
    for _ in range(BATCH):
        if transport.is_closing():
            return
        try:
            data, addr = sock.recvfrom(transport.max_size)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            transport._protocol.error_received(exc)
            return
        transport._protocol.datagram_received(data, addr)
