"""Every change castapp makes to aiortc's behaviour, in one place.

aiortc has no public hooks for these, so they rely on private internals of the versions
listed in :data:`TESTED_AIORTC_VERSIONS`; :func:`check_internals` verifies the ones used
and ``tests/unit/test_rtc_adapt.py`` fails loudly when they change.

:func:`install` (idempotent; call it before creating any peer connection):

1. Receiver: ``JitterBuffer._remove_frame`` releases a video frame as soon as its last
   packet (RTP marker bit set) is in, instead of when the next frame's first packet
   arrives one frame interval later. The stock "timestamp changed" rule stays for senders
   that do not set the marker bit. The scan resumes where the previous packet's stopped
   instead of restarting at the origin (linear, not quadratic, in a keyframe's packets).
2. Sender: the encoder factory name ``get_encoder`` inside ``aiortc.rtcrtpsender`` returns
   castapp's screen-tuned encoders for H.264 and VP8. The factory holds no settings: before
   each frame, ``RTCRtpSender._next_encoded_frame`` hands the encoder the
   :class:`~castapp.rtc.encoder.EncoderLink` (settings and counters) of the track it
   sends, so two connections in one process use their own settings. (Nothing rides on the
   frames: PyAV 18 loses a frame's ``opaque`` object when another frame holding it is freed.)
4. Sender: ``RTCRtpSender._send_keyframe`` (PLI/FIR) also counts the request on the
   encoder's link and wakes a track that holds back unchanged frames, so a receiver that
   asks for a keyframe gets one at once even on a still screen.
5. Both ends: every ICE UDP socket (host and TURN) asks for a receive buffer of
   :data:`UDP_RCVBUF_BYTES` instead of aioice's 256 KB (``aioice.turn.UDP_SOCKET_BUFFER_SIZE``,
   read at each socket's creation). A 1080p keyframe is 165-370 KB in one burst, and
   256 KB overflowed at 60 fps. The kernel grants at most ``net.core.rmem_max``;
   :func:`socket_buffer_sizes` reports what it granted.
6. Sender: ``RTCRtpSender._next_encoded_frame`` takes already encoded, packetised frames
   from a track that offers ``castapp_next_encoded`` (a
   :class:`~castapp.rtc.shared_encoder.SharedTrack`: one encode shared by several
   connections) instead of encoding what ``recv()`` returns; the sender still builds its
   own packets (SSRC, sequence numbers, SRTP) and paces them with its own pacer (7., the
   settings and bitrate from ``castapp_pacing()``). The track's ``bitrate_sink`` stands in
   for the sender's encoder, so REMB estimates and keyframe requests reach the shared group.
7. Sender: a video frame larger than its pacing burst has the rest of its RTP packets
   spread over a few milliseconds (:mod:`castapp.rtc.pacer`) when its connection's
   :attr:`~castapp.rtc.encoder.EncoderConfig.pacing` is set. ``_next_encoded_frame`` sets
   the sender's :class:`~castapp.rtc.pacer.Pacer` in a context variable of the sender's
   RTP task, and ``RTCDtlsTransport._send_rtp`` queues the packets that task sends through
   it (their abs-send-time restamped when they leave); every other packet (RTCP,
   retransmissions, audio, other senders) goes straight out as before.
8. Receiver: a video receiver's decoder queue is a :class:`~castapp.rtc.decode.DecodeQueue`
   (``RTCRtpReceiver.__init__`` wrapped) and its decoder thread runs castapp's
   :func:`~castapp.rtc.decode.decoder_worker` (the name ``decoder_worker`` inside
   ``aiortc.rtcrtpreceiver``, looked up when ``receive()`` starts the thread): small frames
   are decoded on the event loop instead of being handed to the thread and back, and the
   thread hands its pictures back with ``call_soon_threadsafe`` instead of a coroutine.
9. Receiver: the remote bitrate estimator (REMB), which aiortc runs on every video packet,
   takes two cheaper steps with the same results: ``OveruseEstimator.update_min_frame_period``
   takes the smallest of its 60 recent deltas with one ``min`` instead of a Python loop, and
   ``RateCounter._erase_old`` (called twice a packet, walking every millisecond since the
   last packet) leaves empty buckets alone and walks at most one window. The REMB values
   sent are unchanged (``tests/unit/test_rtc_remb_fast.py`` compares both on packet traces).
10. Sender: ``RTCRtpSender._retransmit`` (a packet the receiver NACKed) also tells the
    sender's :class:`~castapp.rtc.pacer.Pacer` that the path lost a packet: a connection
    paces its large frames only from its first reported loss (7.,
    :attr:`~castapp.rtc.pacer.PacingConfig.from_first_loss`).
11. Receiver: ``RTCDtlsTransport._handle_rtp_data`` hands a video packet to its receiver's
    :class:`~castapp.rtc.rxpath.VideoPath` in one plain call where the receiver has one
    (castapp's receive links give theirs one), instead of awaiting the receiver's
    ``_handle_rtp_packet`` (:mod:`castapp.rtc.rxpath`).
12. Receiver: ``aioice.Connection.data_received`` hands a video RTP datagram straight to the
    connection's :class:`~castapp.rtc.direct.DirectRtp` (made with the connection's first
    video packet on a path, 11.), which decrypts it and gives it to the receiver's path in
    the same call, instead of queueing it for the DTLS transport's task one loop pass later
    (the steps of ``RTCDtlsTransport._recv_next`` for SRTP; :mod:`castapp.rtc.direct`).
    Only while nothing waits in the queue, so datagrams stay in order.
13. Both ends: every ICE UDP socket (host and TURN) reads all the datagrams waiting on it
    (up to :data:`castapp.rtc.batchread.BATCH`) each time it is readable, instead of one
    per pass of the event loop (``StunProtocol.connection_made`` and
    ``TurnClientUdpProtocol.connection_made`` wrapped; :mod:`castapp.rtc.batchread`).
3. SDP: the H.264 ``profile-level-id`` castapp offers/answers advertises that it can receive
   up to level 5.2 (FFmpeg decodes any level), so the levels castapp's encoder picks for
   1080p60 or 4K30 stay within what the castapp receiver signalled.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import hashlib
import inspect
import logging
import socket
import threading
import warnings
from collections.abc import Callable

import aioice.ice
import aioice.turn
import aiortc
import aiortc.codecs
import aiortc.rtcdtlstransport
import aiortc.rtcrtpreceiver
import aiortc.rtcrtpsender
from aiortc import clock
from aiortc.codecs.base import Encoder
from aiortc.codecs.h264 import H264Encoder
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rate import MIN_FRAME_PERIOD_HISTORY_LENGTH, OveruseEstimator, RateCounter
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtcrtpsender import RTCEncodedFrame
from aiortc.rtp import RtpPacket

from castapp.rtc import batchread, decode, direct, ice_checks, rxpath
from castapp.rtc.encoder import EncoderLink, ScreenH264Encoder, ScreenVp8Encoder
from castapp.rtc.pacer import Pacer, PacingConfig, restamp_abs_send_time

log = logging.getLogger(__name__)

TESTED_AIORTC_VERSIONS = ("1.16.0",)

ADVERTISED_H264_LEVEL_IDC = 52

# sha256 of the source of stock functions whose exact behaviour the adaptations assume.
STOCK_SOURCE_SHA256: dict[str, str] = {
    "JitterBuffer._remove_frame": (
        "3ffad0bfb07f58e61d17ffb31510e1f2c27dabc208c27195bed51a29eb200570"
    ),
    "JitterBuffer.add": "c6cd693611aa3eb4bf3d55faa3f29d97a3000e2b0c207e0aec3d8589b1d4604b",
    "RTCRtpSender._next_encoded_frame": (
        "89dd9fa4fb33741cc60857f1cebae31c9a88b72da9a42f91abc6090f40cb8253"
    ),
    "RTCRtpSender._run_rtp": "ff597a1d554cb373e73b21775c5bf564e7dba1eab6058eeabd902e09794872a3",
    "RemoteStreamTrack.recv": "e572e045f1d6f41da4c21e2513333a6353d5857797b8a66967955cf9bf1a3b3f",
    "RTCRtpSender._send_keyframe": (
        "26c49629470d1928f42ffa4ea6953d6040e97f29b91379c13087416023eda0c0"
    ),
    "RTCDtlsTransport._send_rtp": (
        "763b02bceb0b0ab9c08d87eb6c0852a404322aafd377d28ad4a719f7c790ed9d"
    ),
    "RTCDtlsTransport._handle_rtp_data": (
        "5def9061cc3da1f67db719e43b0b1ee242688f231eb963cf2cb5d9696abfc9e2"
    ),
    "decoder_worker": (
        "d500d4e567d6846c0bd1b501685ec5dd65202563280a01b25e2c014c2273c3eb"
    ),
    "RTCRtpReceiver.__init__": (
        "3e3b7b5cefbaac6f32d31c024a5ecf70093b55e60db6a3b4f4f900400688ccb9"
    ),
    "RTCRtpReceiver.receive": (
        "d6d8d8d7a0bf4e95f3fb7cb78cf275d0a5f50c4912e0cb8498272008779916ef"
    ),
    "RTCRtpReceiver._handle_rtp_packet": (
        "4e54983d021a6336d80c29490f82f9a6dd531c0d3179b2daed818120c5ece238"
    ),
    "OveruseEstimator.update_min_frame_period": (
        "3570bc440684171df3f34f5616a8264283b8908df87e7a453f25a026fe179437"
    ),
    "RateCounter._erase_old": (
        "1d4cf1063d475883a8d70c12ebe4bb752700ed346d2b5bf88fe017c5a0e05619"
    ),
    "RTCRtpSender._retransmit": (
        "ae0b2491944b52dc8ffe7035bda93b913d6e833247e4c93c4d7d68bd12d191b4"
    ),
    "RTCDtlsTransport._recv_next": (
        "998076720c05aa13faadff2dfa337f6964c171fa6791789a72693e1480c74102"
    ),
    "Connection.data_received": (
        "5631b17fab717d6b9a956b775d6f5580a50c2419dc6ef693286a98355e98a253"
    ),
}

#: Receive buffer for every ICE UDP socket: two of the largest keyframes seen (370 KB at
#: 1080p, ~1 MB at 4K) plus the frames behind them.
UDP_RCVBUF_BYTES = 2 * 1024 * 1024

_lock = threading.Lock()
_installed = False
_stock_remove_frame = JitterBuffer._remove_frame
_stock_get_encoder: Callable[[RTCRtpCodecParameters], Encoder] = aiortc.rtcrtpsender.get_encoder
_stock_h264_params: dict[int, str] = {}
_stock_send_keyframe = aiortc.rtcrtpsender.RTCRtpSender._send_keyframe
_stock_retransmit = aiortc.rtcrtpsender.RTCRtpSender._retransmit
_stock_udp_buffer: int = aioice.turn.UDP_SOCKET_BUFFER_SIZE
_stock_next_encoded_frame = aiortc.rtcrtpsender.RTCRtpSender._next_encoded_frame
_stock_send_rtp = aiortc.rtcdtlstransport.RTCDtlsTransport._send_rtp
_stock_handle_rtp_data = aiortc.rtcdtlstransport.RTCDtlsTransport._handle_rtp_data
_stock_decoder_worker = aiortc.rtcrtpreceiver.decoder_worker
_stock_receiver_init = aiortc.rtcrtpreceiver.RTCRtpReceiver.__init__
_stock_min_frame_period = OveruseEstimator.update_min_frame_period
_stock_erase_old = RateCounter._erase_old
_stock_data_received = aioice.ice.Connection.data_received
_stock_stun_made = aioice.ice.StunProtocol.connection_made
_stock_turn_made = aioice.turn.TurnClientUdpProtocol.connection_made

#: The pacer of the video sender whose RTP task is running (unset in every other task).
_PACER: contextvars.ContextVar[Pacer | None] = contextvars.ContextVar("castapp_pacer",
                                                                      default=None)


def _full_scan_remove_frame(self: JitterBuffer, sequence_number: int) -> JitterFrame | None:
    """Stock ``_remove_frame`` plus: a video packet with the marker bit ends its frame.

    Scans from the origin on every call: O(packets in the frame) per packet."""
    frame: JitterFrame | None = None
    frames = 0
    remove = 0
    packets: list[RtpPacket] = []
    timestamp: int | None = None
    assert self._origin is not None

    for count in range(self._capacity):
        packet = self._packets[(self._origin + count) % self._capacity]
        if packet is None:
            break  # a hole: the frame is not complete yet
        ended_at: int | None = None
        if timestamp is not None and packet.timestamp != timestamp:
            ended_at = count  # stock rule: the next frame has started
        if ended_at is not None:
            if frame is None:
                frame = JitterFrame(data=b"".join(p._data for p in packets), timestamp=timestamp)
                remove = ended_at
            frames += 1
            if frames >= self._prefetch:
                self.remove(remove)
                return frame
            packets = []
        timestamp = packet.timestamp
        packets.append(packet)
        if self._is_video and packet.marker:
            if frame is None:
                frame = JitterFrame(data=b"".join(p._data for p in packets), timestamp=timestamp)
                remove = count + 1
            frames += 1
            if frames >= self._prefetch:
                self.remove(remove)
                return frame
            packets = []
            timestamp = None
    return None


_SCAN = "_castapp_scan"


def _remove_frame_on_marker(self: JitterBuffer, sequence_number: int) -> JitterFrame | None:
    """:func:`_full_scan_remove_frame`, resuming where the previous call's scan stopped.

    The stock scan restarts at the origin on every packet, so a keyframe of n packets costs
    n^2/2 steps on the receiver's event loop (288 packets: ~41 000). Without prefetch (as
    aiortc's video receivers use it) a scan that found no frame stops at the first hole,
    and nothing before that hole changes until the origin moves; so the scan state (origin,
    where it stopped, the partial frame) is kept on the buffer and the next call continues
    from there. A packet that lands beyond the hole leaves the result unchanged (``None``).
    """
    if self._prefetch != 0 or not self._is_video:
        return _full_scan_remove_frame(self, sequence_number)
    assert self._origin is not None
    capacity, origin = self._capacity, self._origin
    state = getattr(self, _SCAN, None)
    start, packets, timestamp = 0, [], None
    if state is not None and state[0] == origin and 0 < state[1] < capacity:
        _, stopped, saved_packets, saved_ts = state
        if self._packets[(origin + stopped - 1) % capacity] is not None:  # still there
            if self._packets[(origin + stopped) % capacity] is None:
                return None  # the hole that stopped the last scan is still open
            start, packets, timestamp = stopped, saved_packets, saved_ts
    for count in range(start, capacity):
        packet = self._packets[(origin + count) % capacity]
        if packet is None:
            setattr(self, _SCAN, (origin, count, packets, timestamp))
            return None
        if timestamp is not None and packet.timestamp != timestamp:
            setattr(self, _SCAN, None)  # stock rule: the next frame has started
            frame = JitterFrame(data=b"".join(p._data for p in packets), timestamp=timestamp)
            self.remove(count)
            return frame
        timestamp = packet.timestamp
        packets.append(packet)
        if packet.marker:
            setattr(self, _SCAN, None)
            frame = JitterFrame(data=b"".join(p._data for p in packets), timestamp=timestamp)
            self.remove(count + 1)
            return frame
    setattr(self, _SCAN, None)
    return None


def _update_min_frame_period(self: OveruseEstimator, ts_delta: float) -> float:
    """Stock ``update_min_frame_period`` with the history's minimum taken by ``min``.

    The stock loop keeps the later of two equal values and ``min`` the earlier; the deltas
    are finite floats of one sign convention (an int times a positive constant), so equal
    ones are the same number and the result is the same."""
    history = self.ts_delta_hist
    if len(history) >= MIN_FRAME_PERIOD_HISTORY_LENGTH:
        history.pop(0)
    smallest = min(history) if history else ts_delta
    history.append(ts_delta)
    return ts_delta if ts_delta < smallest else smallest


def _erase_old_fast(self: RateCounter, now_ms: int) -> None:
    """Stock ``RateCounter._erase_old``: empty the 1 ms buckets that left the window.

    Leaves already empty buckets alone and visits each bucket at most once (the stock loop
    visits one per millisecond elapsed, a long gap going round the window many times)."""
    origin_ms = self._origin_ms
    assert origin_ms is not None
    steps = now_ms - self._window_size + 1 - origin_ms
    if steps <= 0:
        return
    window = self._window_size
    buckets, total, index = self._buckets, self._total, self._origin_index
    for _ in range(min(steps, window)):
        bucket = buckets[index]
        if bucket.count or bucket.value:
            total.count -= bucket.count
            total.value -= bucket.value
            bucket.count = 0
            bucket.value = 0
        index += 1
        if index == window:
            index = 0
    self._origin_index = (self._origin_index + steps) % window
    self._origin_ms = origin_ms + steps


def _receiver_init(self: aiortc.rtcrtpreceiver.RTCRtpReceiver, kind: str,
                   transport: aiortc.rtcdtlstransport.RTCDtlsTransport) -> None:
    """Stock ``RTCRtpReceiver.__init__`` plus: a video receiver decodes through a
    :class:`~castapp.rtc.decode.DecodeQueue`."""
    _stock_receiver_init(self, kind, transport)
    if kind == "video":
        self._RTCRtpReceiver__decoder_queue = decode.DecodeQueue()  # type: ignore[attr-defined]


def castapp_get_encoder(codec: RTCRtpCodecParameters, link: EncoderLink | None = None
                        ) -> Encoder:
    """aiortc's encoder factory, with castapp's encoders for H.264 and VP8.

    ``link`` carries the connection's settings and counters (the sender hands it over)."""
    mime = codec.mimeType.lower()
    if mime == "video/h264":
        return ScreenH264Encoder(link=link)
    if mime == "video/vp8":
        return ScreenVp8Encoder(link=link)
    return _stock_get_encoder(codec)


