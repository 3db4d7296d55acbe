"""Headless ``castapp receive`` and ``castapp send``: status lines on stdout, no window."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Coroutine
from dataclasses import astuple
from pathlib import Path
from typing import TYPE_CHECKING, Any

from castapp.app import words
from castapp.app.platform import stop_on_signals
from castapp.app.words import Phrase
from castapp.cli_ice import ice_kwargs
from castapp.tasks import cancel_and_wait

if TYPE_CHECKING:
    from castapp.app.host import HostEvent
    from castapp.app.target import SenderEvent
    from castapp.session.receiver import ReceiverStatus
    from castapp.session.sender import SenderStatus


class Printer:
    """Status lines for people, or one JSON object per line with ``--json``.

    The sentences are those of :mod:`castapp.app.words` (the windows show the same ones);
    a failure goes to stderr as one sentence (stdout in JSON mode).
    """

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self._failure: str | None = None  # the last failure said, until another line

    def __call__(self, event: str, text: str | Phrase, **fields: Any) -> None:
        line = text.render() if isinstance(text, Phrase) else text
        if self.as_json:
            print(json.dumps({"event": event, "t": round(time.time(), 3), **fields}), flush=True)
            return
        if event == "state" and line == self._failure:
            return  # a status that only repeats the failure just said
        self._failure = line if event == "error" else None
        print(f"castapp: {line}", file=sys.stderr if event == "error" else sys.stdout,
              flush=True)

    def fail(self, what: object) -> None:
        """Say a failure in one sentence (its code and facts in JSON)."""
        failure = words.failure(what)
        text = words.failure_phrase(failure).render()
        self("error", text, **{**failure.args, "code": failure.code, "message": text})


def _stats_fields(stats: Any) -> dict[str, Any]:
    return {
        "fps": round(stats.fps, 1) if stats.fps is not None else None,
        "kbps": round(stats.send_kbps or stats.recv_kbps or 0.0),
        "rtt_ms": round(stats.rtt_ms, 1) if stats.rtt_ms is not None else None,
        "codec": stats.codec,
        "width": stats.width,
        "height": stats.height,
        "path": stats.ice.kind if stats.ice else None,
        "route": stats.ice.route.value if stats.ice else None,
        "loss_pct": getattr(stats, "loss_pct", None),
        "pli": getattr(stats, "pli_received", 0),
        "fir": getattr(stats, "fir_received", 0),
        "nack": getattr(stats, "nack_received", 0),
        "frame_age_ms": getattr(stats, "frame_age_ms", None),
    }


def _stats_text(f: dict[str, Any], sent: bool = False) -> str:
    """``--stats`` as a line; ``sent``: the keyframe and resend requests this end sent (a
    TV's), else those it received (a sender's)."""
    rtt = f"{f['rtt_ms']} ms" if f["rtt_ms"] is not None else "-"
    size = f"{f['width']}x{f['height']}" if f["width"] and f["height"] else "size=-"
    asked = (f"pli_sent={f['pli_sent']} nack_sent={f['nack_sent']}" if sent
             else f"pli={f['pli']} nack={f['nack']}")
    fps = f["fps"] if f["fps"] is not None else "-"
    return (f"fps={fps} kbps={f['kbps']} rtt={rtt} codec={f['codec'] or '-'} "
            f"{size} path={f['path'] or '-'} route={f['route'] or '-'} "
            f"loss={f['loss_pct'] if f['loss_pct'] is not None else '-'}% {asked}"
            + (f" age={f['frame_age_ms']} ms" if f.get("frame_age_ms") is not None else "")
            + (f" catchups={f['catchups']}" if f.get("catchups") else ""))


async def _unless_stopped(coro: Coroutine[Any, Any, Any], stop: asyncio.Event) -> bool:
    """Run ``coro`` unless ``stop`` is set first; True when it ran to the end."""
    task = asyncio.ensure_future(coro)
    stopper = asyncio.ensure_future(stop.wait())
    await asyncio.wait([task, stopper], return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    if task.done():
        task.result()  # its exception, if it failed
        return True
    await cancel_and_wait(task)
    return False


async def _until_stopped(stop: asyncio.Event, duration: float | None) -> None:
    loop = asyncio.get_running_loop()
    stop_on_signals(stop)
    if duration:
        loop.call_later(duration, stop.set)
    await stop.wait()


async def _stats_loop(get: Callable[[], Any], out: Printer,
                      extra: Callable[[], dict[str, Any]] | None = None) -> None:
    while True:
        await asyncio.sleep(1.0)
        stats = await get()
        more = extra() if extra is not None else {}
        if stats is not None:
            fields = {**_stats_fields(stats), **more}
            out("stats", "stats " + _stats_text(fields), **fields)


def _tv_call_fields(got: Any) -> dict[str, Any]:
    """One presenter's figures on the TV: what arrives, and the requests the TV sent it."""
    fields = _stats_fields(got.peer) if got.peer is not None else {}
    return {**fields, "fps": round(got.fps, 1), "pli_sent": got.plis, "nack_sent": got.nacks,
            "catchups": got.catchups}


