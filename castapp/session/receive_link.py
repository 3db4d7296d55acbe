"""One call's media connection on the receiver: answer an offer, hand on decoded frames.

The receiver session sees a call's connection only as a :class:`Link` built by a
:data:`LinkFactory`, so its machines run in unit tests on a fake one. :func:`aiortc_link` is
the real factory: an answering aiortc peer connection (with the TURN fallback of
:func:`~castapp.rtc.ice.gather_with_fallback`) whose newest decoded frame goes to
``on_frame``, and which reports a failed or closed connection through ``on_failed``.

Besides the sampler's figures, a link counts the keyframe requests (PLI) and retransmission
requests (NACK) it sent, and measures the round trip itself with a STUN binding request on
the nominated pair: a receive-only aiortc connection gets no RTCP report that would give one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

from castapp import protocol as p
from castapp.session.signals import add_remote_candidate

if TYPE_CHECKING:  # the media stack is imported when the first link is built
    from aiortc import RTCIceServer, RTCPeerConnection
    from aiortc.mediastreams import MediaStreamTrack

    from castapp.rtc.audio.playout import AudioPlayback, PcmSink
    from castapp.rtc.ice import IceChooser
    from castapp.rtc.peer import PeerStats, Route
    from castapp.rtc.receive import FrameReceiver, ReceivedFrame

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LinkStats:
    """A call's figures for ``--stats``: the sampler's plus what the receiver asked for."""

    peer: PeerStats | None
    fps: float
    frames: int
    #: Keyframe requests (RTCP PLI) and retransmission requests (NACK) sent to the sender.
    plis: int
    nacks: int
    rtt_ms: float | None
    #: Share of packets lost since the previous sample, in percent.
    loss_pct: float | None = None
    #: Times the TV fell half a second behind this call (reading its packets or decoding
    #: them) and skipped to a fresh keyframe (``castapp.rtc.backlog``, ``castapp.rtc.decode``).
    catchups: int = 0


class Link(Protocol):
    answer_sdp: str

    async def add_candidate(self, cand: p.IceCandidate | None) -> None: ...

    def route(self) -> Route | None: ...

    async def stats(self) -> LinkStats: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class LinkRequest:
    offer_sdp: str
    chooser: IceChooser
    on_frame: Callable[[ReceivedFrame], None]
    #: Called once when the connection fails or closes by itself.
    on_failed: Callable[[], None]
    #: Opens where this call's sound plays (None: the TV plays no sound).
    audio_out: Callable[[], PcmSink] | None = None
    #: Starts this call's sound muted.
    audio_muted: bool = False


LinkFactory = Callable[[LinkRequest], Awaitable[Link]]


class _Counted:
    """Counts the RTCP feedback an aiortc receiver sends (wraps its two private senders)."""

    def __init__(self) -> None:
        self.plis = 0
        self.nacks = 0

    def watch(self, receiver: Any) -> None:
        pli = getattr(receiver, "_send_rtcp_pli", None)
        nack = getattr(receiver, "_send_rtcp_nack", None)
        if pli is None or nack is None:  # aiortc changed: the figures stay at 0
            log.warning("this aiortc does not expose its RTCP feedback; PLI/NACK not counted")
            return

        async def send_pli(media_ssrc: int) -> None:
            self.plis += 1
            await pli(media_ssrc)

        async def send_nack(media_ssrc: int, lost: list[int]) -> None:
            self.nacks += 1
            await nack(media_ssrc, lost)

        receiver._send_rtcp_pli = send_pli
        receiver._send_rtcp_nack = send_nack


async def ice_rtt_ms(pc: RTCPeerConnection, timeout: float = 1.0) -> float | None:
    """Round trip of one STUN binding request on the nominated pair (aioice private state)."""
    from aioice import stun

    for t in pc.getTransceivers():
        transport = t.receiver.transport
        conn = getattr(getattr(transport, "transport", None), "_connection", None)
        pair = (getattr(conn, "_nominated", None) or {}).get(1)
        password = getattr(conn, "remote_password", None)
        if conn is None or pair is None or password is None:
            continue
        request = conn.build_request(pair, nominate=False)
        start = time.monotonic()
        try:
            await asyncio.wait_for(pair.protocol.request(
                request, pair.remote_addr, integrity_key=password.encode(), retransmissions=0,
            ), timeout)
        except (stun.TransactionError, TimeoutError, OSError, ConnectionError):
            return None
        return (time.monotonic() - start) * 1000
    return None


class AiortcLink:
    def __init__(self, pc: RTCPeerConnection, frames: FrameReceiver | None,
                 counted: _Counted, audio: AudioPlayback | None = None,
                 watches: list[asyncio.Task[None]] | None = None) -> None:
        self.pc = pc
        self.watches = watches or []
        self.frames = frames
        self.audio = audio
        from castapp.rtc.peer import StatsSampler

        self.answer_sdp = pc.localDescription.sdp
        self._sampler = StatsSampler(pc)
        self._counted = counted
        self._packets = (0, 0)  # received, lost at the previous sample

    async def add_candidate(self, cand: p.IceCandidate | None) -> None:
        await add_remote_candidate(self.pc, cand)

    def route(self) -> Route | None:
        from castapp.rtc.peer import ice_path

        path = ice_path(self.pc)
        return path.route if path is not None else None

    async def stats(self) -> LinkStats:
        frames = self.frames
        last = frames.latest() if frames else None
        fps = frames.fps.fps() if frames else 0.0
        size = (last.width, last.height) if last else None
        peer = await self._sampler.sample(fps=fps, size=size)
        rtt = await ice_rtt_ms(self.pc)
        got, lost = peer.packets_received, peer.packets_lost
        d_got, d_lost = got - self._packets[0], lost - self._packets[1]
        self._packets = (got, lost)
        loss = round(100 * d_lost / (d_got + d_lost), 1) if d_got + d_lost > 0 else None
        if rtt is not None and frames is not None and frames.age is not None:
            frames.age.rtt_s = rtt / 1000
        age = last.age_s if last is not None else None
        peer = replace(peer, rtt_ms=rtt if rtt is not None else peer.rtt_ms, loss_pct=loss,
                       frame_age_ms=round(age * 1000, 1) if age is not None else None)
        return LinkStats(peer, fps, frames.frames if frames else 0, self._counted.plis,
                         self._counted.nacks, peer.rtt_ms, loss, catchups(self.pc))

    async def close(self) -> None:
        for watch in self.watches:
            watch.cancel()
        if self.frames is not None:
            await self.frames.stop()
        if self.audio is not None:
            self.audio.stop()
        await self.pc.close()


def catchups(pc: RTCPeerConnection) -> int:
    """Times ``pc``'s video receiver skipped its backlog, in reading and in decoding."""
    from castapp.rtc.audio.playout import picture_decode_queues

    gates = (getattr(t.receiver, "castapp_backlog", None) for t in pc.getTransceivers())
    read = sum(int(g.counts.episodes) for g in gates if g is not None)
    return read + sum(int(q.episodes) for q in picture_decode_queues(pc))


