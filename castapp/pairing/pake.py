"""SPAKE2 over the cast code, and key confirmation over both DTLS fingerprints.

The room service relays every message between sender and receiver, so it could hand each of
them an SDP whose DTLS fingerprint is its own and sit in the middle of the media. Pairing
stops that with what only the two ends share, the cast code (and the TV's PIN, when it shows
one):

1. **PAKE.** Each side sends one :class:`~castapp.protocol.PakeMessage` (SPAKE2, from the
   ``spake2`` package that magic-wormhole uses; the sender is side A, the receiver side B; both
   peer ids are bound in). Both derive the same key only if they used the same code. Whoever
   relays the messages learns nothing it can test offline: each attempt is one online guess.
2. **Confirmation.** The sender sends ``KeyConfirm(fingerprint=fp_S, mac=MAC(k, "sender", ids,
   fp_S, ""))`` before its offer; the receiver checks it, and answers before its answer with
   ``KeyConfirm(fingerprint=fp_R, mac=MAC(k, "receiver", ids, fp_S, fp_R))``: a MAC over both
   fingerprints and both peer ids. A MAC that does not check means a wrong code (or a relay
   that changed the message): :class:`PairingFailedError`.
3. **Check before applying.** Each side calls :meth:`Pairing.check_remote_sdp` on the remote
   SDP before applying it; a fingerprint other than the confirmed one raises
   :class:`TamperedError` ("The connection was tampered with — not casting"). The side that
   found it then sends :meth:`Pairing.tamper_notice`, a ``KeyConfirm(tampered=True)`` under the
   shared key, so the other side refuses too, on evidence the relay cannot forge.

A :class:`Pairing` is pure (no I/O, no asyncio) and good for one attempt: after any failure
every further call raises, so a peer gets one guess per pairing attempt.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import re

from spake2 import SPAKE2_A, SPAKE2_B
from spake2.spake2 import SPAKEError

from castapp.codes import clean
from castapp.protocol import KeyConfirm, PakeMessage

_CONTEXT = b"castapp pake v1\x00"
_CONFIRM = b"castapp confirm v1\x00"
_FINGERPRINT = re.compile(r"^a=fingerprint:(\S+)\s+([0-9A-Fa-f:]+)\s*$", re.M)


class PairingError(Exception):
    """Pairing cannot go on; ``str()`` is a sentence for people."""


class PairingFailedError(PairingError):
    """The other side used another code (or the messages were changed on the way)."""

    def __init__(self) -> None:
        super().__init__("The code did not match; check the code on the TV and try again.")


class TamperedError(PairingError):
    """An SDP carries a DTLS fingerprint other than the one the code confirmed."""

    def __init__(self) -> None:
        super().__init__("The connection was tampered with — not casting.")


class PairingRole(enum.StrEnum):
    SENDER = "sender"
    RECEIVER = "receiver"


class _State(enum.Enum):
    NEW = "new"
    STARTED = "started"  # our PAKE message is out
    KEYED = "keyed"  # both PAKE messages seen: a key, not yet confirmed
    CONFIRMED = "confirmed"  # the other side's MAC checked
    TAMPERED = "tampered"  # a remote SDP was not the confirmed one: only the notice is left
    FAILED = "failed"


def fingerprints(sdp: str) -> str:
    """The DTLS fingerprints of an SDP, canonical: ``alg HEX`` lines sorted, joined by ``;``.

    Empty when the SDP has none (which no check accepts)."""
    found = {f"{alg.lower()} {value.upper()}" for alg, value in _FINGERPRINT.findall(sdp)}
    return ";".join(sorted(found))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise PairingFailedError() from exc


def password(code: str, pin: str | None = None) -> bytes:
    """The PAKE secret: the canonical code, and the PIN the TV shows when it shows one."""
    return _CONTEXT + clean(code).encode() + b"\x00" + (pin or "").strip().encode()


class Pairing:
    """One pairing attempt between a sender and a receiver, from one side.

    ``sender_id`` and ``receiver_id`` are the two peer ids (the same on both sides).
    """

    def __init__(self, role: PairingRole, code: str, sender_id: str, receiver_id: str, *,
                 pin: str | None = None, attempt: int = 0) -> None:
        self.role = role
        #: The number of this pairing (one per peer connection), stamped on its messages.
        self.attempt = attempt
        self.pin = pin  # kept to tell which PIN a confirmed pairing proved
        self.ids = (sender_id.encode(), receiver_id.encode())
        cls = SPAKE2_A if role is PairingRole.SENDER else SPAKE2_B
        self._spake = cls(password(code, pin), idA=self.ids[0], idB=self.ids[1])
        self._state = _State.NEW
        self._key: bytes | None = None
        self._fp: dict[PairingRole, str] = {}
        self._seen = ""  # the fingerprints found instead of the confirmed ones

    @property
    def confirmed(self) -> bool:
        return self._state is _State.CONFIRMED

    @property
    def keyed(self) -> bool:
        """Both PAKE messages are in: a key (confirmed or not)."""
        return self._state in (_State.KEYED, _State.CONFIRMED)

    @property
    def failed(self) -> bool:
        return self._state in (_State.FAILED, _State.TAMPERED)

    def _fail(self, exc: PairingError) -> PairingError:
        self._state, self._key = _State.FAILED, None
        return exc

    def _need(self, *states: _State) -> None:
        if self._state is _State.TAMPERED:
            raise TamperedError()
        if self._state is _State.FAILED:
            raise PairingFailedError()
        if self._state not in states:
            raise PairingError(f"Pairing step out of order ({self._state.value}).")

    # -------------------------------------------------------------- PAKE
    def start(self) -> PakeMessage:
        """Our PAKE message (send it to the other side)."""
        self._need(_State.NEW)
        self._state = _State.STARTED
        return PakeMessage(step=0, data=_b64(self._spake.start()), attempt=self.attempt)

    def receive(self, msg: PakeMessage) -> None:
        """The other side's PAKE message: derive the key (not yet confirmed)."""
        self._need(_State.STARTED)
        if msg.step != 0:
            raise self._fail(PairingFailedError())
        try:
            key = self._spake.finish(_unb64(msg.data))
        except (SPAKEError, ValueError, PairingError, AssertionError) as exc:
            raise self._fail(PairingFailedError()) from exc
        self._key = hashlib.sha256(b"castapp pairing key\x00" + key).digest()
        self._state = _State.KEYED

    # -------------------------------------------------------------- confirmation
    def _mac(self, role: PairingRole, fp_sender: str, fp_receiver: str,
             label: bytes = b"confirm") -> str:
        assert self._key is not None
        parts = (_CONFIRM, label, role.value.encode(), *self.ids, fp_sender.encode(),
                 fp_receiver.encode())
        body = b"".join(len(x).to_bytes(4, "big") + x for x in parts)
        return _b64(hmac.new(self._key, body, hashlib.sha256).digest())

    def confirm(self, local_sdp: str) -> KeyConfirm:
        """Our confirmation, binding the fingerprint of our own SDP (the sender before its
        offer; the receiver, after checking the sender's, before its answer)."""
        local = fingerprints(local_sdp)
        if not local:
            raise PairingError("The local description has no DTLS fingerprint.")
        if self.role is PairingRole.SENDER:
            self._need(_State.KEYED)
            self._fp[PairingRole.SENDER] = local
            return KeyConfirm(fingerprint=local, mac=self._mac(self.role, local, ""),
                              attempt=self.attempt)
        self._need(_State.CONFIRMED)
        self._fp[PairingRole.RECEIVER] = local
        return KeyConfirm(fingerprint=local, mac=self._mac(
            self.role, self._fp[PairingRole.SENDER], local), attempt=self.attempt)

    def check_confirm(self, msg: KeyConfirm) -> None:
        """The other side's confirmation: raises :class:`PairingFailedError` unless its MAC
        proves the same key and covers what we know, and :class:`TamperedError` for a genuine
        tamper notice."""
        if msg.tampered:
            self._need(_State.KEYED, _State.CONFIRMED)
            other = (PairingRole.RECEIVER if self.role is PairingRole.SENDER
                     else PairingRole.SENDER)
            if hmac.compare_digest(self._notice_mac(other, msg.fingerprint).encode(),
                                   msg.mac.encode()):
                raise self._fail(TamperedError())
            raise self._fail(PairingFailedError())
        if self.role is PairingRole.RECEIVER:
            self._need(_State.KEYED)
            fp_s, fp_r, other = msg.fingerprint, "", PairingRole.SENDER
        else:
            self._need(_State.KEYED)
            if PairingRole.SENDER not in self._fp:
                raise PairingError("Send our confirmation before checking theirs.")
            fp_s, fp_r, other = self._fp[PairingRole.SENDER], msg.fingerprint, PairingRole.RECEIVER
        if not msg.fingerprint or not hmac.compare_digest(
            self._mac(other, fp_s, fp_r).encode(), msg.mac.encode()
        ):
            raise self._fail(PairingFailedError())
        self._fp[other] = msg.fingerprint
        self._state = _State.CONFIRMED

    def check_remote_sdp(self, sdp: str) -> None:
        """Call before applying the other side's SDP: its DTLS fingerprints must be exactly
        the confirmed ones, else :class:`TamperedError`."""
        self._need(_State.CONFIRMED)
        other = PairingRole.RECEIVER if self.role is PairingRole.SENDER else PairingRole.SENDER
        found = fingerprints(sdp)
        if not hmac.compare_digest(found.encode(), self._fp[other].encode()):
            self._state, self._seen = _State.TAMPERED, found
            raise TamperedError()

    def tamper_notice(self) -> KeyConfirm:
        """After :meth:`check_remote_sdp` found tampering: the authenticated alarm to send to
        the other side (then end the call)."""
        if self._state is not _State.TAMPERED or self._key is None:
            raise PairingError("Nothing was found tampered with.")
        return KeyConfirm(fingerprint=self._seen, tampered=True,
                          mac=self._notice_mac(self.role, self._seen), attempt=self.attempt)

    def _notice_mac(self, role: PairingRole, seen: str) -> str:
        return self._mac(role, seen, "", label=b"tampered")

    def check_local_sdp(self, sdp: str) -> None:
        """Our own SDP must still carry the fingerprint we confirmed (a new peer connection
        needs a new pairing)."""
        self._need(_State.KEYED, _State.CONFIRMED)
        if fingerprints(sdp) != self._fp.get(self.role):
            raise PairingError("The local certificate changed after confirmation.")
