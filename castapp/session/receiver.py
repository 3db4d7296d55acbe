"""The receiver session: register, show the code, accept a sender, show its frames.

Status goes out as frozen :class:`ReceiverStatus` objects; frames go to ``on_frame``. Nothing
here formats text for people: errors are typed and the UI words them.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from castapp import protocol as p
from castapp.codes import group
from castapp.rtc.peer import PeerStats, StatsSampler, make_peer_connection
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
    STOPPED = "stopped"


_MOVES = {
    ReceiverState.STARTING: frozenset({ReceiverState.WAITING, ReceiverState.STOPPED}),
    ReceiverState.WAITING: frozenset({ReceiverState.CONNECTING, ReceiverState.STOPPED}),
    ReceiverState.CONNECTING: frozenset(
        {ReceiverState.RECEIVING, ReceiverState.WAITING, ReceiverState.STOPPED}
    ),
    ReceiverState.RECEIVING: frozenset({ReceiverState.WAITING, ReceiverState.STOPPED}),
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


class ReceiverSession:
    def __init__(
        self,
        url: str,
        *,
        name: str = "",
        token: str | None = None,
        on_status: Callable[[ReceiverStatus], None] | None = None,
        on_frame: Callable[[ReceivedFrame], None] | None = None,
    ) -> None:
        self.url = url
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

    # -------------------------------------------------------------- lifecycle
    async def start(self) -> ReceiverStatus:
        await connect_with_retry(self.client, lambda s: self._publish(**s))
        reg = await self.client.register(self.token)
        self.token = reg.token
        self._publish(code=reg.code, display_code=group(reg.code), service_ok=True,
                      retry_in_s=None, error=None)
        self.machine.move(ReceiverState.WAITING)
        self._events = asyncio.create_task(self._pump(), name="castapp-receiver")
        return self.status

    async def stop(self) -> None:
        if self.machine.state is ReceiverState.STOPPED:
            return
        if self._events is not None:
            self._events.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._events
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
            ReceiverState.CONNECTING, ReceiverState.RECEIVING) else None
        self._publish(state=new, sender=sender)

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
            self._publish(service_ok=True, retry_in_s=None)
        elif isinstance(ev, p.Registered):
            self.token = ev.token
            self._publish(code=ev.code, display_code=group(ev.code), service_ok=True, error=None)
        elif isinstance(ev, Failed):
            self._publish(error=ev.error)

    # -------------------------------------------------------------- media
    async def _accept(self, peer: str, sdp: str) -> None:
        if self.peer is not None and self.peer != peer:
            await self.client.send_bye(peer, "busy")  # one screen at a time for now
            return
        await self._end_call()  # a new offer from the same sender replaces its old call
        reg = self.client.registration
        pc = make_peer_connection(reg.ice_servers if reg else [])
        self.pc, self.peer = pc, peer
        self._sampler = StatsSampler(pc)

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "video" and self.frames is None:
                self.frames = FrameReceiver(track, self._frame)
                self.frames.start()

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed") and pc is self.pc:
                await self._end_call()

        self.machine.move(ReceiverState.CONNECTING)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        await self.client.send_answer(peer, pc.localDescription.sdp)

    def _frame(self, frame: ReceivedFrame) -> None:
        if self.machine.state is ReceiverState.CONNECTING:
            self.machine.move(ReceiverState.RECEIVING)
        if self.on_frame is not None:
            self.on_frame(frame)

    async def _end_call(self) -> None:
        pc, frames = self.pc, self.frames
        self.pc = self.frames = self._sampler = None
        self.peer = None
        if frames is not None:
            await frames.stop()
        if pc is not None:
            await pc.close()
        if self.machine.can(ReceiverState.WAITING):
            self.machine.move(ReceiverState.WAITING)
