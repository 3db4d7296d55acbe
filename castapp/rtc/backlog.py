"""A receiver that has fallen behind drops what is stale and asks for a fresh picture.

The receiver's ICE sockets keep 2 MB of datagrams (:data:`castapp.rtc.adapt.UDP_RCVBUF_BYTES`,
so a keyframe burst is never dropped), which at screen-cast bitrates is 2-4 s of media. When
the receiver's process stops reading for a while (the machine gave its CPU to something
else, the process was stopped, a long pause of the event loop), those packets wait in the
kernel; afterwards the receiver would read and decode every one of them, in order, showing
seconds-old pictures while it works through the queue (a linear decay of latency, measured
at 1.4 s dropping to 1 ms over 2.5 s).

Two parts, one per connection:

* :class:`StaleGate` sits on the connection's ICE sockets. For each RTP datagram read it asks
  the kernel when that datagram arrived (Linux ``SIOCGSTAMP``: the arrival time of the last
  datagram read on the socket, a microsecond-resolution wall-clock time). A datagram that
  waited more than :data:`STALE_S` in the receiver is dropped before decryption; RTCP, DTLS
  and STUN always go through. A run of such drops is one *episode*. No new episode starts
  while the video receiver waits for its keyframe (it skips the stale packets itself) nor
  for :data:`KEYFRAME_GRACE_S` after that keyframe begins, so a receiver that is slow to
  take a keyframe in still shows it instead of dropping it and asking for another in a
  loop (without a video receiver: :data:`HOLD_OFF_S` between episodes).
* :class:`KeyframeWait` sits on the video receiver. After an episode it empties the jitter
  buffer, forgets the dropped packets (so no NACK asks for them), asks for a keyframe (one
  PLI, again after :data:`PLI_RETRY_S` if none came) and drops media packets until the
  first packet of a keyframe, from which the picture goes on, current.

Without kernel arrival times (other systems) the gate passes everything: it never drops.
"""

from __future__ import annotations

import contextlib
import logging
import struct
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from castapp.rtc.rxpath import VideoPath, path_of

try:
    import fcntl
except ImportError:  # Windows: datagrams are not dated there, nothing is dropped
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

#: A datagram that waited longer than this in the receiver is stale.
STALE_S = 0.5
#: A receiver without a keyframe wait (no video): after an episode, the next one starts no
#: sooner than this.
HOLD_OFF_S = 1.0
#: After the keyframe that ends an episode begins to pass, no new episode starts for this
#: long, so that keyframe is not dropped in turn by a receiver still slightly behind.
KEYFRAME_GRACE_S = 0.5
#: While waiting for a keyframe, ask again this often.
PLI_RETRY_S = 1.0

_SIOCGSTAMP = 0x8906  # struct timeval of the last datagram read (Linux)
_TIMEVAL = struct.Struct("@ll")
_EMPTY = bytes(_TIMEVAL.size)


def kernel_arrival(fd: int) -> float | None:
    """Wall-clock time the last datagram read on ``fd`` arrived, from the kernel; None
    where the kernel does not tell (the first call on a socket turns stamping on)."""
    if fcntl is None:
        return None
    try:
        sec, usec = _TIMEVAL.unpack(fcntl.ioctl(fd, _SIOCGSTAMP, _EMPTY))
    except OSError:
        return None
    return float(sec) + float(usec) / 1e6


def _is_rtp(data: bytes) -> bool:
    """RTP, not RTCP (RFC 5761 demultiplexing), not DTLS or STUN (RFC 7983)."""
    return len(data) >= 12 and 128 <= data[0] < 192 and not 192 <= data[1] <= 223


@dataclass
class BacklogCounts:
    episodes: int = 0
    """Times the receiver found itself behind and dropped what was stale."""
    dropped: int = 0
    """RTP datagrams dropped as stale."""
    longest_wait_ms: float = 0.0
    """The longest time an RTP datagram had waited when it was read."""
    undated: int = 0
    """RTP datagrams the kernel gave no arrival time for (never dropped)."""
    keyframe_requests: int = 0
    """PLIs sent by :class:`KeyframeWait`."""
    skipped_packets: int = 0
    """Media packets dropped while waiting for the keyframe."""


