"""Every sentence castapp says about its state, once, in plain English.

The command line prints these phrases as they are; the windows pass each one through Qt's
translation system (context ``Texts``): the strings are marked with ``QT_TRANSLATE_NOOP`` so
``pyside6-lupdate`` finds them here, and ``castapp.gui.texts`` renders a phrase with
``QCoreApplication.translate``. No Qt is imported: this module belongs to the core.

Failures are worded from one table, :data:`FAILURES`, keyed by a failure's stable code (a
room-service error code, a connection diagnosis, or the snake-case name of a typed failure
status): a new kind of failure needs one entry there and nothing else.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, is_dataclass
from typing import TYPE_CHECKING, Any, Union

if TYPE_CHECKING:
    from castapp.linkquality import LinkQuality
    from castapp.rtc.peer import PeerStats, Route
    from castapp.session.receiver import ReceiverStatus
    from castapp.session.sender import EndReason, SenderStatus


def QT_TRANSLATE_NOOP(context: str, text: str) -> str:  # the name lupdate knows
    """Mark ``text`` for translation in ``context``; returns it unchanged."""
    return text


Translate = Callable[[str], str]
Arg = Union[str, "Phrase"]


def _same(text: str) -> str:
    return text


@dataclass(frozen=True)
class Phrase:
    """An English template, its arguments (text or phrases) and phrases that follow it."""

    text: str
    args: tuple[tuple[str, Arg], ...] = ()
    # (separator, phrase) pairs appended when rendered, e.g. " · " and a route.
    rest: tuple[tuple[str, Phrase], ...] = ()

    def render(self, translate: Translate = _same) -> str:
        values = {k: v.render(translate) if isinstance(v, Phrase) else v for k, v in self.args}
        line = translate(self.text)
        if values:
            line = line.format(**values)
        for sep, more in self.rest:
            line += sep + more.render(translate)
        return line

    def then(self, sep: str, more: Phrase) -> Phrase:
        return Phrase(self.text, self.args, (*self.rest, (sep, more)))

    def __str__(self) -> str:
        return self.render()


def say(text: str, **args: Arg | int | float) -> Phrase:
    return Phrase(text, tuple((k, v if isinstance(v, (str, Phrase)) else str(v))
                              for k, v in args.items()))


EMPTY = Phrase("")

# ------------------------------------------------------------------ failures
# Every failure a person may be told about, by its stable code. The arguments come from the
# failure's fields (see :func:`failure`).
FAILURES: dict[str, str] = {
    # the room service
    "unreachable": QT_TRANSLATE_NOOP("Texts", "The room service cannot be reached."),
    "tls_untrusted": QT_TRANSLATE_NOOP(
        "Texts", "The room service's TLS certificate is not trusted by this computer."),
    "unknown_code": QT_TRANSLATE_NOOP(
        "Texts", "No receiver is showing this code. Check the code on the TV."),
    "room_full": QT_TRANSLATE_NOOP(
        "Texts", "The room is full: no one else can present on this TV right now."),
    "rate_limited": QT_TRANSLATE_NOOP("Texts", "Too many attempts. Wait a moment and try again."),
    "unsupported_version": QT_TRANSLATE_NOOP(
        "Texts", "The room service runs a different version of castapp. Update both sides."),
    "service_full": QT_TRANSLATE_NOOP("Texts", "The room service is busy. Try again in a minute."),
    "internal_error": QT_TRANSLATE_NOOP("Texts", "The room service had a problem. Try again."),
    "pin_required": QT_TRANSLATE_NOOP(
        "Texts", "Too many wrong codes were tried on this room service: it now also asks for "
        "the PIN shown on the TV."),
    "not_proven": QT_TRANSLATE_NOOP(
        "Texts", "The room service could not confirm that this receiver owns its saved code."),
    "refused": QT_TRANSLATE_NOOP("Texts", "The room service refused: {reason}"),
    # finding a receiver on the LAN
    "not_found": QT_TRANSLATE_NOOP(
        "Texts", "No receiver on this network has this code. Check the code on the TV; if it "
        "is right, enter the room service address shown there."),
    "incompatible": QT_TRANSLATE_NOOP(
        "Texts", "The receiver runs a different version of castapp. Update both sides."),
    "no_network": QT_TRANSLATE_NOOP(
        "Texts", "There is no network to look for the receiver on."),
    "network_error": QT_TRANSLATE_NOOP(
        "Texts", "Cannot look for the receiver on the network: {reason}"),
    # what was typed
    "no_code": QT_TRANSLATE_NOOP("Texts", "Type the code shown on the TV."),
    "bad_input": QT_TRANSLATE_NOOP("Texts", "This is not a cast code or castapp link: {reason}"),
    "bad_address": QT_TRANSLATE_NOOP(
        "Texts", "The room service address is not valid. Use host:port."),
    # what is cast
    "no_monitor": QT_TRANSLATE_NOOP(
        "Texts", "Monitor {monitor} does not exist; this computer has {available}."),
    "no_screen": QT_TRANSLATE_NOOP("Texts", "Cannot open the screen to capture: {reason}"),
    "source_failed": QT_TRANSLATE_NOOP("Texts", "Cannot capture the screen: {reason}"),
    "bad_size": QT_TRANSLATE_NOOP("Texts", "Cannot cast a picture of {size}: {reason}"),
    # hosting a receiver
    "cannot_record": QT_TRANSLATE_NOOP("Texts", "Cannot record to {path}: {reason}"),
    "cannot_listen": QT_TRANSLATE_NOOP(
        "Texts", "Cannot start the room service on {address}: {reason}"),
    "cannot_keep_state": QT_TRANSLATE_NOOP(
        "Texts", "Cannot keep this TV's code and keys in {path}: {reason}"),
    # media could not connect (castapp.rtc.diagnose.Diagnosis values)
    "no_answer": QT_TRANSLATE_NOOP(
        "Texts", "The receiver did not answer the connection request."),
    "no_path_no_turn": QT_TRANSLATE_NOOP(
        "Texts", "No direct path between the two networks and no TURN server configured."),
    "relay_only_no_turn": QT_TRANSLATE_NOOP(
        "Texts", "Relay only was asked for, but no TURN server is configured."),
    "turn_refused": QT_TRANSLATE_NOOP("Texts", "The TURN server refused the credentials."),
    "turn_unreachable": QT_TRANSLATE_NOOP("Texts", "The TURN server could not be reached."),
    "turn_untrusted": QT_TRANSLATE_NOOP(
        "Texts", "The TURN server's TLS certificate is not trusted."),
    "no_path": QT_TRANSLATE_NOOP(
        "Texts", "No network path to the receiver, not even through the relay."),
    # the cast ended (castapp.session.sender.EndReason values)
    "receiver_stopped": QT_TRANSLATE_NOOP("Texts", "The receiver ended the cast."),
    "receiver_busy": QT_TRANSLATE_NOOP("Texts", "The receiver is showing someone else's screen."),
    "room_closed": QT_TRANSLATE_NOOP(
        "Texts", "The receiver closed. Check the code and cast again."),
    "media_failed": QT_TRANSLATE_NOOP("Texts", "The connection to the receiver was lost."),
    "service_failed": QT_TRANSLATE_NOOP("Texts", "The room service refused: {reason}"),
    "fault": QT_TRANSLATE_NOOP("Texts", "castapp ran into a problem and stopped: {reason}"),
    # the TV decided (castapp.session.sender.EndReason values of the meeting room)
    "denied": QT_TRANSLATE_NOOP("Texts", "The TV said no."),
    "stopped_by_tv": QT_TRANSLATE_NOOP("Texts", "The TV stopped your cast."),
    "tampered": QT_TRANSLATE_NOOP(
        "Texts", "The connection was tampered with — not casting."),
}
#: End reasons a command line exits non-zero on, though the session did not fail.
REFUSALS = frozenset({"denied", "stopped_by_tv", "room_full", "tampered", "receiver_busy"})
_UNKNOWN = QT_TRANSLATE_NOOP("Texts", "Something went wrong: {reason}")
_RETRY = QT_TRANSLATE_NOOP("Texts", "(retry in {s} s)")


@dataclass(frozen=True)
class Failure:
    """A failure as a presenter sees it: a stable code and the facts that word it."""

    code: str
    args: Mapping[str, str] = None  # type: ignore[assignment]  # set in __post_init__
    retry_after_s: float | None = None

    def __post_init__(self) -> None:
        if self.args is None:
            object.__setattr__(self, "args", {})


def _snake(name: str) -> str:
    name = name.removesuffix("Error")
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def failure(what: object) -> Failure:
    """The failure behind an error, a diagnosis, an end reason or a typed failure status.

    Its code is the object's ``code`` (room-service errors), its ``value`` (enums) or the
    snake-case name of its type (``SourceFailed`` -> ``source_failed``); a dataclass's fields
    become the sentence's arguments.
    """
    if isinstance(what, Failure):
        return what
    if isinstance(what, enum.Enum):
        return Failure(str(what.value))
    code = getattr(what, "code", None)
    args: dict[str, str] = {}
    if is_dataclass(what) and not isinstance(what, type):
        args = {f.name: str(getattr(what, f.name)) for f in fields(what)
                if isinstance(getattr(what, f.name), (str, int, float))}
    message = getattr(what, "message", None) or (str(what) if isinstance(what, Exception)
                                                 else "")
    args.setdefault("reason", message)
    retry = getattr(what, "retry_after_s", None)
    return Failure(str(code) if code else _snake(type(what).__name__), args,
                   retry if isinstance(retry, (int, float)) else None)


def failure_phrase(what: object) -> Phrase:
    f = failure(what)
    template = FAILURES.get(f.code)
    args: dict[str, Any] = dict(f.args)
    if template is None:
        template = FAILURES["refused"] if f.code and "reason" in args and args["reason"] \
            else _UNKNOWN
        args.setdefault("reason", f.code)
    try:
        template.format(**args)
    except (KeyError, IndexError):  # a field missing: say what is known
        args = {k: args.get(k, "?") for k in re.findall(r"\{(\w+)\}", template)}
    phrase = say(template, **args)
    if f.retry_after_s:
        phrase = phrase.then(" ", say(_RETRY, s=round(f.retry_after_s)))
    return phrase


# ------------------------------------------------------------------ routes, links
_ROUTES = {
    "direct": QT_TRANSLATE_NOOP("Texts", "direct"),
    "nat": QT_TRANSLATE_NOOP("Texts", "through NAT"),
    "relay": QT_TRANSLATE_NOOP("Texts", "relayed"),
}
_LINKS = {
    "good": QT_TRANSLATE_NOOP("Texts", "link: good"),
    "fair": QT_TRANSLATE_NOOP("Texts", "link: fair"),
    "poor": QT_TRANSLATE_NOOP("Texts", "link: poor"),
}


def route(r: Route | None) -> Phrase:
    return say(_ROUTES.get(r.value, r.value)) if r is not None else EMPTY


def route_line(r: Route) -> Phrase:
    return say(QT_TRANSLATE_NOOP("Texts", "Media path: {route}"), route=route(r))


def link(quality: LinkQuality) -> Phrase:
    return say(_LINKS[quality.value])


def service_trouble(retry_in_s: float | None) -> Phrase:
    if retry_in_s is None:
        return say(QT_TRANSLATE_NOOP("Texts", "Room service unreachable"))
    if round(retry_in_s) < 1:
        return say(QT_TRANSLATE_NOOP("Texts", "Room service unreachable — trying again now"))
    return say(QT_TRANSLATE_NOOP("Texts", "Room service unreachable — retrying in {s} s"),
               s=round(retry_in_s))


def service_back(display_code: str | None) -> Phrase:
    """The room service answers again; a receiver (``display_code``) says its code."""
    if not display_code:
        return say(QT_TRANSLATE_NOOP("Texts", "Room service reachable again"))
    return say(QT_TRANSLATE_NOOP("Texts", "Room service reachable again; cast code {code}"),
               code=display_code)


def reconnecting() -> Phrase:
    return say(QT_TRANSLATE_NOOP("Texts", "Reconnecting…"))


def _a_sender() -> Phrase:
    return say(QT_TRANSLATE_NOOP("Texts", "A sender"))


# ------------------------------------------------------------------ the receiver
def receiver_line(st: ReceiverStatus) -> Phrase:
    """The receiver window's status line (empty when all is well and nothing needs saying)."""
    from castapp.session.receiver_table import ReceiverState

    if not st.service_ok:
        return service_trouble(st.retry_in_s)
    if st.error is not None:
        return failure_phrase(st.error)
    if st.state is ReceiverState.STARTING:
        return say(QT_TRANSLATE_NOOP("Texts", "Starting…"))
    if st.state is ReceiverState.CONNECTING:
        return say(QT_TRANSLATE_NOOP("Texts", "{name} is connecting…"),
                   name=st.sender or _a_sender())
    if st.state is ReceiverState.RECONNECTING:
        return reconnecting()
    return EMPTY