def _send_keyframe_counted(self: aiortc.rtcrtpsender.RTCRtpSender) -> None:
    """Stock ``_send_keyframe`` plus: count the request and wake a still track."""
    encoder = getattr(self, "_RTCRtpSender__encoder", None)
    note = getattr(encoder, "note_keyframe_request", None)
    if note is not None:
        note()
    track = getattr(self, "_RTCRtpSender__track", None)
    wake = getattr(track, "keyframe_requested", None)
    if wake is not None:
        wake()
    _stock_send_keyframe(self)


async def _retransmit_noted(self: aiortc.rtcrtpsender.RTCRtpSender,
                            sequence_number: int) -> None:
    """Stock ``_retransmit`` plus: the sender's pacer learns that the path lost a packet."""
    pacer: Pacer | None = getattr(self, _PACER_ATTR, None)
    if pacer is not None:
        pacer.note_loss()
    await _stock_retransmit(self, sequence_number)


async def _next_encoded_frame_castapp(
    self: aiortc.rtcrtpsender.RTCRtpSender, codec: RTCRtpCodecParameters
) -> RTCEncodedFrame | None:
    """Stock ``_next_encoded_frame`` with the track's encoder link handed to the encoder
    and its packets paced; or the shared encoder's next frame for a track that offers
    ``castapp_next_encoded``."""
    track = getattr(self, "_RTCRtpSender__track", None)
    shared = getattr(track, "castapp_next_encoded", None)
    if shared is not None:
        _PACER.set(None)
        if getattr(self, "_RTCRtpSender__encoder", None) is None:
            self._RTCRtpSender__encoder = track.bitrate_sink  # type: ignore[union-attr]
        payloads, timestamp = await shared(codec)
        if not self._enabled or not payloads:
            return None
        encoded = RTCEncodedFrame(payloads, timestamp, None)
        config, target = track.castapp_pacing()  # type: ignore[union-attr]
        pacer = _frame_pacer(self, config, target, encoded)
        track.pacer_stats = pacer.stats if pacer is not None else None  # type: ignore[union-attr]
        _PACER.set(pacer)
        return encoded
    link = getattr(track, "link", None)
    if not isinstance(link, EncoderLink):
        _PACER.set(None)
        return await _stock_next_encoded_frame(self, codec)
    encoder = getattr(self, "_RTCRtpSender__encoder", None)
    if encoder is None:
        encoder = castapp_get_encoder(codec, link)
        self._RTCRtpSender__encoder = encoder  # type: ignore[attr-defined]
    else:
        use_link = getattr(encoder, "use_link", None)
        if use_link is not None:
            use_link(link)
    frame = await _stock_next_encoded_frame(self, codec)
    pacer = _frame_pacer(self, link.config.pacing,
                         int(getattr(encoder, "target_bitrate", 0) or 0), frame)
    if pacer is not None:
        link.pacer_stats = pacer.stats
    _PACER.set(pacer)
    return frame