async def _tv_stats_loop(session: Callable[[], Any], lines: CallLines, out: Printer,
                         extra: Callable[[], dict[str, Any]]) -> None:
    """The TV's ``--stats``: every second, a line per presenter with figures (JSON: one
    object, the spotlit or first presenter's figures at the top, everyone's in ``calls``)."""
    while True:
        await asyncio.sleep(1.0)
        current = session()
        if current is None:
            continue
        by_peer = await current.call_stats()
        rows = lines.fields()
        measured = []
        for row, call in zip(rows, lines.calls, strict=True):
            got = by_peer.get(call.peer_id)
            if got is not None and got.peer is not None:
                row.update(_tv_call_fields(got))
                measured.append(row)
        primary = by_peer.get(current.primary_peer_id() or "")
        if primary is None or primary.peer is None:
            continue  # nobody on screen: nothing to measure
        if out.as_json:
            out("stats", "", **{**_tv_call_fields(primary), **extra(), "calls": rows})
            continue
        for row in measured:
            out("stats", f"stats [{row['n']}] {row['name']}: {_stats_text(row, sent=True)}")


class FrameGaps:
    """The longest wait between two shown frames since the last look."""

    def __init__(self) -> None:
        self.last: float | None = None
        self.longest = 0.0

    def __call__(self, frame: Any) -> None:
        now = time.monotonic()
        if self.last is not None:
            self.longest = max(self.longest, now - self.last)
        self.last = now

    def take(self) -> dict[str, Any]:
        longest, self.longest = self.longest, 0.0
        if self.last is not None:
            longest = max(longest, time.monotonic() - self.last)
        return {"gap_ms": round(longest * 1000)}


# ---------------------------------------------------------------------- receive
RECORD_FORMATS = (".mkv", ".mp4", ".mov")


def _record_problem(path: Path) -> str | None:
    """Why a recording cannot be written to ``path`` (checked before anything starts)."""
    if path.suffix.lower() not in RECORD_FORMATS:
        return f"the file name must end in {', '.join(RECORD_FORMATS)}"
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        return "the folder does not exist"
    if not os.access(folder, os.W_OK):
        return "the folder is not writable"
    return None


#: Receiver states whose line only repeats what the presenters' own lines say.
_SAID_PER_CALL = ("connecting", "receiving", "reconnecting")


def casting_line_says_it(out: Printer, last: dict[str, Any], st: Any) -> bool:
    """True when ``st`` is about to be said as a casting line, which already says where the
    picture is and which way it goes: in text, placement and route lines of that moment
    would only repeat it."""
    return not out.as_json and st.state.value == "casting" and st.service_ok \
        and st.state is not last.get("state")


def _route_line(out: Printer, last: dict[str, Any], route: Any) -> None:
    """Say which way media travels whenever that changes."""
    if route is not None and route is not last.get("route"):
        out("route", words.route_line(route), route=route.value)
    last["route"] = route