def receiver_state(st: ReceiverStatus) -> Phrase:
    """One line for each state of the receiver (the command line's running commentary)."""
    from castapp.session.receiver_table import ReceiverState

    if st.state is ReceiverState.STARTING:
        return say(QT_TRANSLATE_NOOP("Texts", "Starting…"))
    if st.state is ReceiverState.WAITING:
        return say(QT_TRANSLATE_NOOP("Texts", "Waiting for a sender"))
    if st.state is ReceiverState.CONNECTING:
        return say(QT_TRANSLATE_NOOP("Texts", "{name} is connecting…"),
                   name=st.sender or _a_sender())
    if st.state is ReceiverState.RECEIVING:
        return casting_banner(st.sender, None, None)
    if st.state is ReceiverState.RECONNECTING:
        return reconnecting()
    if st.state is ReceiverState.STOPPED:
        return say(QT_TRANSLATE_NOOP("Texts", "The receiver stopped."))
    return say(st.state.value)


def casting_banner(sender: str | None, quality: LinkQuality | None,
                   r: Route | None = None) -> Phrase:
    line = say(QT_TRANSLATE_NOOP("Texts", "{name} is casting"), name=sender or _a_sender())
    if r is not None:
        line = line.then(" · ", route(r))
    if quality is not None:
        line = line.then(" · ", link(quality))
    return line


