"""The storage interface behind the room logic.

One implementation keeps everything in this process (the embedded default); another keeps it
in Redis so that many service instances share codes, rooms, rate limits and message delivery.
Every method that decides something is atomic in the store, so two instances can never hand
out the same code or overfill a room. Time is passed in (``now``), never read here.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from castapp.protocol import PeerInfo, Role
from castapp.signaling.limits import Attempt, Scope


@dataclass(frozen=True, slots=True)
class RoomRecord:
    code: str
    #: Non-secret id of the receiver token that owns the code.
    owner: str
    #: The live receiver, or None while the code is held for a receiver that dropped.
    receiver: PeerInfo | None
    #: Until when a code without a live receiver stays reserved.
    hold_until: float | None


@dataclass(frozen=True, slots=True)
class PeerRecord:
    peer_id: str
    role: Role
    name: str
    code: str


@dataclass(frozen=True, slots=True)
class Claim:
    ok: bool
    #: The receiver peer that was displaced when the owner connected again.
    replaced: str | None = None
    #: Senders already in the room (when a receiver reclaims its code).
    senders: tuple[PeerInfo, ...] = ()


class Relay(enum.Enum):
    """What :meth:`RoomStore.relay` did."""

    FORWARDED = "forwarded"
    NOT_IN_ROOM = "not_in_room"  # no such peer in that room (or not a receiver)
    UNDELIVERABLE = "undeliverable"  # in the room, but its instance is gone


class AddSender(enum.Enum):
    OK = "ok"
    FULL = "full"
    GONE = "gone"


#: Called with (peer_id, payload) when a message for a peer of this instance arrives.
DeliverFn = Callable[[str, bytes], Awaitable[None]]
#: Called when the shared state no longer knows this instance's peers (the store restarted
#: empty, or other instances took this one for dead): its clients must connect again.
ResetFn = Callable[[], Awaitable[None]]


class RoomStore(Protocol):
    async def start(self, deliver: DeliverFn, reset: ResetFn) -> None:
        """Connect; from now on ``deliver`` receives messages forwarded to local peers."""
        ...

    async def claim_room(self, code: str, owner: str, receiver: PeerInfo, now: float,
                         fresh: bool = False) -> Claim:
        """Make ``receiver`` the live receiver of ``code`` if the code is free or ``owner``'s
        (only if free, with ``fresh``)."""
        ...

    async def get_room(self, code: str, now: float) -> RoomRecord | None: ...

    async def detach_receiver(self, code: str, peer_id: str, hold_until: float) -> bool:
        """The receiver's connection dropped: keep the code for its owner until ``hold_until``."""
        ...

    async def expire_room(self, code: str, owner: str, now: float) -> list[str] | None:
        """Delete a held room whose hold has passed; returns the senders it had."""
        ...

    async def delete_room(self, code: str, owner: str) -> list[str]:
        """Close the room now (its receiver left); returns the senders it had."""
        ...

    async def add_sender(self, code: str, peer: PeerInfo, limit: int) -> AddSender: ...

    async def remove_sender(self, code: str, peer_id: str) -> None: ...

    async def room_senders(self, code: str) -> list[PeerInfo]: ...

    async def put_peer(self, peer: PeerRecord) -> None: ...

    async def get_peer(self, peer_id: str) -> PeerRecord | None: ...

    async def drop_peer(self, peer_id: str) -> None: ...

    async def hit(self, key: str, limit: int, window: float, now: float) -> float:
        """Count an event; returns 0 while within ``limit`` per ``window``, else seconds to wait."""
        ...

    async def blocked_for(self, key: str, limit: int, window: float, now: float) -> float:
        """Seconds until ``key`` may try again (0 if it may now), without counting."""
        ...

    async def attempt(self, scopes: Sequence[Scope], now: float) -> Attempt:
        """Atomically: refuse if a hard scope is spent (counting nothing); else count one in
        every scope and say whether a soft scope is now past its limit (guarded)."""
        ...

    async def refund(self, scopes: Sequence[Scope], now: float) -> None:
        """Take back one count from each scope (the join it was reserved for succeeded)."""
        ...

    async def revoke(self, key: str, at: float, until: float) -> None:
        """Remember until ``until`` that tokens under ``key`` issued up to ``at`` are void."""
        ...

    async def revoked_at(self, key: str, now: float) -> float | None: ...

    async def forward(self, peer_id: str, payload: bytes) -> bool:
        """Carry a message to a peer connected to another instance; False if it is nowhere."""
        ...

    async def relay(self, peer_id: str, code: str, to_receiver: bool, payload: bytes) -> Relay:
        """Forward ``payload`` to a peer on another instance if it is in room ``code`` (and a
        receiver when ``to_receiver``): the check and the forwarding in one step."""
        ...

    async def lost_peers(self, now: float) -> list[PeerRecord]:
        """Peers of instances that stopped heartbeating, each handed to one instance once."""
        ...

    async def prune(self, now: float) -> None:
        """Drop what has expired (rate-limit windows and the like)."""
        ...

    async def healthy(self) -> bool: ...

    async def close(self) -> None: ...
