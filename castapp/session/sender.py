"""The sender session: join by code, negotiate, stream a frame source, stop, cast again.

The frame source (screen capture or a synthetic pattern) belongs to the caller and keeps
running across calls, so a call rebuilt after the receiver comes back starts at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiortc import RTCPeerConnection, RTCSessionDescription

from castapp import protocol as p
from castapp.rtc.capture import FrameSource
from castapp.rtc.encoder import EncoderConfig
from castapp.rtc.peer import Codec, PeerStats, StatsSampler, add_video_sender, make_peer_connection
from castapp.rtc.track import CaptureTrack
from castapp.session.machine import StateMachine
from castapp.session.signals import add_remote_candidate, connect_with_retry
from castapp.session.status import StatusBoard
from castapp.signaling.client import (
    ConnectionLost,
    Failed,
    Reconnected,
    SignalingClient,
    SignalingError,
)

log = logging.getLogger(__name__)


class SenderState(enum.Enum):
    IDLE = "idle"
    JOINING = "joining"  # reaching the service and joining the room
    CONNECTING = "connecting"  # negotiating media with the receiver
    CASTING = "casting"
    WAITING = "waiting"  # the receiver dropped; waiting for it to come back
    ENDED = "ended"  # the receiver ended the cast, or the room closed


_MOVES = {
    SenderState.IDLE: frozenset({SenderState.JOINING}),
    SenderState.JOINING: frozenset({SenderState.CONNECTING, SenderState.IDLE, SenderState.ENDED}),
    SenderState.CONNECTING: frozenset(
        {SenderState.CASTING, SenderState.WAITING, SenderState.ENDED, SenderState.IDLE}
    ),
    SenderState.CASTING: frozenset(
        {SenderState.CONNECTING, SenderState.WAITING, SenderState.ENDED, SenderState.IDLE}
    ),
    SenderState.WAITING: frozenset({SenderState.CONNECTING, SenderState.ENDED, SenderState.IDLE}),
    SenderState.ENDED: frozenset({SenderState.JOINING, SenderState.IDLE}),
}


class EndReason(enum.Enum):
    RECEIVER_STOPPED = "receiver_stopped"
    RECEIVER_BUSY = "receiver_busy"
    ROOM_CLOSED = "room_closed"
    MEDIA_FAILED = "media_failed"


@dataclass(frozen=True)
class SenderStatus:
    state: SenderState
    receiver: str | None = None  # the receiver's display name
    service_ok: bool = True
    retry_in_s: float | None = None
    error: SignalingError | None = None
    ended: EndReason | None = None


class SenderSession:
    def __init__(
        self,
        url: str,
        source: FrameSource,
        *,
        name: str = "",
        codec: Codec = "h264",
        encoder: EncoderConfig | None = None,
        on_status: Callable[[SenderStatus], None] | None = None,
    ) -> None:
        self.url = url
        self.source = source
        self.codec: Codec = codec
        self.encoder = encoder
        self.client = SignalingClient(url, name=name)
        self.machine = StateMachine("sender", SenderState.IDLE, _MOVES, self._moved)
        self.board = StatusBoard(SenderStatus(SenderState.IDLE), on_status)
        self.pc: RTCPeerConnection | None = None
        self.track: CaptureTrack | None = None
        self.receiver: str | None = None
        self._sampler: StatsSampler | None = None
        self._fps_mark = (0.0, 0)
        self._events: asyncio.Task[None] | None = None

    # -------------------------------------------------------------- lifecycle
    async def cast(self, code: str) -> None:
        """Join the room of ``code`` and start streaming; raises typed signaling errors."""
        self.machine.move(SenderState.JOINING)
        self._publish(error=None, ended=None)
        try:
            if not self.client.connected:
                await connect_with_retry(self.client, lambda s: self._publish(**s),
                                         give_up_after=3)
            joined = await self.client.join(code)
        except SignalingError as exc:
            self._publish(error=exc)
            self.machine.move(SenderState.IDLE)
            raise
        if not self.source.running:
            self.source.start()
        self.receiver = joined.receiver.peer_id
        self._publish(receiver=joined.receiver.name)
        if self._events is None:
            self._events = asyncio.create_task(self._pump(), name="castapp-sender")
        await self._call()

    async def stop(self) -> None:
        """Stop casting; the session may cast again afterwards."""
        if self.receiver is not None and self.client.connected:
            with contextlib.suppress(SignalingError):
                await self.client.send_bye(self.receiver, "sender stopped")
        await self._hang_up()
        if self.client.connected:
            with contextlib.suppress(SignalingError):
                await self.client.leave()
        self.receiver = None
        if self.machine.can(SenderState.IDLE):
            self.machine.move(SenderState.IDLE)

    async def close(self) -> None:
        await self.stop()
        if self._events is not None:
            self._events.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._events
            self._events = None
        await self.client.close()

    async def stats(self) -> PeerStats | None:
        if self._sampler is None or self.track is None:
            return None
        last = self.track.last_frame
        size = (last.width, last.height) if last is not None else None
        now, sent = time.monotonic(), self.track.frames_sent
        prev_t, prev_n = self._fps_mark
        self._fps_mark = (now, sent)
        fps = (sent - prev_n) / (now - prev_t) if prev_t and now > prev_t else None
        return await self._sampler.sample(size=size, fps=fps)

    @property
    def status(self) -> SenderStatus:
        return self.board.current

    async def wait_for(self, state: SenderState, timeout: float = 10.0) -> SenderStatus:
        return await self.board.wait_for(state, timeout)

    # -------------------------------------------------------------- status
    def _publish(self, **changes: object) -> None:
        self.board.publish(**changes)

    def _moved(self, old: SenderState, new: SenderState) -> None:
        self._publish(state=new)

    # -------------------------------------------------------------- media
    async def _call(self) -> None:
        """Offer a new peer connection to the receiver (also after it came back)."""
        await self._hang_up()
        assert self.receiver is not None
        joined = self.client.joined
        pc = make_peer_connection(joined.ice_servers if joined else [],
                                  encoder_config=self.encoder)
        self.pc, self._sampler = pc, StatsSampler(pc)
        self._fps_mark = (0.0, 0)
        self.track = CaptureTrack(self.source)
        add_video_sender(pc, self.track, self.codec)

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc is not self.pc:
                return
            if pc.connectionState == "connected" and self.machine.can(SenderState.CASTING):
                self.machine.move(SenderState.CASTING)
            elif pc.connectionState == "failed":
                await self._hang_up()
                self._publish(ended=EndReason.MEDIA_FAILED)
                if self.machine.can(SenderState.ENDED):
                    self.machine.move(SenderState.ENDED)

        self.machine.move(SenderState.CONNECTING)
        await pc.setLocalDescription(await pc.createOffer())
        await self.client.send_offer(self.receiver, pc.localDescription.sdp)

    async def _hang_up(self) -> None:
        pc, track = self.pc, self.track
        self.pc = self.track = self._sampler = None
        if track is not None:
            track.stop()
        if pc is not None:
            await pc.close()

    async def _end(self, reason: EndReason) -> None:
        if self.machine.state is SenderState.ENDED:
            return  # the first reason given stays (a bye, then the room closing)
        await self._hang_up()
        self.receiver = None
        self._publish(ended=reason)
        if self.machine.can(SenderState.ENDED):
            self.machine.move(SenderState.ENDED)

    # -------------------------------------------------------------- signaling events
    async def _pump(self) -> None:
        async for event in self.client.events():
            try:
                await self._on_event(event)
            except Exception:
                log.exception("sender could not handle %s", type(event).__name__)

    async def _on_event(self, ev: object) -> None:
        if isinstance(ev, p.RelayedAnswer) and ev.from_ == self.receiver and self.pc:
            if self.pc.signalingState == "have-local-offer":
                await self.pc.setRemoteDescription(RTCSessionDescription(ev.sdp, "answer"))
        elif isinstance(ev, p.RelayedCandidate) and ev.from_ == self.receiver and self.pc:
            await add_remote_candidate(self.pc, ev.candidate)
        elif isinstance(ev, p.RelayedBye) and ev.from_ == self.receiver:
            busy = ev.reason == "busy"
            await self._end(EndReason.RECEIVER_BUSY if busy else EndReason.RECEIVER_STOPPED)
        elif isinstance(ev, p.PeerLeft) and ev.peer_id == self.receiver:
            if ev.reason is p.LeaveReason.LEFT:
                await self._end(EndReason.RECEIVER_STOPPED)
            else:  # it dropped; it may come back with its code
                await self._hang_up()
                self.machine.move(SenderState.WAITING)
        elif isinstance(ev, p.PeerJoined) and ev.peer.role is p.Role.RECEIVER:
            self.receiver = ev.peer.peer_id
            if self.machine.state is SenderState.WAITING:
                await self._call()
        elif isinstance(ev, p.RoomClosed):
            await self._end(EndReason.ROOM_CLOSED)
        elif isinstance(ev, p.Joined):  # joined again after the service came back
            self.receiver = ev.receiver.peer_id
            if self.machine.state is SenderState.WAITING:
                await self._call()
        elif isinstance(ev, ConnectionLost):
            self._publish(service_ok=False, retry_in_s=ev.retry_in_s)
        elif isinstance(ev, Reconnected):
            self._publish(service_ok=True, retry_in_s=None)
        elif isinstance(ev, Failed):
            self._publish(error=ev.error)
