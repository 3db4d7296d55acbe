"""One outgoing call: a peer connection that offers our video, behind a small interface.

The sender session talks to :class:`OfferPeer` only, and gets one from a :data:`PeerFactory`
it is given; :func:`aiortc_offer` is the real factory (aiortc and a
:class:`~castapp.rtc.track.CaptureTrack`), tests pass a fake one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from aiortc import RTCIceCandidate, RTCIceServer, RTCSessionDescription

from castapp.protocol import SfuAccess
from castapp.rtc.audio import AudioSource
from castapp.rtc.audio.lipsync import VIDEO_CLOCK, stamp_capture_time
from castapp.rtc.audio.opus_track import open_audio_track
from castapp.rtc.audio.rtp import add_audio_sender
from castapp.rtc.capture import FrameSource
from castapp.rtc.encoder import EncoderConfig
from castapp.rtc.peer import (
    Codec,
    IcePath,
    PeerStats,
    Route,
    StatsSampler,
    add_video_sender,
    count_feedback,
    ice_path,
    last_heard_at,
    local_candidate_types,
    make_peer_connection,
    working_routes,
)
from castapp.rtc.track import CaptureTrack


class OfferPeer(Protocol):
    @property
    def offer_sdp(self) -> str: ...

    @property
    def gathered(self) -> set[str]:
        """Types of the local candidates gathered (``host``, ``srflx``, ``relay``)."""
        ...

    @property
    def connection_state(self) -> str: ...

    @property
    def frames_sent(self) -> int: ...

    @property
    def frame_size(self) -> tuple[int, int] | None: ...

    async def apply_answer(self, sdp: str) -> None: ...

    async def add_candidate(self, candidate: RTCIceCandidate | None) -> None: ...

    def path(self) -> IcePath | None: ...

    def working_routes(self) -> set[Route]:
        """Routes whose connectivity checks succeeded (the nominated one among them)."""
        ...

    async def last_heard_at(self) -> float | None:
        """Wall-clock time of the other end's latest RTCP (a report or other feedback), if
        any."""
        ...

    async def stats(self, fps: float | None) -> PeerStats: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class OfferRequest:
    servers: list[RTCIceServer]
    relay_only: bool
    source: FrameSource
    codec: Codec
    encoder: EncoderConfig | None
    #: Called with every new ``connectionState``.
    on_state: Callable[[str], None]
    #: Opens the system sound for this call ("Share sound"), or None for a silent cast.
    audio: Callable[[], AudioSource] | None = None
    #: Starts the call's sound muted.
    audio_muted: bool = False
    #: The SFU the room service handed out with the join, if it runs one (docs/fanout.md).
    sfu: SfuAccess | None = None


PeerFactory = Callable[[OfferRequest], Awaitable[OfferPeer]]


class AiortcOfferPeer:
    def __init__(self, req: OfferRequest) -> None:
        self.pc = make_peer_connection(req.servers, encoder_config=req.encoder,
                                       relay_only=req.relay_only)
        self.track = self._open_track(req)
        transceiver = add_video_sender(self.pc, self.track, req.codec)
        stamp_capture_time(transceiver.sender, self.track, VIDEO_CLOCK)  # for lip sync
        self.sampler = StatsSampler(self.pc, count_feedback(transceiver.sender))
        self.audio = open_audio_track(req.audio, req.audio_muted)
        if self.audio is not None:
            add_audio_sender(self.pc, self.audio)
        pc = self.pc

        @pc.on("connectionstatechange")
        def on_state() -> None:
            req.on_state(pc.connectionState)

    def _open_track(self, req: OfferRequest) -> CaptureTrack:
        """The call's video track (a call of a shared encode opens a track of its hub)."""
        return CaptureTrack(req.source)

    async def offer(self) -> None:
        """Create the offer and gather (aiortc gathers every candidate before it returns)."""
        try:
            await self.pc.setLocalDescription(await self.pc.createOffer())
        except BaseException:
            await self.close()
            raise

    @property
    def offer_sdp(self) -> str:
        return self.pc.localDescription.sdp

    @property
    def gathered(self) -> set[str]:
        return local_candidate_types(self.pc)

    @property
    def connection_state(self) -> str:
        return str(self.pc.connectionState)

    @property
    def frames_sent(self) -> int:
        return self.track.frames_sent

    @property
    def frame_size(self) -> tuple[int, int] | None:
        """The size of the frames sent (a receiver's view may divide the capture's)."""
        return self.track.sent_size

    async def apply_answer(self, sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp, "answer"))

    async def add_candidate(self, candidate: RTCIceCandidate | None) -> None:
        await self.pc.addIceCandidate(candidate)

    def path(self) -> IcePath | None:
        return ice_path(self.pc)

    def working_routes(self) -> set[Route]:
        return working_routes(self.pc)

    async def last_heard_at(self) -> float | None:
        return await last_heard_at(self.pc, self.sampler.feedback)

    async def stats(self, fps: float | None) -> PeerStats:
        return await self.sampler.sample(fps=fps, size=self.frame_size)

    def set_audio_muted(self, muted: bool) -> None:
        if self.audio is not None:
            self.audio.muted = muted

    async def close(self) -> None:
        self.track.stop()
        if self.audio is not None:
            self.audio.stop()
        await self.pc.close()


async def aiortc_offer(req: OfferRequest) -> OfferPeer:
    """The real :data:`PeerFactory`: an aiortc peer connection with its offer made."""
    peer = AiortcOfferPeer(req)
    await peer.offer()
    return peer
