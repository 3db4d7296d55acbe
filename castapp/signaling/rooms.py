"""Room logic: cast codes, pairing, relay authorisation and clean-up.

No network code lives here: the WebSocket server hands each validated message to
:class:`Rooms` together with the connection it came from, and the clock is injected so the
logic can be tested with a fake one. State that must be shared between service instances
goes through the :class:`~castapp.signaling.store.RoomStore`.
"""

from __future__ import annotations

import heapq
import hmac
import logging
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from castapp import protocol as p
from castapp.codes import CodeFormat
from castapp.protocol import ErrorCode, LeaveReason, PeerInfo, Role
from castapp.sfu.token import SfuConfig
from castapp.signaling.identity import check_proof
from castapp.signaling.limits import (
    GLOBAL_KEY,
    Attempt,
    Scope,
    Verdict,
    guard_pin,
    join_scopes,
)
from castapp.signaling.store import AddSender, PeerRecord, Relay, RoomStore
from castapp.signaling.tokens import TokenSigner
from castapp.signaling.turn import IceConfig

log = logging.getLogger(__name__)

#: How a forwarded "room closed" starts (msgspec writes the tag first).
_ROOM_CLOSED = b'{"type":"room_closed"'
#: Marks a forwarded "close this connection" between instances (never valid JSON).
_KICK = b"\x00kick\x00"


#: The most senders one room can be configured for.
MAX_SENDERS = 16


@dataclass(frozen=True)
class RoomConfig:
    codes: CodeFormat = field(default_factory=CodeFormat)
    max_senders: int = 4
    #: How long a receiver's code stays reserved after its connection drops.
    grace_s: float = 300.0
    #: Failed joins allowed per client address in ``join_window_s`` before ``rate_limited``.
    join_failures: int = 10
    join_window_s: float = 60.0
    #: Failed joins allowed per /24 (IPv4) or /64 (IPv6) in ``join_window_s``.
    join_failures_prefix: int = 30
    #: Failed joins allowed on the whole service per ``guard_window_s``; past them the
    #: service is guarded: a join needs the code and the guard PIN the TV shows.
    join_failures_service: int = 10
    guard_window_s: float = 3600.0
    #: Registrations allowed per client address per ``register_window_s``.
    registrations: int = 30
    register_window_s: float = 60.0
    ice: IceConfig = field(default_factory=IceConfig)
    #: The SFU beside the service (``--sfu``): its URL and a fresh token go with every join.
    sfu: SfuConfig | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.max_senders <= MAX_SENDERS:
            raise ValueError(f"a room takes 1 to {MAX_SENDERS} senders, not {self.max_senders}")
        if not self.grace_s >= 0:
            raise ValueError("the time a code stays reserved cannot be negative")
        if min(self.join_failures, self.join_failures_prefix, self.join_failures_service) < 0:
            raise ValueError("the failed joins allowed cannot be negative")
        if self.registrations < 1:
            raise ValueError("at least one registration per address must be allowed")


