"""Events that more than one session machine reads, declared once.

The sender's machine (:mod:`castapp.session.sender_table`), the receiver's own machine
(:mod:`castapp.session.receiver_table`) and each call on the receiver
(:mod:`castapp.session.call`) name these in their tables; each table says what they mean in
its states. The modules of the tables export them again, so a session reads every event of
its machine from one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from castapp.session.machine import Event


@dataclass(frozen=True)
class StallDetected(Event):
    """Media of the current call stopped arriving."""


@dataclass(frozen=True)
class PeerDropped(Event):
    """The other side's connection to the room service dropped; it may come back (on the
    receiver, renamed: a new peer id)."""


@dataclass(frozen=True)
class Tampered(Event):
    """An SDP or a pairing message was not the one the code confirmed (changed on the way,
    or the other side says it found ours changed): no media with this peer."""

    #: This side's own check found it, so it tells the other side (the sender does).
    found_here: bool = False


@dataclass(frozen=True)
class NetworkBack(Event):
    """Our own network answers again after it did not: for a sender the STUN/TURN server,
    for a receiver the room service while a call was reconnecting."""

    answered: bool | None = None  # the sender's probe; None: there was no server to ask
