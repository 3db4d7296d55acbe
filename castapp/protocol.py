"""The castapp signaling wire protocol.

JSON text frames over a WebSocket at ``/ws``. Every message is an object with a ``type``.
The first message a client sends is ``hello`` naming the protocol versions it speaks; the
service answers ``welcome`` with the version it picked, or ``error`` ``unsupported_version``.
``docs/protocol.md`` is the human table of this module; keep the two in step.

Inbound messages (client to service) and outbound messages (service to client) are two
separate tagged unions, so a relayed ``offer`` carries ``to`` on the way in and ``from`` on
the way out. Field constraints here are the first line of defence against hostile input.
"""

from __future__ import annotations

import enum
import re
from typing import Annotated, Any, Literal

import msgspec

#: Version 2 added ``signal``: typed peer-to-peer messages the service relays unread.
PROTOCOL_VERSION = 2
SUPPORTED_VERSIONS: tuple[int, ...] = (2,)
WS_PATH = "/ws"

#: Messages larger than this are refused with ``too_large``; the connection stays open.
MAX_MESSAGE_BYTES = 64 * 1024
#: Frames larger than this are not even read: the WebSocket is closed with code 1009.
HARD_FRAME_LIMIT = 1024 * 1024
#: Arrays and objects may nest at most this deep; deeper frames are refused before decoding
#: (a decoder recursing through hostile nesting would exhaust the stack).
MAX_DEPTH = 32