def call_ended(name: str, let_on: bool) -> Phrase:
    """A presenter's call ended: after it was let on, or before (denied, or gave up asking)."""
    who: Arg = name or _a_sender()
    if not let_on:
        return say(QT_TRANSLATE_NOOP("Texts", "{name} no longer asks to present"), name=who)
    return say(QT_TRANSLATE_NOOP("Texts", "{name} stopped presenting"), name=who)


def call_line(name: str, phase: str, pin: str | None = None) -> Phrase:
    """One presenter's state as the TV says it (its end: :func:`call_ended`).

    The PIN is worded only for the TV's own screen or terminal, never for a log.
    """
    who: Arg = name or _a_sender()
    if phase == "asking":
        return say(QT_TRANSLATE_NOOP("Texts", "{name} wants to present"), name=who)
    if phase == "pin":
        if pin:
            return say(QT_TRANSLATE_NOOP("Texts", "PIN for {name}: {pin}"), name=who, pin=pin)
        return say(QT_TRANSLATE_NOOP("Texts", "{name} is typing the PIN"), name=who)
    if phase == "connecting":
        return say(QT_TRANSLATE_NOOP("Texts", "{name} is connecting…"), name=who)
    if phase == "showing":
        return say(QT_TRANSLATE_NOOP("Texts", "{name} is on screen"), name=who)
    if phase == "reconnecting":
        return say(QT_TRANSLATE_NOOP("Texts", "{name}: reconnecting…"), name=who)
    return say("{name}: {phase}", name=who, phase=phase)


