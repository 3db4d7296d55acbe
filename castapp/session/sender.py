"""The sender session: join by code, negotiate, stream a frame source, stop, cast again.

The frame source (screen capture or a synthetic pattern) belongs to the caller and keeps
running across calls, so a call rebuilt after the receiver comes back starts at once.

Connection set-up has a deadline; when it passes, the session ends with a typed
:class:`~castapp.rtc.diagnose.Diagnosis`. Once casting, a watchdog notices within ``stall_s``
when the receiver's RTCP reports stop (network change, sleep, relay loss) and builds a new
peer connection through signaling, since aiortc cannot restart ICE.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aiortc import RTCIceServer, RTCPeerConnection, RTCSessionDescription

from castapp import protocol as p
from castapp.rtc.capture import FrameSource
from castapp.rtc.diagnose import Diagnosis, describe, diagnose, network_answers
from castapp.rtc.encoder import EncoderConfig
from castapp.rtc.ice import IceChooser, IcePlan, gather_with_fallback
from castapp.rtc.peer import (
    Codec,
    IceServerLike,
    PeerStats,
    Route,
    StatsSampler,
    add_video_sender,
    ice_path,
    last_report_at,
    local_candidate_types,
    make_peer_connection,
)
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
    RECONNECTING = "reconnecting"  # media stopped; building a new connection
    ENDED = "ended"  # the receiver ended the cast, or the room closed


_MOVES = {
    SenderState.IDLE: frozenset({SenderState.JOINING}),
    SenderState.JOINING: frozenset({SenderState.CONNECTING, SenderState.IDLE, SenderState.ENDED}),
    SenderState.CONNECTING: frozenset(
        {SenderState.CASTING, SenderState.WAITING, SenderState.ENDED, SenderState.IDLE}
    ),
    SenderState.CASTING: frozenset(
        {SenderState.CONNECTING, SenderState.RECONNECTING, SenderState.WAITING,
         SenderState.ENDED, SenderState.IDLE}
    ),
    SenderState.RECONNECTING: frozenset(
        {SenderState.CASTING, SenderState.CONNECTING, SenderState.WAITING, SenderState.ENDED,
         SenderState.IDLE}
    ),
    SenderState.WAITING: frozenset({SenderState.CONNECTING, SenderState.ENDED, SenderState.IDLE}),
    SenderState.ENDED: frozenset({SenderState.JOINING, SenderState.IDLE}),
}


class EndReason(enum.Enum):
    RECEIVER_STOPPED = "receiver_stopped"
    RECEIVER_BUSY = "receiver_busy"
    ROOM_CLOSED = "room_closed"
    MEDIA_FAILED = "media_failed"  # no media connection; ``SenderStatus.diagnosis`` says why


@dataclass(frozen=True)
class SenderStatus:
    state: SenderState
    receiver: str | None = None  # the receiver's display name
    service_ok: bool = True
    retry_in_s: float | None = None
    error: SignalingError | None = None
    ended: EndReason | None = None
    #: How media travels while casting (direct, through NAT, relayed); None otherwise.
    route: Route | None = None
    #: Why media could not connect (set with ``ended=MEDIA_FAILED``).
    diagnosis: Diagnosis | None = None
    #: Connections rebuilt after media stopped, since the cast began.
    reconnects: int = 0


#: While reconnecting, a new connection is tried when the last one is not up after this.
RETRY_S = 4.0
#: While reconnecting, how long to wait for the STUN/TURN server to answer before trying.
NETWORK_WAIT_S = 10.0
#: While reconnecting, an offer not answered after this opens a new signaling connection.
ANSWER_WAIT_S = 0.8


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
        ice_servers: Sequence[RTCIceServer | IceServerLike] = (),
        relay_only: bool = False,
        connect_timeout_s: float = 20.0,
        stall_s: float = 2.0,
        recovery_window_s: float = 120.0,
    ) -> None:
        """``ice_servers`` are the user's own, tried before those the room service hands out."""
        self.url = url
        self.ice_servers = list(ice_servers)
        self.relay_only = relay_only
        self.connect_timeout_s = connect_timeout_s
        self.stall_s = stall_s
        self.recovery_window_s = recovery_window_s
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
        self._watch: asyncio.Task[None] | None = None
        self._ice: IceChooser | None = None
        self._calling = asyncio.Lock()
        self._closing: set[asyncio.Task[None]] = set()
        self._answered = self._refreshed = False
        self._attempt_at = self._lost_at = 0.0
        self._refreshed = False  # a new signaling connection was opened for this attempt
        self._connected_at = 0.0  # wall clock

    # -------------------------------------------------------------- lifecycle
    async def cast(self, code: str) -> None:
        """Join the room of ``code`` and start streaming; raises typed signaling errors."""
        self.machine.move(SenderState.JOINING)
        self._publish(error=None, ended=None, diagnosis=None, reconnects=0)
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
        self._replan()
        self._publish(receiver=joined.receiver.name)
        if self._events is None:
            self._events = asyncio.create_task(self._pump(), name="castapp-sender")
        if self._watch is None:
            self._watch = asyncio.create_task(self._watchdog(), name="castapp-sender-watch")
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
        for task in (self._watch, self._events):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._watch = self._events = None
        await self.stop()
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
        if new is SenderState.CASTING:
            self._publish(state=new)
        else:
            self._publish(state=new, route=None)

    # -------------------------------------------------------------- media
    def _replan(self) -> None:
        """Combine the user's ICE servers with those of the latest join (fresh credentials)."""
        joined = self.client.joined
        servers = [*self.ice_servers, *(joined.ice_servers if joined else [])]
        plan = IcePlan.from_servers(servers, relay_only=self.relay_only)
        if self._ice is None or self._ice.plan != plan:
            self._ice = IceChooser(plan) if self._ice is None else self._ice.replan(plan)

    def _chooser(self) -> IceChooser:
        if self._ice is None:
            self._replan()
        assert self._ice is not None
        return self._ice

    async def _call(self, *, recovering: bool = False) -> None:
        """Offer a new peer connection to the receiver (also after it came back)."""
        async with self._calling:
            await self._hang_up(wait=not recovering)
            if self.receiver is None:
                return
            if not recovering:
                self.machine.move(SenderState.CONNECTING)
            self._answered = self._refreshed = False
            pc = await gather_with_fallback(self._chooser(), self._offering_pc)
            live = (SenderState.CONNECTING, SenderState.RECONNECTING)
            if self.receiver is None or self.machine.state not in live:
                await pc.close()  # stopped while gathering
                return
            self.pc, self._sampler = pc, StatsSampler(pc)
            self.track = next(s.track for s in pc.getSenders() if s.track is not None)
            self._fps_mark = (0.0, 0)
            self._attempt_at = time.monotonic()
            await self.client.send_offer(self.receiver, pc.localDescription.sdp)

    async def _offering_pc(
        self, servers: list[RTCIceServer], relay_only: bool
    ) -> RTCPeerConnection:
        pc = make_peer_connection(servers, encoder_config=self.encoder, relay_only=relay_only)
        track = CaptureTrack(self.source)
        add_video_sender(pc, track, self.codec)

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc is self.pc and pc.connectionState == "connected" and self.machine.can(
                    SenderState.CASTING):
                self._connected_at = time.time()
                self.machine.move(SenderState.CASTING)
                self._show_route(pc)

        try:
            await pc.setLocalDescription(await pc.createOffer())
        except BaseException:
            track.stop()
            await pc.close()
            raise
        return pc

    def _show_route(self, pc: RTCPeerConnection) -> None:
        path = ice_path(pc)
        if path is not None and path.route is not self.status.route:
            self._publish(route=path.route)

    # -------------------------------------------------------------- watchdog
    async def _watchdog(self) -> None:
        while True:
            await asyncio.sleep(0.25)
            try:
                await self._check()
            except SignalingError as exc:
                log.info("sender could not reach the receiver: %s", exc.message)
            except Exception:
                log.exception("sender watchdog failed")

    async def _check(self) -> None:
        state, pc, now = self.machine.state, self.pc, time.monotonic()
        if state is SenderState.CASTING and pc is not None:
            self._show_route(pc)
            heard = max(self._connected_at, await last_report_at(pc) or 0.0)
            if pc.connectionState == "failed" or time.time() - heard > self.stall_s:
                log.info("media stopped; building a new connection")
                self._lost_at = now
                self.machine.move(SenderState.RECONNECTING)
                self._publish(route=None, reconnects=self.status.reconnects + 1)
                await self._retry()
        elif state is SenderState.CONNECTING and pc is not None:
            if pc.connectionState == "failed" or now - self._attempt_at > self.connect_timeout_s:
                await self._give_up()
        elif state is SenderState.RECONNECTING:
            if now - self._lost_at > self.recovery_window_s:
                await self._give_up()
            elif pc is None or pc.connectionState == "failed" or now - self._attempt_at > RETRY_S:
                await self._retry()
            elif (not self._answered and not self._refreshed
                  and now - self._attempt_at > ANSWER_WAIT_S):
                log.info("no answer yet; opening a new connection to the room service")
                self._refreshed = True
                self.client.refresh()  # rejoining then offers again

    async def _retry(self) -> None:
        """A new connection once the STUN/TURN server answers again (the network is back)."""
        await self._hang_up(wait=False)
        since = time.monotonic()
        while (self.machine.state is SenderState.RECONNECTING
               and time.monotonic() - since < NETWORK_WAIT_S):
            if await network_answers(self._chooser()) is not False:
                break
        if self.machine.state is SenderState.RECONNECTING:
            self._attempt_at = time.monotonic()
            await self._call(recovering=True)

    async def _give_up(self) -> None:
        pc = self.pc
        gathered = local_candidate_types(pc) if pc is not None else set()
        diagnosis = await diagnose(self._chooser(), gathered, self._answered)
        log.warning("media could not connect: %s", describe(diagnosis))
        if self.receiver is not None and self.client.connected:
            with contextlib.suppress(SignalingError):
                await self.client.send_bye(self.receiver, "no connection")
        self._publish(diagnosis=diagnosis)
        await self._end(EndReason.MEDIA_FAILED)

    async def _hang_up(self, *, wait: bool = True) -> None:
        """Close the call; ``wait=False`` closes in the background (a dead path can make
        closing wait for the TURN server to answer)."""
        pc, track = self.pc, self.track
        self.pc = self.track = self._sampler = None
        if track is not None:
            track.stop()
        if pc is not None and wait:
            await pc.close()
        elif pc is not None:
            closing = asyncio.create_task(pc.close())
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)

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
                self._answered = True
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
            self._replan()
            if self.machine.state is SenderState.WAITING:
                await self._call()
            elif self.machine.state is SenderState.RECONNECTING:
                await self._call(recovering=True)
        elif isinstance(ev, ConnectionLost):
            self._publish(service_ok=False, retry_in_s=ev.retry_in_s)
        elif isinstance(ev, Reconnected):
            self._publish(service_ok=True, retry_in_s=None)
        elif isinstance(ev, Failed):
            self._publish(error=ev.error)
