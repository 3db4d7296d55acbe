"""Where a sender casts and what it casts: used by ``castapp send`` and the sender window.

What was typed (a code or a ``castapp://`` link) and the room-service field resolve to a
:class:`~castapp.links.CastTarget` and a service URL; without one the receiver is looked for
on the LAN, and a receiver found whose service then does not know the code (it changed
meanwhile) is skipped and looked for again. A quality preset becomes a frame source (checked
up front: a monitor that does not exist, a size the pattern cannot take) and a session.

Every failure leaves as :class:`CastFailed` carrying a typed
:class:`~castapp.app.words.Failure`; presenters word it with :mod:`castapp.app.words`.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from castapp.app.host import FATAL
from castapp.app.platform import machine_name
from castapp.app.words import Failure, failure
from castapp.codes import CodeFormat, pin_of
from castapp.links import CastTarget, LinkError, parse_cast_input, server_url_from_text
from castapp.quality import Preset

if TYPE_CHECKING:
    from castapp.discovery.record import NotFound, Receiver
    from castapp.rtc.capture import FrameSource
    from castapp.rtc.capture_source import CaptureSpec
    from castapp.session.sender import SenderSession, SenderStatus

log = logging.getLogger(__name__)

#: Receivers skipped (found, but their service did not know the code) before giving up.
MAX_SKIPS = 2
#: How long a new source may take to produce its first frame.
FIRST_FRAME_S = 5.0

Discover = Callable[[str, Sequence[str]], Awaitable["Receiver | NotFound"]]


class CastFailed(Exception):
    """Casting cannot go on; ``failure`` says why."""

    def __init__(self, what: object) -> None:
        self.failure = failure(what)
        super().__init__(self.failure.code)


# ------------------------------------------------------------------ what was typed
def parse_target(text: str | None, fmt: CodeFormat | None = None) -> CastTarget:
    if not text or not text.strip():
        raise CastFailed(Failure("no_code"))
    try:
        return parse_cast_input(text, fmt)
    except LinkError as exc:
        raise CastFailed(Failure("bad_input", {"reason": str(exc)})) from None


def service_url(target: CastTarget, typed: str | None) -> str | None:
    """The link's service, else the typed one (host:port or a URL), else None (look on the LAN)."""
    if target.server_url is not None:
        return target.server_url
    try:
        return server_url_from_text(typed or "")
    except LinkError:
        raise CastFailed(Failure("bad_address")) from None


# ------------------------------------------------------------------ finding the receiver
@dataclass(frozen=True)
class Looking:
    """Looking for the receiver on the LAN (``skipped``: receivers passed over so far)."""

    skipped: int = 0


@dataclass(frozen=True)
class Found:
    name: str
    host: str
    port: int


SenderEvent = Looking | Found


def lan_discovery(timeout: float = 3.0, interfaces: Collection[str] = ()) -> Discover:
    """Look for the receiver showing a code on this machine's LAN interfaces."""

    async def discover(code: str, skip: Sequence[str]) -> Receiver | NotFound:
        from castapp.discovery.mdns import find_receiver, lan_addresses

        return await find_receiver(code, timeout=timeout, skip=skip,
                                   addresses=lan_addresses(interfaces))

    return discover


def not_found(found: NotFound) -> Failure:
    from castapp.discovery.record import NotFoundReason

    code = {NotFoundReason.NO_ANSWER: "not_found", NotFoundReason.INCOMPATIBLE: "incompatible",
            NotFoundReason.NO_NETWORK: "no_network"}[found.reason]
    return Failure(code, {"reason": found.reason.value, "name": found.name or "",
                          "seen": str(found.seen)})


# ------------------------------------------------------------------ what is cast
def send_preset(quality: str | None, fps: float | None = None,
                max_size: tuple[int, int] | None = None) -> Preset:
    """A quality preset (or the native one) with the frame rate and size asked for."""
    from dataclasses import replace

    from castapp.quality import NATIVE, preset

    base = preset(quality) if quality else NATIVE
    return replace(base, fps=fps or base.fps, max_size=max_size or base.max_size)


