"""The sender session: join by code, negotiate, stream a frame source, recover, stop.

The session is an event-driven machine (:mod:`castapp.session.sender_table`): signaling
messages, peer-connection changes, timers and the user's requests all become typed events
in one inbox, and one loop feeds them to the table in order. Actions are short; anything
that takes time (joining, gathering a connection, waiting for the network, diagnosing) runs
as a supervised task that reports back with an event. A failed task ends the cast with a
typed status; an event the table does not expect is logged as an error and surfaced.

Everything the session talks to is injected: the signaling client, the peer-connection
factory, the frame source and the clock, with the real ones as defaults.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from aiortc import RTCIceServer
from aiortc.exceptions import InvalidStateError

from castapp import protocol as p
from castapp.codes import pin_of
from castapp.pairing import Pairing, PairingError, PairingRole, TamperedError
from castapp.rtc.audio import AudioSource
from castapp.rtc.capture import FrameSource, SourceClosedError
from castapp.rtc.diagnose import (
    Diagnosis,
    TurnProbe,
    describe,
    diagnose,
    network_answers,
    probe_turn,
)
from castapp.rtc.encoder import EncoderConfig
from castapp.rtc.ice import IceChooser, IcePlan, TurnServer, is_relay_candidate
from castapp.rtc.offer import OfferPeer, OfferRequest, PeerFactory, aiortc_offer
from castapp.rtc.peer import Codec, IceServerLike, PeerStats, Route
from castapp.session import sender_table as t
from castapp.session.clock import SYSTEM_CLOCK, Clock
from castapp.session.machine import Event, IllegalEventError, Machine
from castapp.session.sender_table import STATE_OF, Phase, SenderState
from castapp.session.signals import BadCandidateError, connect_with_retry, parse_candidate
from castapp.session.status import StatusBoard
from castapp.session.tasks import Supervisor
from castapp.signaling.client import (
    ConnectionLost,
    Failed,
    Reconnected,
    SignalingClient,
    SignalingError,
)

__all__ = ["EndReason", "NetworkChecks", "SenderSession", "SenderState", "SenderStatus"]

log = logging.getLogger(__name__)


class EndReason(enum.Enum):
    RECEIVER_STOPPED = "receiver_stopped"
    RECEIVER_BUSY = "receiver_busy"  # an older receiver that shows one sender only
    DENIED = "denied"  # the TV did not allow this sender
    STOPPED_BY_TV = "stopped_by_tv"  # the TV ended this sender's cast
    ROOM_FULL = "room_full"  # every place on the TV is taken
    TAMPERED = "tampered"  # the SDP was not the one the code confirmed: not casting
    ROOM_CLOSED = "room_closed"
    MEDIA_FAILED = "media_failed"  # no media connection; ``SenderStatus.diagnosis`` says why
    SOURCE_FAILED = "source_failed"  # capture failed; ``SenderStatus.source_error`` says why
    SERVICE_FAILED = "service_failed"  # the service refused us for good; see ``error``
    FAULT = "fault"  # castapp itself failed; ``SenderStatus.fault`` says where


#: Reasons that are failures (a command line exits non-zero on them).
FAILURES = frozenset({EndReason.MEDIA_FAILED, EndReason.SOURCE_FAILED,
                      EndReason.SERVICE_FAILED, EndReason.FAULT, EndReason.TAMPERED})

_TURNED_AWAY = {p.AdmissionState.DENIED: EndReason.DENIED,
                p.AdmissionState.STOPPED: EndReason.STOPPED_BY_TV,
                p.AdmissionState.FULL: EndReason.ROOM_FULL}


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
    #: Why the frame source failed (set with ``ended=SOURCE_FAILED``).
    source_error: str | None = None
    #: A problem that does not stop the cast by itself (e.g. the TURN server refused us
    #: while a path without it may still work).
    warning: Diagnosis | None = None
    #: An internal failure: an event the machine did not expect, or a task that failed.
    fault: str | None = None
    #: The last admission state the TV sent (waiting, pin, allowed, ...); None before any.
    admission: p.AdmissionState | None = None
    #: Digits of the PIN the TV shows, while it asks for one (0 otherwise).
    pin_digits: int = 0
    #: The last PIN typed was not the one on the TV.
    wrong_pin: bool = False
    #: After too many wrong PINs: seconds before the TV reads another one.
    pin_retry_after_s: float | None = None
    #: Where the TV shows this sender: tile N (1-based) of M; 0 before the TV said.
    tile: int = 0
    tiles: int = 0
    spotlit: bool = True
    #: (width, height, fps) the TV asked for; frames are sent at most this size and rate.
    view: tuple[int, int, int] | None = None
    #: The pairing over the cast code confirmed the receiver's DTLS fingerprint.
    verified: bool = False

    @property
    def failed(self) -> bool:
        return self.ended in FAILURES


class SenderSignaling(Protocol):
    """What the session needs of a signaling client (:class:`SignalingClient` is one)."""

    @property
    def connected(self) -> bool: ...

    joined: p.Joined | None
    peer_id: str | None

    async def connect(self) -> p.Welcome: ...

    async def join(self, code: str) -> p.Joined: ...

    async def leave(self) -> None: ...

    async def send_offer(self, to: str, sdp: str) -> None: ...

    async def send_bye(self, to: str, reason: str = "") -> None: ...

    async def send_signal(self, to: str, msg: p.PeerMessage) -> None: ...

    def refresh(self) -> None: ...

    def events(self) -> AsyncIterator[object]: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class NetworkChecks:
    """The network probes the session makes (real ones by default)."""

    network: Callable[[IceChooser], Awaitable[bool | None]] = network_answers
    turn: Callable[[TurnServer], Awaitable[TurnProbe]] = probe_turn
    diagnose: Callable[[IceChooser, set[str], bool, TurnProbe | None],
                       Awaitable[Diagnosis]] = field(default=diagnose)


#: While reconnecting, a new connection is tried when the last one is not up (or not even
#: answered) after this.
RETRY_S = 4.0
#: While reconnecting, how long to wait for the STUN/TURN server to answer before trying.
NETWORK_WAIT_S = 10.0
#: After the TURN server refused us (or its certificate is untrusted), how long a path
#: without it gets once the receiver answered before the cast ends with the diagnosis.
TURN_GRACE_S = 1.5
TICK_S = 0.25
#: How long a new call waits for the source's first frame before offering anyway.
FIRST_FRAME_WAIT_S = 2.0
#: The capture clock is moved for the TV at most this often (``PhaseAsked``).
PHASE_HOLD_S = 1.0

_UNANSWERED = (Phase.ADMITTING, Phase.GATHERING, Phase.OFFERED, Phase.REGATHERING, Phase.REOFFERED,
               Phase.RESIGNALING)


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
        client: SenderSignaling | None = None,
        peer_factory: PeerFactory = aiortc_offer,
        clock: Clock = SYSTEM_CLOCK,
        checks: NetworkChecks | None = None,
        audio: Callable[[], AudioSource] | None = None,
    ) -> None:
        """``ice_servers`` are the user's own, tried before those the room service hands out.
        The connect deadline, ``connect_timeout_s``, counts from :meth:`cast`."""
        self.url = url
        self.ice_servers = list(ice_servers)
        self.relay_only = relay_only
        self.connect_timeout_s = connect_timeout_s
        self.stall_s = stall_s
        self.recovery_window_s = recovery_window_s
        self.source = source
        self.codec: Codec = codec
        self.encoder = encoder
        self.audio = audio  # "Share sound": opens the system sound for each call
        self.audio_muted = False
        self.client: SenderSignaling = client or SignalingClient(url, name=name)
        self.peer_factory = peer_factory
        self.clock = clock
        self.checks = checks or NetworkChecks()
        self.machine: Machine[Phase] = Machine("sender", t.TABLE, Phase.IDLE,
                                               self._pending_action)
        self.board = StatusBoard(SenderStatus(SenderState.IDLE), on_status)
        self.tasks = Supervisor("sender", self._task_failed)
        self.inbox: asyncio.Queue[Event] = asyncio.Queue()
        self.receiver: str | None = None  # the receiver's peer id
        self.peer: OfferPeer | None = None  # the current call
        self.ice: IceChooser | None = None
        self._lock = asyncio.Lock()
        self._actions: list[str] = []
        self._staged: dict[str, object] | None = None
        self._before = Phase.IDLE  # the phase the event being handled found
        self._joining: asyncio.Future[None] | None = None
        self._awaiting: int | None = None  # generation of the offer awaiting an answer
        self._turn: TurnProbe | None = None
        self._cast_at = self._deadline = self._attempt_at = self._lost_at = 0.0
        self._connected_wall = 0.0
        self._fps_mark = (0.0, 0)
        self._running = False
        self._server_heard = False  # the STUN/TURN server answered at least once
        self._view: p.ViewHint | None = None
        self._phase_at = -math.inf  # when the capture clock was last moved for the TV
        self._paused: float | None = None  # connect time left, while the TV decides
        self._code = ""
        self._let_on = False  # the TV let us on (admission "allowed")
        self._pin: str | None = None
        #: The pairing of the current call (one per peer connection) and its number.
        self._pairing: Pairing | None = None
        self._attempt = 0
        self._confirm_sent: int | None = None  # generation whose confirmation went out
        self._offer_sent: int | None = None  # generation whose offer went out
        self._resume: str | None = None  # the TV's token that keeps our place after a rejoin
        # the TV's admission when it came before our join was handled; posted once joined
        self._early: Event | None = None

    # -------------------------------------------------------------- public
    @property
    def phase(self) -> Phase:
        return self.machine.state

    @property
    def status(self) -> SenderStatus:
        return self.board.current

    async def wait_for(self, state: SenderState, timeout: float = 10.0) -> SenderStatus:
        return await self.board.wait_for(state, timeout)

    async def wait_until(self, test: Callable[[SenderStatus], bool],
                         timeout: float = 10.0) -> SenderStatus:
        return await self.board.wait_until(test, timeout)

    async def cast(self, code: str) -> None:
        """Join the room of ``code`` and start casting; raises typed signaling errors when
        the room cannot be joined. Returns once joined; the status tells the rest."""
        self._start()
        self._joining = asyncio.get_running_loop().create_future()
        await self.feed(t.CastAsked(code=code))
        await self._joining

    async def answer_pin(self, pin: str) -> None:
        """The PIN the person reads on the TV (while ``status.admission`` is ``pin``)."""
        digits = pin_of(pin)
        if digits is None:
            raise ValueError("not a PIN: type the digits shown on the TV")
        # never sent: mixed into the pairing's secret, which only the TV can match
        await self.feed(t.PinTyped(pin=digits))

    async def stop(self) -> None:
        """Stop casting; the session may cast again afterwards."""
        await self.feed(t.StopAsked())

    async def close(self) -> None:
        if self._running:
            await self.stop()
        await self.tasks.close()
        self._running = False
        await self.client.close()

    async def stats(self) -> PeerStats | None:
        peer = self.peer
        if peer is None or self.phase is not Phase.CASTING:
            return None
        now, sent = self.clock.monotonic(), peer.frames_sent
        prev_t, prev_n = self._fps_mark
        self._fps_mark = (now, sent)
        fps = (sent - prev_n) / (now - prev_t) if prev_t and now > prev_t and sent >= prev_n \
            else None
        return await peer.stats(fps)

    # -------------------------------------------------------------- the loop
    def post(self, event: Event) -> None:
        self.inbox.put_nowait(event)

    def _start(self) -> None:
        if self._running:
            return
        self._running = True
        self.tasks.spawn("loop", self._loop())
        self.tasks.spawn("signaling", self._pump())
        self.tasks.spawn("ticker", self._ticker())

    async def _loop(self) -> None:
        while True:
            event = await self.inbox.get()
            try:
                await self.feed(event)
            except IllegalEventError:
                pass  # logged and surfaced by feed(); the cast goes on
            except Exception as exc:  # broad: an action's bug ends the cast as a fault, said
                if isinstance(event, t.TaskFailed):
                    raise  # ending the cast failed too: the supervisor ends it by hand
                # an action failed: the cast ends as a fault, through the table
                log.error("sender: handling %s failed", type(event).__name__, exc_info=exc)
                self.post(t.TaskFailed(task=f"on {type(event).__name__}", error=repr(exc)))

    async def _ticker(self) -> None:
        while True:
            await self.clock.sleep(TICK_S)
            self.post(t.Tick())

    async def feed(self, event: Event) -> bool:
        """Apply one event and run its actions; False when it was stale and dropped.

        The status changes its actions make go out as one update, with the new state.
        Raises :class:`IllegalEventError` (after logging it and publishing ``fault``) when
        the table has no row for the event in the current phase.
        """
        async with self._lock:
            self._actions.clear()
            self._before = self.machine.state
            try:
                applied = self.machine.handle(event)
            except IllegalEventError as exc:
                log.error("%s", exc)
                self._publish(fault=str(exc))
                raise
            if not applied:
                self._dropped(event)
                return False
            self._staged = {}
            try:
                for action in list(self._actions):
                    await getattr(self, "_do_" + action)(event)
            finally:
                changes, self._staged = self._staged, None
                self._show(self.machine.state, changes)
            return True

    def _show(self, phase: Phase, changes: dict[str, object]) -> None:
        """Publish the changes with the state the phase shows (diagnosing keeps it)."""
        shown = STATE_OF[phase]
        if phase is not Phase.DIAGNOSING and shown is not self.status.state:
            changes["state"] = shown
            if shown is not SenderState.CASTING:
                changes["route"] = None
        if changes:
            self.board.publish(**changes)

    def _pending_action(self, action: str, event: Event) -> None:
        self._actions.append(action)

    def _dropped(self, event: Event) -> None:
        if isinstance(event, t.OfferReady) and event.peer is not None:
            self.tasks.background("close-stale", event.peer.close())

    def _task_failed(self, name: str, exc: BaseException) -> None:
        if name == "loop":  # the loop itself is gone: end here, nothing else would
            self._publish(fault=f"{name}: {exc!r}", ended=EndReason.FAULT,
                          state=SenderState.ENDED)
            return
        self.post(t.TaskFailed(task=name, error=repr(exc)))

    def _publish(self, **changes: object) -> None:
        if self._staged is not None:  # inside feed(): goes out with the new state
            self._staged.update(changes)
        else:
            self.board.publish(**changes)

    # -------------------------------------------------------------- signaling in
    async def _pump(self) -> None:
        async for message in self.client.events():
            event = self._translate(message)
            if event is not None:
                self.post(event)

    def _translate(self, ev: object) -> Event | None:
        """A typed event from a signaling message; None for what the sender ignores."""
        mine = self.receiver
        if isinstance(ev, p.RelayedAnswer) and ev.from_ == mine:
            gen, self._awaiting = self._awaiting or 0, None  # a late answer gets 0: stale
            return t.AnswerArrived(gen=gen, sdp=ev.sdp)
        if isinstance(ev, p.RelayedCandidate) and ev.from_ == mine:
            return self._candidate(ev.candidate)
        joined = self.client.joined
        if isinstance(ev, p.RelayedSignal) and (ev.from_ == mine or (
                joined is not None and ev.from_ == joined.receiver.peer_id)):
            # (the admission can come before our loop has handled the join that it follows)
            return self._peer_message(ev.body)
        if isinstance(ev, p.RelayedBye) and ev.from_ == mine:
            if ev.reason == "tampered":  # (its authenticated notice came just before)
                return t.Tampered()
            return t.Refused() if ev.reason == "busy" else t.PeerLeft()
        if isinstance(ev, p.PeerLeft) and ev.peer_id == mine:
            return t.PeerLeft() if ev.reason is p.LeaveReason.LEFT else t.PeerDropped()
        if isinstance(ev, p.PeerJoined) and ev.peer.role is p.Role.RECEIVER:
            return t.PeerBack(receiver=ev.peer.peer_id, name=ev.peer.name)
        if isinstance(ev, p.Joined):
            return t.Joined(receiver=ev.receiver.peer_id, name=ev.receiver.name)
        if isinstance(ev, p.RoomClosed):
            return t.RoomClosed()
        if isinstance(ev, ConnectionLost):
            return t.ServiceLost(retry_in_s=ev.retry_in_s)
        if isinstance(ev, Reconnected):
            return t.ServiceBack()
        if isinstance(ev, Failed):
            return t.ServiceFailed(error=ev.error)
        if isinstance(ev, p.Shutdown):
            return None  # the client reconnects by itself and says so
        log.info("sender: ignoring %s (not for the sender, or not from its receiver)",
                 type(ev).__name__)
        return None

    def _peer_message(self, body: dict[str, object]) -> Event | None:
        """A typed event from a ``signal`` body of our receiver (hostile until decoded)."""
        try:
            msg = p.decode_peer(body)
        except p.ProtocolError as exc:
            log.warning("ignoring a bad message from the receiver: %s", exc.message)
            return None
        if isinstance(msg, p.Admission):
            st = msg.state
            if st is p.AdmissionState.ALLOWED:
                return t.Admitted(resume=msg.resume)
            if st in _TURNED_AWAY:
                return t.TurnedAway(state=st)
            return t.HeldBack(state=st, pin_digits=msg.pin_digits,
                              retry_after_s=msg.retry_after_s)
        if isinstance(msg, p.ViewHint):
            return t.ViewHinted(hint=msg)
        if isinstance(msg, p.Phase):
            return t.PhaseAsked(shift_s=msg.shift_ms / 1000.0)
        if isinstance(msg, p.PakeMessage):
            return t.PakeArrived(msg=msg)
        if isinstance(msg, p.KeyConfirm):
            return t.ConfirmArrived(msg=msg)
        log.info("sender: ignoring %s from the receiver", type(msg).__name__)
        return None

    def _candidate(self, cand: p.IceCandidate | None) -> Event | None:
        gen = self.machine.generation if self.peer is not None else 0
        if cand is None:
            return t.CandidateArrived(gen=gen, candidate=None)
        try:
            parsed = parse_candidate(cand)
        except BadCandidateError:
            log.warning("ignoring a malformed ICE candidate from the receiver")
            return None
        if parsed is None:
            return None
        if self.ice is not None and self.ice.avoid_relay and is_relay_candidate(cand.candidate):
            return None
        return t.CandidateArrived(gen=gen, candidate=parsed)

    # -------------------------------------------------------------- tasks
    async def _join(self, code: str) -> None:
        try:
            if not self.client.connected:
                await connect_with_retry(self.client, lambda s: self._publish(**s),
                                         give_up_after=3, sleep=self.clock.sleep)
            joined = await self.client.join(code)
        except SignalingError as exc:
            self.post(t.JoinFailed(error=exc))
            return
        self.post(t.Joined(receiver=joined.receiver.peer_id, name=joined.receiver.name))

    async def _build(self, gen: int) -> None:
        """Gather a new call; TURN over TCP once more when TURN over UDP gathered nothing."""
        if not await self._source_delivers():
            return
        chooser = self._chooser()
        peer = await self.peer_factory(self._request(gen))
        if chooser.learn(peer.gathered):
            await peer.close()
            peer = await self.peer_factory(self._request(gen))
        self.post(t.OfferReady(gen=gen, peer=peer))

    async def _source_delivers(self) -> bool:
        """Wait (briefly) for the source's first frame: no offer is made over a source that
        failed on start, such as a monitor that does not exist."""
        try:
            await asyncio.wait_for(self.source.next_frame(-1), FIRST_FRAME_WAIT_S)
        except SourceClosedError as exc:
            error = exc.__cause__ or self.source.error or exc
            self.post(t.SourceFailed(error=str(error) or type(error).__name__))
            return False
        except TimeoutError:
            log.info("no frame from the source yet; offering anyway")
        return True

    def _request(self, gen: int) -> OfferRequest:
        chooser = self._chooser()

        def on_state(state: str) -> None:
            if state == "connected":
                self.post(t.MediaUp(gen=gen))
            elif state == "failed":
                self.post(t.MediaFailed(gen=gen))

        return OfferRequest(chooser.servers(), chooser.relay_only, self.source, self.codec,
                            self.encoder, on_state, self.audio, self.audio_muted,
                            self.client.joined.sfu if self.client.joined else None)

    def set_audio_muted(self, muted: bool) -> None:
        """Mute or unmute the shared sound while casting (the call goes on)."""
        self.audio_muted = muted
        set_muted = getattr(self.peer, "set_audio_muted", None)
        if set_muted is not None:
            set_muted(muted)

    async def _check_turn(self, server: TurnServer) -> None:
        self._turn = result = await self.checks.turn(server)
        if result in (TurnProbe.REFUSED, TurnProbe.UNTRUSTED):
            assert result.diagnosis is not None
            log.warning("TURN server %s: %s", server.url, describe(result.diagnosis))
            self.post(t.TurnFailed(diagnosis=result.diagnosis))

    async def _wait_network(self) -> None:
        """Until the STUN/TURN server answers again. A server that answered before in this
        session is waited for as long as it takes (building a call while the network is down
        would only sit out gathering timeouts); one never heard from, ``NETWORK_WAIT_S``."""
        since = self.clock.monotonic()
        first = True
        while True:
            answered = await self.checks.network(self._chooser())
            if answered:
                self._server_heard = True
            waited = self.clock.monotonic() - since
            if answered is not False and first:
                self.post(t.NetworkUp())
                return
            if answered is not False or (waited >= NETWORK_WAIT_S and not self._server_heard):
                self.post(t.NetworkBack(answered=answered))
                return
            first = False
            await self.clock.sleep(0.05)

    async def _diagnose(self, gathered: set[str], answered: bool) -> None:
        diagnosis = await self.checks.diagnose(self._chooser(), gathered, answered, self._turn)
        self.post(t.Diagnosed(diagnosis=diagnosis))

    # -------------------------------------------------------------- ICE servers
    def _chooser(self) -> IceChooser:
        if self.ice is None:
            self._replan()
        assert self.ice is not None
        return self.ice

    async def _do_replan(self, ev: Event) -> None:
        if isinstance(ev, t.Joined):  # joined again: the receiver may be back under a new id
            self.receiver = ev.receiver
            await self._claim_place()
        self._replan()

    async def _claim_place(self) -> None:
        """After a rejoin (a new peer id), the resume token first: the TV keeps our place."""
        if self._resume is None or self.receiver is None:
            return
        try:
            await self.client.send_signal(self.receiver, p.Resume(token=self._resume))
        except SignalingError as exc:
            log.info("could not claim our place on the TV: %s", exc.message)

    def _replan(self) -> None:
        """Combine the user's ICE servers with those of the latest join (fresh credentials)."""
        joined = self.client.joined
        servers = [*self.ice_servers, *(joined.ice_servers if joined else [])]
        plan = IcePlan.from_servers(servers, relay_only=self.relay_only)
        if self.ice is None:
            self.ice = IceChooser(plan)
        elif self.ice.plan != plan:
            self.ice.replan(plan)

    # -------------------------------------------------------------- actions
    async def _do_begin(self, ev: t.CastAsked) -> None:
        self._cast_at = self.clock.monotonic()
        self._deadline = self._cast_at + self.connect_timeout_s
        self._turn = None
        self._early = None
        self._resume = self._view = self._paused = self._pin = self._pairing = None
        self._code, self._let_on = ev.code, False
        self._publish(error=None, ended=None, diagnosis=None, reconnects=0, route=None,
                      source_error=None, warning=None, fault=None, admission=None,
                      pin_digits=0, wrong_pin=False, pin_retry_after_s=None, tile=0, tiles=0,
                      spotlit=True, view=None, verified=False)

    async def _do_join(self, ev: t.CastAsked) -> None:
        self.tasks.spawn("join", self._join(ev.code))

    async def _do_cancel_join(self, ev: Event) -> None:
        self.tasks.cancel("join")
        if self._joining is not None and not self._joining.done():
            self._joining.set_result(None)

    async def _do_joined(self, ev: t.Joined) -> None:
        self.receiver = ev.receiver
        self._publish(receiver=ev.name, service_ok=True, retry_in_s=None, error=None)
        if self._joining is not None and not self._joining.done():
            self._joining.set_result(None)

    async def _do_wait_admission(self, ev: Event) -> None:
        """Joined: the TV answers with an admission (``allowed`` at once in open mode)."""
        early, self._early = self._early, None
        if early is not None:
            self.post(early)

    async def _do_keep_admission(self, ev: Event) -> None:
        self._early = ev

    async def _do_held_back(self, ev: t.HeldBack) -> None:
        if self._paused is None:  # the TV decides: the connect deadline waits meanwhile
            self._paused = max(0.0, self._deadline - self.clock.monotonic())
            self._deadline = float("inf")
        self._let_on = False
        await self._do_note_admission(ev)

    async def _do_note_admission(self, ev: t.HeldBack) -> None:
        state = p.AdmissionState(ev.state)
        wrong = state is p.AdmissionState.WRONG_PIN
        self._publish(admission=state, pin_digits=ev.pin_digits, wrong_pin=wrong,
                      pin_retry_after_s=ev.retry_after_s if wrong and ev.retry_after_s
                      else None)

    async def _do_admitted(self, ev: t.Admitted) -> None:
        if ev.resume is not None:
            self._resume = ev.resume
        if self._paused is not None:  # let on: the connect deadline goes on from here
            self._deadline = self.clock.monotonic() + self._paused
            self._paused = None
        self._publish(admission=p.AdmissionState.ALLOWED, pin_digits=0, wrong_pin=False,
                      pin_retry_after_s=None)
        self._let_on = True
        self._pin = None  # used once: later pairings (rebuilt calls) are over the code alone
        await self._flush_offer()

    async def _do_turned_away(self, ev: t.TurnedAway) -> None:
        state = p.AdmissionState(ev.state)
        self._resume = None
        await self._end(_TURNED_AWAY[state], admission=state, pin_digits=0)

    async def _do_view_hinted(self, ev: t.ViewHinted) -> None:
        hint = ev.hint
        if hint is None:
            return
        self._view = hint
        self._publish(tile=hint.tile, tiles=hint.tiles, spotlit=hint.spotlit,
                      view=(hint.width, hint.height, hint.fps))
        self._apply_view()

    async def _do_phase_asked(self, ev: t.PhaseAsked) -> None:
        """Move the capture clock as the TV asks, at most once every ``PHASE_HOLD_S`` (a
        hostile message cannot make the picture stutter)."""
        now = self.clock.monotonic()
        shift = getattr(self.source, "shift", None)
        if shift is None or now - self._phase_at < PHASE_HOLD_S:
            return
        self._phase_at = now
        shift(ev.shift_s)
        log.debug("capture clock moved by %.1f ms for the TV", ev.shift_s * 1000)

    def _apply_view(self) -> None:
        """Send at most the size and frame rate the TV asked for (see ViewHint): the call's
        track divides its frames by a whole divisor and caps its rate."""
        hint, track = self._view, getattr(self.peer, "track", None)
        if hint is not None and track is not None and hasattr(track, "limit"):
            track.limit(hint.width, hint.height, hint.fps)

    async def _do_join_failed(self, ev: t.JoinFailed) -> None:
        self._publish(error=ev.error)
        if self._joining is not None and not self._joining.done():
            self._joining.set_exception(ev.error)

    async def _do_start_source(self, ev: Event) -> None:
        if self.source.error is None and not self.source.running:
            try:
                self.source.start()
            except (OSError, RuntimeError, ValueError) as exc:
                self.post(t.SourceFailed(error=str(exc) or type(exc).__name__))
                return
        self._source_check()

    def _source_check(self) -> bool:
        """Post SourceFailed when the source has failed; True when it has."""
        error = self.source.error
        if error is None:
            return False
        self.post(t.SourceFailed(error=str(error) or type(error).__name__))
        return True

    async def _do_check_turn(self, ev: Event) -> None:
        server = self._chooser().turn
        if server is not None and self._turn is None:
            self.tasks.spawn("turn-check", self._check_turn(server))

    async def _do_build_call(self, ev: Event) -> None:
        """One rebuild at a time: the call in progress (and its build) is dropped first."""
        await self._do_drop_call(ev)
        await self._start_pairing()
        self.tasks.spawn("build", self._build(self.machine.generation))

    async def _do_send_offer(self, ev: t.OfferReady) -> None:
        self.peer = ev.peer
        self._apply_view()  # a rebuilt call keeps to the TV's view
        if ev.peer.gathered & {"srflx", "relay"}:
            self._server_heard = True
        self._fps_mark = (0.0, 0)
        self._awaiting = ev.gen
        self._attempt_at = self.clock.monotonic()
        await self._flush_offer()

    async def _flush_offer(self) -> None:
        """Our confirmation once the pairing has a key and the call its offer; the offer
        right after it, once the TV has let us on. Both go at most once per call."""
        peer, gen, pairing = self.peer, self.machine.generation, self._pairing
        if peer is None or self.receiver is None or pairing is None or pairing.failed:
            return
        try:
            if self._confirm_sent != gen:
                if not pairing.keyed:
                    return  # the receiver's PAKE message is still on its way
                await self.client.send_signal(self.receiver, pairing.confirm(peer.offer_sdp))
                self._confirm_sent = gen
            if self._offer_sent != gen and self._let_on:
                await self.client.send_offer(self.receiver, peer.offer_sdp)
                self._offer_sent = gen
        except SignalingError as exc:
            # the client reconnects and rejoins; Joined then makes a new call and offer
            log.info("offer not delivered (%s); offering again once the service is back",
                     exc.message)

    async def _start_pairing(self) -> None:
        """A new pairing for a new peer connection: our PAKE message goes out now."""
        self._pairing = None
        me = self.client.peer_id
        if self.receiver is None or not me:
            return
        self._attempt += 1
        self._pairing = Pairing(PairingRole.SENDER, self._code, me, self.receiver,
                                pin=self._pin, attempt=self._attempt)
        try:
            await self.client.send_signal(self.receiver, self._pairing.start())
        except SignalingError as exc:
            log.info("pairing not delivered (%s); again once the service is back", exc.message)

    async def _do_pake_in(self, ev: t.PakeArrived) -> None:
        pairing = self._pairing
        if pairing is None or ev.msg is None or ev.msg.attempt != self._attempt \
                or pairing.keyed:
            log.info("sender: ignoring a PAKE message of another pairing")
            return
        try:
            pairing.receive(ev.msg)
        except PairingError:
            self.post(t.Tampered())
            return
        await self._flush_offer()

    async def _do_confirm_in(self, ev: t.ConfirmArrived) -> None:
        pairing = self._pairing
        if pairing is None or ev.msg is None or ev.msg.attempt != self._attempt:
            log.info("sender: ignoring a confirmation of another pairing")
            return
        try:
            pairing.check_confirm(ev.msg)
        except TamperedError:
            self.post(t.Tampered())  # the receiver found our SDP changed on the way
            return
        except PairingError:
            self.post(t.Tampered())  # a MAC that does not check after our own was accepted
            return
        self._publish(verified=True)

    async def _do_pin_typed(self, ev: t.PinTyped) -> None:
        self._pin = ev.pin
        self._publish(wrong_pin=False, pin_retry_after_s=None)

    async def _do_tampered(self, ev: t.Tampered) -> None:
        pairing, receiver = self._pairing, self.receiver
        log.warning("security: the connection to receiver %s was tampered with; not casting",
                    receiver)
        if receiver is not None and self.client.connected:
            try:
                if pairing is not None and ev.found_here:
                    await self.client.send_signal(receiver, pairing.tamper_notice())
                await self.client.send_bye(receiver, "tampered")
            except (SignalingError, PairingError) as exc:
                log.info("could not tell the receiver: %s", exc)
        self._pairing = None
        await self._end(EndReason.TAMPERED, verified=False)

    async def _do_apply_answer(self, ev: t.AnswerArrived) -> None:
        assert self.peer is not None
        try:  # the fingerprint the code confirmed, or nothing is applied
            if self._pairing is None:
                raise PairingError("no pairing for this call")
            self._pairing.check_remote_sdp(ev.sdp)
        except PairingError as exc:
            self.post(t.Tampered(found_here=isinstance(exc, TamperedError)))
            return
        sdp = self._chooser().filter_answer(ev.sdp)
        try:
            await self.peer.apply_answer(sdp)
        except (ValueError, InvalidStateError) as exc:
            log.warning("the receiver's answer could not be used: %s", exc)
            self.post(t.MediaFailed(gen=ev.gen))
            return
        if self._turn in (TurnProbe.REFUSED, TurnProbe.UNTRUSTED):
            self._deadline = min(self._deadline, self.clock.monotonic() + TURN_GRACE_S)

    async def _do_add_candidate(self, ev: t.CandidateArrived) -> None:
        if self.peer is None:
            return
        try:
            await self.peer.add_candidate(ev.candidate)
        except (ValueError, InvalidStateError) as exc:
            log.warning("ignoring a candidate from the receiver: %s", exc)

    async def _do_casting(self, ev: t.MediaUp) -> None:
        self._connected_wall = self.clock.wall()
        path = self.peer.path() if self.peer is not None else None
        route = path.route if path is not None else None
        self._learn_route(route)
        self._publish(route=route)

    def _learn_route(self, route: Route | None) -> None:
        """Remember the best path that worked, so rebuilt calls keep to it."""
        working = self.peer.working_routes() if self.peer is not None else set()
        for best in (Route.DIRECT, Route.NAT):
            if best in working:
                route = best
                break
        self._chooser().worked(route)

    async def _do_drop_call(self, ev: Event) -> None:
        """Close the current call in the background (a dead path can make closing wait for
        the TURN server) and make every event still on its way from it stale."""
        self.tasks.cancel("build")
        peer, self.peer, self._awaiting = self.peer, None, None
        self.machine.next_generation()
        if peer is not None:
            self.tasks.background("close-call", peer.close())

    async def _do_count_reconnect(self, ev: Event) -> None:
        self._lost_at = self.clock.monotonic()
        self._publish(route=None, reconnects=self.status.reconnects + 1)

    async def _do_wait_network(self, ev: Event) -> None:
        self.tasks.spawn("network", self._wait_network())

    async def _do_path_failed(self, ev: Event) -> None:
        self._chooser().path_failed()

    async def _do_refresh_signaling(self, ev: Event) -> None:
        log.info("opening a new connection to the room service")
        self._awaiting = None
        self._attempt_at = self.clock.monotonic()
        self.client.refresh()  # rejoining (Joined) then offers again

    async def _do_turn_failed(self, ev: t.TurnFailed) -> None:
        self._publish(warning=ev.diagnosis)
        if self.relay_only:
            self._deadline = min(self._deadline, self.clock.monotonic())
        elif self.phase in (Phase.ANSWERED, Phase.REANSWERED):
            self._deadline = min(self._deadline, self.clock.monotonic() + TURN_GRACE_S)

    async def _do_diagnose(self, ev: Event) -> None:
        gathered = self.peer.gathered if self.peer is not None else set()
        answered = self._before not in _UNANSWERED
        self.tasks.spawn("diagnose", self._diagnose(gathered, answered))

    async def _do_note_receiver(self, ev: t.PeerBack) -> None:
        self.receiver = ev.receiver
        if ev.name:
            self._publish(receiver=ev.name)

    async def _do_say_bye(self, ev: Event) -> None:
        if self.receiver is None or not self.client.connected:
            return
        reason = "sender stopped" if isinstance(ev, t.StopAsked) else "sender failed"
        try:
            await self.client.send_bye(self.receiver, reason)
        except SignalingError as exc:
            log.info("could not tell the receiver: %s", exc.message)

    async def _do_leave(self, ev: Event) -> None:
        for name in ("build", "network", "diagnose", "turn-check", "join"):
            self.tasks.cancel(name)
        self.receiver = None
        if self.client.connected:
            try:
                await self.client.leave()
            except SignalingError as exc:
                log.info("could not leave the room: %s", exc.message)

    async def _end(self, reason: EndReason, **changes: object) -> None:
        for name in ("build", "network", "diagnose", "turn-check"):
            self.tasks.cancel(name)
        self._publish(ended=reason, route=None, **changes)

    async def _do_media_failed(self, ev: t.Diagnosed) -> None:
        log.warning("media could not connect: %s", describe(ev.diagnosis))
        if self.receiver is not None and self.client.connected:
            try:
                await self.client.send_bye(self.receiver, "no connection")
            except SignalingError as exc:
                log.info("could not tell the receiver: %s", exc.message)
        await self._end(EndReason.MEDIA_FAILED, diagnosis=ev.diagnosis)

    async def _do_receiver_stopped(self, ev: Event) -> None:
        await self._end(EndReason.RECEIVER_STOPPED)

    async def _do_receiver_busy(self, ev: Event) -> None:
        await self._end(EndReason.RECEIVER_BUSY)

    async def _do_room_closed(self, ev: Event) -> None:
        await self._end(EndReason.ROOM_CLOSED)

    async def _do_source_failed(self, ev: t.SourceFailed) -> None:
        log.error("the frame source failed: %s", ev.error)
        await self._end(EndReason.SOURCE_FAILED, source_error=ev.error)

    async def _do_service_failed(self, ev: t.ServiceFailed) -> None:
        await self._end(EndReason.SERVICE_FAILED, error=ev.error)

    async def _do_task_failed(self, ev: t.TaskFailed) -> None:
        fault = f"{ev.task}: {ev.error}"
        if self.phase is Phase.ENDED and self._before is not Phase.ENDED:
            await self._end(EndReason.FAULT, fault=fault)
        else:
            self._publish(fault=fault)

    async def _do_service_lost(self, ev: t.ServiceLost) -> None:
        self._publish(service_ok=False, retry_in_s=ev.retry_in_s)

    async def _do_service_back(self, ev: Event) -> None:
        self._publish(service_ok=True, retry_in_s=None)

    async def _do_watch(self, ev: Event) -> None:
        """Timers and polls, once a tick: what is due in this phase is posted as an event."""
        if self._source_check():
            return
        now, phase, gen = self.clock.monotonic(), self.phase, self.machine.generation
        if phase in (Phase.ADMITTING, *t.SETUP) and now >= self._deadline:
            self.post(t.DeadlinePassed())
        elif phase is Phase.CASTING and self.peer is not None:
            await self._watch_media(gen)
        elif phase in t.RECOVERY:
            if now - self._lost_at > self.recovery_window_s:
                self.post(t.DeadlinePassed())
            elif phase in (Phase.REOFFERED, Phase.RESIGNALING, Phase.REANSWERED) \
                    and now - self._attempt_at > RETRY_S:
                self.post(t.RetryDue(gen=gen))

    async def _watch_media(self, gen: int) -> None:
        assert self.peer is not None
        path = self.peer.path()
        if path is not None and path.route is not self.status.route:
            self._publish(route=path.route)
            self._learn_route(path.route)
        heard = max(self._connected_wall, await self.peer.last_heard_at() or 0.0)
        if self.clock.wall() - heard > self.stall_s:
            log.info("media stopped; building a new connection")
            self.post(t.StallDetected(gen=gen))
