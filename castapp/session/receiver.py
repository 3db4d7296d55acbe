"""The receiver session: register, show the code, accept a sender, show its frames.

Status goes out as frozen :class:`ReceiverStatus` objects; frames go to ``on_frame``. Nothing
here formats text for people: errors are typed and the UI words them.

When frames stop for ``stall_s`` the receiver shows RECONNECTING and keeps the call until the
sender offers a new connection (the sender rebuilds it) or the recovery window runs out.
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
from aiortc.mediastreams import MediaStreamTrack

from castapp import protocol as p
from castapp.codes import group
from castapp.rtc.ice import IceChooser, IcePlan, gather_with_fallback
from castapp.rtc.peer import (
    IceServerLike,
    PeerStats,
    Route,
    StatsSampler,
    ice_path,
    make_peer_connection,
)
from castapp.rtc.receive import FrameReceiver, ReceivedFrame
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


class ReceiverState(enum.Enum):
    STARTING = "starting"  # reaching the room service
    WAITING = "waiting"  # showing the code
    CONNECTING = "connecting"  # a sender is negotiating
    RECEIVING = "receiving"  # its frames arrive
    RECONNECTING = "reconnecting"  # frames stopped; the sender is building a new connection
    STOPPED = "stopped"


_MOVES = {
    ReceiverState.STARTING: frozenset({ReceiverState.WAITING, ReceiverState.STOPPED}),
    ReceiverState.WAITING: frozenset({ReceiverState.CONNECTING, ReceiverState.STOPPED}),
    ReceiverState.CONNECTING: frozenset(
        {ReceiverState.RECEIVING, ReceiverState.WAITING, ReceiverState.STOPPED}
    ),
    ReceiverState.RECEIVING: frozenset(
        {ReceiverState.WAITING, ReceiverState.RECONNECTING, ReceiverState.STOPPED}
    ),
    ReceiverState.RECONNECTING: frozenset(
        {ReceiverState.RECEIVING, ReceiverState.WAITING, ReceiverState.STOPPED}
    ),
    ReceiverState.STOPPED: frozenset(),
}


@dataclass(frozen=True)
class ReceiverStatus:
    state: ReceiverState
    code: str | None = None
    #: The code as people read it: ``482 913``.
    display_code: str | None = None
    #: Display name of the sender casting (or negotiating).
    sender: str | None = None
    #: False while the room service is out of reach; media keeps flowing meanwhile.
    service_ok: bool = True
    retry_in_s: float | None = None
    error: SignalingError | None = None
    #: How media travels while receiving (direct, through NAT, relayed); None otherwise.
    route: Route | None = None
    #: Times frames stopped and the call was rebuilt, since the sender began.
    reconnects: int = 0


class ReceiverSession:
    def __init__(
        self,
        url: str,
        *,
        name: str = "",
        token: str | None = None,
        on_status: Callable[[ReceiverStatus], None] | None = None,
        on_frame: Callable[[ReceivedFrame], None] | None = None,
        ice_servers: Sequence[RTCIceServer | IceServerLike] = (),
        relay_only: bool = False,
        connect_timeout_s: float = 30.0,
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
        self.client = SignalingClient(url, name=name)
        self.token = token
        self.on_frame = on_frame
        self.machine = StateMachine("receiver", ReceiverState.STARTING, _MOVES, self._moved)
        self.board = StatusBoard(ReceiverStatus(ReceiverState.STARTING), on_status)
        self.pc: RTCPeerConnection | None = None
        self.frames: FrameReceiver | None = None
        self.peer: str | None = None  # the sender being shown
        self._names: dict[str, str] = {}
        self._sampler: StatsSampler | None = None
        self._events: asyncio.Task[None] | None = None
        self._watch: asyncio.Task[None] | None = None
        self._ice: IceChooser | None = None
        self._closing: set[asyncio.Task[None]] = set()
        self._replaced: set[str] = set()  # senders' connections superseded by newer ones
        self._peer_stale = False  # the service restarted: the sender may come back renamed
        self._call_at = self._frame_at = self._lost_at = 0.0

    # -------------------------------------------------------------- lifecycle
    async def start(self) -> ReceiverStatus:
        await connect_with_retry(self.client, lambda s: self._publish(**s))
        reg = await self.client.register(self.token)
        self.token = reg.token
        self._publish(code=reg.code, display_code=group(reg.code), service_ok=True,
                      retry_in_s=None, error=None)
        self.machine.move(ReceiverState.WAITING)
        self._events = asyncio.create_task(self._pump(), name="castapp-receiver")
        self._watch = asyncio.create_task(self._watchdog(), name="castapp-receiver-watch")
        return self.status

    async def stop(self) -> None:
        if self.machine.state is ReceiverState.STOPPED:
            return
        for task in (self._watch, self._events):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self.peer is not None:
            with contextlib.suppress(SignalingError):
                await self.client.send_bye(self.peer, "receiver closed")
        await self._end_call()
        with contextlib.suppress(SignalingError):
            await self.client.leave()
        await self.client.close()
        self.machine.move(ReceiverState.STOPPED)

    async def stats(self) -> PeerStats | None:
        if self._sampler is None or self.frames is None:
            return None
        last = self.frames.latest()
        size = (last.width, last.height) if last else None
        return await self._sampler.sample(fps=self.frames.fps.fps(), size=size)

    # -------------------------------------------------------------- status
    def _publish(self, **changes: object) -> None:
        self.board.publish(**changes)

    def _moved(self, old: ReceiverState, new: ReceiverState) -> None:
        sender = self._names.get(self.peer or "") if new in (
            ReceiverState.CONNECTING, ReceiverState.RECEIVING, ReceiverState.RECONNECTING
        ) else None
        changes: dict[str, object] = {"state": new, "sender": sender}
        if new is not ReceiverState.RECEIVING:
            changes["route"] = None
        if new is ReceiverState.WAITING:
            changes["reconnects"] = 0
        self._publish(**changes)

    @property
    def status(self) -> ReceiverStatus:
        return self.board.current

    async def wait_for(self, state: ReceiverState, timeout: float = 10.0) -> ReceiverStatus:
        return await self.board.wait_for(state, timeout)

    # -------------------------------------------------------------- signaling events
    async def _pump(self) -> None:
        async for event in self.client.events():
            try:
                await self._on_event(event)
            except Exception:
                log.exception("receiver could not handle %s", type(event).__name__)

    async def _on_event(self, ev: object) -> None:
        if isinstance(ev, p.PeerJoined):
            self._names[ev.peer.peer_id] = ev.peer.name
        elif isinstance(ev, p.RelayedOffer):
            await self._accept(ev.from_, ev.sdp)
        elif isinstance(ev, p.RelayedCandidate) and ev.from_ == self.peer and self.pc:
            await add_remote_candidate(self.pc, ev.candidate)
        elif isinstance(ev, p.RelayedBye | p.PeerLeft):
            who = ev.from_ if isinstance(ev, p.RelayedBye) else ev.peer_id
            if who == self.peer:
                await self._end_call()
        elif isinstance(ev, ConnectionLost):
            self._publish(service_ok=False, retry_in_s=ev.retry_in_s)
        elif isinstance(ev, Reconnected):
            self._peer_stale = self.peer is not None
            self._publish(service_ok=True, retry_in_s=None)
        elif isinstance(ev, p.Registered):
            self.token = ev.token
            self._publish(code=ev.code, display_code=group(ev.code), service_ok=True, error=None)
        elif isinstance(ev, Failed):
            self._publish(error=ev.error)

    # -------------------------------------------------------------- media
    def _chooser(self) -> IceChooser:
        reg = self.client.registration
        servers = [*self.ice_servers, *(reg.ice_servers if reg else [])]
        plan = IcePlan.from_servers(servers, relay_only=self.relay_only)
        if self._ice is None:
            self._ice = IceChooser(plan)
        elif self._ice.plan != plan:
            self._ice.replan(plan)  # fresh credentials after registering again
        return self._ice

    async def _accept(self, peer: str, sdp: str) -> None:
        if peer in self._replaced:
            return  # sent before that sender's connection to the service was replaced
        replaceable = self._peer_stale or self.machine.state is ReceiverState.RECONNECTING
        if self.peer is not None and self.peer != peer and not replaceable:
            await self.client.send_bye(peer, "busy")  # one screen at a time for now
            return
        # a new offer from the same sender (or from the one whose cast stalled) replaces the
        # old call; while reconnecting the state stays until frames arrive again
        keep = self.machine.state is ReceiverState.RECONNECTING
        if self.peer is not None and self.peer != peer:
            self._replaced.add(self.peer)
        await self._end_call(to_waiting=not keep)
        self._peer_stale = False

        videos: dict[int, MediaStreamTrack] = {}  # per connection built (one may be retried)

        async def answering_pc(servers: list[RTCIceServer], relay_only: bool) -> RTCPeerConnection:
            pc = make_peer_connection(servers, relay_only=relay_only)

            @pc.on("track")
            def on_track(track: MediaStreamTrack) -> None:
                if track.kind == "video":
                    videos.setdefault(id(pc), track)

            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            await pc.setLocalDescription(await pc.createAnswer())
            return pc

        self.peer = peer
        if not keep:
            self.machine.move(ReceiverState.CONNECTING)
        self._call_at = time.monotonic()
        pc = await gather_with_fallback(self._chooser(), answering_pc)
        if self.peer != peer:  # the sender left while this connection was gathering
            await pc.close()
            return
        self.pc, self._sampler = pc, StatsSampler(pc)
        if (video := videos.get(id(pc))) is not None:
            self.frames = FrameReceiver(video, self._frame)
            self.frames.start()

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState == "closed" and pc is self.pc:
                await self._end_call()

        await self.client.send_answer(peer, pc.localDescription.sdp)

    def _frame(self, frame: ReceivedFrame) -> None:
        self._frame_at = time.monotonic()
        if self.machine.state in (ReceiverState.CONNECTING, ReceiverState.RECONNECTING):
            self.machine.move(ReceiverState.RECEIVING)
            if self.pc is not None:
                self._show_route(self.pc)
        if self.on_frame is not None:
            self.on_frame(frame)

    async def _end_call(self, *, to_waiting: bool = True) -> None:
        """End the call; when it is being replaced, its connection closes in the background
        (closing a dead path can wait for the TURN server)."""
        pc, frames = self.pc, self.frames
        self.pc = self.frames = self._sampler = None
        if to_waiting:
            self.peer = None
        if frames is not None:
            await frames.stop()
        if pc is not None and to_waiting:
            await pc.close()
        elif pc is not None:
            closing = asyncio.create_task(pc.close())
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)
        if to_waiting and self.machine.can(ReceiverState.WAITING):
            self.machine.move(ReceiverState.WAITING)

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
            except Exception:
                log.exception("receiver watchdog failed")

    async def _check(self) -> None:
        state, now = self.machine.state, time.monotonic()
        if state is ReceiverState.RECEIVING:
            if self.pc is not None:
                self._show_route(self.pc)
            if now - self._frame_at > self.stall_s:
                log.info("frames stopped; waiting for the sender to reconnect")
                self._lost_at = now
                self.machine.move(ReceiverState.RECONNECTING)
                self._publish(reconnects=self.status.reconnects + 1)
        elif state is ReceiverState.RECONNECTING and now - self._lost_at > self.recovery_window_s:
            await self._end_call()
        elif state is ReceiverState.CONNECTING and now - self._call_at > self.connect_timeout_s:
            await self._end_call()  # the sender gave up (or vanished) without a word