PeerId = Annotated[str, msgspec.Meta(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]
Name = Annotated[str, msgspec.Meta(max_length=64)]
CodeText = Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
TokenText = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
Sdp = Annotated[str, msgspec.Meta(min_length=1, max_length=60 * 1024)]
Reason = Annotated[str, msgspec.Meta(max_length=200)]


class ErrorCode(enum.StrEnum):
    """Stable machine codes carried by ``error`` messages."""

    BAD_MESSAGE = "bad_message"
    UNKNOWN_TYPE = "unknown_type"
    UNSUPPORTED_VERSION = "unsupported_version"
    HELLO_REQUIRED = "hello_required"
    UNKNOWN_CODE = "unknown_code"
    RATE_LIMITED = "rate_limited"
    ROOM_FULL = "room_full"
    TOO_LARGE = "too_large"
    NOT_IN_ROOM = "not_in_room"
    ALREADY_IN_ROOM = "already_in_room"
    SERVICE_FULL = "service_full"
    #: Cast codes are being guessed on this service: join again with the guard PIN the TV shows.
    PIN_REQUIRED = "pin_required"
    #: The receiver's proof of its key did not check out.
    NOT_PROVEN = "not_proven"
    INTERNAL = "internal_error"


class Role(enum.StrEnum):
    RECEIVER = "receiver"
    SENDER = "sender"


class LeaveReason(enum.StrEnum):
    LEFT = "left"  # the peer said goodbye
    DISCONNECTED = "disconnected"  # its connection dropped; a receiver may come back
    TIMEOUT = "timeout"  # it stopped answering heartbeats
    REPLACED = "replaced"  # the same receiver connected again elsewhere


class _Base(msgspec.Struct, tag_field="type", forbid_unknown_fields=False, kw_only=True):
    pass


# ---------------------------------------------------------------- shared parts


class IceServer(msgspec.Struct, omit_defaults=True):
    urls: list[str]
    username: str | None = None
    credential: str | None = None


class SfuAccess(msgspec.Struct, omit_defaults=True):
    """The SFU beside this room service: its WebSocket URL and a token valid until
    ``expires`` (unix seconds), minted like TURN credentials (docs/fanout.md)."""

    url: Annotated[str, msgspec.Meta(max_length=512)]
    token: Annotated[str, msgspec.Meta(max_length=1024)]
    expires: int


class IceCandidate(msgspec.Struct, omit_defaults=True):
    """A trickled ICE candidate, as in the browser's ``RTCIceCandidateInit``."""

    candidate: Annotated[str, msgspec.Meta(max_length=1024)]
    sdpMid: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    sdpMLineIndex: Annotated[int, msgspec.Meta(ge=0, le=1024)] | None = None


class PeerInfo(msgspec.Struct):
    peer_id: str
    role: Role
    name: str


# ---------------------------------------------------------------- client -> service


class Hello(_Base, tag="hello"):
    versions: Annotated[list[int], msgspec.Meta(min_length=1, max_length=16)]
    client: Name = ""


KeyText = Annotated[str, msgspec.Meta(max_length=128, pattern=r"^[A-Za-z0-9_-]*$")]


class Register(_Base, tag="register"):
    """A receiver asks for a cast code; a token from an earlier ``registered`` keeps its code.

    ``key`` is the receiver's Ed25519 public key and ``proof`` its signature over the
    connection's ``welcome.nonce``, the key and the token (see ``castapp.signaling.identity``):
    a token is bound to its key and worthless without the proof.
    """

    token: TokenText | None = None
    name: Name = ""
    key: KeyText | None = None
    proof: KeyText | None = None


class Join(_Base, tag="join"):
    """A sender joins the room of a cast code (spaces and dashes allowed).

    ``pin`` is the guard PIN the TV shows while the service is guarded (after ``pin_required``).
    """

    code: CodeText
    name: Name = ""
    pin: Annotated[str, msgspec.Meta(max_length=16)] | None = None


class Offer(_Base, tag="offer"):
    to: PeerId
    sdp: Sdp


class Answer(_Base, tag="answer"):
    to: PeerId
    sdp: Sdp


class Candidate(_Base, tag="candidate"):
    """``candidate`` null means end-of-candidates."""

    to: PeerId
    candidate: IceCandidate | None = None


class Bye(_Base, tag="bye"):
    to: PeerId
    reason: Reason = ""


class Signal(_Base, tag="signal"):
    """A peer-to-peer message (a :data:`PeerMessage`) that the service relays without reading.

    The body is checked only as a JSON object within the frame size limit; the peer that gets
    it decodes it with :func:`decode_peer`.
    """

    to: PeerId
    body: dict[str, Any]


class Leave(_Base, tag="leave"):
    """Leave the room. A receiver that leaves closes the room and gives up its code: every
    token issued for it is revoked, unless ``keep_code`` (a receiver that is only stopping for
    now: its token may claim the code again later, while no one else holds it)."""

    keep_code: bool = False


class Ping(_Base, tag="ping"):
    ts: float | None = None


Inbound = Hello | Register | Join | Offer | Answer | Candidate | Bye | Signal | Leave | Ping
RELAY_TYPES: tuple[type, ...] = (Offer, Answer, Candidate, Bye, Signal)


# ---------------------------------------------------------------- service -> client


class Welcome(_Base, tag="welcome"):
    version: int
    peer_id: str
    heartbeat_s: float
    max_message_bytes: int
    #: Random, for this connection only: what a receiver signs to register with its key.
    nonce: str = ""


class Registered(_Base, tag="registered"):
    code: str
    token: str
    #: How long the code stays reserved for this receiver after its connection drops.
    ttl_s: float
    ice_servers: list[IceServer]
    max_senders: int
    sfu: SfuAccess | None = None


class Joined(_Base, tag="joined"):
    receiver: PeerInfo
    ice_servers: list[IceServer]
    sfu: SfuAccess | None = None


class PeerJoined(_Base, tag="peer_joined"):
    peer: PeerInfo


class PeerLeft(_Base, tag="peer_left"):
    peer_id: str
    role: Role
    reason: LeaveReason


class RoomClosed(_Base, tag="room_closed"):
    reason: Reason


class RelayedOffer(_Base, tag="offer"):
    from_: str = msgspec.field(name="from")
    sdp: str


class RelayedAnswer(_Base, tag="answer"):
    from_: str = msgspec.field(name="from")
    sdp: str


class RelayedCandidate(_Base, tag="candidate"):
    from_: str = msgspec.field(name="from")
    candidate: IceCandidate | None = None


class RelayedBye(_Base, tag="bye"):
    from_: str = msgspec.field(name="from")
    reason: str = ""


class RelayedSignal(_Base, tag="signal"):
    from_: str = msgspec.field(name="from")
    body: dict[str, Any]


class Guard(_Base, tag="guard"):
    """To a receiver: cast codes are being guessed on this service until ``until_s`` from now;
    a sender needs this PIN besides the code. The TV shows it next to the code."""

    pin: str
    until_s: float


class Pong(_Base, tag="pong"):
    ts: float | None = None


class Shutdown(_Base, tag="shutdown"):
    reason: str
    retry_after_ms: int


class Error(_Base, tag="error"):
    code: ErrorCode
    message: str
    #: The ``type`` of the message that caused the error, when known.
    ref: str | None = None
    retry_after_s: float | None = None


Outbound = (
    Welcome
    | Registered
    | Joined
    | PeerJoined
    | PeerLeft
    | RoomClosed
    | RelayedOffer
    | RelayedAnswer
    | RelayedCandidate
    | RelayedBye
    | RelayedSignal
    | Pong
    | Shutdown
    | Error
    | Guard
)

Relayed = RelayedOffer | RelayedAnswer | RelayedCandidate | RelayedBye | RelayedSignal

_encoder = msgspec.json.Encoder()
_inbound = msgspec.json.Decoder(Inbound)
_outbound = msgspec.json.Decoder(Outbound)


class ProtocolError(Exception):
    """An inbound frame that is not a valid message; ``code`` says how it is wrong."""

    def __init__(self, code: ErrorCode, message: str, ref: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.ref = ref


def encode(msg: msgspec.Struct) -> bytes:
    return _encoder.encode(msg)


def encode_text(msg: msgspec.Struct) -> str:
    return _encoder.encode(msg).decode()


_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")
_PAIR = re.compile(rb"\[\]|\{\}")


def nesting_depth(data: str | bytes, limit: int = MAX_DEPTH) -> int | None:
    """How deep arrays and objects nest in a JSON text, or None when deeper than ``limit``
    or not properly nested. Strings are skipped; no recursion and at most ``limit`` linear
    passes in C, whatever the input."""
    raw = data.encode(errors="replace") if isinstance(data, str) else data
    brackets = _NOT_BRACKET.sub(b"", _STRING.sub(b"", raw))
    depth = 0
    while brackets:
        if depth == limit:
            return None
        reduced = _PAIR.sub(b"", brackets)  # one pass takes away the innermost level
        if len(reduced) == len(brackets):
            return None  # unbalanced or crossed: not JSON
        brackets, depth = reduced, depth + 1
    return depth


def _check_depth(data: str | bytes) -> None:
    raw = data.encode(errors="replace") if isinstance(data, str) else data
    if raw.count(b"[") + raw.count(b"{") <= MAX_DEPTH:
        return  # cannot nest deeper than it has brackets; the decoder judges the rest
    if nesting_depth(raw) is None:
        raise ProtocolError(ErrorCode.BAD_MESSAGE,
                            f"The message is not JSON nested at most {MAX_DEPTH} levels deep.")


def _type_of(data: str | bytes) -> str | None:
    try:
        raw = msgspec.json.decode(data)
    except (msgspec.DecodeError, RecursionError):
        return None
    if isinstance(raw, dict):
        kind = raw.get("type")
        if isinstance(kind, str):
            return kind[:32]
    return None


def _classify(data: str | bytes, exc: msgspec.MsgspecError) -> ProtocolError:
    text = str(exc)
    if isinstance(exc, msgspec.ValidationError):
        kind = _type_of(data)
        if text.endswith("at `$.type`") and not text.startswith("Expected"):
            return ProtocolError(
                ErrorCode.UNKNOWN_TYPE, f"Unknown message type {kind!r}.", ref=kind
            )
        return ProtocolError(ErrorCode.BAD_MESSAGE, f"Invalid message: {text}.", ref=kind)
    return ProtocolError(ErrorCode.BAD_MESSAGE, "The message is not valid JSON.")


def decode_inbound(data: str | bytes) -> Inbound:
    """Parse one client frame; raises :class:`ProtocolError` with a user-readable reason
    (never anything else, whatever the frame holds)."""
    _check_depth(data)
    try:
        return _inbound.decode(data)
    except msgspec.MsgspecError as exc:
        raise _classify(data, exc) from None
    except (RecursionError, ValueError, TypeError) as exc:  # belt and braces
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "The message could not be read.") from exc


def decode_outbound(data: str | bytes) -> Outbound:
    """Parse one service frame (used by the client library)."""
    _check_depth(data)
    try:
        return _outbound.decode(data)
    except msgspec.MsgspecError as exc:
        raise _classify(data, exc) from None
    except (RecursionError, ValueError, TypeError) as exc:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "The message could not be read.") from exc