_PACER_ATTR = "_castapp_pacer"


def _frame_pacer(sender: aiortc.rtcrtpsender.RTCRtpSender, config: PacingConfig | None,
                 target_bps: int, frame: RTCEncodedFrame | None) -> Pacer | None:
    """The sender's pacer, set up for ``frame``; None when its connection does not pace."""
    if config is None or frame is None:
        return None
    pacer: Pacer | None = getattr(sender, _PACER_ATTR, None)
    if pacer is None:
        pacer = Pacer(config)
        ids = getattr(getattr(sender, "_RTCRtpSender__rtp_header_extensions_map", None),
                      "_HeaderExtensionsMap__ids", None)
        pacer.abs_send_time_id = getattr(ids, "abs_send_time", None) or 0
        setattr(sender, _PACER_ATTR, pacer)
    pacer.config = config
    pacer.begin_frame(sum(len(p) for p in frame.payloads), target_bps)
    return pacer


async def _send_stamped(transport: aiortc.rtcdtlstransport.RTCDtlsTransport, ext_id: int,
                        data: bytes) -> None:
    if ext_id:
        data = restamp_abs_send_time(data, ext_id, clock.current_ntp_time() >> 14)
    await _stock_send_rtp(transport, data)


async def _send_rtp_paced(self: aiortc.rtcdtlstransport.RTCDtlsTransport, data: bytes) -> None:
    """Stock ``_send_rtp``, or into the pacer of the video sender whose RTP task sends."""
    pacer = _PACER.get()
    if pacer is None or not pacer.must_queue(len(data)):
        await _stock_send_rtp(self, data)
        return
    if self._state != aiortc.rtcdtlstransport.State.CONNECTED:
        raise ConnectionError("Cannot send encrypted RTP, not connected")
    pacer.submit(functools.partial(_send_stamped, self, pacer.abs_send_time_id), data)