def tv_commands() -> Phrase:
    return say(QT_TRANSLATE_NOOP(
        "Texts", "Type allow N, deny N or stop N (N: the presenter's number or name)."))


def no_such_call(which: str) -> Phrase:
    return say(QT_TRANSLATE_NOOP("Texts", "No presenter {which} is in the room."), which=which)


def several_calls(which: str, numbered: str) -> Phrase:
    """``which`` names more than one presenter (``numbered``: "[1] Ada Byron, [2] Ada …")."""
    return say(QT_TRANSLATE_NOOP(
        "Texts", "More than one presenter is called {which}: {numbered}. Type the number."),
        which=which, numbered=numbered)


def cannot_now(command: str, name: str) -> Phrase:
    return say(QT_TRANSLATE_NOOP("Texts", "Cannot {command} {name} now."), command=command,
               name=name or _a_sender())


def cast_code(display_code: str) -> Phrase:
    return say(QT_TRANSLATE_NOOP("Texts", "Cast code {code}"), code=display_code)


def how_to_send(display_code: str, link_text: str | None) -> Phrase:
    if link_text:
        return say(QT_TRANSLATE_NOOP("Texts", "On the laptop: castapp send {code}  (or {link})"),
                   code=display_code, link=link_text)
    return say(QT_TRANSLATE_NOOP("Texts", "On the laptop: castapp send {code}"),
               code=display_code)


def browser_page(link: str, fingerprint: str) -> Phrase:
    """Where a guest's browser shares its screen, and the certificate to compare."""
    return say(QT_TRANSLATE_NOOP(
        "Texts", "In a browser: {link}  (the browser warns about this TV's own certificate; "
        "its SHA-256 fingerprint starts {fingerprint})"), link=link, fingerprint=fingerprint)


