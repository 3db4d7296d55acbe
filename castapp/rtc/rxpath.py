"""One plain call for each video RTP packet a receiver reads.

aiortc hands a received packet down a chain of coroutines: the DTLS transport awaits
``_handle_rtp_data``, which awaits the receiver's ``_handle_rtp_packet``; castapp's own
per-packet watchers (:class:`~castapp.rtc.receive.FrameAge`,
:class:`~castapp.rtc.backlog.KeyframeWait`, :class:`~castapp.rtc.holes.HoleWatch`) would each
add one more. A 1080p keyframe is 200-300 packets and a TV with four tiles reads over a
hundred packets a second, each paying for every layer.

:class:`VideoPath` takes a video receiver's packets in one synchronous call,
:meth:`VideoPath.handle`, doing the stock handler's steps in the stock order: the bitrate
estimator (REMB), the source's statistics, RTX unwrapping, the NACK generator, unwrapping the
payload, the jitter buffer, the decoder's keyframe request and the hand-over to the decoder.
RTCP those steps have to send (REMB, NACK, PLI) is handed back to the transport, which sends
it in order right after (:func:`handle_rtp_data`, installed by :mod:`castapp.rtc.adapt`); a
receiver without a path keeps the stock chain. The watchers hook in as plain calls:
:attr:`~VideoPath.admit` (may drop a packet), :attr:`~VideoPath.on_marker` (each frame's last
packet) and :attr:`~VideoPath.handled` (after each packet).

Differences from the stock handler, all without effect on what is decoded or sent:

* A packet in sequence while nothing is missing moves the NACK generator on directly (what
  ``NackGenerator.add`` does then, without its scan); any other goes through ``add``.
* An H.264 payload is unwrapped by :func:`h264_payload` (the same bytes as aiortc's
  ``h264_depayload``, tested on single, aggregated and fragmented units).
* The time a source was last seen (``getSynchronizationSources``) is taken at each frame's
  last packet, not at every packet.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from aiortc import clock
from aiortc.codecs import depayload, is_rtx
from aiortc.rtcrtpreceiver import StreamStatistics
from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, RtpPacket, pack_remb_fci, unwrap_rtx

from castapp.rtc import direct

log = logging.getLogger(__name__)

Send = Coroutine[Any, Any, None]

_P = "_RTCRtpReceiver__"
#: The private parts of aiortc's receiver a path works with.
PARTS = ("jitter_buffer", "nack_generator", "remote_bitrate_estimator", "codecs",
         "remote_streams", "active_ssrc", "rtx_ssrc", "decoder_error", "decoder_queue",
         "timestamp_mapper", "decoder_thread", "rtcp_ssrc")

_START = b"\x00\x00\x00\x01"


def h264_payload(data: bytes) -> bytes:
    """An H.264 RTP payload (RFC 6184, packetization mode 1) as Annex B bytes."""
    if len(data) < 2:
        raise ValueError("NAL unit is too short")
    nal_type = data[0] & 0x1F
    if nal_type == 28:  # FU-A
        fu = data[1]
        if fu & 0x80:  # the first fragment carries the unit's own header
            return _START + bytes(((data[0] & 0xE0) | (fu & 0x1F),)) + data[2:]
        return data[2:]
    if 0 < nal_type < 24:
        return _START + data
    if nal_type == 24:  # STAP-A
        parts = []
        pos, end = 1, len(data)
        while pos < end:
            if end < pos + 2:
                raise ValueError("STAP-A length field is truncated")
            size = (data[pos] << 8) | data[pos + 1]
            pos += 2
            if end < pos + size:
                raise ValueError("STAP-A data is truncated")
            parts.append(_START)
            parts.append(data[pos:pos + size])
            pos += size
        return b"".join(parts)
    raise ValueError(f"NAL unit type {nal_type} is not supported")


class VideoPath:
    """The packet handling of one aiortc video receiver (see the module's description)."""

    def __init__(self, receiver: Any) -> None:
        self.receiver = receiver
        self.jitter = getattr(receiver, _P + "jitter_buffer")
        self.nacks = getattr(receiver, _P + "nack_generator")
        self.estimator = getattr(receiver, _P + "remote_bitrate_estimator")
        self.codecs: dict[int, Any] = getattr(receiver, _P + "codecs")
        self.streams: dict[int, StreamStatistics] = getattr(receiver, _P + "remote_streams")
        self.active: dict[int, Any] = getattr(receiver, _P + "active_ssrc")
        self.rtx: dict[int, int] = getattr(receiver, _P + "rtx_ssrc")
        self.decoder_error = getattr(receiver, _P + "decoder_error")
        self.mapper = getattr(receiver, _P + "timestamp_mapper")
        self.admit: Callable[[RtpPacket], bool] | None = None
        """Asked first about every packet; False drops it (the packet is not counted)."""
        self.on_marker: list[Callable[[RtpPacket], None]] = []
        """Called with each packet that ends a frame (marker bit), before it is handled."""
        self.handled: list[Callable[[], None]] = []
        """Called after each packet is handled."""
        self._sends: list[Send] = []
        self._kinds: dict[int, str] = {}  # payload type: "rtx" or the codec's name

    def send(self, rtcp: Send) -> None:
        """RTCP to send once the packet at hand is handled (in the order given)."""
        self._sends.append(rtcp)

    def handle(self, packet: RtpPacket, arrival_time_ms: int) -> list[Send] | None:
        """Handle one packet; the RTCP to send now, in order, or None."""
        r = self.receiver
        if r._enabled and (self.admit is None or self.admit(packet)):
            if packet.marker:
                for hook in self.on_marker:
                    hook(packet)
            self._steps(r, packet, arrival_time_ms)
        for done in self.handled:
            done()
        if not self._sends:
            return None
        sends, self._sends = self._sends, []
        return sends

    def _steps(self, r: Any, packet: RtpPacket, arrival_time_ms: int) -> None:
        ssrc = packet.ssrc
        abs_send_time = packet.extensions.abs_send_time
        if abs_send_time is not None:
            remb = self.estimator.add(abs_send_time=abs_send_time,
                                      arrival_time_ms=arrival_time_ms,
                                      payload_size=len(packet.payload) + packet.padding_size,
                                      ssrc=ssrc)
            rtcp_ssrc = getattr(r, _P + "rtcp_ssrc")
            if remb is not None and rtcp_ssrc is not None:
                self.send(r._send_rtcp(RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=rtcp_ssrc,
                                                      media_ssrc=0, fci=pack_remb_fci(*remb))))
        if packet.marker or ssrc not in self.active:
            self.active[ssrc] = clock.current_datetime()
        codec = self.codecs.get(packet.payload_type)
        if codec is None:
            return
        stream = self.streams.get(ssrc)
        if stream is None:
            stream = self.streams[ssrc] = StreamStatistics(codec.clockRate)
        stream.add(packet)
        kind = self._kinds.get(codec.payloadType)
        if kind is None:  # the codec's name is worked out from its MIME type at every ask
            kind = self._kinds[codec.payloadType] = "rtx" if is_rtx(codec) else codec.name
        if kind == "rtx":
            original = self.rtx.get(ssrc)
            apt = codec.parameters.get("apt")
            if original is None or len(packet.payload) < 2 or not isinstance(apt, int) \
                    or apt not in self.codecs:
                return
            packet = unwrap_rtx(packet, payload_type=apt, ssrc=original)
            codec = self.codecs[apt]
            kind = codec.name
        self._nack(r, packet)
        payload = packet.payload
        try:
            data = (h264_payload(payload) if kind == "H264" else depayload(codec, payload)
                    ) if payload else b""
        except ValueError as exc:
            log.debug("an RTP payload could not be read: %s", exc)
            return
        packet._data = data  # type: ignore[attr-defined]
        pli, frame = self.jitter.add(packet)
        if self.decoder_error.is_set():
            self.decoder_error.clear()
            pli = True
        if pli:
            self.send(r._send_rtcp_pli(packet.ssrc))
        if frame is not None and getattr(r, _P + "decoder_thread"):
            frame.timestamp = self.mapper.map(frame.timestamp)
            getattr(r, _P + "decoder_queue").put((codec, frame))

    def _nack(self, r: Any, packet: RtpPacket) -> None:
        nacks = self.nacks
        last = nacks.max_seq
        if last is not None and not nacks.missing \
                and packet.sequence_number == (last + 1) & 0xFFFF:
            nacks.max_seq = packet.sequence_number  # what add() does then, without its scan
        elif nacks.add(packet):
            self.send(r._send_rtcp_nack(packet.ssrc, sorted(nacks.missing)))