def check_monitor(monitor: int, display: str | None) -> None:
    """Raise :class:`CastFailed` unless ``monitor`` exists (saying which do); 0 is all of
    them together."""
    from castapp.rtc.capture import SCREEN_FAILURES, list_monitors

    try:
        monitors = list_monitors(display)[1:]
    except SCREEN_FAILURES as exc:  # no screen to open
        raise CastFailed(Failure("no_screen", {"reason": str(exc) or type(exc).__name__})) \
            from None
    if not 0 <= monitor <= len(monitors):
        available = ", ".join(f"{m.index} ({m.width}x{m.height})" for m in monitors)
        raise CastFailed(Failure("no_monitor", {
            "monitor": str(monitor),
            "available": f"{len(monitors)}: {available}" if monitors else "none"}))


def synthetic_source(size: tuple[int, int], fps: float) -> FrameSource:
    from castapp.rtc.capture import SyntheticSource

    try:
        return SyntheticSource(*size, fps=fps)
    except (ValueError, MemoryError) as exc:
        raise CastFailed(Failure("bad_size", {"size": f"{size[0]}x{size[1]}",
                                              "reason": str(exc)})) from None


def screen_source(preset: Preset, what: int | CaptureSpec, display: str | None = None,
                  max_size: tuple[int, int] | None = None) -> FrameSource:
    """A capture of a monitor (by number), or of what ``what`` names: a region of a monitor,
    one window, with or without the pointer; raises :class:`CastFailed` in the user's words."""
    from castapp.rtc.capture_source import (
        CaptureSpec,
        CaptureSpecError,
        choose_backend,
        make_source,
    )

    spec = what if isinstance(what, CaptureSpec) else CaptureSpec(what)
    try:
        if spec.window is None and choose_backend(spec) == "x11":
            check_monitor(spec.monitor, display)
        return make_source(spec, fps=preset.fps, max_size=max_size or preset.max_size,
                           display=display)
    except CaptureSpecError as exc:
        raise CastFailed(Failure("source_failed", {"reason": str(exc)})) from None


async def start_source(source: FrameSource, timeout: float = FIRST_FRAME_S) -> None:
    """Start ``source`` and wait for its first frame; raises :class:`CastFailed`."""
    from castapp.rtc.mailbox import SourceClosedError

    try:
        source.start()
        await asyncio.wait_for(asyncio.ensure_future(source.next_frame()), timeout)
    except SourceClosedError:
        raise CastFailed(source_failure(source)) from None
    except TimeoutError:
        source.stop()
        raise CastFailed(Failure("source_failed", {
            "reason": f"no picture within {timeout:.0f} s"})) from None
    except (OSError, ValueError, RuntimeError) as exc:
        source.stop()
        raise CastFailed(Failure("source_failed", {"reason": str(exc)})) from None


def source_failure(source: FrameSource) -> Failure:
    error = source.error
    reason = (str(error) or type(error).__name__) if error else "it stopped"
    return Failure("source_failed", {"reason": reason})


async def watch_source(source: FrameSource, on_failure: Callable[[Failure], None],
                       every: float = 0.5) -> None:
    """Report once when a running source fails (its capture thread ended with an error)."""
    while True:
        await asyncio.sleep(every)
        if source.error is not None:
            on_failure(source_failure(source))
            return