def fingerprint_line(fingerprint: str) -> Phrase:
    """The code page's line under the QR code when the page is served over HTTPS."""
    return say(QT_TRANSLATE_NOOP("Texts", "Certificate SHA-256 starts {fingerprint}"),
               fingerprint=fingerprint)


def hosted(address: str | None, port: int) -> Phrase:
    if address:
        return say(QT_TRANSLATE_NOOP("Texts", "Room service on {address}:{port}"),
                   address=address, port=port)
    return say(QT_TRANSLATE_NOOP(
        "Texts", "Room service on port {port} (no network address other machines can reach)"),
        port=port)


def advertised(ok: bool, reason: str | None = None) -> Phrase:
    if ok:
        return say(QT_TRANSLATE_NOOP("Texts", "Found on this network by its code"))
    if reason:
        return say(QT_TRANSLATE_NOOP("Texts", "Cannot advertise on the network: {reason}"),
                   reason=reason)
    return say(QT_TRANSLATE_NOOP("Texts", "Not advertised on the network"))


# ------------------------------------------------------------------ the sender
def sender_line(st: SenderStatus, code: str) -> Phrase:
    from castapp.session.sender import SenderState

    if st.error is not None and st.state is SenderState.IDLE:
        return failure_phrase(st.error)
    if not st.service_ok and st.state is not SenderState.IDLE:
        return service_trouble(st.retry_in_s)
    who: Arg = st.receiver or say(QT_TRANSLATE_NOOP("Texts", "the receiver"))
    if st.state is SenderState.JOINING:
        return say(QT_TRANSLATE_NOOP("Texts", "Looking for {code}…"), code=code)
    if st.state is SenderState.CONNECTING:
        return say(QT_TRANSLATE_NOOP("Texts", "Connecting to {name}…"), name=who)
    if st.state is SenderState.CASTING:
        line = say(QT_TRANSLATE_NOOP("Texts", "Casting to {name}"), name=who)
        line = line.then(" ", say("({route})", route=route(st.route))) if st.route else line
        where = placement(st)
        return line.then(" · ", where) if where is not EMPTY else line
    if st.state is SenderState.RECONNECTING:
        return say(QT_TRANSLATE_NOOP("Texts", "Connection lost — reconnecting to {name}…"),
                   name=who)
    if st.state is SenderState.WAITING:
        return say(QT_TRANSLATE_NOOP(
            "Texts", "The receiver dropped out — waiting for it to come back…"))
    if st.state is SenderState.ENDED:
        failed = sender_failure(st)
        return failure_phrase(failed) if failed is not None else ended(st.ended)
    if st.state.value == "admitting":
        return admitting(st)
    return failure_phrase(Failure("no_code"))


def admitting(st: SenderStatus) -> Phrase:
    """While the TV decides: waiting for Allow, or the PIN to type (and how the last went)."""
    admission = getattr(st, "admission", None)
    kind = str(getattr(admission, "value", admission) or "")
    if not kind:  # joined; the TV has not answered yet (in an open room it lets on at once)
        return say(QT_TRANSLATE_NOOP("Texts", "Asking the TV…"))
    if "pin" not in kind and not getattr(st, "pin_digits", 0):
        return say(QT_TRANSLATE_NOOP("Texts", "Waiting for the TV to allow you…"))
    line = say(QT_TRANSLATE_NOOP("Texts", "Type the PIN shown on the TV"))
    retry = getattr(st, "pin_retry_after_s", None)
    if retry:
        return say(QT_TRANSLATE_NOOP(
            "Texts", "Too many wrong PINs. Try again in {s} s with the new PIN on the TV."),
            s=round(retry))
    if getattr(st, "wrong_pin", False):
        return say(QT_TRANSLATE_NOOP("Texts", "That PIN is not the one on the TV.")).then(
            " ", line)
    return line


def region_cut(width: int, height: int, left: int, top: int) -> Phrase:
    """The region asked for reached past the screen's edge: what is sent instead."""
    return say(QT_TRANSLATE_NOOP(
        "Texts", "The region reaches past the screen: {width}x{height} at {left},{top} is sent."),
        width=width, height=height, left=left, top=top)


def not_a_pin() -> Phrase:
    """What was typed as the TV's PIN is not digits."""
    return say(QT_TRANSLATE_NOOP("Texts", "That is not a PIN: type the digits shown on the TV."))