class StaleGate:
    """Drops RTP datagrams that waited more than ``stale_s`` in the receiver (see the
    module's description). One per peer connection."""

    def __init__(self, stale_s: float = STALE_S, hold_off_s: float = HOLD_OFF_S,
                 clock: Callable[[], float] = time.time) -> None:
        self.stale_s = stale_s
        self.hold_off_s = hold_off_s
        self.clock = clock
        self.counts = BacklogCounts()
        self.sockets = 0
        """ICE sockets watched (0: nothing can be dropped)."""
        self._dropping = False
        self._ended_at = -1e18  # when the last episode ended
        self.quiet_until = 0.0
        """No new episode starts before this time (``clock``); :class:`KeyframeWait` holds
        episodes off while it waits for the keyframe and while that keyframe arrives."""
        self._episode_drops = 0
        self._episode_wait = 0.0

    def attach(self, protocol: Any) -> bool:
        """Watch one aioice ``StunProtocol``'s socket; False when it has none to ask."""
        transport = getattr(protocol, "transport", None)
        sock = transport.get_extra_info("socket") if transport is not None else None
        if sock is None or not sys.platform.startswith("linux"):
            return False
        fd = sock.fileno()
        kernel_arrival(fd)  # turns the socket's arrival stamps on
        received = protocol.datagram_received

        def datagram_received(data: bytes, addr: tuple[Any, ...]) -> None:
            if _is_rtp(data) and self.stale(fd):
                return
            received(data, addr)

        protocol.datagram_received = datagram_received
        self.sockets += 1
        return True

    def stale(self, fd: int) -> bool:
        """Whether the datagram just read on ``fd`` is to be dropped."""
        arrived = kernel_arrival(fd)
        if arrived is None:
            self.counts.undated += 1
            return False
        now = self.clock()
        wait = now - arrived
        if wait * 1000.0 > self.counts.longest_wait_ms:
            self.counts.longest_wait_ms = wait * 1000.0
        if wait <= self.stale_s:
            if self._dropping:
                self._dropping = False
                self._ended_at = now
                log.info("the receiver was %.1f s behind: dropped %d stale packets and "
                         "asked for a keyframe", self._episode_wait, self._episode_drops)
            return False
        if not self._dropping:
            if now < self.quiet_until or now - self._ended_at < self.hold_off_s:
                return False
            self._dropping = True
            self._episode_drops, self._episode_wait = 0, 0.0
            self.counts.episodes += 1
        self._episode_drops += 1
        self._episode_wait = max(self._episode_wait, wait)
        self.counts.dropped += 1
        return True


def h264_keyframe_start(payload: bytes) -> bool:
    """Whether an H.264 RTP payload (RFC 6184) starts an IDR picture or carries its SPS."""
    if not payload:
        return False
    nal = payload[0] & 0x1F
    if nal in (5, 7):
        return True
    if nal == 28:  # FU-A: the first fragment of an IDR slice
        return len(payload) > 1 and bool(payload[1] & 0x80) and payload[1] & 0x1F == 5
    if nal == 24:  # STAP-A: any aggregated IDR slice or SPS
        i = 1
        while i + 2 < len(payload):
            size = (payload[i] << 8) | payload[i + 1]
            if size and payload[i + 2] & 0x1F in (5, 7):
                return True
            i += 2 + size
    return False


def vp8_keyframe_start(payload: bytes) -> bool:
    """Whether a VP8 RTP payload (RFC 7741) is the first packet of a key frame."""
    if not payload:
        return False
    first = payload[0]
    if not first & 0x10 or first & 0x07:  # not the start of partition 0
        return False
    i = 1
    if first & 0x80:  # extended control bits
        if len(payload) < 2:
            return False
        ext = payload[1]
        i = 2
        if ext & 0x80:  # picture id, 7 or 15 bits
            if len(payload) <= i:
                return False
            i += 2 if payload[i] & 0x80 else 1
        if ext & 0x40:
            i += 1
        if ext & 0x30:
            i += 1
    return len(payload) > i and not payload[i] & 0x01


_KEYFRAME_START = {"video/h264": h264_keyframe_start, "video/vp8": vp8_keyframe_start}