def _stun_made_batched(self: aioice.ice.StunProtocol,
                       transport: asyncio.BaseTransport) -> None:
    _stock_stun_made(self, transport)
    batchread.install(transport)


def _turn_made_batched(self: aioice.turn.TurnClientUdpProtocol,
                       transport: asyncio.BaseTransport) -> None:
    _stock_turn_made(self, transport)
    batchread.install(transport)


def _batched_reads(on: bool) -> None:
    stun, turn = ((_stun_made_batched, _turn_made_batched) if on
                  else (_stock_stun_made, _stock_turn_made))
    aioice.ice.StunProtocol.connection_made = stun  # type: ignore[method-assign]
    aioice.turn.TurnClientUdpProtocol.connection_made = turn  # type: ignore[method-assign]


def socket_buffer_sizes(pc: object) -> list[int]:
    """Receive buffer sizes (bytes, as the kernel reports them) of a peer connection's
    ICE sockets."""
    sizes: list[int] = []
    for t in pc.getTransceivers():  # type: ignore[attr-defined]
        transport = t.sender.transport or t.receiver.transport
        connection = getattr(getattr(transport, "transport", None), "_connection", None)
        for protocol in getattr(connection, "_protocols", None) or []:
            sock = getattr(getattr(protocol, "transport", None), "get_extra_info",
                           lambda _n: None)("socket")
            if sock is not None:
                sizes.append(int(sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)))
    return sizes