def needs_pin(st: SenderStatus) -> bool:
    """True while the sender should type the PIN the TV shows."""
    admission = getattr(st, "admission", None)
    kind = str(getattr(admission, "value", admission) or "")
    return st.state.value == "admitting" and ("pin" in kind or bool(
        getattr(st, "pin_digits", 0))) and not getattr(st, "pin_retry_after_s", None)


def placement(st: SenderStatus) -> Phrase:
    """Where this screen is on the TV: full screen, tile N of M, or spotlit ("" unknown)."""
    tiles = getattr(st, "tiles", 0) or 0
    if st.state.value != "casting" or not tiles:
        return EMPTY
    if tiles <= 1:
        return say(QT_TRANSLATE_NOOP("Texts", "on screen: full"))
    if getattr(st, "spotlit", False):
        return say(QT_TRANSLATE_NOOP("Texts", "on screen: spotlit"))
    return say(QT_TRANSLATE_NOOP("Texts", "on screen: tile {n} of {m}"),
               n=getattr(st, "tile", 0) or 1, m=tiles)


def refused(st: SenderStatus) -> bool:
    """The TV or the room said no (denied, stopped, full, tampered): a command exits non-zero."""
    return st.ended is not None and (st.ended.value in REFUSALS
                                     or st.ended.name.lower() in REFUSALS)


def sender_failure(st: SenderStatus) -> Failure | Any | None:
    """What an ended cast failed of (a command exits non-zero), or None if it just ended.

    A diagnosis of the connection, a room-service error, or the end reason with the detail
    the status carries (a source's error, an internal fault).
    """
    if st.diagnosis is not None:
        return st.diagnosis
    reason = st.ended
    if reason is None or not getattr(st, "failed", False):
        return None
    if reason.value == "service_failed" and st.error is not None:
        return st.error
    detail = getattr(st, "source_error", None) or getattr(st, "fault", None) or ""
    return Failure(str(reason.value), {"reason": str(detail)})


def ended(reason: EndReason | None) -> Phrase:
    if reason is not None and reason.value in FAILURES:
        return failure_phrase(reason)
    if reason is not None and reason.name.lower() in FAILURES:
        return failure_phrase(Failure(reason.name.lower()))
    return say(QT_TRANSLATE_NOOP("Texts", "The cast ended."))


def looking() -> Phrase:
    return say(QT_TRANSLATE_NOOP("Texts", "Looking for the receiver on this network…"))


def found(name: str, host: str, port: int) -> Phrase:
    return say(QT_TRANSLATE_NOOP("Texts", "Found {name} at {host}:{port}"),
               name=name, host=host, port=port)


def tray_casting(code: str) -> Phrase:
    return say(QT_TRANSLATE_NOOP("Texts", "Casting to {code}"), code=code)


# ------------------------------------------------------------------ statistics
def stats_lines(stats: PeerStats | None, latency_ms: float | None = None,
                *, sending: bool = False) -> list[Phrase]:
    if stats is None:
        return [say(QT_TRANSLATE_NOOP("Texts", "No statistics yet"))]
    kbps = stats.send_kbps if sending else stats.recv_kbps
    codec = (stats.codec or "–").removeprefix("video/")
    size = f"{stats.width}×{stats.height}" if stats.width and stats.height else "–"
    lines = [
        say(QT_TRANSLATE_NOOP("Texts", "Frame rate: {fps} fps"),
            fps=f"{stats.fps:.0f}" if stats.fps is not None else "–"),
        say(QT_TRANSLATE_NOOP("Texts", "Bitrate: {kbps} kbit/s"),
            kbps=f"{kbps:.0f}" if kbps is not None else "–"),
        say(QT_TRANSLATE_NOOP("Texts", "Resolution: {size}"), size=size),
        say(QT_TRANSLATE_NOOP("Texts", "Codec: {codec}"), codec=codec),
        say(QT_TRANSLATE_NOOP("Texts", "Path: {path}"),
            path=route(stats.ice.route) if stats.ice else say(
                QT_TRANSLATE_NOOP("Texts", "unknown"))),
    ]
    delay = latency_ms if latency_ms is not None else stats.rtt_ms
    if delay is not None:
        lines.insert(2, say(QT_TRANSLATE_NOOP("Texts", "Latency: {ms} ms"), ms=f"{delay:.0f}"))
    return lines
