"""The receiver's own machine: its states, status, events and table.

The running states summarise the calls (:mod:`castapp.session.call` has one machine per
sender): any call showing -> RECEIVING; else any stalled -> RECONNECTING; else any
negotiating -> CONNECTING; else WAITING (senders may be asking to come on).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from castapp.session.events import NetworkBack as NetworkBack
from castapp.session.machine import Event, Table, step
from castapp.session.room import AdmissionMode, CallView

if TYPE_CHECKING:  # annotations only: the window imports this before the network stack
    from castapp import protocol as p
    from castapp.rtc.peer import Route
    from castapp.signaling.client import SignalingError


class ReceiverState(enum.Enum):
    STARTING = "starting"  # reaching the room service
    WAITING = "waiting"  # showing the code (senders may be asking to come on)
    CONNECTING = "connecting"  # a sender is negotiating; none on screen yet
    RECEIVING = "receiving"  # at least one sender's frames arrive
    RECONNECTING = "reconnecting"  # every sender on screen stalled; last frames held
    STOPPED = "stopped"


@dataclass(frozen=True)
class ReceiverStatus:
    state: ReceiverState
    code: str | None = None
    #: The code as people read it: ``482 913``.
    display_code: str | None = None
    #: Display name of the spotlit (or first) sender on screen or negotiating.
    sender: str | None = None
    #: False while the room service is out of reach; media keeps flowing meanwhile.
    service_ok: bool = True
    retry_in_s: float | None = None
    error: SignalingError | None = None
    #: How the spotlit (or first) sender's media travels; None while none is showing.
    route: Route | None = None
    #: Times that sender's frames stopped and came back, since it began.
    reconnects: int = 0
    #: Every sender in the room, in the order they arrived (at most ``MAX_PRESENTERS``).
    #: The session always fills it; None only in a status made without call details (a
    #: presenter then draws the one sender of ``state``/``sender``).
    calls: tuple[CallView, ...] | None = None
    admission: AdmissionMode = AdmissionMode.OPEN
    #: The last event that arrived out of turn (a bug or a hostile peer), for the log view.
    fault: str | None = None


# -------------------------------------------------------------------- receiver events
@dataclass(frozen=True)
class Registered(Event):
    reg: p.Registered | None = None


@dataclass(frozen=True)
class StartFailed(Event):
    error: SignalingError | None = None


@dataclass(frozen=True)
class Stop(Event):
    pass


@dataclass(frozen=True)
class ServiceChanged(Event):
    """The room service went out of reach, came back, or failed for good."""

    ok: bool = True
    retry_in_s: float | None = None
    error: SignalingError | None = None


@dataclass(frozen=True)
class CallsIdle(Event):
    """No sender is on screen or negotiating (some may be asking)."""


@dataclass(frozen=True)
class CallsConnecting(Event):
    pass


@dataclass(frozen=True)
class CallsShowing(Event):
    pass


@dataclass(frozen=True)
class CallsStalled(Event):
    """Every sender that was on screen stopped; their last frames stay."""


R = ReceiverState
_SUMMARY: dict[type[Event], ReceiverState] = {
    CallsIdle: R.WAITING, CallsConnecting: R.CONNECTING,
    CallsShowing: R.RECEIVING, CallsStalled: R.RECONNECTING,
}


def _running(state: ReceiverState) -> dict[tuple[ReceiverState, type[Event]], Any]:
    rows: dict[tuple[ReceiverState, type[Event]], Any] = {
        (state, Registered): step(state, "show_code"),
        (state, ServiceChanged): step(state, "show_service"),
        (state, Stop): step(R.STOPPED, "end_calls", "close_service"),
        # after an outage the old connection to the service can sit in TCP back-off for
        # many seconds, holding the senders' new offers: a new one goes through at once
        (state, NetworkBack): step(state, "refresh_service"),
    }
    for event, target in _SUMMARY.items():
        rows[(state, event)] = step(target)
    return rows


RECEIVER_TABLE: Table[ReceiverState] = {
    (R.STARTING, Registered): step(R.WAITING, "show_code", "supervise"),
    (R.STARTING, ServiceChanged): step(R.STARTING, "show_service"),
    (R.STARTING, StartFailed): step(R.STOPPED, "show_failure", "close_service"),
    (R.STARTING, Stop): step(R.STOPPED, "close_service"),
    **_running(R.WAITING),
    **_running(R.CONNECTING),
    **_running(R.RECEIVING),
    **_running(R.RECONNECTING),
    (R.STOPPED, Stop): step(R.STOPPED),  # stopping twice is harmless
    # the calls ending on the way out
    **{(R.STOPPED, event): step(R.STOPPED) for event in _SUMMARY},
}
# a sender reaches the screen only through CONNECTING and stalls only after showing
for _impossible in ((R.WAITING, CallsStalled), (R.CONNECTING, CallsStalled),
                    (R.WAITING, CallsShowing)):
    del RECEIVER_TABLE[_impossible]  # type: ignore[attr-defined]

#: For docs/sessions.md (the call's table is in :mod:`castapp.session.call`).
TABLES = [("Receiver", RECEIVER_TABLE, R.STARTING, (R.STOPPED,))]