def _stock_objects() -> dict[str, object]:
    return {
        "JitterBuffer._remove_frame": _stock_remove_frame,
        "JitterBuffer.add": JitterBuffer.add,
        "RTCRtpSender._next_encoded_frame": _stock_next_encoded_frame,
        "RTCRtpSender._run_rtp": aiortc.rtcrtpsender.RTCRtpSender._run_rtp,
        "RemoteStreamTrack.recv": aiortc.rtcrtpreceiver.RemoteStreamTrack.recv,
        "RTCRtpSender._send_keyframe": _stock_send_keyframe,
        "RTCRtpSender._retransmit": _stock_retransmit,
        "RTCDtlsTransport._send_rtp": _stock_send_rtp,
        "RTCDtlsTransport._handle_rtp_data": _stock_handle_rtp_data,
        "decoder_worker": _stock_decoder_worker,
        "RTCRtpReceiver.__init__": _stock_receiver_init,
        "RTCRtpReceiver.receive": aiortc.rtcrtpreceiver.RTCRtpReceiver.receive,
        "RTCRtpReceiver._handle_rtp_packet": (
            aiortc.rtcrtpreceiver.RTCRtpReceiver._handle_rtp_packet),
        "OveruseEstimator.update_min_frame_period": _stock_min_frame_period,
        "RateCounter._erase_old": _stock_erase_old,
        "RTCDtlsTransport._recv_next": aiortc.rtcdtlstransport.RTCDtlsTransport._recv_next,
        "Connection.data_received": _stock_data_received,
    }