def to_builtins(msg: msgspec.Struct) -> dict[str, Any]:
    out = msgspec.to_builtins(msg)
    assert isinstance(out, dict)
    return out


RelayMessage = Offer | Answer | Candidate | Bye | Signal


def relayed(msg: RelayMessage, sender: str) -> Relayed:
    """The outbound form of a relay message, stamped with its sender's peer id."""
    if isinstance(msg, Offer):
        return RelayedOffer(from_=sender, sdp=msg.sdp)
    if isinstance(msg, Answer):
        return RelayedAnswer(from_=sender, sdp=msg.sdp)
    if isinstance(msg, Candidate):
        return RelayedCandidate(from_=sender, candidate=msg.candidate)
    if isinstance(msg, Signal):
        return RelayedSignal(from_=sender, body=msg.body)
    return RelayedBye(from_=sender, reason=msg.reason)


Kind = Literal["offer", "answer", "candidate", "bye", "signal"]


# ---------------------------------------------------------------- peer to peer
# Bodies of ``signal``: written by one client, read by another, never by the service. Each
# is tagged by ``kind``. A client treats every body as hostile input, like any frame.

Base64Text = Annotated[str, msgspec.Meta(max_length=1024, pattern=r"^[A-Za-z0-9_=+/-]*$")]