def _service_line(out: Printer, last: dict[str, Any], st: Any) -> None:
    """Say when the room service is lost and when it is back."""
    if not st.service_ok and st.retry_in_s is not None:
        last["service_lost"] = True
        said = words.service_trouble(st.retry_in_s)
        now = time.monotonic()
        # each retry once, not each status; and not the same words twice within 2 s
        if st.retry_in_s != last.get("retry_in_s") and not (
                said.render() == last.get("said") and now - last.get("said_at", 0.0) < 2.0):
            last.update(retry_in_s=st.retry_in_s, said=said.render(), said_at=now)
            out("service", said, retry_in_s=st.retry_in_s)
    elif st.service_ok and last.pop("service_lost", False):
        for key in ("retry_in_s", "said", "said_at"):
            last.pop(key, None)
        out("service", words.service_back(getattr(st, "display_code", None)), ok=True,
            code=getattr(st, "code", None))


def https_of(args: argparse.Namespace) -> bool:
    """``--https``/``--no-https``, or the saved setting (on at first)."""
    if getattr(args, "https", None) is not None:
        return bool(args.https)
    from castapp import settings

    try:
        return settings.load(getattr(args, "config_dir", None)).receiver_https
    except (OSError, ValueError):
        return True


def admission_of(args: argparse.Namespace) -> str:
    """The ``--admission`` asked for, or the saved setting (approve on a fresh install)."""
    if getattr(args, "admission", None):
        return str(args.admission)
    from castapp import settings

    try:
        return settings.load(getattr(args, "config_dir", None)).admission
    except (OSError, ValueError):
        return "approve"


class CallLines:
    """Says each presenter's change of state as a line, and runs the TV's typed commands.

    Presenters are numbered in arrival order; ``allow 2`` or ``deny Ada`` refer to them. A
    presenter keeps its number while it is in the room, and a number is not given again:
    "[2] Bob wants to present" still means Bob after the presenter before him left.
    """

    def __init__(self, out: Printer) -> None:
        self.out = out
        self.seen: dict[str, tuple[str, str | None]] = {}  # key -> (phase, pin)
        self.names: dict[str, str] = {}
        self.calls: list[Any] = []
        self.session: Any = None
        self.numbers: dict[str, int] = {}  # key -> the number said with its lines
        self._last_number = 0

    @staticmethod
    def _key(call: Any) -> str:
        return str(getattr(call, "key", "") or call.peer_id)

    def number(self, call: Any) -> int:
        key = self._key(call)
        if key not in self.numbers:
            self._last_number += 1
            self.numbers[key] = self._last_number
        return self.numbers[key]

    def fields(self) -> list[dict[str, Any]]:
        return [{"n": self.number(c), "key": self._key(c), "name": c.name,
                 "phase": str(c.phase.value), "verified": c.verified, "browser": c.browser,
                 "reconnects": c.reconnects,
                 "route": c.route.value if c.route is not None else None,
                 "width": c.width, "height": c.height} for c in self.calls]

    def update(self, calls: Any) -> None:
        if calls is None:
            return
        self.calls = list(calls)
        now: dict[str, tuple[str, str | None]] = {}
        for call in self.calls:
            key = self._key(call)
            state = (str(call.phase.value), call.pin)
            now[key] = state
            self.names[key] = call.name
            if self.seen.get(key) != state:
                n = self.number(call)
                line = words.call_line(call.name, state[0], call.pin).render()
                self.out("call", f"[{n}] {line}", n=n, key=key, name=call.name,
                         phase=state[0], **({"pin": call.pin} if call.pin else {}))
        for key in self.seen.keys() - now.keys():
            self.numbers.pop(key, None)
            name = self.names.pop(key, "")
            let_on = self.seen[key][0] not in ("asking", "pin")  # else denied, or gave up
            self.out("call", words.call_ended(name, let_on), key=key, name=name, phase="ended")
        self.seen = now

    def find(self, which: str) -> list[Any]:
        """The presenters ``which`` (a number or a name) may mean: one, none, or several."""
        if which.isdigit():
            return [c for c in self.calls if self.number(c) == int(which)]
        low = which.casefold()
        tests: tuple[Callable[[str], bool], ...] = (lambda n: n == low, lambda n: n.startswith(low))
        for test in tests:
            found = [c for c in self.calls if test(c.name.casefold())]
            if found:
                return found
        return []

    def command(self, line: str) -> None:
        verb, _, which = line.strip().partition(" ")
        verb, which = verb.lower(), which.strip()
        if not verb:
            return
        method = {"allow": "allow", "deny": "deny", "stop": "stop_call"}.get(verb)
        if method is None or not which:
            self.out("help", words.tv_commands())
            return
        found = self.find(which)
        if len(found) > 1:
            numbered = ", ".join(f"[{self.number(c)}] {c.name}" for c in found)
            self.out("command", words.several_calls(which, numbered), ok=False, command=verb)
            return
        if not found or self.session is None:
            self.out("command", words.no_such_call(which), ok=False, command=verb)
            return
        call = found[0]
        if method == "stop_call" and str(call.phase.value) in ("asking", "pin"):
            method = "deny"  # not on screen yet: stopping one who asks is saying no
        from castapp.session.machine import IllegalEventError

        try:
            getattr(self.session, method)(self._key(call))
        except (LookupError, IllegalEventError):  # the call moved on meanwhile
            self.out("command", words.cannot_now(verb, call.name), ok=False, command=verb)