def _source(obj: object) -> str | None:
    """The source of ``obj``, or None where there is none to read (a frozen build, which
    ships the aiortc version the source checks passed on)."""
    try:
        return inspect.getsource(obj)  # type: ignore[arg-type]
    except (OSError, TypeError):
        return None


def stock_source_hashes() -> dict[str, str]:
    """sha256 of the source of the stock functions listed in :data:`STOCK_SOURCE_SHA256`."""
    hashes = {}
    for name, obj in _stock_objects().items():
        hashes[name] = hashlib.sha256((_source(obj) or "").encode()).hexdigest()
    return hashes


def check_internals() -> list[str]:
    """Problems with the aiortc internals the adaptations use; empty when all is as tested."""
    problems: list[str] = []
    if aiortc.__version__ not in TESTED_AIORTC_VERSIONS:
        problems.append(f"aiortc {aiortc.__version__} is not in {TESTED_AIORTC_VERSIONS}")

    params = list(inspect.signature(_stock_remove_frame).parameters)
    if params != ["self", "sequence_number"]:
        problems.append(f"JitterBuffer._remove_frame takes {params}")
    jb = JitterBuffer(capacity=16, is_video=True)
    for name in ("_origin", "_packets", "_capacity", "_prefetch", "_is_video", "remove"):
        if not hasattr(jb, name):
            problems.append(f"JitterBuffer has no {name}")
    if list(inspect.signature(JitterFrame).parameters) != ["data", "timestamp"]:
        problems.append("JitterFrame(data, timestamp) changed")
    if not hasattr(RtpPacket(), "marker"):
        problems.append("RtpPacket has no marker")
    handler = _source(aiortc.rtcrtpreceiver.RTCRtpReceiver._handle_rtp_packet)
    if handler is not None and "packet._data" not in handler:
        problems.append("RTCRtpReceiver no longer stores the depayloaded data in packet._data")
    if aiortc.rtcrtpreceiver.JitterBuffer is not JitterBuffer:
        problems.append("rtcrtpreceiver does not use aiortc.jitterbuffer.JitterBuffer")

    if not hasattr(aiortc.rtcrtpsender, "get_encoder"):
        problems.append("aiortc.rtcrtpsender has no get_encoder")
    names = _stock_next_encoded_frame.__code__.co_names
    if "get_encoder" not in names:
        problems.append("RTCRtpSender._next_encoded_frame no longer calls get_encoder")
    for cls, attrs in (
        (H264Encoder, ("_packetize", "_split_bitstream", "_encode_frame", "target_bitrate")),
        (Vp8Encoder, ("_packetize", "target_bitrate")),
    ):
        for attr in attrs:
            if not hasattr(cls, attr):
                problems.append(f"{cls.__name__} has no {attr}")
    if not hasattr(Vp8Encoder(), "picture_id"):
        problems.append("Vp8Encoder has no picture_id")
    sender_source = _source(aiortc.rtcrtpsender.RTCRtpSender)
    for attr in ("self.__encoder =", "self.__track =", "self.__force_keyframe =",
                 "enc_frame = await self._next_encoded_frame(codec)", "self._enabled",
                 "await self.transport._send_rtp(packet_bytes)",
                 "self.__rtp_header_extensions_map ="):
        if sender_source is not None and attr not in sender_source:
            problems.append(f"RTCRtpSender has no {attr}")
    gather = _source(aioice.ice.Connection.get_component_candidates)
    if gather is not None and "turn.UDP_SOCKET_BUFFER_SIZE" not in gather:
        problems.append("aioice no longer sizes host sockets from turn.UDP_SOCKET_BUFFER_SIZE")
    init = _source(aioice.ice.Connection.__init__)
    if init is not None and "_protocols" not in init:
        problems.append("aioice Connection has no _protocols")
    receiver_source = _source(aiortc.rtcrtpreceiver.RTCRtpReceiver)
    for attr in ("self.__decoder_queue: queue.Queue = queue.Queue()", "target=decoder_worker",
                 "self.__decoder_queue.put((codec, encoded_frame))",
                 "self.__decoder_queue.put(None)"):
        if receiver_source is not None and attr not in receiver_source:
            problems.append(f"RTCRtpReceiver has no {attr}")
    track_init = _source(aiortc.rtcrtpreceiver.RemoteStreamTrack.__init__)
    if track_init is not None and "_queue" not in track_init:
        problems.append("RemoteStreamTrack has no _queue")

    problems.extend(batchread.check_asyncio())

    h264 = [c for c in aiortc.codecs.CODECS["video"] if c.mimeType.lower() == "video/h264"]
    if not h264 or any("profile-level-id" not in c.parameters for c in h264):
        problems.append("aiortc.codecs.CODECS has no H.264 entries with profile-level-id")

    # A frozen build may ship some libraries' sources and not others': what cannot be read
    # is the version the checks passed on when it was built.
    actual = stock_source_hashes()
    readable = {name for name, obj in _stock_objects().items() if _source(obj) is not None}
    for name, expected in STOCK_SOURCE_SHA256.items():
        if name in readable and actual.get(name) != expected:
            problems.append(f"{name} changed (sha256 {actual.get(name, '?')[:12]})")
    return problems


