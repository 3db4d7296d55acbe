"""One sender's call on the receiver: admission, (pairing), media, stalls, the end.

Each sender in the room gets its own :class:`Call` with its own :class:`Machine`, so a stall
or failure of one never touches the others. The table :data:`CALL_TABLE` is the whole
behaviour; :class:`Call` carries the call's data (peer id, latest offer, link, timestamps)
and performs the named actions through its :class:`CallHost` (the receiver session), which
owns the signaling client, the supervised tasks and the clock.

Every offer opens a new generation. The link built for it, its frames and its failure carry
that generation, so whatever belongs to a superseded offer (a queued retry, a late build) is
dropped by the machine without a transition.

PAIRING waits for the PAKE over the cast code (:mod:`castapp.pairing`, run by the receiver
session on the sender's ``pake`` and ``confirm`` messages): ``Paired(verified=True)`` once the
sender's confirmation checks, and only then is an offer answered, after its DTLS fingerprint
is checked against the confirmed one. In PIN mode the pairing runs in PIN over code and PIN:
its confirmation is the PIN's proof. ``Tampered`` ends a call whose SDP was not the one the
code confirmed.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from castapp import protocol as p
from castapp.session.admission import PinCheck, PinVerdict
from castapp.session.events import PeerDropped as PeerDropped
from castapp.session.events import StallDetected as StallDetected
from castapp.session.events import Tampered as Tampered
from castapp.session.machine import Event, Machine, Table, step
from castapp.session.receive_link import Link, LinkStats, close_quietly
from castapp.session.room import CallPhase, CallView, split_browser_mark

if TYPE_CHECKING:
    from castapp.rtc.peer import Route
    from castapp.rtc.receive import ReceivedFrame

log = logging.getLogger(__name__)


class CallState(enum.Enum):
    NEW = "new"
    ASKING = "asking"  # the TV is asked to allow this sender
    PIN = "pin"  # the sender must type the PIN the TV shows
    PAIRING = "pairing"  # admitted; the pairing over the cast code runs before media
    CONNECTING = "connecting"  # answering the offer, waiting for the first frame
    SHOWING = "showing"  # frames arrive
    RECONNECTING = "reconnecting"  # frames stopped; the last one stays on screen
    # the same two after the sender's connection to the room service dropped: it comes back
    # under a new peer id within the rejoin window, or it is gone
    SHOWING_DETACHED = "showing_detached"
    RECONNECTING_DETACHED = "reconnecting_detached"
    ENDED = "ended"


# -------------------------------------------------------------------- events
@dataclass(frozen=True)
class OpenDoor(Event):
    """Open mode: the sender goes straight on."""


@dataclass(frozen=True)
class AskTv(Event):
    """Approve mode: the TV is asked."""


@dataclass(frozen=True)
class AskPin(Event):
    """PIN mode: a PIN is shown on the TV."""


@dataclass(frozen=True)
class Allow(Event):
    """The TV allowed the sender, or it typed the right PIN."""


@dataclass(frozen=True)
class Deny(Event):
    """The TV refused the sender."""


@dataclass(frozen=True)
class PinRefused(Event):
    #: None: a PIN sent out of turn (none was asked for).
    check: PinCheck | None = None


@dataclass(frozen=True)
class Paired(Event):
    verified: bool = False


@dataclass(frozen=True)
class PairingFailed(Event):
    pass


@dataclass(frozen=True)
class OfferArrived(Event):
    sdp: str = ""


@dataclass(frozen=True)
class CandidateArrived(Event):
    candidate: p.IceCandidate | None = None


@dataclass(frozen=True)
class LinkUp(Event):
    link: Any = None  # the Link built for this generation


@dataclass(frozen=True)
class LinkFailed(Event):
    pass


@dataclass(frozen=True)
class FrameArrived(Event):
    quiet = True


@dataclass(frozen=True)
class WindowExpired(Event):
    """The recovery window passed without frames."""


@dataclass(frozen=True)
class ConnectTimedOut(Event):
    pass


@dataclass(frozen=True)
class Rebound(Event):
    """The sender came back under a new peer id and proved it is the same sender."""

    peer_id: str = ""


@dataclass(frozen=True)
class PeerGone(Event):
    """The sender said goodbye (bye, or left the room)."""


@dataclass(frozen=True)
class StopByTv(Event):
    pass


@dataclass(frozen=True)
class Shutdown(Event):
    """The receiver is closing."""


@dataclass(frozen=True)
class ViewChanged(Event):
    hint: p.ViewHint | None = None


# -------------------------------------------------------------------- table
C = CallState


def _live(state: CallState, *, stop: bool = True) -> dict[tuple[CallState, type[Event]], Any]:
    rows: dict[tuple[CallState, type[Event]], Any] = {
        (state, PeerGone): step(C.ENDED, "finish"),
        (state, Tampered): step(C.ENDED, "finish"),
        (state, Shutdown): step(C.ENDED, "bye_closed", "finish"),
    }
    if stop:
        rows[(state, StopByTv)] = step(C.ENDED, "tell_stopped", "finish")
    return rows


def _before_media(state: CallState) -> dict[tuple[CallState, type[Event]], Any]:
    """Rows shared by ASKING, PIN and PAIRING: no media yet, the offer waits."""
    return {
        (state, OfferArrived): step(state, "hold_offer"),
        (state, CandidateArrived): step(state),
        (state, PeerDropped): step(C.ENDED, "finish"),
    }


def _waiting_room(state: CallState) -> dict[tuple[CallState, type[Event]], Any]:
    """Rows shared by ASKING and PIN: the sender is not on screen yet."""
    return {
        **_live(state, stop=False),
        **_before_media(state),
        (state, Allow): step(C.PAIRING, "tell_allowed", "pair"),
        (state, Deny): step(C.ENDED, "tell_denied", "finish"),
    }


def _media(state: CallState) -> dict[tuple[CallState, type[Event]], Any]:
    """Rows shared by CONNECTING, SHOWING and RECONNECTING."""
    return {
        **_live(state),
        (state, OfferArrived): step(state, "build"),
        (state, LinkUp): step(state, "use_link", "send_answer"),
        (state, CandidateArrived): step(state, "add_candidate"),
        (state, Rebound): step(state, "rebind"),
        (state, ViewChanged): step(state, "send_view"),
    }


CALL_TABLE: Table[CallState] = {
    (C.NEW, OpenDoor): step(C.PAIRING, "tell_allowed", "pair"),
    (C.NEW, AskTv): step(C.ASKING, "tell_waiting"),
    (C.NEW, AskPin): step(C.PIN, "ask_pin"),
    **_waiting_room(C.ASKING),
    **_waiting_room(C.PIN),
    (C.PIN, PinRefused): step(C.PIN, "tell_wrong_pin"),
    **_live(C.PAIRING),
    **_before_media(C.PAIRING),
    (C.PAIRING, Paired): step(C.CONNECTING, "answer_held"),
    (C.PAIRING, PairingFailed): step(C.ENDED, "tell_denied", "finish"),
    (C.PAIRING, ViewChanged): step(C.PAIRING, "keep_view"),
    (C.PAIRING, Rebound): step(C.PAIRING, "rebind"),
    (C.PAIRING, ConnectTimedOut): step(C.ENDED, "bye_failed", "finish"),  # never paired
    **_media(C.CONNECTING),
    (C.CONNECTING, PeerDropped): step(C.CONNECTING),  # it may come back renamed meanwhile
    (C.CONNECTING, LinkFailed): step(C.CONNECTING, "drop_link"),
    (C.CONNECTING, FrameArrived): step(C.SHOWING, "shown"),
    (C.CONNECTING, ConnectTimedOut): step(C.ENDED, "bye_failed", "finish"),
    **_media(C.SHOWING),
    (C.SHOWING, FrameArrived): step(C.SHOWING),
    (C.SHOWING, StallDetected): step(C.RECONNECTING, "mark_lost"),
    (C.SHOWING, LinkFailed): step(C.RECONNECTING, "drop_link", "mark_lost"),
    **_media(C.RECONNECTING),
    (C.RECONNECTING, FrameArrived): step(C.SHOWING, "shown"),
    (C.RECONNECTING, LinkFailed): step(C.RECONNECTING, "drop_link"),
    (C.RECONNECTING, WindowExpired): step(C.ENDED, "bye_lost", "finish"),
    # the sender left the service: media may go on (it is peer to peer) until it rejoins
    (C.SHOWING, PeerDropped): step(C.SHOWING_DETACHED),
    (C.RECONNECTING, PeerDropped): step(C.RECONNECTING_DETACHED),
    **_media(C.SHOWING_DETACHED),
    (C.SHOWING_DETACHED, FrameArrived): step(C.SHOWING_DETACHED),
    (C.SHOWING_DETACHED, StallDetected): step(C.RECONNECTING_DETACHED, "mark_lost"),
    (C.SHOWING_DETACHED, LinkFailed): step(C.RECONNECTING_DETACHED, "drop_link", "mark_lost"),
    (C.SHOWING_DETACHED, Rebound): step(C.SHOWING, "rebind"),
    (C.SHOWING_DETACHED, PeerDropped): step(C.SHOWING_DETACHED),
    **_media(C.RECONNECTING_DETACHED),
    (C.RECONNECTING_DETACHED, FrameArrived): step(C.SHOWING_DETACHED, "shown"),
    (C.RECONNECTING_DETACHED, LinkFailed): step(C.RECONNECTING_DETACHED, "drop_link"),
    (C.RECONNECTING_DETACHED, Rebound): step(C.RECONNECTING, "rebind"),
    (C.RECONNECTING_DETACHED, PeerDropped): step(C.RECONNECTING_DETACHED),
    (C.RECONNECTING_DETACHED, WindowExpired): step(C.ENDED, "bye_lost", "finish"),
}

CALL_FINALS = (C.ENDED,)
SHOWING_STATES = (C.SHOWING, C.SHOWING_DETACHED)
STALLED_STATES = (C.RECONNECTING, C.RECONNECTING_DETACHED)

_PHASES = {
    C.NEW: CallPhase.ASKING, C.ASKING: CallPhase.ASKING, C.PIN: CallPhase.PIN,
    C.PAIRING: CallPhase.CONNECTING, C.CONNECTING: CallPhase.CONNECTING,
    C.SHOWING: CallPhase.SHOWING, C.RECONNECTING: CallPhase.RECONNECTING,
    C.SHOWING_DETACHED: CallPhase.SHOWING, C.RECONNECTING_DETACHED: CallPhase.RECONNECTING,
    C.ENDED: CallPhase.RECONNECTING,  # never published: an ended call leaves the status
}


# -------------------------------------------------------------------- the call
class CallHost(Protocol):
    """What a call needs from the receiver session."""

    def now(self) -> float: ...

    def send(self, peer_id: str, msg: p.PeerMessage) -> None: ...

    def bye(self, peer_id: str, reason: str) -> None: ...

    def send_answer(self, peer_id: str, sdp: str) -> None: ...

    def spawn(self, call: Call, coro: Coroutine[Any, Any, None], what: str) -> None: ...

    def issue_pin(self, call: Call) -> str: ...

    def pin_digits(self) -> int: ...

    def resume_token(self, call: Call) -> str: ...

    def pair(self, call: Call) -> None: ...

    def build_link(self, call: Call, offer: OfferArrived) -> None: ...

    def call_changed(self, call: Call, old: CallState, new: CallState) -> None: ...

    def call_ended(self, call: Call) -> None: ...


@dataclass
class Timing:
    stall_s: float = 2.0
    recovery_window_s: float = 120.0
    connect_timeout_s: float = 30.0
    #: How long a stalled sender that left the room service has to come back (rejoin).
    rejoin_window_s: float = 20.0


@dataclass(eq=False)
class Call:
    """One sender's call; ``key`` stays the same when the sender comes back renamed."""

    key: str
    peer_id: str
    name: str
    host: CallHost
    timing: Timing
    machine: Machine[CallState] = field(init=False)
    offer: OfferArrived | None = None  # the newest offer, answered once admitted
    link: Link | None = None
    pin: str | None = None
    resume: str | None = None
    #: What the sender was last told if the TV turned it away (denied, stopped).
    verdict: p.AdmissionState | None = None
    view: p.ViewHint | None = None
    verified: bool = False
    #: The pairing of the sender's current peer connection (a castapp.pairing.Pairing).
    pairing: Any = None
    entered_at: float = 0.0
    frame_at: float = 0.0
    lost_at: float = 0.0
    reconnects: int = 0
    route: Route | None = None
    size: tuple[int, int] = (0, 0)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.machine = Machine(f"call {self.peer_id}", CALL_TABLE, CallState.NEW,
                               self._perform, self._changed)
        self.entered_at = self.host.now()

    @property
    def state(self) -> CallState:
        return self.machine.state

    @property
    def browser(self) -> bool:
        """A browser guest: it runs no pairing, so it is shown "not verified"."""
        return split_browser_mark(self.name)[1]

    def handle(self, event: Event) -> bool:
        return self.machine.handle(event)

    @property
    def has_sound(self) -> bool:
        """Whether the presenter's sound arrives (its link plays an audio track)."""
        return getattr(self.link, "audio", None) is not None

    def view_of(self) -> CallView:
        """What the TV is told of this call (``heard`` is the session's to set)."""
        name, browser = split_browser_mark(self.name)
        return CallView(
            peer_id=self.peer_id, name=name, browser=browser, phase=_PHASES[self.state],
            pin=self.pin if self.state is CallState.PIN else None, verified=self.verified,
            width=self.size[0], height=self.size[1], route=self.route,
            reconnects=self.reconnects, key=self.key, sound=self.has_sound,
        )

    def due(self, now: float) -> Event | None:
        """The timer event that is due now, if any (the session's watchdog feeds it)."""
        t = self.timing
        if self.state in SHOWING_STATES and now - self.frame_at > t.stall_s:
            return StallDetected()
        if self.state in STALLED_STATES and now - self.lost_at > t.recovery_window_s:
            return WindowExpired()
        if (self.state is CallState.RECONNECTING_DETACHED
                and now - self.entered_at > t.rejoin_window_s):
            return WindowExpired()
        if self.state in (CallState.PAIRING, CallState.CONNECTING) \
                and now - self.entered_at > t.connect_timeout_s:
            return ConnectTimedOut()
        return None

    def frame(self, gen: int, frame: ReceivedFrame) -> bool:
        """A decoded frame of generation ``gen``; False when it belongs to a superseded link."""
        if not self.handle(FrameArrived(gen=gen)):
            return False
        self.frame_at = self.host.now()
        self.size = (frame.width, frame.height)
        return True

    async def stats(self) -> LinkStats | None:
        return await self.link.stats() if self.link is not None else None

    # -------------------------------------------------------------- actions
    def _changed(self, old: CallState, new: CallState) -> None:
        self.entered_at = self.host.now()
        self.host.call_changed(self, old, new)

    def _perform(self, action: str, event: Event) -> None:
        getattr(self, f"_do_{action}")(event)

    def _admission(self, state: p.AdmissionState, **kw: Any) -> None:
        self.host.send(self.peer_id, p.Admission(state=state, **kw))

    def _do_tell_waiting(self, event: Event) -> None:
        self._admission(p.AdmissionState.WAITING)

    def _do_ask_pin(self, event: Event) -> None:
        self.pin = self.host.issue_pin(self)
        self._admission(p.AdmissionState.PIN, pin_digits=self.host.pin_digits())

    def _do_tell_wrong_pin(self, event: Event) -> None:
        assert isinstance(event, PinRefused)
        check = event.check or PinCheck(PinVerdict.NO_PIN)
        if check.verdict is PinVerdict.BURNT:
            self.pin = self.host.issue_pin(self)  # a new one on the TV; the old one is spent
            self.host.call_changed(self, self.state, self.state)
        self._admission(p.AdmissionState.WRONG_PIN, pin_digits=self.host.pin_digits(),
                        retry_after_s=round(check.retry_after_s, 1))

    def _do_tell_allowed(self, event: Event) -> None:
        self.pin = None
        self.resume = self.host.resume_token(self)
        self._admission(p.AdmissionState.ALLOWED, resume=self.resume)

    def _turn_away(self, verdict: p.AdmissionState, reason: str) -> None:
        self.verdict = verdict
        self._admission(verdict)
        self.host.bye(self.peer_id, reason)

    def _do_tell_denied(self, event: Event) -> None:
        self._turn_away(p.AdmissionState.DENIED, "denied")

    def _do_tell_stopped(self, event: Event) -> None:
        self._turn_away(p.AdmissionState.STOPPED, "stopped by the receiver")

    def _do_bye_closed(self, event: Event) -> None:
        self.host.bye(self.peer_id, "receiver closed")

    def _do_bye_failed(self, event: Event) -> None:
        self.host.bye(self.peer_id, "no connection")

    def _do_bye_lost(self, event: Event) -> None:
        self.host.bye(self.peer_id, "no picture")

    def _do_pair(self, event: Event) -> None:
        self.host.pair(self)

    def _do_hold_offer(self, event: Event) -> None:
        assert isinstance(event, OfferArrived)
        self.offer = event

    def _do_answer_held(self, event: Event) -> None:
        assert isinstance(event, Paired)
        self.verified = event.verified
        if self.offer is not None and self.offer.gen == self.machine.generation:
            self.host.build_link(self, self.offer)
        self._resend_view()

    def _do_build(self, event: Event) -> None:
        assert isinstance(event, OfferArrived)
        self.offer = event
        self.host.build_link(self, event)

    def _close(self, link: Link | None, what: str) -> None:
        if link is not None:
            self.host.spawn(self, close_quietly(link), what)

    def _resend_view(self) -> None:
        if self.view is not None:
            self.host.send(self.peer_id, self.view)

    def _do_use_link(self, event: Event) -> None:
        assert isinstance(event, LinkUp)
        old, self.link = self.link, event.link
        self._close(old, "closing a replaced connection")

    def _do_send_answer(self, event: Event) -> None:
        assert self.link is not None
        self.host.send_answer(self.peer_id, self.link.answer_sdp)

    def _do_drop_link(self, event: Event) -> None:
        old, self.link = self.link, None
        self.route = None
        self._close(old, "closing a failed connection")

    def _do_add_candidate(self, event: Event) -> None:
        assert isinstance(event, CandidateArrived)
        if self.link is not None:
            self.host.spawn(self, self.link.add_candidate(event.candidate), "adding a candidate")

    def _do_shown(self, event: Event) -> None:
        self.frame_at = self.host.now()
        self.route = self.link.route() if self.link is not None else None

    def _do_mark_lost(self, event: Event) -> None:
        self.lost_at = self.host.now()
        self.reconnects += 1
        log.info("frames from %s stopped; holding the last one while it reconnects",
                 self.peer_id)

    def _do_rebind(self, event: Event) -> None:
        assert isinstance(event, Rebound)
        log.info("sender %s is back as %s", self.peer_id, event.peer_id)
        self.peer_id = event.peer_id
        self.machine.name = f"call {event.peer_id}"
        self._admission(p.AdmissionState.ALLOWED, resume=self.resume)  # still on, in its place
        self._resend_view()
        self.host.call_changed(self, self.state, self.state)

    def _do_send_view(self, event: Event) -> None:
        assert isinstance(event, ViewChanged) and event.hint is not None
        self.view = event.hint
        self.host.send(self.peer_id, event.hint)

    def _do_keep_view(self, event: Event) -> None:
        assert isinstance(event, ViewChanged)
        self.view = event.hint

    def _do_finish(self, event: Event) -> None:
        self.pairing = None
        self.machine.next_generation()  # whatever is still on its way is stale now
        link, self.link = self.link, None
        self.pin = None
        for task in self.tasks:
            task.cancel()
        self._close(link, "closing an ended call")
        self.host.call_ended(self)


TABLES = [("Receiver: one call per sender", CALL_TABLE, CallState.NEW, CALL_FINALS)]