class ServiceError(Exception):
    """A request the service refuses; becomes an ``error`` message to the client."""

    def __init__(self, code: ErrorCode, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after_s = retry_after_s


class Connection(Protocol):
    """What the room logic needs of a client connection."""

    peer_id: str
    addr: str
    #: Drawn for this connection and sent in ``welcome``: a receiver signs it to register.
    nonce: str

    async def send(self, payload: bytes) -> None: ...

    async def close(self, reason: str) -> None: ...


@dataclass(slots=True)
class Member:
    conn: Connection
    role: Role | None = None
    name: str = ""
    code: str | None = None
    owner: str | None = None  # receivers: id of the token that owns the code


def claimed_owner(me: PeerInfo) -> str:
    """The owner of a code held by a receiver without a key: its connection alone."""
    return "peer:" + me.peer_id


def _revoke_key(code: str, owner: str) -> str:
    return f"rv:{code}:{owner}"


def new_peer_id() -> str:
    return secrets.token_urlsafe(9)


def clean_name(name: str) -> str:
    """A display name with control and formatting characters removed."""
    kept = "".join(ch for ch in name if ch.isprintable())
    return " ".join(kept.split())[:64]


class Rooms:
    def __init__(
        self,
        store: RoomStore,
        signer: TokenSigner,
        config: RoomConfig,
        clock: Callable[[], float],
    ) -> None:
        self.store = store
        self.signer = signer
        self.config = config
        self.clock = clock
        self.members: dict[str, Member] = {}
        self._holds: list[tuple[float, str, str]] = []
        self._guard_until = 0.0
        self._probes: dict[str, int] = {}
        self.counters: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()

    # -------------------------------------------------------------- connections
    def attach(self, conn: Connection) -> None:
        self.members[conn.peer_id] = Member(conn)

    async def detach(self, conn: Connection, reason: LeaveReason) -> None:
        member = self.members.pop(conn.peer_id, None)
        if member is not None and member.code is not None:
            await self._leave_room(member, reason)

    def count(self, role: Role) -> int:
        return sum(1 for m in self.members.values() if m.role is role and m.code is not None)

    # -------------------------------------------------------------- dispatch
    async def handle(self, conn: Connection, msg: p.Inbound) -> None:
        member = self.members[conn.peer_id]
        if isinstance(msg, p.RELAY_TYPES):
            await self._relay(member, msg)  # type: ignore[arg-type]
        elif isinstance(msg, p.Register):
            await self._register(member, msg)
        elif isinstance(msg, p.Join):
            await self._join(member, msg)
        elif isinstance(msg, p.Leave):
            if member.code is None:
                raise ServiceError(ErrorCode.NOT_IN_ROOM, "You are not in a room.")
            await self._leave_room(member, LeaveReason.LEFT, forget=not msg.keep_code)
        elif isinstance(msg, p.Hello):
            raise ServiceError(ErrorCode.BAD_MESSAGE, "The protocol version is already agreed.")
        else:  # pragma: no cover - the server answers pings itself
            raise ServiceError(ErrorCode.BAD_MESSAGE, "This message is not handled here.")

    # -------------------------------------------------------------- register
    async def _register(self, member: Member, msg: p.Register) -> None:
        if member.code is not None:
            raise ServiceError(ErrorCode.ALREADY_IN_ROOM, "This connection is already in a room.")
        now = self.clock()
        cfg = self.config
        wait = await self.store.hit(
            f"reg:{member.conn.addr}", cfg.registrations, cfg.register_window_s, now
        )
        if wait > 0:
            self.counters["rate_limited_registrations"] += 1
            raise ServiceError(
                ErrorCode.RATE_LIMITED,
                "Too many receivers registered from this address; try again later.",
                retry_after_s=round(wait, 3),
            )
        owner = None
        if msg.key is not None or msg.proof is not None:
            owner = check_proof(member.conn.nonce, msg.key or "", msg.proof or "",
                                msg.token or "")
            if owner is None:
                self.counters["unproven_registrations"] += 1
                raise ServiceError(ErrorCode.NOT_PROVEN,
                                   "The receiver could not prove it holds its key; "
                                   "connect again.")
        name = clean_name(msg.name)
        me = PeerInfo(peer_id=member.conn.peer_id, role=Role.RECEIVER, name=name)
        claimed: tuple[str, tuple[PeerInfo, ...] | None] | None = None
        if msg.token and owner is not None:
            claimed = await self._reclaim(me, msg.token, owner, now)
        if claimed is None:
            claimed = await self._new_code(me, owner, now)
        code, senders = claimed
        # keyless receivers (older clients) get a code they cannot reclaim: no token
        token = self.signer.mint(code, owner, now)[0] if owner is not None else ""
        member.role, member.name, member.code = Role.RECEIVER, name, code
        member.owner = owner or claimed_owner(me)
        await self.store.put_peer(PeerRecord(me.peer_id, Role.RECEIVER, name, code))
        self.counters["registrations"] += 1
        log.info("receiver %s opened room %s (%s)", me.peer_id, self.signer.label(code),
                 "kept its code" if senders is not None else "new code")
        await self._send(
            member.conn,
            p.Registered(
                code=code,
                token=token,
                ttl_s=cfg.grace_s,
                ice_servers=cfg.ice.servers_for(me.peer_id, now),
                max_senders=cfg.max_senders,
                sfu=cfg.sfu.access(now) if cfg.sfu else None,
            ),
        )
        await self._tell_guard(member, now)
        for sender in senders or ():  # senders that waited through the receiver's absence
            await self.deliver(sender.peer_id, p.PeerJoined(peer=me))
            await self._send(member.conn, p.PeerJoined(peer=sender))

    async def _reclaim(
        self, me: PeerInfo, token: str, owner: str, now: float
    ) -> tuple[str, tuple[PeerInfo, ...]] | None:
        """The code a token names, if the token is genuine, unexpired, unrevoked and bound to
        the key this connection proved, and the code is free or held for that key."""
        claim = self.signer.verify(token, now)
        if claim is None or claim.owner != owner:
            return None
        if self.config.codes.normalize(claim.code) != claim.code:
            return None
        revoked = await self.store.revoked_at(_revoke_key(claim.code, owner), now)
        if revoked is not None and claim.issued <= revoked:
            return None
        # the same key displacing its own live connection is a reconnect, unless two copies
        # of one receiver keep taking the code from each other
        live = await self.store.get_room(claim.code, now)
        if (live is not None and live.receiver is not None and live.owner == owner
                and await self.store.hit(f"replace:{claim.code}", 3, 60.0, now) > 0):
            self.counters["replacements_refused"] += 1
            return None
        result = await self.store.claim_room(claim.code, owner, me, now)
        if not result.ok:
            return None
        if result.replaced is not None:
            # the same key connected again: its older connection is stale or a duplicate
            await self._kick(result.replaced, "This receiver connected again elsewhere.")
            # senders were talking to the replaced connection: they start over with this one
            left = p.PeerLeft(peer_id=result.replaced, role=Role.RECEIVER,
                              reason=LeaveReason.DISCONNECTED)
            for sender in result.senders:
                await self.deliver(sender.peer_id, left)
        return claim.code, result.senders

    async def _new_code(
        self, me: PeerInfo, owner: str | None, now: float
    ) -> tuple[str, None]:
        for _ in range(32):
            code = self.config.codes.generate()
            result = await self.store.claim_room(code, owner or claimed_owner(me), me, now,
                                                 fresh=True)
            if result.ok:
                return code, None
        raise ServiceError(
            ErrorCode.SERVICE_FULL, "The room service has no free cast codes left; try later."
        )

    async def _kick(self, peer_id: str, reason: str) -> None:
        old = self.members.get(peer_id)
        if old is None:  # perhaps connected to another instance
            await self.store.forward(peer_id, _KICK + reason.encode())
            return
        old.code = None  # its room now belongs to the new connection
        await old.conn.close(reason)

    # -------------------------------------------------------------- join
    async def _join(self, member: Member, msg: p.Join) -> None:
        if member.code is not None:
            raise ServiceError(ErrorCode.ALREADY_IN_ROOM, "This connection is already in a room.")
        now = self.clock()
        cfg = self.config
        scopes = self.join_scopes(member.conn.addr)
        # the attempt is counted before the code is looked at, and given back if it was
        # right: concurrent guesses cannot all pass one check before any is counted
        attempt = await self.store.attempt(scopes, now)
        if attempt.verdict is Verdict.REFUSED:
            self.counters["rate_limited_joins"] += 1
            raise ServiceError(
                ErrorCode.RATE_LIMITED,
                "Too many wrong cast codes from this network; wait a moment and try again.",
                retry_after_s=round(attempt.wait, 3),
            )
        code = cfg.codes.normalize(msg.code)
        room = await self.store.get_room(code, now) if code else None
        live = code is not None and room is not None and room.receiver is not None
        if attempt.verdict is Verdict.GUARDED:
            # past the service-wide budget a right code alone proves nothing, and every
            # failure reads the same whether the code exists or not
            self.counters["guarded_joins"] += 1
            if room is None or not live or msg.pin is None or not hmac.compare_digest(
                msg.pin.strip(), guard_pin(self.signer.key, code or "", room.owner)
            ):
                raise ServiceError(
                    ErrorCode.PIN_REQUIRED,
                    "Cast codes are being guessed on this service right now: type the PIN "
                    "the TV shows next to its code.",
                    retry_after_s=round(attempt.wait, 3),
                )
        if not live:
            raise ServiceError(
                ErrorCode.UNKNOWN_CODE, "No receiver is showing that cast code right now."
            )
        assert code is not None and room is not None and room.receiver is not None
        await self.store.refund(scopes, now)
        if self._probes.get(member.conn.addr, 0) > 0:  # its probe found this room: no guess
            self._probes[member.conn.addr] -= 1
            await self.store.refund(scopes, now)
        name = clean_name(msg.name)
        me = PeerInfo(peer_id=member.conn.peer_id, role=Role.SENDER, name=name)
        added = await self.store.add_sender(code, me, cfg.max_senders)
        if added is AddSender.FULL:
            raise ServiceError(
                ErrorCode.ROOM_FULL,
                f"That receiver already has {cfg.max_senders} senders; try again later.",
            )
        if added is AddSender.GONE:
            raise ServiceError(
                ErrorCode.UNKNOWN_CODE, "No receiver is showing that cast code right now."
            )
        member.role, member.name, member.code = Role.SENDER, name, code
        await self.store.put_peer(PeerRecord(me.peer_id, Role.SENDER, name, code))
        self.counters["joins"] += 1
        log.info("sender %s joined room %s", me.peer_id, self.signer.label(code))
        await self._send(
            member.conn,
            p.Joined(receiver=room.receiver, ice_servers=cfg.ice.servers_for(me.peer_id, now),
                     sfu=cfg.sfu.access(now) if cfg.sfu else None),
        )
        await self.deliver(room.receiver.peer_id, p.PeerJoined(peer=me))

    def join_scopes(self, addr: str) -> tuple[Scope, ...]:
        cfg = self.config
        return join_scopes(addr, per_address=cfg.join_failures,
                           per_prefix=cfg.join_failures_prefix,
                           address_window=cfg.join_window_s,
                           service=cfg.join_failures_service,
                           service_window=cfg.guard_window_s)

    async def probe_attempt(self, addr: str) -> tuple[Attempt, str, str | None] | None:
        """Count a LAN discovery probe from ``addr`` as a join attempt; the code to prove and
        the guard PIN to mix in (when guarded), or None when no receiver is here. A join from
        the same address that then succeeds gives the count back."""
        target = next((m for m in self.members.values()
                       if m.role is Role.RECEIVER and m.code and m.owner), None)
        if target is None:
            return None
        attempt = await self.store.attempt(self.join_scopes(addr), self.clock())
        if attempt.verdict is Verdict.REFUSED:
            return attempt, "", None
        if len(self._probes) > 4096:
            self._probes.clear()
        self._probes[addr] = min(self._probes.get(addr, 0) + 1, 16)
        assert target.code is not None and target.owner is not None
        pin = (guard_pin(self.signer.key, target.code, target.owner)
               if attempt.verdict is Verdict.GUARDED else None)
        return attempt, target.code, pin

    # -------------------------------------------------------------- guard
    async def guarded_for(self, now: float) -> float:
        """Seconds the service stays guarded (0: not guarded)."""
        cfg = self.config
        return await self.store.blocked_for(GLOBAL_KEY, cfg.join_failures_service,
                                            cfg.guard_window_s, now)

    async def announce_guard(self, now: float) -> None:
        """Tell this instance's receivers their guard PIN, once per guarded window (the
        ticker calls this every second)."""
        left = await self.guarded_for(now)
        if left <= 0:
            self._guard_until = 0.0
            return
        until = now + left
        if abs(until - self._guard_until) < 1.0:
            return  # already told for this window
        self._guard_until = until
        log.warning("cast codes are being guessed: joins need the guard PIN for %.0f s", left)
        for member in list(self.members.values()):
            await self._tell_guard(member, now)

    async def _tell_guard(self, member: Member, now: float) -> None:
        """A receiver learns its guard PIN while the service is guarded (as last seen)."""
        left = self._guard_until - now
        if left > 0 and member.role is Role.RECEIVER and member.code and member.owner:
            pin = guard_pin(self.signer.key, member.code, member.owner)
            await self._send(member.conn, p.Guard(pin=pin, until_s=round(left, 3)))

    # -------------------------------------------------------------- relay
    async def _relay(self, member: Member, msg: p.RelayMessage) -> None:
        if member.code is None:
            raise ServiceError(ErrorCode.NOT_IN_ROOM, "Join a room before sending to a peer.")
        not_there = ServiceError(ErrorCode.NOT_IN_ROOM, "That peer is not in your room.")
        if msg.to == member.conn.peer_id:
            raise not_there
        to_receiver = member.role is Role.SENDER
        local = self.members.get(msg.to)
        if local is not None:  # on this instance: its connection knows its room
            if local.code != member.code or (to_receiver and local.role is not Role.RECEIVER):
                raise not_there
            self.counters["relayed"] += 1
            await local.conn.send(p.encode(p.relayed(msg, member.conn.peer_id)))
            return
        # elsewhere: checked and forwarded by the store in one step (one Redis round trip)
        payload = p.encode(p.relayed(msg, member.conn.peer_id))
        done = await self.store.relay(msg.to, member.code, to_receiver, payload)
        if done is Relay.NOT_IN_ROOM:
            raise not_there
        self.counters["relayed"] += 1
        self.counters["forwarded" if done is Relay.FORWARDED else "undeliverable"] += 1

    # -------------------------------------------------------------- leaving
    async def _leave_room(self, member: Member, reason: LeaveReason,
                          forget: bool = False) -> None:
        code, peer_id = member.code, member.conn.peer_id
        assert code is not None
        member.code = None
        log.info("%s %s left room %s: %s", member.role, peer_id, self.signer.label(code), reason)
        await self.store.drop_peer(peer_id)
        if member.role is Role.SENDER:
            await self._sender_gone(code, peer_id, reason)
            return
        assert member.owner is not None
        left = p.PeerLeft(peer_id=peer_id, role=Role.RECEIVER, reason=reason)
        if reason is LeaveReason.LEFT:
            if forget:  # every token issued for this room until now stops working
                now = self.clock()
                await self.store.revoke(_revoke_key(code, member.owner), now,
                                        now + self.signer.ttl)
            for sender in await self.store.delete_room(code, member.owner):
                await self.deliver(sender, left)
                await self.deliver(sender, p.RoomClosed(reason="The receiver closed the room."))
            return
        await self._receiver_dropped(code, member.owner, peer_id, reason)

    async def _sender_gone(self, code: str, peer_id: str, reason: LeaveReason) -> None:
        await self.store.remove_sender(code, peer_id)
        room = await self.store.get_room(code, self.clock())
        if room is not None and room.receiver is not None:
            left = p.PeerLeft(peer_id=peer_id, role=Role.SENDER, reason=reason)
            await self.deliver(room.receiver.peer_id, left)

    async def _receiver_dropped(
        self, code: str, owner: str, peer_id: str, reason: LeaveReason
    ) -> None:
        """Hold the code for its owner and tell the senders to wait."""
        hold_until = self.clock() + self.config.grace_s
        if await self.store.detach_receiver(code, peer_id, hold_until):
            heapq.heappush(self._holds, (hold_until, code, owner))
            left = p.PeerLeft(peer_id=peer_id, role=Role.RECEIVER, reason=reason)
            for sender in await self.store.room_senders(code):
                await self.deliver(sender.peer_id, left)

    async def _take_over(self, peer: PeerRecord) -> None:
        """A peer of an instance that stopped: as if its connection had dropped."""
        log.info("%s %s of a stopped instance left room %s", peer.role, peer.peer_id,
                 self.signer.label(peer.code))
        if peer.role is Role.SENDER:
            await self._sender_gone(peer.code, peer.peer_id, LeaveReason.DISCONNECTED)
            return
        room = await self.store.get_room(peer.code, self.clock())
        if room is not None and room.receiver is not None and room.receiver.peer_id == peer.peer_id:
            await self._receiver_dropped(peer.code, room.owner, peer.peer_id,
                                         LeaveReason.DISCONNECTED)

    async def tick(self) -> None:
        """Take over peers of stopped instances, close rooms whose receiver did not come
        back in time, prune stale state."""
        for peer in await self.store.lost_peers(self.clock()):
            await self._take_over(peer)
        now = self.clock()
        while self._holds and self._holds[0][0] <= now:
            _, code, owner = heapq.heappop(self._holds)
            senders = await self.store.expire_room(code, owner, now)
            if senders is not None:
                log.info("room %s closed: its receiver did not come back", self.signer.label(code))
            for sender in senders or ():
                await self.deliver(sender, p.RoomClosed(reason="The receiver did not come back."))
        await self.store.prune(now)
        await self.announce_guard(now)

    # -------------------------------------------------------------- delivery
    async def deliver(self, peer_id: str, msg: p.Outbound) -> None:
        payload = p.encode(msg)
        if await self.deliver_local(peer_id, payload, msg):
            return
        if await self.store.forward(peer_id, payload):
            self.counters["forwarded"] += 1
        else:
            self.counters["undeliverable"] += 1

    async def deliver_local(
        self, peer_id: str, payload: bytes, msg: p.Outbound | None = None
    ) -> bool:
        member = self.members.get(peer_id)
        if member is None:
            return False
        if msg is None and payload.startswith(_KICK):  # replaced through another instance
            await self._kick(peer_id, payload[len(_KICK):].decode(errors="replace"))
            return True
        # forwarded from another instance as bytes: only a room's closing needs a look
        closing = (isinstance(msg, p.RoomClosed) if msg is not None
                   else payload.startswith(_ROOM_CLOSED))
        if closing:
            if member.code is not None:
                await self.store.drop_peer(peer_id)
            member.code = None
        await member.conn.send(payload)
        return True

    async def _send(self, conn: Connection, msg: p.Outbound) -> None:
        await conn.send(p.encode(msg))