def _is_pipe(stream: Any) -> bool:
    import stat

    try:
        mode = os.fstat(stream.fileno()).st_mode
    except (OSError, ValueError, AttributeError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def read_commands(handle: Callable[[str], None]) -> bool:
    """Feed lines typed (or piped) on stdin to ``handle`` on the loop; False if stdin is
    neither a terminal nor a pipe (nothing to read)."""
    import threading

    if not (sys.stdin.isatty() or _is_pipe(sys.stdin)):
        return False
    loop = asyncio.get_running_loop()

    def pump() -> None:  # a daemon thread: a blocked read never holds up the exit
        for line in sys.stdin:
            try:
                loop.call_soon_threadsafe(handle, line)
            except RuntimeError:  # the loop has closed
                return

    threading.Thread(target=pump, name="castapp-tv-commands", daemon=True).start()
    return True


async def run_receive(args: argparse.Namespace, state_dir: Path) -> int:
    from castapp.app.host import (
        Advertised,
        Hosted,
        HostFailed,
        LinkShown,
        ReceiverHost,
        ReceiverOptions,
    )
    from castapp.codes import group
    from castapp.session.room import ON_WALL

    out = Printer(args.json)
    ice = ice_kwargs(args, out)
    if ice is None:
        return 2
    stop = asyncio.Event()
    stop_on_signals(stop)  # from the start: a receiver stopped while starting still cleans up
    recorder = None
    if args.record:
        from castapp.rtc.record import Recorder

        problem = _record_problem(args.record)
        if problem is not None:
            out.fail(words.Failure("cannot_record", {"path": str(args.record),
                                                     "reason": problem}))
            return 2
        recorder = Recorder(args.record, args.screen)
    last: dict[str, Any] = {}
    lines = CallLines(out)

    def on_event(ev: HostEvent) -> None:
        if isinstance(ev, Hosted):
            out("service", words.hosted(ev.address, ev.port), port=ev.port, address=ev.address,
                addresses=list(ev.addresses))
        elif isinstance(ev, LinkShown):
            link = None if ev.local_only else (ev.app_link or ev.link)
            out("help", words.how_to_send(group(ev.code), link), link=link,
                address=None if ev.local_only else ev.address)
            if ev.fingerprint is not None:
                out("https", words.browser_page(ev.link, ev.fingerprint), link=ev.link,
                    fingerprint=ev.fingerprint)
        elif isinstance(ev, Advertised):
            out("advert", words.advertised(ev.ok, ev.reason), advertised=ev.ok)

    def on_status(st: ReceiverStatus) -> None:
        if st.display_code and st.display_code != last.get("code"):
            last["code"] = st.display_code
            out("code", words.cast_code(st.display_code), code=st.code)
        calls = getattr(st, "calls", None)
        lines.calls = list(calls or ())
        if st.state is not last.get("state"):
            last["state"] = st.state
            more = {"calls": lines.fields()} if calls is not None else {}
            # in text, a presenter's own line ("[1] Ada is on screen") already says it
            if out.as_json or not calls or st.state.value not in _SAID_PER_CALL:
                out("state", words.receiver_state(st), state=st.state.value,
                    sender=st.sender, **more)
        lines.update(calls)
        if recorder is not None and calls is not None:
            recorder.set_wall([c.peer_id for c in calls if c.phase in ON_WALL])
        _route_line(out, last, st.route)
        _service_line(out, last, st)

    gaps = FrameGaps()
    from castapp.app.media import MediaLoader
    from castapp.rtc.audio.choice import system_audio_out

    media = MediaLoader()  # aiortc and the rest of the media stack: once the code shows

    options = ReceiverOptions(state_dir=state_dir, server_url=args.server, name=args.name or "",
                              listen=args.listen, interfaces=tuple(args.interface),
                              advertise=not args.no_advertise, ice=ice,
                              admission=admission_of(args), screen=args.screen,
                              https=https_of(args) and args.server is None,
                              session={"audio_out": system_audio_out(),
                                       "audio_muted": args.mute,
                                       "link_factory": media.link_factory()})
    host = ReceiverHost(options, on_status=on_status, on_event=on_event, on_frame=gaps,
                        on_call_frame=recorder.offer_call if recorder is not None else None)

    def sound_stats() -> dict[str, Any]:
        return host.session.audio_stats() if host.session is not None else {}

    try:
        try:
            if not await _unless_stopped(host.start(), stop):
                return 0
        except HostFailed as exc:
            out.fail(exc.failure)
            return 1
        media.start()
        lines.session = host.session
        if options.admission != "open" and read_commands(lines.command):
            out("help", words.tv_commands())
        tasks = [asyncio.create_task(_tv_stats_loop(
            lambda: host.session, lines, out, lambda: {**gaps.take(), **sound_stats()}))
                 ] if args.stats else []
        await _until_stopped(stop, args.duration)
        for task in tasks:
            task.cancel()
    finally:
        media.stop()
        await host.stop()
        if recorder is not None:
            recorder.close()
    return 0


# ---------------------------------------------------------------------- send
async def run_send(args: argparse.Namespace) -> int:
    from castapp.app.target import (
        Caster,
        CastFailed,
        Found,
        Looking,
        lan_discovery,
        parse_target,
        screen_source,
        send_preset,
        service_url,
        start_source,
        synthetic_source,
        watch_source,
    )
    from castapp.codes import group
    from castapp.rtc.capture_source import CaptureSpec, CaptureSpecError, parse_region
    from castapp.session.sender import SenderState

    out = Printer(args.json)
    ice = ice_kwargs(args, out)
    if ice is None:
        return 2
    codes = [c for c in (args.target, *args.more, args.code) if c]
    if len(codes) > 1 or args.via_sfu:
        from castapp.cli_fanout import run_send_many

        chosen = send_preset(args.quality, args.fps, args.max_size)
        return await run_send_many(args, codes, out, ice, chosen)
    try:
        target = parse_target(codes[0] if codes else None)
        url = service_url(target, args.server)
    except CastFailed as exc:
        out.fail(exc.failure)
        return 2
    chosen = send_preset(args.quality, args.fps, args.max_size)
    done = asyncio.Event()
    last: dict[str, Any] = {}

    def on_status(st: SenderStatus) -> None:
        if last.get("state") is SenderState.ENDED:
            return  # how the cast ended is said; closing the session after it adds nothing
        if words.needs_pin(st):
            pins.asked(st)
        told = casting_line_says_it(out, last, st)
        if st.state is not last.get("state"):
            last["state"] = st.state
            failed = words.sender_failure(st) if st.state is SenderState.ENDED else None
            if failed is None and words.refused(st):  # denied, stopped by the TV, room full
                failed = st.ended
            if failed is None and st.state is SenderState.IDLE and st.error is not None:
                failed = st.error  # the service refused the join: full, unknown code…
            if failed is not None:
                last["failed"] = True
                out.fail(failed)
            line = words.sender_line(st, group(target.code))
            if st.state is SenderState.IDLE and failed is None and last.get("started"):
                line = words.ended(None)  # not the window's "type the code" after a stop
            last["started"] = last.get("started") or st.state is not SenderState.IDLE
            out("state", line, state=st.state.value,
                ended=st.ended.value if st.ended else None)
            if st.state is SenderState.ENDED:
                done.set()
        if st.warning is not None and st.warning is not last.get("warning") and not st.ended:
            text = f"{words.failure_phrase(st.warning).render()} Trying the other paths."
            out("warning", text, code=st.warning.value, message=text)
        last["warning"] = st.warning
        if st.state.value == "admitting" and last.get("admitting") is not None \
                and words.admitting(st) != last["admitting"]:  # a wrong PIN, a new one
            out("admitting", words.admitting(st), pin=words.needs_pin(st),
                wrong_pin=bool(getattr(st, "wrong_pin", False)))
        last["admitting"] = words.admitting(st) if st.state.value == "admitting" else None
        where = words.placement(st)
        if where is not words.EMPTY and where != last.get("placement") and not told:
            view = getattr(st, "view", None)
            out("placement", where, tile=getattr(st, "tile", None),
                tiles=getattr(st, "tiles", None), spotlit=getattr(st, "spotlit", None),
                view=list(view) if view else None)
        last["placement"] = where
        if told:
            last["route"] = st.route
        _route_line(out, last, st.route)
        _service_line(out, last, st)

    def on_event(ev: SenderEvent) -> None:
        if isinstance(ev, Looking):
            out("finding", words.looking(), skipped=ev.skipped)
        elif isinstance(ev, Found):
            out("found", words.found(ev.name, ev.host, ev.port), name=ev.name, host=ev.host,
                port=ev.port)

    def source_failed(failure: words.Failure) -> None:
        last["failed"] = True
        out.fail(failure)
        done.set()

    from castapp.rtc.audio.choice import share_sound, synthetic_sound
    from castapp.rtc.audio.synthetic import Flashes, FlashVideoSource

    if args.synthetic_sound and not args.synthetic:
        args.synthetic = (1280, 720)
    flashes = Flashes() if args.synthetic_sound else None
    pins = PinAnswers(None, args.pin, out)  # its caster once there is one
    source = session = None
    asked: Any = None  # the region of the screen asked for
    tasks: list[asyncio.Task[Any]] = []
    try:
        try:
            if args.synthetic:
                source = synthetic_source(args.synthetic, chosen.fps)
                if flashes is not None:  # a size that passed: the pattern that clicks
                    source = FlashVideoSource(flashes, *args.synthetic, fps=chosen.fps)
            else:
                try:
                    region = parse_region(args.region) if args.region else None
                except CaptureSpecError as exc:
                    out.fail(words.Failure("source_failed", {"reason": str(exc)}))
                    return 2
                spec = CaptureSpec(args.monitor, region, args.window,
                                   pointer=not args.no_pointer)
                asked = region
                try:
                    source = screen_source(chosen, spec, args.display)
                except CastFailed as exc:  # what was asked for is not there: bad input
                    out.fail(exc.failure)
                    return 2
                _report_capture_state(source, out)
            # what to share is there: now the sound (a note of its own when there is none)
            sound = share_sound(args.audio, out) if flashes is None \
                else synthetic_sound(args.audio, flashes, out)
            caster = Caster(discover=lan_discovery(args.find_timeout, args.interface),
                            name=args.name or "", on_status=on_status, on_event=on_event,
                            session_args={"codec": args.codec, "encoder": chosen.encoder(),
                                          "audio": sound, **ice})
            pins.caster = caster
            await start_source(source)
            grabbed = getattr(source, "region_grabbed", None)
            if grabbed is not None and grabbed != asked:
                out("capture", words.region_cut(grabbed.width, grabbed.height, grabbed.left,
                                                grabbed.top), region=list(astuple(grabbed)))
            session = await caster.cast(target, url, source)
        except CastFailed as exc:
            if not last.get("failed"):  # the status line may have said it already
                out.fail(exc.failure)
            return 1
        tasks.append(asyncio.create_task(watch_source(source, source_failed)))
        if args.stats:
            tasks.append(asyncio.create_task(_stats_loop(session.stats, out)))
        waiter = asyncio.create_task(done.wait())
        timer = asyncio.create_task(_until_stopped(asyncio.Event(), args.duration))
        await asyncio.wait([waiter, timer], return_when=asyncio.FIRST_COMPLETED)
        tasks += [waiter, timer]
    finally:
        for task in tasks:
            task.cancel()
        if session is not None:
            await session.close()
        if source is not None:
            source.stop()
    return 1 if last.get("failed") else 0


class PinAnswers:
    """Answers the TV's PIN question: with ``--pin`` once, then by asking on the terminal.

    With no terminal and no (or a wrong) ``--pin``, the sender says what to do and waits;
    the TV's user can still allow it.
    """

    def __init__(self, caster: Any, pin: str | None, out: Printer) -> None:
        self.caster = caster
        self.pin = pin
        self.out = out
        self.asking = False  # a terminal prompt is open
        self.told = False
        self.status: Any = None  # the latest status that asked for the PIN

    def asked(self, st: Any) -> None:
        self.status = st
        if self.pin is not None:
            pin, self.pin = self.pin, None  # a PIN is single use: --pin is tried once
            self.answered(pin)
            return
        if self.asking:
            return
        tty = sys.stdin.isatty()
        if not tty and not _is_pipe(sys.stdin):
            if not self.told:
                self.told = True
                self.out("admitting", words.admitting(st), pin=True)
            return
        self.asking = True
        loop = asyncio.get_running_loop()
        prompt = words.admitting(st).render() + ": " if tty else ""
        if not tty:  # a line piped in; say what is awaited where the caller reads
            self.out("admitting", words.admitting(st), pin=True)

        def ask() -> None:  # a daemon thread: an unanswered prompt never holds up the exit
            try:
                typed = input(prompt) if tty else sys.stdin.readline()
            except (EOFError, OSError):
                return
            if not typed:
                return
            with contextlib.suppress(RuntimeError):  # the loop has closed
                loop.call_soon_threadsafe(self.answered, typed)

        import threading

        threading.Thread(target=ask, name="castapp-pin", daemon=True).start()

    def answered(self, typed: str) -> None:
        self.asking = False
        if not typed.strip():
            return
        try:
            self.caster.answer_pin(typed)
        except ValueError:  # not digits: nothing was tried; ask again
            self.out("admitting", words.not_a_pin(), pin=True, problem="not_a_pin")
            if self.status is not None:
                self.asked(self.status)


def _report_capture_state(source: Any, out: Printer) -> None:
    """Say when the shared window is covered, minimised or closed (from the capture thread)."""
    loop = asyncio.get_running_loop()
    said = {"live": "the shared window is visible again",
             "covered": "another window covers part of the shared window; it is sent as seen",
             "minimised": "the shared window is minimised; the receiver keeps the last picture",
             "closed": "the shared window was closed"}

    def changed(state: Any) -> None:
        text = said.get(state.value, state.value)
        loop.call_soon_threadsafe(lambda: out("capture", text, state=state.value))

    source.on_state = changed


def run(coro_factory: Callable[[], Any]) -> int:
    """Run a command; whatever escapes it is said in one sentence, never a traceback."""
    try:
        return asyncio.run(coro_factory())
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        print(f"castapp: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # broad: a bug, said in one sentence; --log-level DEBUG shows where
        logging.getLogger("castapp").debug("the command failed", exc_info=True)
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        text = words.failure_phrase(words.Failure("fault", {"reason": reason})).render()
        print(f"castapp: {text}", file=sys.stderr)
        return 1
