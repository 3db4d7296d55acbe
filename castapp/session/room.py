"""The meeting room as the receiver session publishes it: who is on the TV and how.

A receiver shows up to ``MAX_PRESENTERS`` senders at once. Each sender's call appears as a
:class:`CallView` in ``ReceiverStatus.calls``; the TV's presenters (window, CLI) draw tiles
and prompts from it and answer through the session's ``allow``/``deny``/``stop_call``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # settings read these types; they must not pull in the media stack
    from castapp.rtc.peer import Route

MAX_PRESENTERS = 4


class AdmissionMode(enum.StrEnum):
    """How a new sender gets on screen."""

    OPEN = "open"  # anyone with the code (a home)
    APPROVE = "approve"  # the TV allows or denies each sender (the default)
    PIN = "pin"  # the sender types a one-time PIN shown on the TV


class CallPhase(enum.StrEnum):
    ASKING = "asking"  # waiting for the TV to allow or deny
    PIN = "pin"  # waiting for the sender to type the PIN shown on the TV
    CONNECTING = "connecting"  # negotiating media
    SHOWING = "showing"  # frames arrive
    RECONNECTING = "reconnecting"  # frames stopped; the last one stays with "Reconnecting…"


#: Phases that own a tile on the TV (the others are prompts, not pictures).
ON_WALL = (CallPhase.CONNECTING, CallPhase.SHOWING, CallPhase.RECONNECTING)


class Layout(enum.StrEnum):
    AUTO = "auto"  # follows the number of sources
    FULL = "full"  # one source full screen
    SIDE_BY_SIDE = "side_by_side"
    GRID = "grid"  # 2 x 2
    SPOTLIGHT = "spotlight"  # one large, the others as a strip


#: What the web sender (castapp/web/sender.js) appends to its name, so the TV marks it.
BROWSER_MARK = " (browser)"


def split_browser_mark(name: str) -> tuple[str, bool]:
    """(the name without the web sender's mark, whether it had the mark)."""
    if name.endswith(BROWSER_MARK):
        return name[: -len(BROWSER_MARK)].rstrip() or "Guest", True
    return name, False


@dataclass(frozen=True)
class CallView:
    #: The sender's current peer id (it changes when the sender reconnects to the service).
    peer_id: str
    name: str
    phase: CallPhase
    #: The one-time PIN to show on the TV while ``phase`` is ``PIN``; never sent anywhere.
    pin: str | None = None
    #: True once the pairing over the cast code was confirmed end to end.
    verified: bool = False
    #: A browser guest rather than the castapp app.
    browser: bool = False
    #: Size of the frames arriving, when known.
    width: int = 0
    height: int = 0
    #: How its media travels once showing (direct, through NAT, relayed).
    route: Route | None = None
    #: Times its frames stopped and came back (or were rebuilt) since it began.
    reconnects: int = 0
    #: Stays the same for the whole call, across the sender's reconnections (key tiles by it).
    key: str = ""
    #: The presenter sends sound.
    sound: bool = False
    #: Its sound is the one the TV plays (by the rule or the TV's choice; the TV's own mute
    #: of every presenter aside).
    heard: bool = False
