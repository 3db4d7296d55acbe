"""The in-process room store: plain dictionaries, for one service instance."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from castapp.protocol import PeerInfo, Role
from castapp.signaling.limits import Attempt, Scope, Verdict
from castapp.signaling.store import (
    AddSender,
    Claim,
    DeliverFn,
    PeerRecord,
    Relay,
    ResetFn,
    RoomRecord,
)


@dataclass(slots=True)
class _Room:
    record: RoomRecord
    senders: dict[str, PeerInfo] = field(default_factory=dict)


class MemoryStore:
    def __init__(self) -> None:
        self._rooms: dict[str, _Room] = {}
        self._peers: dict[str, PeerRecord] = {}
        self._windows: dict[str, tuple[float, int, float]] = {}
        self._revoked: dict[str, tuple[float, float]] = {}

    async def start(self, deliver: DeliverFn, reset: ResetFn) -> None:
        return None  # nothing to connect to, and no other instance to hear from

    # rooms ------------------------------------------------------------------
    def _live(self, code: str, now: float) -> _Room | None:
        room = self._rooms.get(code)
        if room is None:
            return None
        hold = room.record.hold_until
        if room.record.receiver is None and hold is not None and hold <= now:
            return None
        return room

    async def claim_room(self, code: str, owner: str, receiver: PeerInfo, now: float,
                         fresh: bool = False) -> Claim:
        room = self._live(code, now)
        if room is None:
            self._rooms[code] = _Room(RoomRecord(code, owner, receiver, None))
            return Claim(ok=True)
        if room.record.owner != owner or fresh:
            return Claim(ok=False)
        old = room.record.receiver
        room.record = RoomRecord(code, owner, receiver, None)
        replaced = old.peer_id if old is not None and old.peer_id != receiver.peer_id else None
        return Claim(ok=True, replaced=replaced, senders=tuple(room.senders.values()))

    async def get_room(self, code: str, now: float) -> RoomRecord | None:
        room = self._live(code, now)
        return room.record if room else None

    async def detach_receiver(self, code: str, peer_id: str, hold_until: float) -> bool:
        room = self._rooms.get(code)
        if room is None or room.record.receiver is None:
            return False
        if room.record.receiver.peer_id != peer_id:
            return False
        room.record = replace(room.record, receiver=None, hold_until=hold_until)
        return True

    async def expire_room(self, code: str, owner: str, now: float) -> list[str] | None:
        room = self._rooms.get(code)
        if room is None or room.record.owner != owner or room.record.receiver is not None:
            return None
        if room.record.hold_until is None or room.record.hold_until > now:
            return None
        del self._rooms[code]
        return list(room.senders)

    async def delete_room(self, code: str, owner: str) -> list[str]:
        room = self._rooms.get(code)
        if room is None or room.record.owner != owner:
            return []
        del self._rooms[code]
        return list(room.senders)

    async def add_sender(self, code: str, peer: PeerInfo, limit: int) -> AddSender:
        room = self._rooms.get(code)
        if room is None or room.record.receiver is None:
            return AddSender.GONE
        if len(room.senders) >= limit:
            return AddSender.FULL
        room.senders[peer.peer_id] = peer
        return AddSender.OK

    async def remove_sender(self, code: str, peer_id: str) -> None:
        room = self._rooms.get(code)
        if room is not None:
            room.senders.pop(peer_id, None)

    async def room_senders(self, code: str) -> list[PeerInfo]:
        room = self._rooms.get(code)
        return list(room.senders.values()) if room else []

    # peers ------------------------------------------------------------------
    async def put_peer(self, peer: PeerRecord) -> None:
        self._peers[peer.peer_id] = peer

    async def get_peer(self, peer_id: str) -> PeerRecord | None:
        return self._peers.get(peer_id)

    async def drop_peer(self, peer_id: str) -> None:
        self._peers.pop(peer_id, None)

    # rate limits (fixed windows) ----------------------------------------------
    async def hit(self, key: str, limit: int, window: float, now: float) -> float:
        start, count, _ = self._windows.get(key, (now, 0, window))
        if now - start >= window:
            start, count = now, 0
        count += 1
        self._windows[key] = (start, count, window)
        return 0.0 if count <= limit else start + window - now

    async def blocked_for(self, key: str, limit: int, window: float, now: float) -> float:
        entry = self._windows.get(key)
        if entry is None:
            return 0.0
        start, count, _ = entry
        if now - start >= window or count < limit:
            return 0.0
        return start + window - now

    def _window(self, scope: Scope, now: float) -> tuple[float, int]:
        start, count, _ = self._windows.get(scope.key, (now, 0, scope.window))
        if now - start >= scope.window:
            return now, 0
        return start, count

    async def attempt(self, scopes: Sequence[Scope], now: float) -> Attempt:
        windows = [self._window(s, now) for s in scopes]
        for scope, (start, count) in zip(scopes, windows, strict=True):
            if scope.hard and count >= scope.limit:
                return Attempt(Verdict.REFUSED, start + scope.window - now)
        result = Attempt(Verdict.OK)
        for scope, (start, count) in zip(scopes, windows, strict=True):
            self._windows[scope.key] = (start, count + 1, scope.window)
            if not scope.hard and count + 1 > scope.limit and result.verdict is Verdict.OK:
                result = Attempt(Verdict.GUARDED, start + scope.window - now)
        return result

    async def refund(self, scopes: Sequence[Scope], now: float) -> None:
        for scope in scopes:
            entry = self._windows.get(scope.key)
            if entry is not None and entry[1] > 0:
                self._windows[scope.key] = (entry[0], entry[1] - 1, entry[2])

    async def revoke(self, key: str, at: float, until: float) -> None:
        self._revoked[key] = (at, until)

    async def revoked_at(self, key: str, now: float) -> float | None:
        entry = self._revoked.get(key)
        return entry[0] if entry is not None and entry[1] > now else None

    # delivery -----------------------------------------------------------------
    async def forward(self, peer_id: str, payload: bytes) -> bool:
        return False  # one instance: a peer that is not local is nowhere

    async def relay(self, peer_id: str, code: str, to_receiver: bool, payload: bytes) -> Relay:
        peer = self._peers.get(peer_id)
        if peer is None or peer.code != code or (to_receiver and peer.role is not Role.RECEIVER):
            return Relay.NOT_IN_ROOM
        return Relay.UNDELIVERABLE  # one instance: a peer that is not local is nowhere

    async def lost_peers(self, now: float) -> list[PeerRecord]:
        return []  # one instance: there is no other to lose

    async def prune(self, now: float) -> None:
        stale = [k for k, (start, _, win) in self._windows.items() if now - start >= win]
        for key in stale:
            del self._windows[key]
        for key in [k for k, (_, until) in self._revoked.items() if until <= now]:
            del self._revoked[key]
        gone = [
            code
            for code, room in self._rooms.items()
            if room.record.receiver is None
            and room.record.hold_until is not None
            and room.record.hold_until <= now - 60
            and not room.senders
        ]
        for code in gone:
            del self._rooms[code]

    async def healthy(self) -> bool:
        return True

    async def close(self) -> None:
        return None
