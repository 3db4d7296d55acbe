"""The sender's machine: its phases, its typed events and its table.

The sender's public :class:`SenderState` is coarse (what a user is told); the machine runs on
finer :class:`Phase` values, so that "offer sent, no answer yet" or "signaling reopened while
reconnecting" are states of the table rather than flags in the code. ``STATE_OF`` maps each
phase to the state it shows.

Events that belong to one call (one peer connection) carry its generation; the machine drops
them once a newer call has replaced it. ``docs/sessions.md`` is drawn from :data:`TABLES`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from castapp.rtc.diagnose import Diagnosis
from castapp.session.events import NetworkBack as NetworkBack
from castapp.session.events import PeerDropped as PeerDropped
from castapp.session.events import StallDetected as StallDetected
from castapp.session.events import Tampered as Tampered
from castapp.session.machine import Event, Step, step


class SenderState(enum.Enum):
    IDLE = "idle"
    JOINING = "joining"  # reaching the service and joining the room
    #: joined; the TV has not let this sender on yet (waiting for approval or a PIN)
    ADMITTING = "admitting"
    CONNECTING = "connecting"  # negotiating media with the receiver
    CASTING = "casting"
    WAITING = "waiting"  # the receiver dropped; waiting for it to come back
    RECONNECTING = "reconnecting"  # media stopped; building a new connection
    ENDED = "ended"  # the cast ended; ``SenderStatus.ended`` says why


class Phase(enum.Enum):
    IDLE = "idle"
    JOINING = "joining"
    ADMITTING = "admitting"  # joined; waiting for the TV's admission (allowed, PIN, ...)
    GATHERING = "gathering"  # building the peer connection and its offer
    OFFERED = "offered"  # offer sent, no answer yet
    ANSWERED = "answered"  # answer applied, ICE checking
    CASTING = "casting"
    WAITING = "waiting"  # the receiver dropped out of the room
    LOST = "lost"  # media stopped; waiting for the network to answer again
    REGATHERING = "regathering"
    REOFFERED = "reoffered"
    RESIGNALING = "resignaling"  # our network is back: a new service connection first
    REANSWERED = "reanswered"
    DIAGNOSING = "diagnosing"  # set-up failed; finding out why
    ENDED = "ended"


STATE_OF: dict[Phase, SenderState] = {
    Phase.IDLE: SenderState.IDLE,
    Phase.JOINING: SenderState.JOINING,
    Phase.ADMITTING: SenderState.ADMITTING,
    Phase.GATHERING: SenderState.CONNECTING,
    Phase.OFFERED: SenderState.CONNECTING,
    Phase.ANSWERED: SenderState.CONNECTING,
    Phase.CASTING: SenderState.CASTING,
    Phase.WAITING: SenderState.WAITING,
    Phase.LOST: SenderState.RECONNECTING,
    Phase.REGATHERING: SenderState.RECONNECTING,
    Phase.REOFFERED: SenderState.RECONNECTING,
    Phase.RESIGNALING: SenderState.RECONNECTING,
    Phase.REANSWERED: SenderState.RECONNECTING,
    Phase.DIAGNOSING: SenderState.CONNECTING,
    Phase.ENDED: SenderState.ENDED,
}


# ---------------------------------------------------------------------- events
@dataclass(frozen=True)
class CastAsked(Event):
    code: str = ""


@dataclass(frozen=True)
class Joined(Event):
    """In the room with a receiver (first join, or a rejoin after the service came back)."""

    receiver: str = ""
    name: str = ""


@dataclass(frozen=True)
class Admitted(Event):
    """The TV let this sender on (``admission`` ``allowed``)."""

    resume: str | None = None


@dataclass(frozen=True)
class HeldBack(Event):
    """The TV has not decided yet: waiting for approval, or type the PIN (again)."""

    state: Any = "waiting"  # a protocol AdmissionState: waiting, pin or wrong_pin
    pin_digits: int = 0
    retry_after_s: float = 0.0


@dataclass(frozen=True)
class TurnedAway(Event):
    """The TV denied this sender, stopped its cast, or has no place left."""

    state: Any = "denied"  # a protocol AdmissionState: denied, stopped or full


@dataclass(frozen=True)
class ViewHinted(Event):
    """The TV says how it shows this sender (tile, size and frame rate)."""

    hint: Any = None  # a protocol ViewHint


@dataclass(frozen=True)
class PhaseAsked(Event):
    """The TV asks to move the capture clock by ``shift_s`` (its presenters in step)."""

    shift_s: float = 0.0


@dataclass(frozen=True)
class PinTyped(Event):
    """The person typed the PIN the TV shows: it goes into the pairing, never in clear."""

    pin: str = ""


@dataclass(frozen=True)
class PakeArrived(Event):
    msg: Any = None  # a protocol PakeMessage from the receiver


@dataclass(frozen=True)
class ConfirmArrived(Event):
    msg: Any = None  # a protocol KeyConfirm from the receiver


@dataclass(frozen=True)
class JoinFailed(Event):
    error: Any = None  # a SignalingError


@dataclass(frozen=True)
class PeerBack(Event):
    """A receiver (re)joined the room, possibly under a new peer id."""

    receiver: str = ""
    name: str = ""


@dataclass(frozen=True)
class OfferReady(Event):
    peer: Any = field(default=None, compare=False)  # an OfferPeer


@dataclass(frozen=True)
class AnswerArrived(Event):
    sdp: str = ""


@dataclass(frozen=True)
class CandidateArrived(Event):
    candidate: Any = None  # an aiortc RTCIceCandidate, or None for end-of-candidates


@dataclass(frozen=True)
class MediaUp(Event):
    pass


@dataclass(frozen=True)
class MediaFailed(Event):
    pass


@dataclass(frozen=True)
class NetworkUp(Event):
    """The STUN/TURN server answered at once (or there is none to ask): our network is up,
    and the break was on the path or on the other side."""


@dataclass(frozen=True)
class RetryDue(Event):
    pass


@dataclass(frozen=True)
class TurnFailed(Event):
    """The TURN server refused the credentials or its certificate is not trusted."""

    diagnosis: Diagnosis = Diagnosis.TURN_REFUSED


@dataclass(frozen=True)
class DeadlinePassed(Event):
    pass


@dataclass(frozen=True)
class Diagnosed(Event):
    diagnosis: Diagnosis = Diagnosis.NO_PATH


@dataclass(frozen=True)
class PeerLeft(Event):
    """The receiver ended the cast (a bye, or it left the room)."""


@dataclass(frozen=True)
class Refused(Event):
    """The receiver is busy with another sender."""


@dataclass(frozen=True)
class RoomClosed(Event):
    pass


@dataclass(frozen=True)
class SourceFailed(Event):
    error: str = ""


@dataclass(frozen=True)
class ServiceLost(Event):
    retry_in_s: float = 0.0


@dataclass(frozen=True)
class ServiceBack(Event):
    pass


@dataclass(frozen=True)
class ServiceFailed(Event):
    error: Any = None  # a SignalingError


@dataclass(frozen=True)
class TaskFailed(Event):
    task: str = ""
    error: str = ""


@dataclass(frozen=True)
class StopAsked(Event):
    pass


@dataclass(frozen=True)
class Tick(Event):
    quiet = True


# ---------------------------------------------------------------------- the table
P = Phase
SETUP = (P.GATHERING, P.OFFERED, P.ANSWERED)
RECOVERY = (P.LOST, P.REGATHERING, P.REOFFERED, P.RESIGNALING, P.REANSWERED)
WITH_CALL = (*SETUP, P.CASTING, *RECOVERY)
ACTIVE = (P.JOINING, P.ADMITTING, *WITH_CALL, P.WAITING, P.DIAGNOSING)
OVER = (P.IDLE, P.ENDED)

TABLE: dict[tuple[Phase, type[Event]], Step[Phase]] = {
    (P.IDLE, CastAsked): step(P.JOINING, "begin", "join"),
    (P.ENDED, CastAsked): step(P.JOINING, "begin", "join"),
    (P.IDLE, StopAsked): step(P.IDLE),
    (P.ENDED, StopAsked): step(P.IDLE, "leave"),
    (P.JOINING, Joined): step(P.ADMITTING, "joined", "start_source", "replan", "check_turn",
                              "wait_admission"),
    (P.JOINING, JoinFailed): step(P.IDLE, "join_failed"),
    # the TV's answer can overtake our own join (open mode answers at once): kept for later
    (P.JOINING, Admitted): step(P.JOINING, "keep_admission"),
    (P.JOINING, HeldBack): step(P.JOINING, "keep_admission"),
    (P.JOINING, StopAsked): step(P.IDLE, "cancel_join", "leave"),
    # the TV decides: no offer before it allows this sender (the connect deadline waits)
    (P.ADMITTING, HeldBack): step(P.ADMITTING, "held_back"),
    (P.ADMITTING, Admitted): step(P.GATHERING, "admitted", "build_call"),
    (P.ADMITTING, Joined): step(P.ADMITTING, "replan"),
    (P.ADMITTING, PeerBack): step(P.ADMITTING, "note_receiver"),
    (P.ADMITTING, DeadlinePassed): step(P.DIAGNOSING, "diagnose"),
    (P.ADMITTING, PeerDropped): step(P.WAITING),
    (P.ADMITTING, TurnFailed): step(P.ADMITTING, "turn_failed"),
    # PIN mode: the PIN goes into the pairing (the offer waits for "allowed")
    (P.ADMITTING, PinTyped): step(P.GATHERING, "pin_typed", "build_call"),
    (P.GATHERING, PinTyped): step(P.GATHERING, "pin_typed", "build_call"),
    (P.OFFERED, PinTyped): step(P.GATHERING, "pin_typed", "build_call"),
    # a fresh receiver asks again: back to the waiting room, no offer meanwhile
    (P.WAITING, HeldBack): step(P.ADMITTING, "held_back"),
    (P.GATHERING, HeldBack): step(P.ADMITTING, "drop_call", "held_back"),
    (P.OFFERED, HeldBack): step(P.ADMITTING, "drop_call", "held_back"),
    # setting up
    (P.GATHERING, OfferReady): step(P.OFFERED, "send_offer"),
    (P.GATHERING, Joined): step(P.GATHERING, "replan"),
    (P.GATHERING, PeerBack): step(P.GATHERING, "note_receiver"),
    (P.OFFERED, AnswerArrived): step(P.ANSWERED, "apply_answer"),
    (P.OFFERED, Joined): step(P.GATHERING, "replan", "build_call"),  # the offer went with
    (P.OFFERED, PeerBack): step(P.GATHERING, "note_receiver", "build_call"),  # the old link
    (P.ANSWERED, MediaUp): step(P.CASTING, "casting"),
    (P.ANSWERED, MediaFailed): step(P.DIAGNOSING, "diagnose", "drop_call"),
    (P.ANSWERED, Joined): step(P.ANSWERED, "replan"),
    (P.ANSWERED, PeerBack): step(P.ANSWERED, "note_receiver"),
    # casting
    (P.CASTING, StallDetected): step(P.LOST, "drop_call", "count_reconnect", "wait_network"),
    (P.CASTING, MediaFailed): step(P.LOST, "drop_call", "count_reconnect", "wait_network"),
    (P.CASTING, Joined): step(P.CASTING, "replan"),
    (P.CASTING, PeerBack): step(P.CASTING, "note_receiver"),
    # the receiver dropped out of the room
    (P.WAITING, PeerBack): step(P.GATHERING, "note_receiver", "build_call"),
    (P.WAITING, Joined): step(P.GATHERING, "replan", "build_call"),
    (P.WAITING, PeerDropped): step(P.WAITING),
    # reconnecting: one rebuild at a time
    # the network is back: a new service connection first (the old one may sit in TCP
    # back-off for seconds), then the call
    (P.LOST, NetworkBack): step(P.RESIGNALING, "refresh_signaling"),
    (P.LOST, NetworkUp): step(P.REGATHERING, "build_call"),
    (P.LOST, Joined): step(P.LOST, "replan"),
    (P.LOST, PeerBack): step(P.LOST, "note_receiver"),
    (P.REGATHERING, OfferReady): step(P.REOFFERED, "send_offer"),
    (P.REGATHERING, Joined): step(P.REGATHERING, "replan"),
    (P.REGATHERING, PeerBack): step(P.REGATHERING, "note_receiver"),
    (P.REOFFERED, AnswerArrived): step(P.REANSWERED, "apply_answer"),
    # no answer: the receiver is not reachable yet, or our service connection is stale
    # (not the path's fault); a new service connection, then one new offer
    (P.REOFFERED, RetryDue): step(P.RESIGNALING, "drop_call", "refresh_signaling"),
    (P.REOFFERED, Joined): step(P.REGATHERING, "replan", "build_call"),
    (P.REOFFERED, PeerBack): step(P.REGATHERING, "note_receiver", "build_call"),
    (P.RESIGNALING, Joined): step(P.REGATHERING, "replan", "build_call"),
    (P.RESIGNALING, PeerBack): step(P.REGATHERING, "note_receiver", "build_call"),
    (P.RESIGNALING, RetryDue): step(P.LOST, "drop_call", "wait_network"),
    (P.REANSWERED, MediaUp): step(P.CASTING, "casting"),
    (P.REANSWERED, MediaFailed): step(P.LOST, "drop_call", "path_failed", "wait_network"),
    (P.REANSWERED, RetryDue): step(P.LOST, "drop_call", "path_failed", "wait_network"),
    (P.REANSWERED, Joined): step(P.REANSWERED, "replan"),
    (P.REANSWERED, PeerBack): step(P.REANSWERED, "note_receiver"),
    # finding out why set-up failed
    (P.DIAGNOSING, Diagnosed): step(P.ENDED, "media_failed"),
    (P.DIAGNOSING, Joined): step(P.DIAGNOSING),
    (P.DIAGNOSING, PeerBack): step(P.DIAGNOSING),
    (P.DIAGNOSING, TurnFailed): step(P.DIAGNOSING),
    (P.DIAGNOSING, PeerDropped): step(P.DIAGNOSING),
}

for _p in (*SETUP, *RECOVERY):
    TABLE[(_p, DeadlinePassed)] = step(P.DIAGNOSING, "diagnose", "drop_call")
for _p in (P.OFFERED, P.ANSWERED, P.CASTING, P.REOFFERED, P.REANSWERED):
    TABLE[(_p, CandidateArrived)] = step(_p, "add_candidate")
for _p in (*WITH_CALL, P.WAITING):
    TABLE[(_p, TurnFailed)] = step(_p, "turn_failed")
for _p in (*WITH_CALL, P.WAITING):
    TABLE[(_p, PeerDropped)] = step(P.WAITING, "drop_call")
for _p in (P.ANSWERED, P.CASTING, *RECOVERY, P.DIAGNOSING):
    # a rejoin under a new peer id is asked again until our resume token is read: the
    # place is kept, the call goes on
    TABLE[(_p, HeldBack)] = step(_p, "note_admission")
for _p in (*WITH_CALL, P.WAITING, P.DIAGNOSING):
    TABLE[(_p, Admitted)] = step(_p, "admitted")
for _p in ACTIVE:
    if (_p, PinTyped) not in TABLE:
        TABLE[(_p, PinTyped)] = step(_p)  # not asked for one now: nothing to do
    TABLE[(_p, PakeArrived)] = step(_p, "pake_in")
    TABLE[(_p, ConfirmArrived)] = step(_p, "confirm_in")
    TABLE[(_p, Tampered)] = step(P.ENDED, "tampered", "drop_call")
    TABLE[(_p, Tick)] = step(_p, "watch")
    TABLE[(_p, ViewHinted)] = step(_p, "view_hinted")
    TABLE[(_p, PhaseAsked)] = step(_p, "phase_asked")
    TABLE[(_p, TurnedAway)] = step(P.ENDED, "drop_call", "turned_away")
    TABLE[(_p, PeerLeft)] = step(P.ENDED, "drop_call", "receiver_stopped")
    TABLE[(_p, Refused)] = step(P.ENDED, "drop_call", "receiver_busy")
    TABLE[(_p, RoomClosed)] = step(P.ENDED, "drop_call", "room_closed")
    TABLE[(_p, SourceFailed)] = step(P.ENDED, "drop_call", "say_bye", "source_failed")
    TABLE[(_p, ServiceFailed)] = step(P.ENDED, "drop_call", "service_failed")
    TABLE[(_p, TaskFailed)] = step(P.ENDED, "drop_call", "say_bye", "task_failed")
    if _p is not P.JOINING:
        TABLE[(_p, StopAsked)] = step(P.IDLE, "drop_call", "say_bye", "leave")
for _p in (*ACTIVE, *OVER):
    TABLE[(_p, ServiceLost)] = step(_p, "service_lost")
    TABLE[(_p, ServiceBack)] = step(_p, "service_back")
for _p in OVER:
    # after the cast: events already on their way are expected and change nothing
    for _e in (Tick, Joined, PeerBack, PeerDropped, PeerLeft, Refused, RoomClosed,
               TurnFailed, SourceFailed, ServiceFailed, Admitted, HeldBack, TurnedAway,
               ViewHinted, PhaseAsked, PinTyped, PakeArrived, ConfirmArrived, Tampered):
        TABLE[(_p, _e)] = step(_p)
    TABLE[(_p, TaskFailed)] = step(_p, "task_failed")

#: What ``scripts/render_machines.py`` draws: (title, table, initial, finals).
TABLES = [("Sender", TABLE, Phase.IDLE, (Phase.IDLE,))]
