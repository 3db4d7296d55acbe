"""A video RTP datagram handled where it is read, not one event-loop pass later.

aioice puts every datagram it reads in its connection's ``asyncio.Queue``; aiortc's DTLS
transport runs a task that awaits that queue, decrypts what it gets and hands it on. Each
datagram so costs a queue put, a future's wake-up, a task step and one more pass of the
event loop before its packet is handled. A TV showing four tiles reads about a hundred such
datagrams a second, most of them a whole frame each, and that hand-over was as much CPU as
the packet's own handling.

:class:`DirectRtp` (one per ICE connection, made by :func:`castapp.rtc.rxpath.handle_rtp_data`
when the connection's first video packet reaches a :class:`~castapp.rtc.rxpath.VideoPath`)
takes a datagram in ``Connection.data_received`` (installed by :mod:`castapp.rtc.adapt`) and
does what the transport's task would: count it, decrypt it (SRTP), read the packet and give
it to the receiver's path, in the same call. It takes only what it can handle in order:

* RTP (not RTCP, DTLS or STUN) on a transport that is connected, has finished its handshake
  and has its SRTP keys;
* for a receiver already known by the packet's SSRC that has a path (sound and a
  connection's first packets keep the stock way);
* while the connection's queue is empty, so nothing read earlier is still waiting there.

Anything else goes to the queue as before. RTCP the path asks to send (REMB, NACK, PLI) is
sent by a task, in order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

import pylibsrtp
from aiortc import clock
from aiortc.rtcdtlstransport import State
from aiortc.rtp import RtpPacket

log = logging.getLogger(__name__)

_T = "_RTCDtlsTransport__"


async def _send_in_order(sends: list[Coroutine[Any, Any, None]]) -> None:
    for rtcp in sends:
        await rtcp


class DirectRtp:
    """Video RTP datagrams of one DTLS transport, handled as they are read (see above)."""

    def __init__(self, transport: Any) -> None:
        self.transport = transport
        self.router = transport._rtp_router
        self.taken = 0
        """Datagrams handled here instead of through the queue."""
        self._tasks: set[asyncio.Task[None]] = set()

    def take(self, data: bytes) -> bool:
        """Handle ``data`` now and say True, or say False (the caller queues it)."""
        if len(data) < 12 or not 127 < data[0] < 192 or 192 <= data[1] <= 208:
            return False  # not RTP (RFC 7983, RFC 5761: RTCP as aiortc's ``is_rtcp``)
        t = self.transport
        srtp = t._rx_srtp
        if srtp is None or t._state is not State.CONNECTED \
                or not getattr(t, _T + "handshake_done", False):
            return False
        receiver = self.router.ssrc_table.get(int.from_bytes(data[8:12], "big"))
        path = getattr(receiver, "castapp_path", None)
        if path is None:
            return False
        setattr(t, _T + "rx_bytes", getattr(t, _T + "rx_bytes") + len(data))
        setattr(t, _T + "rx_packets", getattr(t, _T + "rx_packets") + 1)
        self.taken += 1
        arrival_time_ms = clock.current_ms()
        try:
            data = srtp.unprotect(data)
        except pylibsrtp.Error as exc:
            log.debug("an SRTP packet could not be decrypted: %s", exc)
            return True
        try:
            packet = RtpPacket.parse(data, t._rtp_header_extensions_map)
        except ValueError as exc:
            log.debug("an RTP packet could not be read: %s", exc)
            return True
        routed = self.router.route_rtp(packet)  # as the stock route decides
        if routed is receiver:
            sends = path.handle(packet, arrival_time_ms)
            if sends is not None:
                self._later(_send_in_order(sends))
        elif routed is not None:  # the SSRC's receiver does not take this payload type
            self._later(routed._handle_rtp_packet(packet, arrival_time_ms=arrival_time_ms))
        return True

    def _later(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def data_received(self: Any, data: bytes, component: int) -> None:
    """``aioice.Connection.data_received``: a datagram its :class:`DirectRtp` takes is handled
    at once; any other is queued, as aioice does."""
    direct = self.__dict__.get("castapp_direct")
    if direct is not None and self._queue.empty() and direct.take(data):
        return
    self._queue.put_nowait((data, component))


def attach(transport: Any) -> None:
    """Give ``transport``'s ICE connection a :class:`DirectRtp` (once)."""
    connection = getattr(getattr(transport, "transport", None), "_connection", None)
    if connection is not None and "castapp_direct" not in connection.__dict__:
        connection.castapp_direct = DirectRtp(transport)