class KeyframeWait:
    """After an episode of :class:`StaleGate`, drops a video receiver's packets up to the
    next keyframe, which it asks for (see the module's description)."""

    def __init__(self, gate: StaleGate, receiver: Any,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.gate = gate
        self.receiver = receiver
        self.clock = clock
        self._episodes = gate.counts.episodes
        self._waiting = False
        self._asked = 0.0
        self._path: VideoPath | None = None

    def install(self) -> bool:
        """Ask about each of the receiver's packets first; False when this aiortc has not
        the parts."""
        path = path_of(self.receiver)
        if path is None or not hasattr(self.receiver, "_send_rtcp_pli"):
            log.warning("this aiortc keeps its receiver's parts elsewhere: a receiver that "
                        "fell behind works through its backlog")
            return False
        self._path = path
        path.admit = self.admit
        return True

    def admit(self, packet: Any) -> bool:
        """Whether ``packet`` goes on to the receiver (a keyframe request may be sent)."""
        if self.gate.counts.episodes != self._episodes:
            self._episodes = self.gate.counts.episodes
            self._begin_wait()
        return not self._waiting or self._passes(packet)

    def _mime(self, packet: Any) -> str:
        codecs = getattr(self.receiver, "_RTCRtpReceiver__codecs", {})
        codec = codecs.get(packet.payload_type)
        return str(getattr(codec, "mimeType", "")).lower()

    def _begin_wait(self) -> None:
        self._waiting = True
        self.gate.quiet_until = float("inf")  # what is skipped here need not be dropped
        self._asked = -1e18  # ask at the next packet (its SSRC is the one to ask)
        self._reset()

    def _reset(self) -> None:
        """Empty the jitter buffer and forget what the NACK generator waits for."""
        jb = getattr(self.receiver, "_RTCRtpReceiver__jitter_buffer", None)
        if jb is not None:
            for i in range(len(jb._packets)):
                jb._packets[i] = None
            jb._origin = None
            with contextlib.suppress(AttributeError):
                delattr(jb, "_castapp_scan")  # adapt's resumable scan of the old origin
        nacks = getattr(self.receiver, "_RTCRtpReceiver__nack_generator", None)
        if nacks is not None:
            nacks.max_seq = None
            nacks.missing.clear()

    def _passes(self, packet: Any) -> bool:
        mime = self._mime(packet)
        starts = _KEYFRAME_START.get(mime)
        if starts is not None and starts(packet.payload):
            self._waiting = False
            self.gate.quiet_until = self.gate.clock() + KEYFRAME_GRACE_S
            self._reset()
            return True
        self.gate.counts.skipped_packets += 1
        nacks = getattr(self.receiver, "_RTCRtpReceiver__nack_generator", None)
        if nacks is not None:  # the skipped packets are not to be asked for again
            nacks.max_seq = None
            nacks.missing.clear()
        now = self.clock()
        if starts is not None and now - self._asked >= PLI_RETRY_S:
            self._asked = now
            self.gate.counts.keyframe_requests += 1
            if self._path is not None:
                self._path.send(self.receiver._send_rtcp_pli(packet.ssrc))
        return False


def watch_connection(pc: Any, video_receiver: Any | None) -> StaleGate | None:
    """Drop stale media on ``pc``'s ICE sockets and resume ``video_receiver`` at a fresh
    keyframe; None where the kernel does not date datagrams (nothing is changed then).

    Call once the connection has gathered (its sockets exist)."""
    gate = StaleGate()
    seen: set[int] = set()
    for t in pc.getTransceivers():
        transport = t.receiver.transport or t.sender.transport
        connection = getattr(getattr(transport, "transport", None), "_connection", None)
        for protocol in getattr(connection, "_protocols", None) or []:
            if id(protocol) not in seen:  # bundled transceivers share their sockets
                seen.add(id(protocol))
                gate.attach(protocol)
    if gate.sockets == 0:
        return None
    if video_receiver is not None and KeyframeWait(gate, video_receiver).install():
        gate.hold_off_s = 0.0  # the keyframe wait holds episodes off as long as needed
        video_receiver.castapp_backlog = gate
    return gate