def path_of(receiver: Any) -> VideoPath | None:
    """The receiver's path, made on first use; None for sound, or where this aiortc keeps
    its receiver's parts elsewhere (the stock chain goes on then)."""
    path = getattr(receiver, "castapp_path", None)
    if isinstance(path, VideoPath):
        return path
    if getattr(receiver, _P + "kind", None) != "video" \
            or not all(hasattr(receiver, _P + part) for part in PARTS) \
            or getattr(receiver, _P + "nack_generator") is None:
        return None
    path = VideoPath(receiver)
    receiver.castapp_path = path
    return path


async def handle_rtp_data(self: Any, data: bytes, arrival_time_ms: int) -> None:
    """``RTCDtlsTransport._handle_rtp_data``: a receiver with a :class:`VideoPath` has its
    packet handled there, any other the stock way."""
    try:
        packet = RtpPacket.parse(data, self._rtp_header_extensions_map)
    except ValueError as exc:
        log.debug("an RTP packet could not be read: %s", exc)
        return
    receiver = self._rtp_router.route_rtp(packet)
    if receiver is None:
        return
    path = getattr(receiver, "castapp_path", None)
    if path is None:
        await receiver._handle_rtp_packet(packet, arrival_time_ms=arrival_time_ms)
        return
    direct.attach(self)  # the connection's next video datagrams are handled as they are read
    sends = path.handle(packet, arrival_time_ms)
    if sends is not None:
        for rtcp in sends:
            await rtcp
