"""Peer connection helpers: explicit ICE servers, codec preferences and stats.

aiortc's default ICE configuration contacts a public STUN server; castapp always passes an
explicit list, ``[]`` when there is none.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpSender,
    RTCRtpTransceiver,
)
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtcconfiguration import RTCBundlePolicy, RTCIceTransportPolicy
from aiortc.rtcrtpparameters import RTCRtpCodecCapability
from aiortc.rtp import (
    RTCP_PSFB_FIR,
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    AnyRtcpPacket,
    RtcpPsfbPacket,
    RtcpRtpfbPacket,
)
from aiortc.stats import (
    RTCInboundRtpStreamStats,
    RTCOutboundRtpStreamStats,
    RTCRemoteInboundRtpStreamStats,
    RTCTransportStats,
)

from castapp.rtc import adapt
from castapp.rtc.encoder import EncoderConfig

Codec = Literal["h264", "vp8"]


class IceServerLike(Protocol):
    urls: list[str]
    username: str | None
    credential: str | None


def to_ice_servers(servers: Iterable[RTCIceServer | IceServerLike]) -> list[RTCIceServer]:
    out: list[RTCIceServer] = []
    for s in servers:
        if isinstance(s, RTCIceServer):
            out.append(s)
        else:
            server = RTCIceServer(urls=list(s.urls), username=s.username, credential=s.credential)
            out.append(server)
    return out


def make_peer_connection(
    ice_servers: Sequence[RTCIceServer | IceServerLike],
    *,
    encoder_config: EncoderConfig | None = None,
    bundle_policy: RTCBundlePolicy = RTCBundlePolicy.MAX_BUNDLE,
    relay_only: bool = False,
) -> RTCPeerConnection:
    """A peer connection using exactly ``ice_servers`` (pass ``[]`` for none).

    ``relay_only`` gathers only TURN relay candidates. ``encoder_config`` belongs to this
    connection: :func:`add_video_sender` hands it to the track, which carries it to the
    encoder. Installs castapp's aiortc adaptations first. Call inside a running event loop.
    """
    asyncio.get_running_loop()  # aiortc objects must be created inside the running loop
    adapt.install()
    policy = RTCIceTransportPolicy.RELAY if relay_only else RTCIceTransportPolicy.ALL
    config = RTCConfiguration(iceServers=to_ice_servers(ice_servers), bundlePolicy=bundle_policy,
                              iceTransportPolicy=policy)
    pc = RTCPeerConnection(configuration=config)
    pc.castapp_encoder_config = encoder_config  # type: ignore[attr-defined]
    return pc


def video_codec_preferences(prefer: Codec = "h264") -> list[RTCRtpCodecCapability]:
    """Video codecs in preference order, H.264 and VP8 both kept, then RTX."""
    codecs = RTCRtpSender.getCapabilities("video").codecs
    first = "video/h264" if prefer == "h264" else "video/vp8"

    def rank(c: RTCRtpCodecCapability) -> int:
        mime = c.mimeType.lower()
        if mime == "video/rtx":
            return 2
        return 0 if mime == first else 1

    return sorted(codecs, key=rank)


def add_video_sender(
    pc: RTCPeerConnection, track: MediaStreamTrack, prefer: Codec = "h264"
) -> RTCRtpTransceiver:
    config = getattr(pc, "castapp_encoder_config", None)
    configure = getattr(track, "configure", None)
    if config is not None and configure is not None:
        configure(config)  # the connection's encoder settings, carried by its track
    transceiver = pc.addTransceiver(track, direction="sendonly")
    transceiver.setCodecPreferences(video_codec_preferences(prefer))
    return transceiver


def add_video_receiver(pc: RTCPeerConnection, prefer: Codec = "h264") -> RTCRtpTransceiver:
    transceiver = pc.addTransceiver("video", direction="recvonly")
    transceiver.setCodecPreferences(video_codec_preferences(prefer))
    return transceiver


# -- stats ---------------------------------------------------------------------------


class Route(enum.Enum):
    """How media travels between the two ends."""

    DIRECT = "direct"  # host to host: both on one network
    NAT = "nat"  # through NAT, using an address a router mapped (hole punching)
    RELAY = "relay"  # relayed by a TURN server


@dataclass(frozen=True, slots=True)
class IcePath:
    local_type: str
    remote_type: str
    local_address: str
    remote_address: str

    @property
    def kind(self) -> str:
        """``relay`` if either side relays, else ``srflx``/``prflx`` if either is, else host."""
        types = {self.local_type, self.remote_type}
        for t in ("relay", "srflx", "prflx"):
            if t in types:
                return t
        return "host"

    @property
    def route(self) -> Route:
        kind = self.kind
        return Route.RELAY if kind == "relay" else Route.DIRECT if kind == "host" else Route.NAT


@dataclass(frozen=True, slots=True)
class PeerStats:
    at: float
    codec: str | None
    bytes_sent: int
    bytes_received: int
    packets_sent: int
    packets_received: int
    packets_lost: int
    rtt_ms: float | None
    ice: IcePath | None
    send_kbps: float | None = None
    recv_kbps: float | None = None
    fps: float | None = None
    width: int | None = None
    height: int | None = None
    #: Share of our packets the other end reported lost in its latest report, in percent.
    loss_pct: float | None = None
    #: Keyframe requests and retransmission requests received from the other end so far.
    pli_received: int = 0
    fir_received: int = 0
    nack_received: int = 0
    #: How long ago the sender captured the newest frame received (castapp.rtc.receive.FrameAge).
    frame_age_ms: float | None = None


def _ice_connections(pc: RTCPeerConnection) -> Iterator[object]:
    for t in pc.getTransceivers():
        transport = t.sender.transport or t.receiver.transport
        if transport is not None:
            yield getattr(transport.transport, "_connection", None)


def local_candidate_types(pc: RTCPeerConnection) -> set[str]:
    """Types of the candidates gathered so far (``host``, ``srflx``, ``relay``)."""
    types: set[str] = set()
    for connection in _ice_connections(pc):
        for cand in getattr(connection, "local_candidates", None) or []:
            types.add(cand.type)
    return types


def ice_path(pc: RTCPeerConnection) -> IcePath | None:
    """The nominated candidate pair of the first transport (private aioice state)."""
    for connection in _ice_connections(pc):
        nominated = getattr(connection, "_nominated", None) or {}
        pair = nominated.get(1)
        if pair is None:
            continue
        loc, rem = pair.local_candidate, pair.remote_candidate
        return IcePath(loc.type, rem.type, f"{loc.host}:{loc.port}", f"{rem.host}:{rem.port}")
    return None


def working_routes(pc: RTCPeerConnection) -> set[Route]:
    """Routes of every candidate pair whose check succeeded, nominated or not (private
    aioice state): a NAT path can work although the relay answered first and won."""
    routes: set[Route] = set()
    for connection in _ice_connections(pc):
        for pair in getattr(connection, "_check_list", None) or []:
            if getattr(pair.state, "name", "") != "SUCCEEDED":
                continue
            loc, rem = pair.local_candidate, pair.remote_candidate
            routes.add(IcePath(loc.type, rem.type, "", "").route)
    return routes


def negotiated_codec(pc: RTCPeerConnection) -> str | None:
    for t in pc.getTransceivers():
        codecs = getattr(t, "_codecs", None)
        if t.kind == "video" and codecs:
            return str(codecs[0].mimeType)
    return None


@dataclass
class Feedback:
    """RTCP feedback received on what we send: keyframe (PLI, FIR) and resend (NACK) asks."""

    pli: int = 0
    fir: int = 0
    nack: int = 0
    #: Extra copies of resent packets (see :func:`count_feedback`).
    resent: int = 0
    #: Wall-clock time of the latest RTCP packet of any kind on what we send (receiver
    #: report, bitrate estimate, keyframe or resend ask): the other end is alive.
    heard_at: float | None = None


#: After a NACK, aiortc resends the packet once; castapp sends it again after these delays.
#: aiortc's receiver asks for a missing packet again only when a later one goes missing, and
#: its jitter buffer holds every frame behind a hole, so one lost resend would freeze the
#: picture until the buffer overflows (hundreds of packets). Extra copies cost a few packets
#: per loss; the receiver drops the ones it already has.
RESEND_AGAIN_S = (0.08, 0.25)


def count_feedback(sender: RTCRtpSender) -> Feedback:
    """Count the feedback ``sender`` receives and resend NACKed packets again (wraps this
    one sender's RTCP handler only)."""
    counts = Feedback()
    handle = sender._handle_rtcp_packet
    retransmit = getattr(sender, "_retransmit", None)
    resending: set[asyncio.Task[None]] = set()

    async def again(seq: int) -> None:
        if retransmit is None or sender.transport is None:
            return
        try:
            await retransmit(seq)
        except ConnectionError:
            return  # the connection closed meanwhile
        counts.resent += 1

    def schedule(seq: int) -> None:
        task = asyncio.ensure_future(again(seq))
        resending.add(task)
        task.add_done_callback(resending.discard)

    async def counting(packet: AnyRtcpPacket) -> None:
        counts.heard_at = time.time()
        if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_PLI:
            counts.pli += 1
        elif isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_FIR:
            counts.fir += 1
        elif isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK:
            counts.nack += 1
            loop = asyncio.get_running_loop()
            for seq in packet.lost:
                for delay in RESEND_AGAIN_S:
                    loop.call_later(delay, schedule, seq)
        await handle(packet)

    sender._handle_rtcp_packet = counting  # type: ignore[method-assign]
    return counts


class StatsSampler:
    """Turns successive ``getStats()`` snapshots into rates."""

    def __init__(self, pc: RTCPeerConnection, feedback: Feedback | None = None,
                 now: Callable[[], float] = time.monotonic) -> None:
        self.pc = pc
        self.feedback = feedback or Feedback()
        self._now = now
        self._prev: PeerStats | None = None

    async def sample(
        self, *, fps: float | None = None, size: tuple[int, int] | None = None
    ) -> PeerStats:
        """``fps``/``size`` come from the caller's own counters (aiortc does not report them)."""
        report = await self.pc.getStats()
        sent = recv = psent = precv = lost = 0
        rtts: list[float] = []
        fractions: list[float] = []
        for s in report.values():
            if isinstance(s, RTCOutboundRtpStreamStats) and s.kind == "video":
                sent += s.bytesSent
                psent += s.packetsSent
            elif isinstance(s, RTCInboundRtpStreamStats) and s.kind == "video":
                precv += s.packetsReceived
                lost += s.packetsLost
            elif isinstance(s, RTCRemoteInboundRtpStreamStats) and s.kind == "video":
                if s.roundTripTime is not None:  # None until a report answers our SR
                    rtts.append(s.roundTripTime)
                lost += s.packetsLost
                fractions.append(s.fractionLost / 256 * 100)
            elif isinstance(s, RTCTransportStats):
                recv += s.bytesReceived  # aiortc reports received bytes per transport only
        now = self._now()
        send_kbps = recv_kbps = None
        prev = self._prev
        if prev is not None and now > prev.at:
            send_kbps = (sent - prev.bytes_sent) * 8 / 1000 / (now - prev.at)
            recv_kbps = (recv - prev.bytes_received) * 8 / 1000 / (now - prev.at)
        stats = PeerStats(
            at=now,
            codec=negotiated_codec(self.pc),
            bytes_sent=sent,
            bytes_received=recv,
            packets_sent=psent,
            packets_received=precv,
            packets_lost=lost,
            rtt_ms=max(rtts) * 1000 if rtts else None,
            ice=ice_path(self.pc),
            send_kbps=send_kbps,
            recv_kbps=recv_kbps,
            fps=fps,
            width=size[0] if size else None,
            height=size[1] if size else None,
            loss_pct=round(max(fractions), 1) if fractions else None,
            pli_received=self.feedback.pli,
            fir_received=self.feedback.fir,
            nack_received=self.feedback.nack,
        )
        self._prev = stats
        return stats


async def last_heard_at(pc: RTCPeerConnection, feedback: Feedback) -> float | None:
    """Wall-clock time the other end last sent RTCP on what we send: its latest receiver
    report or, if later, any other RTCP packet ``feedback`` counted (aiortc's bitrate
    estimate comes every 0.5 s from about 3 s into a call; resend asks come with losses).
    aiortc reports every 0.5-1.5 s, so one lost report alone leaves up to 3 s without one: on
    a lossy path that looked like a dead connection."""
    times = [t for t in (await last_report_at(pc), feedback.heard_at) if t is not None]
    return max(times) if times else None


async def last_report_at(pc: RTCPeerConnection) -> float | None:
    """Wall-clock time of the other end's latest RTCP report on what we send, if any."""
    latest: float | None = None
    for sender in pc.getSenders():
        if sender.track is None:
            continue
        for s in (await sender.getStats()).values():
            if isinstance(s, RTCRemoteInboundRtpStreamStats):
                at = s.timestamp.timestamp()
                latest = at if latest is None else max(latest, at)
    return latest