async def aiortc_link(req: LinkRequest) -> Link:
    from aiortc import RTCSessionDescription

    from castapp.rtc.audio.lipsync import sync_call
    from castapp.rtc.audio.playout import AudioPlayback, prepare_audio_receivers
    from castapp.rtc.backlog import watch_connection
    from castapp.rtc.holes import start_watch
    from castapp.rtc.ice import gather_with_fallback
    from castapp.rtc.peer import make_peer_connection
    from castapp.rtc.receive import FrameAge, FrameReceiver

    videos: dict[int, MediaStreamTrack] = {}  # per connection built (one may be retried)
    audios: dict[int, MediaStreamTrack] = {}
    releases: dict[int, list[object]] = {}
    counted = _Counted()

    async def answering_pc(servers: list[RTCIceServer], relay_only: bool) -> RTCPeerConnection:
        pc = make_peer_connection(servers, relay_only=relay_only)

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "video":
                videos.setdefault(id(pc), track)
            elif track.kind == "audio":
                audios.setdefault(id(pc), track)

        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=req.offer_sdp, type="offer"))
            releases[id(pc)] = prepare_audio_receivers(pc)
            await pc.setLocalDescription(await pc.createAnswer())
        except BaseException:
            await pc.close()
            raise
        return pc

    pc = await gather_with_fallback(req.chooser, answering_pc)
    audio: AudioPlayback | None = None
    if (sound := audios.get(id(pc))) is not None and req.audio_out is not None:
        counter = (releases.get(id(pc)) or [None])[0]
        audio = AudioPlayback.start(sound, req.audio_out, req.audio_muted, counter)
    frames: FrameReceiver | None = None
    receiver = None
    if (video := videos.get(id(pc))) is not None:
        age = FrameAge()
        receiver = next((t.receiver for t in pc.getTransceivers()
                         if t.receiver.track is video), None)
        frames = FrameReceiver(video, sync_call(pc, req.on_frame, audio),
                               age if receiver is not None and age.watch(receiver) else None)
        frames.start()
    watch_connection(pc, receiver)  # a receiver that fell behind skips to a fresh keyframe
    watches: list[asyncio.Task[None]] = []
    for t in pc.getTransceivers():
        counted.watch(t.receiver)
        if (watch := start_watch(t.receiver)) is not None:
            watches.append(watch)
    told: list[bool] = []

    @pc.on("connectionstatechange")
    def on_state() -> None:
        if pc.connectionState in ("failed", "closed") and not told:
            told.append(True)
            req.on_failed()

    return AiortcLink(pc, frames, counted, audio, watches)


async def close_quietly(link: Link) -> None:
    """Close a link that is being replaced; a dead path can make closing wait for TURN."""
    with contextlib.suppress(Exception):  # broad: a replaced link; its failure changes nothing
        await link.close()
