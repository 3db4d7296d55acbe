"""The receiver session: register, show the code, hold up to four senders' calls.

Two kinds of machine run here, each a table of (state, event) -> (next state, actions):
the receiver's own (:mod:`castapp.session.receiver_table`: starting, waiting, and a summary of
its calls)
and one :class:`~castapp.session.call.Call` per sender (:data:`~castapp.session.call.CALL_TABLE`).
Events from the room service are read by one supervised task and fed to the machines in
order without awaiting, so a burst of queued retries from one sender is seen as a whole and
only the newest offer is answered. Everything slow (building a connection, sending) runs in
supervised tasks whose results come back as events carrying the call's generation.

The TV is in charge of admission (:class:`~castapp.session.room.AdmissionMode`): ``open``
puts any sender with the code on screen, ``approve`` waits for :meth:`ReceiverSession.allow`,
``pin`` waits for the one-time PIN shown in ``CallView.pin``. A fifth sender is told the room
is full. Status goes out as frozen :class:`ReceiverStatus` objects with one
:class:`~castapp.session.room.CallView` per sender; frames go to ``on_call_frame`` (every
call) and ``on_frame`` (the spotlit or first call). Nothing here formats text for people.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from castapp import protocol as p
from castapp.codes import group
from castapp.layout import Screen, ViewHint
from castapp.logs import failed
from castapp.pairing import Pairing, PairingError, PairingRole, TamperedError
from castapp.session import call as c
from castapp.session.admission import (
    AdmissionPolicy,
    FirstStep,
    PinRules,
    PinVerdict,
    resume_token,
)
from castapp.session.call import SHOWING_STATES, STALLED_STATES, Call, CallState, Timing
from castapp.session.clock import SYSTEM_CLOCK, Clock
from castapp.session.machine import Event, IllegalEventError, Machine
from castapp.session.phase import PhaseAligner
from castapp.session.receive_link import (
    LinkFactory,
    LinkRequest,
    LinkStats,
    aiortc_link,
    close_quietly,
)
from castapp.session.receiver_table import (
    RECEIVER_TABLE,
    CallsConnecting,
    CallsIdle,
    CallsShowing,
    CallsStalled,
    NetworkBack,
    ReceiverState,
    ReceiverStatus,
    Registered,
    ServiceChanged,
    StartFailed,
    Stop,
)
from castapp.session.room import MAX_PRESENTERS, AdmissionMode
from castapp.session.signals import connect_with_retry
from castapp.session.status import StatusBoard
from castapp.signaling.client import (
    ConnectionLost,
    Failed,
    Reconnected,
    SignalingClient,
    SignalingError,
)

if TYPE_CHECKING:  # the media stack (aiortc, PyAV, NumPy) is imported with the first call
    from aiortc import RTCIceServer

    from castapp.rtc.audio.playout import PcmSink
    from castapp.rtc.ice import IceChooser
    from castapp.rtc.peer import IceServerLike, PeerStats
    from castapp.rtc.receive import ReceivedFrame

__all__ = ["RECEIVER_TABLE", "ReceiverSession", "ReceiverState", "ReceiverStatus"]

log = logging.getLogger(__name__)
R = ReceiverState


#: Offers arriving within this of each other are one burst: only the newest is answered.
SETTLE_S = 0.03
WATCH_S = 0.25
#: A sender joining under the name of a presenter who can resume (a laptop back after the
#: room service restarted) gets this long to prove it is that presenter before it is
#: treated as someone new: no "connecting" line or question to the TV that is taken back.
RESUME_WAIT_S = 1.0
#: While a call is reconnecting, a probe of the service starts this often; each may take
#: this long.
PROBE_S = 0.2
PROBE_TIMEOUT_S = 0.5

Probe = Callable[[], Awaitable[bool]]


def service_probe(url: str) -> Probe:
    """A probe that opens (and closes) a TCP connection to the room service."""
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or (443 if parts.scheme == "wss" else 80)

    async def probe() -> bool:
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, port),
                                               PROBE_TIMEOUT_S)
        except (OSError, TimeoutError):
            return False
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True

    return probe


_ON_SCREEN = (CallState.CONNECTING, *SHOWING_STATES, *STALLED_STATES)
_VISIBLE = (CallState.ASKING, CallState.PIN, CallState.PAIRING, *_ON_SCREEN)


class ReceiverSession:
    def __init__(
        self,
        url: str,
        *,
        name: str = "",
        token: str | None = None,
        on_status: Callable[[ReceiverStatus], None] | None = None,
        on_frame: Callable[[ReceivedFrame], None] | None = None,
        on_call_frame: Callable[[str, ReceivedFrame], None] | None = None,
        ice_servers: Sequence[RTCIceServer | IceServerLike] = (),
        relay_only: bool = False,
        connect_timeout_s: float = 30.0,
        stall_s: float = 2.0,
        recovery_window_s: float = 120.0,
        rejoin_window_s: float = 20.0,
        admission: AdmissionMode = AdmissionMode.OPEN,
        pin_rules: PinRules | None = None,
        client: Any = None,
        link_factory: LinkFactory | None = None,
        clock: Clock | None = None,
        probe: Probe | None = None,
        audio_out: Callable[[], PcmSink] | None = None,
        audio_muted: bool = False,
        screen: tuple[int, int] | None = None,
        align: bool = True,
    ) -> None:
        """``ice_servers`` are the user's own, tried before those the room service hands out.

        ``screen``: a receiver without a window lays its presenters out on a screen of this
        size (as the window's wall would) and tells each sender its tile's size and rate;
        a window leaves it None and sends its own (:meth:`set_view`).

        A stalled call is held for ``recovery_window_s``; once its sender has also left the
        room service, for ``rejoin_window_s`` more at most (a dead laptop's tile is freed).

        ``client``, ``link_factory``, ``clock`` and ``probe`` replace the real signaling
        client, aiortc connections, time and the network probe (tests pass fakes).

        ``align``: ask presenters to move their capture clocks so their frames arrive
        together (:mod:`castapp.session.phase`).
        """
        self.url = url
        self.ice_servers = list(ice_servers)
        self.relay_only = relay_only
        self.timing = Timing(stall_s, recovery_window_s, connect_timeout_s, rejoin_window_s)
        self.client = client if client is not None else SignalingClient(url, name=name)
        self.token = token
        self.on_frame = on_frame
        self.on_call_frame = on_call_frame
        self.clock: Clock = clock or SYSTEM_CLOCK
        self.policy = AdmissionPolicy(admission, self.clock.monotonic, pin_rules)
        self._links: LinkFactory = link_factory or aiortc_link
        self.audio_out = audio_out  # where presenters' sound plays (None: silent TV)
        self.audio_muted = audio_muted  # the whole TV muted
        self._sound: dict[str, tuple[bool | None, float]] = {}  # peer id → (muted, volume)
        self._probe: Probe = probe or service_probe(url)
        self._prober: asyncio.Task[None] | None = None
        self.machine = Machine("receiver", RECEIVER_TABLE, R.STARTING, self._perform,
                               self._moved)
        self.board = StatusBoard(ReceiverStatus(R.STARTING, admission=admission, calls=()),
                                 on_status)
        self.calls: dict[str, Call] = {}  # by key, in arrival order
        self._by_peer: dict[str, Call] = {}  # live calls by current peer id
        self._names: dict[str, str] = {}
        self._retired: dict[str, p.AdmissionState | None] = {}  # peer ids whose turn is over
        self._held: dict[str, float] = {}  # joined, may resume a call: since when (RESUME_WAIT_S)
        self._spotlit: str | None = None  # key of the call the TV shows large
        self._ice: IceChooser | None = None
        self._outbox: asyncio.Queue[tuple[str, str, Any]] = asyncio.Queue()
        self._tasks: set[asyncio.Task[None]] = set()
        self._locks: dict[str, asyncio.Lock] = {}
        self._closing: asyncio.Task[None] | None = None
        self._starting: asyncio.Task[None] | None = None
        self._screen = Screen(*screen) if screen is not None else None
        self.phase = PhaseAligner() if align else None
        """When the presenters' frames arrive, and the moves that bring them in step."""

    # -------------------------------------------------------------- lifecycle
    async def start(self) -> ReceiverStatus:
        """Reach the service and get the code; raises the typed error if it is refused.

        A :meth:`stop` meanwhile ends the start-up quietly: the status is then STOPPED and
        the receiver never passed through WAITING.
        """
        self._starting = asyncio.get_running_loop().create_task(self._start_up())
        try:
            await self._starting
        except asyncio.CancelledError:
            me = asyncio.current_task()
            if me is not None and me.cancelling():
                raise  # the caller itself is being cancelled
        except SignalingError:
            await self._closed()
            raise
        return self.status

    async def _start_up(self) -> None:
        try:
            await connect_with_retry(self.client, self._service_report, sleep=self.clock.sleep)
            reg = await self.client.register(self.token)
        except SignalingError as exc:
            if self.machine.state is R.STARTING:
                self.machine.handle(StartFailed(error=exc))
                raise
            return  # stopped meanwhile: the failure is the stop's doing
        if self.machine.state is R.STARTING:
            self.machine.handle(Registered(reg=reg))

    async def stop(self) -> None:
        """End every call (each sender is told), leave the room, close. Safe to repeat."""
        self.machine.handle(Stop())
        await self._closed()

    async def _closed(self) -> None:
        if self._closing is not None:
            await asyncio.shield(self._closing)

    @property
    def status(self) -> ReceiverStatus:
        return self.board.current

    @property
    def admission(self) -> AdmissionMode:
        return self.policy.mode

    def set_admission(self, mode: AdmissionMode) -> None:
        """How new senders get on screen from now on (those on screen stay)."""
        self.policy.mode = mode
        self._publish(admission=mode)

    async def wait_for(self, state: ReceiverState, timeout: float = 10.0) -> ReceiverStatus:
        return await self.board.wait_for(state, timeout)

    async def wait_until(self, test: Callable[[ReceiverStatus], bool],
                         timeout: float = 10.0) -> ReceiverStatus:
        """Wait for a status that passes ``test`` (e.g. a call in a given phase)."""
        async def wait() -> ReceiverStatus:
            while not test(self.board.current):
                self.board._changed.clear()
                await self.board._changed.wait()
            return self.board.current

        return await asyncio.wait_for(wait(), timeout)

    # -------------------------------------------------------------- the TV's commands
    # Each command takes a sender's peer id or its ``CallView.key``; an unknown one raises
    # LookupError, one the call's state does not allow raises IllegalEventError.
    def allow(self, peer_id: str) -> None:
        """Put a sender that is asking (or waiting for its PIN) on screen."""
        self._call(peer_id).handle(c.Allow())

    def deny(self, peer_id: str) -> None:
        """Refuse a sender that is asking; it is told."""
        self._call(peer_id).handle(c.Deny())

    def stop_call(self, peer_id: str) -> None:
        """End one presenter's cast; it is told, the others go on."""
        self._call(peer_id).handle(c.StopByTv())

    def set_view(self, peer_id: str, width: int, height: int, fps: int, tile: int = 1,
                 tiles: int = 1, spotlit: bool = True) -> None:
        """Tell a sender the size and rate the TV shows it at (it sends no more than that)."""
        self._view(self._call(peer_id), ViewHint(width, height, fps, tile, tiles, spotlit))
        self._publish_calls()

    def _view(self, call: Call, view: ViewHint) -> None:
        def bound(value: int, low: int, high: int) -> int:
            return max(low, min(high, int(value)))

        hint = p.ViewHint(width=bound(view.width, 16, 8192),
                          height=bound(view.height, 16, 8192), fps=bound(view.fps, 1, 240),
                          tile=bound(view.tile, 1, 16), tiles=bound(view.tiles, 1, 16),
                          spotlit=view.spotlit)
        call.handle(c.ViewChanged(hint=hint))
        if view.spotlit and view.tiles > 1:
            self._spotlit = call.key
        elif self._spotlit == call.key:
            self._spotlit = None

    def _call(self, peer_id: str) -> Call:
        """The live call of a peer id, or of a ``CallView.key``."""
        call = self._by_peer.get(peer_id) or self.calls.get(peer_id)
        if call is None:
            raise LookupError(f"no sender {peer_id} is in the room")
        return call

    # -------------------------------------------------------------- stats
    async def stats(self) -> PeerStats | None:
        """Figures of the spotlit (or first) call, round trip included."""
        call = self._primary()
        got = await call.stats() if call is not None else None
        return got.peer if got is not None else None

    def audio_stats(self) -> dict[str, object]:
        """The sound figures of the presenter the rule plays, empty when none has sound."""
        call = self._sound_source()
        audio = getattr(call.link, "audio", None) if call is not None else None
        return audio.stats_fields() if audio is not None else {}

    def primary_peer_id(self) -> str | None:
        """The peer id of the call :meth:`stats` describes (spotlit, else first on screen)."""
        call = self._primary()
        return call.peer_id if call is not None else None

    async def call_stats(self) -> dict[str, LinkStats]:
        """Every call's figures by peer id, with the keyframe and NACK requests sent."""
        out: dict[str, LinkStats] = {}
        for call in list(self.calls.values()):
            got = await call.stats()
            if got is not None:
                out[call.peer_id] = got
        return out

    # -------------------------------------------------------------- machine
    def _perform(self, action: str, event: Event) -> None:
        getattr(self, f"_do_{action}")(event)

    def _moved(self, old: ReceiverState, new: ReceiverState) -> None:
        self._publish(state=new, **self._primary_fields())

    def _feed(self, event: Event) -> None:
        """Feed a network- or timer-driven event to the receiver machine, reporting a fault."""
        try:
            self.machine.handle(event)
        except IllegalEventError as exc:
            self._fault(exc)

    def _feed_call(self, call: Call, event: Event) -> bool:
        if call.state is CallState.ENDED:
            return False
        try:
            return call.handle(event)
        except IllegalEventError as exc:
            self._fault(exc)
            return False

    def _fault(self, exc: IllegalEventError) -> None:
        log.warning("event out of turn: %s", exc)
        self._publish(fault=str(exc))

    def _do_show_code(self, event: Event) -> None:
        assert isinstance(event, Registered) and event.reg is not None
        self.token = event.reg.token
        self._publish(code=event.reg.code, display_code=group(event.reg.code), service_ok=True,
                      retry_in_s=None, error=None)

    def _do_show_service(self, event: Event) -> None:
        assert isinstance(event, ServiceChanged)
        changes: dict[str, Any] = {"service_ok": event.ok, "retry_in_s": event.retry_in_s}
        if event.error is not None or event.ok:
            changes["error"] = event.error
        self._publish(**changes)

    def _do_show_failure(self, event: Event) -> None:
        assert isinstance(event, StartFailed)
        self._publish(error=event.error, service_ok=False, retry_in_s=None)

    def _do_supervise(self, event: Event) -> None:
        self._spawn(self._pump(), "reading the room service")
        self._spawn(self._watchdog(), "watching the calls")
        self._spawn(self._send_outbox(), "sending to the room service")

    def _do_refresh_service(self, event: Event) -> None:
        log.info("the network is back: opening a new connection to the room service")
        self.client.refresh()

    def _do_end_calls(self, event: Event) -> None:
        for call in list(self.calls.values()):
            self._feed_call(call, c.Shutdown())

    def _do_close_service(self, event: Event) -> None:
        self._closing = asyncio.get_running_loop().create_task(self._close_service())

    async def _close_service(self) -> None:
        with contextlib.suppress(TimeoutError):  # say goodbye to each sender, briefly
            await asyncio.wait_for(self._outbox.join(), 2.0)
        current = asyncio.current_task()
        if self._starting is not None and not self._starting.done():
            self._starting.cancel()
        tasks = [t for t in self._tasks if t is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if getattr(self.client, "connected", False):
            with contextlib.suppress(SignalingError):
                await self.client.leave()
        await self.client.close()

    # -------------------------------------------------------------- status
    def _publish(self, **changes: Any) -> None:
        self.board.publish(**changes)

    def _primary(self) -> Call | None:
        spot = self.calls.get(self._spotlit or "")
        if spot is not None and spot.state in _ON_SCREEN:
            return spot
        return next((k for k in self.calls.values() if k.state in _ON_SCREEN), None)

    def _primary_fields(self) -> dict[str, Any]:
        call = self._primary()
        return {
            "sender": call.name if call is not None else None,
            # said once the receiver as a whole shows it (so "receiving" comes first)
            "route": call.route if call is not None and call.state in SHOWING_STATES
            and self.machine.state is R.RECEIVING else None,
            "reconnects": call.reconnects if call is not None else 0,
        }

    def _sound_source(self) -> Call | None:
        """Whose sound the rule plays: the spotlit presenter's, else the first on screen
        that sends sound (a presenter without sound does not silence the room)."""
        on_screen = [k for k in self.calls.values() if k.state in _ON_SCREEN and k.has_sound]
        spot = self.calls.get(self._spotlit or "")
        if spot is not None and spot in on_screen:
            return spot
        return on_screen[0] if on_screen else None

    def _audible(self) -> set[str]:
        """Peer ids of the calls whose sound plays (the TV's mute of every one aside)."""
        source = self._sound_source()
        heard = set()
        for call in self.calls.values():
            chosen, _ = self._sound.get(call.peer_id, (None, 1.0))
            if call.has_sound and (call is source if chosen is None else not chosen):
                heard.add(call.peer_id)
        return heard

    def set_presenter_sound(self, peer_id: str, *, muted: bool | None = None,
                            volume: float | None = None) -> None:
        """The TV's choice for one presenter's sound; ``muted=None`` goes back to the rule."""
        _, old_volume = self._sound.get(peer_id, (None, 1.0))
        self._sound[peer_id] = (muted, old_volume if volume is None else volume)
        self._publish_calls()  # the tiles say whose sound plays

    def set_muted(self, muted: bool) -> None:
        """Mute or unmute every presenter."""
        self.audio_muted = muted
        self.apply_sound()

    def apply_sound(self) -> set[str]:
        """Only one presenter is heard (:meth:`_sound_source`) unless the TV chose
        otherwise; returns the peer ids heard."""
        heard = self._audible()
        for call in self.calls.values():
            audio = getattr(call.link, "audio", None)
            if audio is None:
                continue
            _, volume = self._sound.get(call.peer_id, (None, 1.0))
            audio.set_muted(self.audio_muted or call.peer_id not in heard)
            audio.set_volume(volume)
        return heard

    def _publish_calls(self) -> None:
        views = tuple(k.view_of() for k in self.calls.values() if k.state in _VISIBLE)
        if self._screen is not None:  # no window: tell each sender its tile, as one would
            for key, hint in self._screen.changes(views):
                call = self.calls.get(key)
                if call is not None and call.state is not CallState.ENDED:
                    try:  # kept while pairing, sent once connecting
                        self._view(call, hint)
                    except IllegalEventError as exc:
                        self._fault(exc)
        heard = self.apply_sound()  # after the hints: they may have moved the spotlight
        views = tuple(replace(v, heard=v.peer_id in heard) for v in views)
        self._publish(calls=views, **self._primary_fields())

    def _summary(self) -> Event:
        states = {k.state for k in self.calls.values()}
        if states & set(SHOWING_STATES):
            return CallsShowing()
        if states & set(STALLED_STATES):
            return CallsStalled()
        if states & {CallState.CONNECTING, CallState.PAIRING}:
            return CallsConnecting()
        return CallsIdle()

    # -------------------------------------------------------------- CallHost
    def now(self) -> float:
        return self.clock.monotonic()

    def send(self, peer_id: str, msg: p.PeerMessage) -> None:
        self._outbox.put_nowait(("signal", peer_id, msg))

    def bye(self, peer_id: str, reason: str) -> None:
        self._outbox.put_nowait(("bye", peer_id, reason))

    def send_answer(self, peer_id: str, sdp: str) -> None:
        call = self._by_peer.get(peer_id)
        if call is not None and call.browser and call.pairing is None:
            self._outbox.put_nowait(("answer", peer_id, sdp))  # not verified, and shown so
            return
        if call is None or call.pairing is None or not call.pairing.confirmed:
            log.warning("not answering %s: its pairing is not confirmed", peer_id)
            return
        self.send(peer_id, call.pairing.confirm(sdp))  # our fingerprint, before the answer
        self._outbox.put_nowait(("answer", peer_id, sdp))

    def spawn(self, call: Call, coro: Coroutine[Any, Any, None], what: str) -> None:
        task = self._spawn(coro, what)
        call.tasks.add(task)
        task.add_done_callback(call.tasks.discard)

    def issue_pin(self, call: Call) -> str:
        return self.policy.issue_pin(call.key)

    def pin_digits(self) -> int:
        return self.policy.rules.digits

    def resume_token(self, call: Call) -> str:
        return call.resume or resume_token()

    def pair(self, call: Call) -> None:
        """Admitted: media waits for the pairing over the code (already done in PIN mode,
        where its confirmation was the PIN's proof)."""
        confirmed = call.pairing is not None and call.pairing.confirmed
        if confirmed or call.browser:  # a browser guest runs no pairing: not verified
            async def paired() -> None:  # after the move to PAIRING has finished
                self._feed_call(call, c.Paired(verified=confirmed))

            self.spawn(call, paired(), "pairing")

    # -------------------------------------------------------------- pairing
    def _pake_in(self, call: Call, msg: p.PakeMessage) -> None:
        """The sender's PAKE message: a new pairing for its new peer connection."""
        if call.state in (CallState.NEW, CallState.ASKING, CallState.ENDED):
            log.info("sender %s sent a PAKE message before it was let on", call.peer_id)
            return
        me, code = getattr(self.client, "peer_id", None), self.status.code
        if not me or not code:
            return
        pin = call.pin if call.state is CallState.PIN else None
        pairing = Pairing(PairingRole.RECEIVER, code, call.peer_id, me, pin=pin,
                          attempt=msg.attempt)
        start = pairing.start()
        try:
            pairing.receive(msg)
        except PairingError:
            log.warning("security: a malformed PAKE message from sender %s", call.peer_id)
            return
        call.pairing = pairing
        self.send(call.peer_id, start)

    def _confirm_in(self, call: Call, msg: p.KeyConfirm) -> None:
        pairing = call.pairing
        if pairing is None or msg.attempt != pairing.attempt:
            log.info("ignoring a confirmation of another pairing from %s", call.peer_id)
            return
        try:
            pairing.check_confirm(msg)
        except TamperedError:
            self._tampered(call, found_here=False)
            return
        except PairingError:
            call.pairing = None
            if call.state is CallState.PIN:  # code and PIN did not match: a wrong PIN
                check = self.policy.check_pin(call.key, "")
                log.info("sender %s typed a wrong PIN (%s)", call.peer_id, check.verdict.value)
                self._feed_call(call, c.PinRefused(check=check))
            else:
                self._tampered(call, found_here=False)
            return
        if call.state is CallState.PIN:
            # the PIN this pairing was made with (single use, rate limits)
            check = self.policy.check_pin(call.key, pairing.pin or "")
            if check.verdict is PinVerdict.RIGHT:
                self._feed_call(call, c.Allow())
            else:
                call.pairing = None
                self._feed_call(call, c.PinRefused(check=check))
        elif call.state is CallState.PAIRING:
            self._feed_call(call, c.Paired(verified=True))
        else:
            call.verified = True
            self._publish_calls()

    def _tampered(self, call: Call, *, found_here: bool) -> None:
        """Refuse the call: tell the sender (authenticated, when we found it), say why."""
        log.warning("security: the connection of sender %s was tampered with; not showing it",
                    call.peer_id)
        if found_here and call.pairing is not None:
            with contextlib.suppress(PairingError):
                self.send(call.peer_id, call.pairing.tamper_notice())
        self.bye(call.peer_id, "tampered")
        self._publish(fault=f"{call.name or 'A sender'}: {TamperedError()}")
        self._feed_call(call, c.Tampered())

    def build_link(self, call: Call, offer: c.OfferArrived) -> None:
        self.spawn(call, self._build(call, offer), "answering an offer")

    def call_changed(self, call: Call, old: CallState, new: CallState) -> None:
        self._publish_calls()
        if old is not new:
            self._feed(self._summary())
        if new in STALLED_STATES and (self._prober is None or self._prober.done()):
            self._prober = self._spawn(self._watch_network(), "probing the network")

    async def _watch_network(self) -> None:
        """While a call is reconnecting, notice the network coming back (see NetworkBack).

        A probe is started every :data:`PROBE_S` without waiting for the previous one: a
        probe whose packets the cut swallowed waits out its timeout, and the network may be
        back meanwhile. The first success after a failure says the network is back."""
        failed = False
        back = asyncio.Event()
        pending: set[asyncio.Task[bool]] = set()

        def judge(task: asyncio.Task[bool]) -> None:
            nonlocal failed
            pending.discard(task)
            if task.cancelled() or back.is_set():
                return
            if task.exception() is not None or not task.result():
                failed = True
            elif failed:
                back.set()
                self._feed(NetworkBack())

        try:
            while not back.is_set() and any(
                    k.state in STALLED_STATES for k in self.calls.values()):
                task = asyncio.ensure_future(self._probe())
                pending.add(task)
                task.add_done_callback(judge)
                await self.clock.sleep(PROBE_S)
        finally:
            for task in list(pending):
                task.cancel()

    def call_ended(self, call: Call) -> None:
        if call.verdict is not None:  # denied or stopped: the same peer is not asked again
            self._retired[call.peer_id] = call.verdict
        self.policy.forget(call.key)
        if self.phase is not None:
            self.phase.forget(call.key)
        self.calls.pop(call.key, None)
        self._locks.pop(call.key, None)
        if self._by_peer.get(call.peer_id) is call:
            del self._by_peer[call.peer_id]
        if self._spotlit == call.key:
            self._spotlit = None

    # -------------------------------------------------------------- tasks
    def _spawn(self, coro: Coroutine[Any, Any, None], what: str) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro, name=f"castapp-receiver: {what}")
        self._tasks.add(task)

        def done(t: asyncio.Task[None]) -> None:
            self._tasks.discard(t)
            if not t.cancelled() and (exc := t.exception()) is not None:
                log.error("receiver: %s failed", what, exc_info=exc)
                self._publish(fault=f"{what} failed: {exc!r}")

        task.add_done_callback(done)
        return task

    async def _send_outbox(self) -> None:
        while True:
            kind, peer, payload = await self._outbox.get()
            try:
                if kind == "signal":
                    await self.client.send_signal(peer, payload)
                elif kind == "bye":
                    await self.client.send_bye(peer, payload)
                else:
                    await self.client.send_answer(peer, payload)
            except SignalingError as exc:
                log.info("could not reach sender %s: %s", peer, exc.message)
            finally:
                self._outbox.task_done()

    async def _build(self, call: Call, offer: c.OfferArrived) -> None:
        """Answer ``offer`` unless a newer one arrived meanwhile; one build at a time."""
        def superseded() -> bool:
            return offer.gen != call.machine.generation or call.state is CallState.ENDED

        if superseded():
            return  # a newer offer came in the same burst: this one is never answered
        async with self._locks.setdefault(call.key, asyncio.Lock()):
            if superseded():
                return
            await self.clock.sleep(SETTLE_S)  # let the rest of a burst of retries arrive
            if superseded():
                return
            gen = offer.gen if offer.gen is not None else call.machine.generation
            try:  # the fingerprint the code confirmed, or nothing is applied
                if call.pairing is None and not call.browser:
                    raise PairingError("no pairing for this offer")
                if call.pairing is not None:
                    call.pairing.check_remote_sdp(offer.sdp)
            except TamperedError:
                self._tampered(call, found_here=True)
                return
            except PairingError:
                log.warning("security: an offer from %s without a confirmed pairing",
                            call.peer_id)
                self._feed_call(call, c.LinkFailed(gen=gen))
                return
            req = LinkRequest(
                offer.sdp, self._chooser(),
                on_frame=lambda f: self._frame(call, gen, f),
                on_failed=lambda: self._link_failed(call, gen),
                audio_out=self.audio_out,
                # heard at once only when nobody else is: the rule applies when it shows
                audio_muted=self.audio_muted or self._sound_source() is not None,
            )
            try:
                link = await self._links(req)
            except Exception as exc:  # broad: aiortc parsing a remote offer; the sender retries
                log.warning("could not answer %s: %s", call.peer_id, exc)
                self._feed_call(call, c.LinkFailed(gen=gen))
                return
            if not self._feed_call(call, c.LinkUp(gen=gen, link=link)):
                await close_quietly(link)

    def _link_failed(self, call: Call, gen: int) -> None:
        self._feed_call(call, c.LinkFailed(gen=gen))

    def _frame(self, call: Call, gen: int, frame: ReceivedFrame) -> None:
        if call.state is CallState.ENDED:
            return
        size = call.size  # as the published status shows it
        try:
            shown = call.frame(gen, frame)
        except IllegalEventError as exc:
            self._fault(exc)
            return
        if not shown:
            return
        if self.phase is not None and not call.browser:  # a browser has no clock to move
            self.phase.frame(call.key, frame.received_monotonic)
        if call.size != size:
            self._publish_calls()
        if self.on_call_frame is not None:
            self.on_call_frame(call.peer_id, frame)
        if self.on_frame is not None and self._primary() is call:
            self.on_frame(frame)

    def _chooser(self) -> IceChooser:
        from castapp.rtc.ice import IceChooser, IcePlan

        reg = getattr(self.client, "registration", None)
        servers = [*self.ice_servers, *(reg.ice_servers if reg else [])]
        plan = IcePlan.from_servers(servers, relay_only=self.relay_only)
        if self._ice is None:
            self._ice = IceChooser(plan)
        elif self._ice.plan != plan:
            self._ice.replan(plan)  # fresh credentials after registering again
        return self._ice

    async def _watchdog(self) -> None:
        while True:
            await self.clock.sleep(WATCH_S)
            self.tick()

    def tick(self) -> None:
        """Feed the calls' due timer events and refresh routes (the watchdog calls this)."""
        now = self.clock.monotonic()
        self._release_held(now)
        for call in list(self.calls.values()):
            event = call.due(now)
            if event is not None:
                self._feed_call(call, event)
            elif call.state in SHOWING_STATES and call.link is not None:
                route = call.link.route()
                if route is not None and route is not call.route:
                    call.route = route
                    self._publish_calls()
        self._keep_in_step(now)

    def _keep_in_step(self, now: float) -> None:
        """Ask presenters out of step to move their capture clocks (see ``phase``)."""
        if self.phase is None:
            return
        for key, shift in self.phase.due(now).items():
            call = self.calls.get(key)
            if call is not None and call.state in SHOWING_STATES:
                self.send(call.peer_id, p.Phase(shift_ms=round(shift * 1000.0, 2)))

    # -------------------------------------------------------------- room service events
    def _service_report(self, changes: dict[str, object]) -> None:
        ok = bool(changes.get("service_ok", True))
        retry = changes.get("retry_in_s")
        error = changes.get("error")
        self._feed(ServiceChanged(ok=ok, retry_in_s=retry if isinstance(retry, float) else None,
                                  error=error if isinstance(error, SignalingError) else None))

    async def _pump(self) -> None:
        async for event in self.client.events():
            try:
                self.on_service_event(event)
            except Exception as exc:  # broad: a bug, said in the status and the log; go on
                failed(log, f"receiver could not handle {type(event).__name__}", exc)
                self._publish(fault=f"handling {type(event).__name__} failed: {exc!r}")

    def on_service_event(self, ev: object) -> None:
        """One message or client event from the room service (never awaits)."""
        if isinstance(ev, p.PeerJoined) and ev.peer.role is p.Role.SENDER:
            self._joined(ev.peer.peer_id, ev.peer.name)
        elif isinstance(ev, p.PeerLeft) and ev.role is p.Role.SENDER:
            self._left(ev.peer_id, ev.reason)
        elif isinstance(ev, p.RelayedOffer):
            self._offer(ev.from_, ev.sdp)
        elif isinstance(ev, p.RelayedCandidate):
            if (call := self._by_peer.get(ev.from_)) is not None:
                self._feed_call(call, c.CandidateArrived(gen=call.machine.generation,
                                                         candidate=ev.candidate))
        elif isinstance(ev, p.RelayedBye):
            if (call := self._by_peer.get(ev.from_)) is not None:
                self._feed_call(call, c.PeerGone())
        elif isinstance(ev, p.RelayedSignal):
            self._signal(ev.from_, ev.body)
        elif isinstance(ev, ConnectionLost):
            self._feed(ServiceChanged(ok=False, retry_in_s=ev.retry_in_s))
        elif isinstance(ev, Reconnected):
            self._feed(ServiceChanged(ok=True))
        elif isinstance(ev, p.Registered):
            self._feed(Registered(reg=ev))
        elif isinstance(ev, Failed):
            self._feed(ServiceChanged(ok=False, error=ev.error))

    def _joined(self, peer_id: str, name: str) -> None:
        self._names[peer_id] = name
        if peer_id in self._by_peer or peer_id in self._retired:
            return  # back after the receiver re-registered: nothing to ask again
        if self.policy.mode is AdmissionMode.OPEN:
            # a sender coming back renamed without a token (an older sender): the same name
            # as a stalled call takes that call's place
            for call in self.calls.values():
                if call.state in STALLED_STATES and call.name == name and name:
                    self._rebind(call, peer_id)
                    return
        if name and any(call.resume and call.name == name for call in self.calls.values()):
            self._held[peer_id] = self.clock.monotonic()  # its Resume is on its way, likely
            return
        self._new_call(peer_id, name)

    def _release_held(self, now: float) -> None:
        """Held joins that did not resume in time are senders like any other."""
        for peer_id, since in list(self._held.items()):
            if now - since >= RESUME_WAIT_S:
                del self._held[peer_id]
                self._new_call(peer_id, self._names.get(peer_id, ""))

    def _new_call(self, peer_id: str, name: str) -> Call | None:
        self._free_dead_place(name)
        if len(self.calls) >= MAX_PRESENTERS:
            log.info("sender %s refused: the room is full", peer_id)
            self.send(peer_id, p.Admission(state=p.AdmissionState.FULL))
            self.bye(peer_id, "busy")
            self._retired[peer_id] = p.AdmissionState.FULL
            return None
        key = secrets.token_hex(6)
        call = Call(key, peer_id, name, self, self.timing)
        self.calls[key] = call
        self._by_peer[peer_id] = call
        first = {FirstStep.ON_SCREEN: c.OpenDoor, FirstStep.ASK_TV: c.AskTv,
                 FirstStep.ASK_PIN: c.AskPin}[self.policy.first_step()]
        self._feed_call(call, first())
        return call

    def _free_dead_place(self, name: str) -> None:
        """End at once, rather than at the end of its rejoin window, a call whose sender left
        the room service and whose pictures stopped (a laptop that crashed, or was closed):
        one under ``name`` (that laptop back without its token, as a new sender), or, with the
        room full, the one dead longest (a presenter who is here needs the place)."""
        dead = sorted((k for k in self.calls.values()
                       if k.state is CallState.RECONNECTING_DETACHED), key=lambda k: k.entered_at)
        same = [k for k in dead if name and k.name == name]
        if same:
            self._feed_call(same[0], c.WindowExpired())
        elif dead and len(self.calls) >= MAX_PRESENTERS:
            self._feed_call(dead[0], c.WindowExpired())

    def _rebind(self, call: Call, peer_id: str) -> None:
        self._held.pop(peer_id, None)
        old = call.peer_id
        if self._by_peer.get(old) is call:
            del self._by_peer[old]
        self._retired[old] = None  # whatever it still sends is superseded
        fresh = self._by_peer.get(peer_id)
        if fresh is not None and fresh is not call:  # created on its join, before it proved
            self._feed_call(fresh, c.PeerGone())  # who it is: that place is given up
        self._by_peer[peer_id] = call
        self._feed_call(call, c.Rebound(peer_id=peer_id))

    def _left(self, peer_id: str, reason: p.LeaveReason) -> None:
        self._held.pop(peer_id, None)
        self._retired.pop(peer_id, None)
        self._names.pop(peer_id, None)
        call = self._by_peer.get(peer_id)
        if call is None:
            return
        gone = reason is p.LeaveReason.LEFT
        self._feed_call(call, c.PeerGone() if gone else c.PeerDropped())

    def _offer(self, peer_id: str, sdp: str) -> None:
        call = self._by_peer.get(peer_id)
        if call is None and peer_id in self._retired:
            verdict = self._retired[peer_id]
            if verdict is not None:  # denied, stopped or full: say it again, answer nothing
                self.send(peer_id, p.Admission(state=verdict))
            return
        if call is None:  # an offer before (or without) its join: a sender all the same
            self._held.pop(peer_id, None)
            call = self._new_call(peer_id, self._names.get(peer_id, ""))
            if call is None:
                return
        gen = call.machine.next_generation()
        self._feed_call(call, c.OfferArrived(gen=gen, sdp=sdp))

    def _signal(self, peer_id: str, body: dict[str, Any]) -> None:
        try:
            msg = p.decode_peer(body)
        except p.ProtocolError as exc:
            log.warning("ignoring a bad message from %s: %s", peer_id, exc.message)
            return
        call = self._by_peer.get(peer_id)
        if isinstance(msg, p.Resume):
            for held in self.calls.values():
                if held.resume and secrets.compare_digest(held.resume, msg.token):
                    if held is not call:
                        self._rebind(held, peer_id)
                    return
            log.info("sender %s offered an unknown resume token", peer_id)
        elif isinstance(msg, p.PakeMessage) and call is not None:
            self._pake_in(call, msg)
        elif isinstance(msg, p.KeyConfirm) and call is not None:
            self._confirm_in(call, msg)
        elif isinstance(msg, p.PinAnswer) and call is not None:
            if call.state is not CallState.PIN:
                self._feed_call(call, c.PinRefused())  # out of turn: reported as such
            elif not call.browser:
                # castapp senders mix the PIN into the pairing; one in clear is not read
                log.info("sender %s sent a PIN in clear; ignored", peer_id)
            else:  # a browser guest (no pairing) types it in clear, and is shown unverified
                check = self.policy.check_pin(call.key, msg.pin)
                if check.verdict is PinVerdict.RIGHT:
                    self._feed_call(call, c.Allow())
                else:
                    log.info("sender %s typed a wrong PIN (%s)", peer_id, check.verdict.value)
                    self._feed_call(call, c.PinRefused(check=check))
        else:
            log.debug("ignoring %s from %s", type(msg).__name__, peer_id)