def _advertise_h264_level(level: int | None) -> None:
    for c in aiortc.codecs.CODECS["video"]:
        if c.mimeType.lower() != "video/h264":
            continue
        key = id(c)
        current = str(c.parameters["profile-level-id"])
        _stock_h264_params.setdefault(key, current)
        stock = _stock_h264_params[key]
        # Mutated in place: capabilities handed out earlier share this dict.
        c.parameters["profile-level-id"] = stock if level is None else f"{stock[:4]}{level:02x}"


def install(*, advertise_level: bool = True) -> None:
    """Apply all adaptations (idempotent). Raises if aiortc's internals are not as expected.

    Holds no per-connection settings: those travel with each connection's track."""
    global _installed
    with _lock:
        if _installed:
            return
        problems = check_internals()
        version_only = all(p.startswith("aiortc ") for p in problems)
        if problems and not version_only:
            raise RuntimeError("aiortc internals changed: " + "; ".join(problems))
        if problems:
            warnings.warn(problems[0], RuntimeWarning, stacklevel=2)
        JitterBuffer._remove_frame = _remove_frame_on_marker  # type: ignore[method-assign]
        aiortc.rtcrtpsender.get_encoder = castapp_get_encoder  # type: ignore[attr-defined]
        sender_cls = aiortc.rtcrtpsender.RTCRtpSender
        sender_cls._send_keyframe = _send_keyframe_counted  # type: ignore[method-assign]
        sender_cls._retransmit = _retransmit_noted  # type: ignore[method-assign]
        sender_cls._next_encoded_frame = _next_encoded_frame_castapp  # type: ignore[method-assign]
        dtls_cls = aiortc.rtcdtlstransport.RTCDtlsTransport
        dtls_cls._send_rtp = _send_rtp_paced  # type: ignore[method-assign]
        dtls_cls._handle_rtp_data = rxpath.handle_rtp_data  # type: ignore[method-assign]
        receiver_cls = aiortc.rtcrtpreceiver.RTCRtpReceiver
        receiver_cls.__init__ = _receiver_init  # type: ignore[method-assign]
        aiortc.rtcrtpreceiver.decoder_worker = decode.decoder_worker
        OveruseEstimator.update_min_frame_period = (  # type: ignore[method-assign]
            _update_min_frame_period)
        RateCounter._erase_old = _erase_old_fast  # type: ignore[method-assign]
        aioice.ice.Connection.data_received = direct.data_received  # type: ignore[method-assign]
        aioice.turn.UDP_SOCKET_BUFFER_SIZE = max(_stock_udp_buffer, UDP_RCVBUF_BYTES)
        _batched_reads(True)
        _advertise_h264_level(ADVERTISED_H264_LEVEL_IDC if advertise_level else None)
        ice_checks.install()
        _installed = True
        log.debug("aiortc adaptations installed")