# ------------------------------------------------------------------ the session
@dataclass
class Caster:
    """Starts a sender session to a target, finding the receiver on the LAN if needed."""

    discover: Discover | None = None
    name: str = ""
    on_status: Callable[[SenderStatus], None] | None = None
    on_event: Callable[[SenderEvent], None] | None = None
    #: Keyword arguments for the session: codec, encoder and the ICE options.
    session_args: dict[str, Any] = field(default_factory=dict)
    #: The session of the attempt under way (set before it is asked in, so a PIN can be given).
    session: SenderSession | None = field(default=None, init=False)
    _answers: set[asyncio.Future[Any]] = field(default_factory=set, init=False, repr=False)

    def answer_pin(self, pin: str) -> bool:
        """Give the TV the PIN it shows; False when no session is there to take it.

        Raises ValueError when ``pin`` is not digits (:func:`castapp.codes.pin_of`): say
        ``words.not_a_pin()``; nothing is tried, so no wrong PIN is counted."""
        digits = pin_of(pin)
        if digits is None:
            raise ValueError("not a PIN")
        answer = getattr(self.session, "answer_pin", None)
        if answer is None:
            return False
        result = answer(digits)
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            self._answers.add(task)
            task.add_done_callback(self._answered)
        return True

    def _answered(self, task: asyncio.Future[Any]) -> None:
        self._answers.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.warning("the PIN could not be given to the TV: %s", exc)

    def _emit(self, event: SenderEvent) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def _watching(self, fatal: asyncio.Future[object]) -> Callable[[SenderStatus], None]:
        """Pass statuses on; a room-service error retrying cannot cure ends the attempt."""

        def on_status(st: SenderStatus) -> None:
            if (st.error is not None and str(getattr(st.error, "code", "")) in FATAL
                    and not fatal.done()):
                fatal.set_result(st.error)
            if self.on_status is not None:
                self.on_status(st)

        return on_status

    async def find(self, code: str, skip: Sequence[str] = ()) -> Receiver:
        from castapp.discovery.record import NotFound

        if self.discover is None:
            raise CastFailed(Failure("not_found"))
        self._emit(Looking(len(skip)))
        try:
            found = await self.discover(code, list(skip))
        except OSError as exc:
            raise CastFailed(Failure("network_error",
                                     {"reason": exc.strerror or str(exc)})) from None
        if isinstance(found, NotFound):
            raise CastFailed(not_found(found))
        self._emit(Found(found.name, found.host, found.port))
        return found

    async def cast(self, target: CastTarget, url: str | None,
                   source: FrameSource) -> SenderSession:
        """A session casting ``source`` to ``target``; raises :class:`CastFailed`."""
        from castapp.session.sender import SenderSession
        from castapp.signaling.client import SignalingError, UnknownCodeError

        skip: list[str] = []  # receivers found whose service then refused the code
        while True:
            found = None
            where = url
            if where is None:
                found = await self.find(target.code, skip)
                where = found.server_url
            fatal: asyncio.Future[object] = asyncio.get_running_loop().create_future()
            session = SenderSession(where, source, name=self.name or machine_name(),
                                    on_status=self._watching(fatal), **self.session_args)
            self.session = session
            try:
                casting = asyncio.ensure_future(session.cast(target.code))
                try:
                    await asyncio.wait([casting, cast(asyncio.Future[Any], fatal)],
                                       return_when=asyncio.FIRST_COMPLETED)
                except asyncio.CancelledError:  # stopped meanwhile: the attempt goes too
                    casting.cancel()
                    with contextlib.suppress(asyncio.CancelledError, SignalingError):
                        await casting
                    raise
                if not casting.done():  # retrying cannot cure it: say so now
                    casting.cancel()
                    with contextlib.suppress(asyncio.CancelledError, SignalingError):
                        await casting
                    raise CastFailed(fatal.result())
                casting.result()
                return session
            except UnknownCodeError as exc:
                await session.close()
                if found is None or len(skip) >= MAX_SKIPS:
                    raise CastFailed(Failure("not_found") if found is not None else exc) \
                        from None
                log.info("%s does not know the code; looking again", found.name)
                skip.append(found.instance)
            except SignalingError as exc:
                await session.close()
                raise CastFailed(exc) from None
            except CastFailed:
                await session.close()
                raise
            except BaseException:
                with contextlib.suppress(Exception):  # broad: the failure raised is what is said
                    await session.close()
                raise