class _Peer(msgspec.Struct, tag_field="kind", forbid_unknown_fields=False, kw_only=True):
    pass


class PakeMessage(_Peer, tag="pake"):
    """One step of the password-authenticated key exchange over the cast code."""

    step: Annotated[int, msgspec.Meta(ge=0, le=8)]
    data: Base64Text
    #: Which pairing this belongs to: the sender numbers each new peer connection's pairing,
    #: the receiver answers with the same number (late messages of an older one are dropped).
    attempt: Annotated[int, msgspec.Meta(ge=0, le=2**31)] = 0


class KeyConfirm(_Peer, tag="confirm"):
    """Key confirmation: the sender's own DTLS fingerprints, and a MAC over both
    fingerprints (as confirmed so far) and both peer ids (see ``castapp.pairing``)."""

    mac: Base64Text
    #: The fingerprints of the side's own SDP, canonical (``alg HEX`` sorted, ``;``-joined);
    #: with ``tampered``, the fingerprints it found instead of the confirmed ones.
    fingerprint: Annotated[str, msgspec.Meta(max_length=1024)] = ""
    #: An authenticated alarm: the remote SDP this side got was not the confirmed one.
    tampered: bool = False
    #: The pairing this confirms (see ``PakeMessage.attempt``).
    attempt: Annotated[int, msgspec.Meta(ge=0, le=2**31)] = 0


class AdmissionState(enum.StrEnum):
    """Where a sender stands with the TV (receiver to sender)."""

    WAITING = "waiting"  # the TV is asked to allow this sender
    PIN = "pin"  # type the PIN the TV shows
    ALLOWED = "allowed"  # go ahead: offer media
    DENIED = "denied"  # the TV said no
    STOPPED = "stopped"  # the TV ended this sender's cast
    FULL = "full"  # every place on the TV is taken
    WRONG_PIN = "wrong_pin"  # that PIN was not the one on the TV; type it again


ResumeToken = Annotated[str, msgspec.Meta(min_length=16, max_length=64,
                                          pattern=r"^[A-Za-z0-9_-]+$")]


class Admission(_Peer, tag="admission"):
    state: AdmissionState
    #: Digits of the PIN to type, with ``state`` ``pin`` or ``wrong_pin``.
    pin_digits: Annotated[int, msgspec.Meta(ge=0, le=8)] = 0
    #: With ``wrong_pin``: seconds before another PIN is read (0: at once).
    retry_after_s: Annotated[float, msgspec.Meta(ge=0, le=3600)] = 0.0
    #: With ``allowed``: a secret that puts this sender back in its place after it reconnects
    #: to the service under a new peer id (see ``resume``), without asking the TV again.
    resume: ResumeToken | None = None


class ViewHint(_Peer, tag="view"):
    """How the TV shows this sender: send at most this size and frame rate."""

    width: Annotated[int, msgspec.Meta(ge=16, le=8192)]
    height: Annotated[int, msgspec.Meta(ge=16, le=8192)]
    fps: Annotated[int, msgspec.Meta(ge=1, le=240)]
    #: 1-based tile number and the number of tiles on screen.
    tile: Annotated[int, msgspec.Meta(ge=1, le=16)] = 1
    tiles: Annotated[int, msgspec.Meta(ge=1, le=16)] = 1
    spotlit: bool = True


class Phase(_Peer, tag="phase"):
    """The TV asks this sender to move its capture clock by ``shift_ms`` (negative: sooner),
    so its frames arrive together with the other presenters' (``castapp.session.phase``).
    A sender that captures on no fixed clock ignores it."""

    shift_ms: Annotated[float, msgspec.Meta(ge=-100.0, le=100.0)]


class PinAnswer(_Peer, tag="pin_answer"):
    """The PIN the person read on the TV (sender to receiver, after ``admission`` ``pin``)."""

    pin: Annotated[str, msgspec.Meta(min_length=1, max_length=8, pattern=r"^[0-9]+$")]


class Resume(_Peer, tag="resume"):
    """A sender back under a new peer id claims its place with the token of ``allowed``."""

    token: ResumeToken


PeerMessage = PakeMessage | KeyConfirm | Admission | ViewHint | Phase | PinAnswer | Resume


def decode_peer(body: dict[str, Any]) -> PeerMessage:
    """Read a ``signal`` body; raises :class:`ProtocolError` (``bad_message``) if invalid."""
    try:
        return msgspec.convert(body, PeerMessage)
    except RecursionError:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "The peer message nests too deep.",
                            ref="signal") from None
    except msgspec.MsgspecError as exc:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"Invalid peer message: {exc}.",
                            ref="signal") from None


def peer_body(msg: PeerMessage) -> dict[str, Any]:
    return to_builtins(msg)