def uninstall() -> None:
    """Restore stock aiortc behaviour (for tests comparing both)."""
    global _installed
    with _lock:
        JitterBuffer._remove_frame = _stock_remove_frame  # type: ignore[method-assign]
        aiortc.rtcrtpsender.get_encoder = _stock_get_encoder  # type: ignore[attr-defined]
        sender_cls = aiortc.rtcrtpsender.RTCRtpSender
        sender_cls._send_keyframe = _stock_send_keyframe  # type: ignore[method-assign]
        sender_cls._retransmit = _stock_retransmit  # type: ignore[method-assign]
        sender_cls._next_encoded_frame = _stock_next_encoded_frame  # type: ignore[method-assign]
        dtls_cls = aiortc.rtcdtlstransport.RTCDtlsTransport
        dtls_cls._send_rtp = _stock_send_rtp  # type: ignore[method-assign]
        dtls_cls._handle_rtp_data = _stock_handle_rtp_data  # type: ignore[method-assign]
        receiver_cls = aiortc.rtcrtpreceiver.RTCRtpReceiver
        receiver_cls.__init__ = _stock_receiver_init  # type: ignore[method-assign]
        aiortc.rtcrtpreceiver.decoder_worker = _stock_decoder_worker
        OveruseEstimator.update_min_frame_period = (  # type: ignore[method-assign]
            _stock_min_frame_period)
        RateCounter._erase_old = _stock_erase_old  # type: ignore[method-assign]
        aioice.ice.Connection.data_received = (  # type: ignore[method-assign]
            _stock_data_received)
        aioice.turn.UDP_SOCKET_BUFFER_SIZE = _stock_udp_buffer
        _batched_reads(False)
        _advertise_h264_level(None)
        ice_checks.uninstall()
        _installed = False


def use_stock_decoding() -> None:
    """Install everything, then put aiortc's own video decoding path back (adaptation 8):
    what a benchmark compares the receive path against."""
    install()
    with _lock:
        receiver_cls = aiortc.rtcrtpreceiver.RTCRtpReceiver
        receiver_cls.__init__ = _stock_receiver_init  # type: ignore[method-assign]
        aiortc.rtcrtpreceiver.decoder_worker = _stock_decoder_worker


def use_queued_datagrams() -> None:
    """Install everything, then have every datagram queued for the DTLS transport's task
    again (adaptation 12 off): what a benchmark compares the direct path against."""
    install()
    with _lock:
        aioice.ice.Connection.data_received = (  # type: ignore[method-assign]
            _stock_data_received)


def use_batched_reads(on: bool) -> None:
    """Install everything, then turn batched reading (adaptation 13) on or off for the ICE
    sockets opened from now on: off, each reads one datagram per pass of the event loop,
    what a benchmark compares batched reading against."""
    install()
    with _lock:
        _batched_reads(on)


def installed() -> bool:
    return _installed
