"""Headless ``castapp receive`` and ``castapp send``: status lines on stdout, no window."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from castapp.cli_ice import add_ice_flags, ice_kwargs
from castapp.codes import group
from castapp.rtc.audio.choice import share_sound, system_audio_out
from castapp.settings import write_secret

if TYPE_CHECKING:
    from castapp.discovery.record import Receiver
    from castapp.embedded import EmbeddedService
    from castapp.links import CastTarget


class Printer:
    """Status lines for people, or one JSON object per line with ``--json``."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json

    def __call__(self, event: str, text: str, **fields: Any) -> None:
        if self.as_json:
            print(json.dumps({"event": event, "t": round(time.time(), 3), **fields}), flush=True)
        else:
            print(f"castapp: {text}", flush=True)


ROUTE_WORDS = {
    "direct": "direct on the local network",
    "nat": "through NAT",
    "relay": "relayed by the TURN server",
}


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
    }


def _stats_text(f: dict[str, Any]) -> str:
    rtt = f"{f['rtt_ms']} ms" if f["rtt_ms"] is not None else "-"
    return (f"stats fps={f['fps']} kbps={f['kbps']} rtt={rtt} codec={f['codec']} "
            f"{f['width']}x{f['height']} path={f['path']} route={f['route']} "
            f"loss={f['loss_pct'] if f['loss_pct'] is not None else '-'}% "
            f"pli={f['pli']} nack={f['nack']}")


def _on_signals(stop: asyncio.Event) -> None:
    """SIGINT and SIGTERM set ``stop``: the command then stops cleanly."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)


async def _unless_stopped(coro: Coroutine[Any, Any, Any], stop: asyncio.Event) -> bool:
    """Run ``coro`` unless ``stop`` is set first; True when it ran to the end."""
    task = asyncio.ensure_future(coro)
    stopper = asyncio.ensure_future(stop.wait())
    await asyncio.wait([task, stopper], return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    if task.done():
        task.result()  # its exception, if it failed
        return True
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return False


async def _until_stopped(stop: asyncio.Event, duration: float | None) -> None:
    loop = asyncio.get_running_loop()
    _on_signals(stop)
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
            out("stats", _stats_text(fields), **fields)


class FrameGaps:
    """The longest wait between two shown frames since the last look."""

    def __init__(self, then: Callable[[Any], None] | None) -> None:
        self.then = then
        self.last: float | None = None
        self.longest = 0.0

    def __call__(self, frame: Any) -> None:
        now = time.monotonic()
        if self.last is not None:
            self.longest = max(self.longest, now - self.last)
        self.last = now
        if self.then is not None:
            self.then(frame)

    def take(self) -> dict[str, Any]:
        longest, self.longest = self.longest, 0.0
        if self.last is not None:
            longest = max(longest, time.monotonic() - self.last)
        return {"gap_ms": round(longest * 1000)}


# ---------------------------------------------------------------------- receive
def add_receive(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    r = sub.add_parser("receive", help="show a cast code and the screen cast to it")
    r.add_argument("--server", help="room service URL (default: run one in this process)")
    r.add_argument("--listen", default="0.0.0.0:8765", metavar="HOST:PORT",
                   help="where the built-in room service listens (default %(default)s; "
                   "port 0 = any)")
    r.add_argument("--interface", action="append", default=[], metavar="NAME|ADDRESS",
                   help="advertise only on this interface or address (repeatable; default: "
                   "the LAN ones, not container bridges, VPN tunnels or loopback)")
    r.add_argument("--no-advertise", action="store_true",
                   help="host the room service but do not advertise it on the network")
    r.add_argument("--headless", action="store_true", help="no window: print status lines")
    r.add_argument("--name", default=os.uname().nodename, help="name shown to senders")
    r.add_argument("--stats", action="store_true", help="print stats every second")
    r.add_argument("--mute", action="store_true", help="play no presenter's sound")
    r.add_argument("--json", action="store_true", help="print JSON lines")
    r.add_argument("--record", type=Path, metavar="FILE", help="record what is shown (.mkv/.mp4)")
    r.add_argument("--duration", type=float, help="stop after this many seconds")
    r.add_argument("--state-dir", type=Path, help="where the code token and room key live")
    add_ice_flags(r)


async def _host_service(args: argparse.Namespace, state_dir: Path,
                        out: Printer) -> EmbeddedService:
    from castapp.embedded import EmbeddedService
    from castapp.signaling.tokens import TokenSigner, load_or_create_key

    host, _, port = args.listen.rpartition(":")
    embedded = EmbeddedService(TokenSigner(load_or_create_key(state_dir)),
                               host=host or "0.0.0.0", port=int(port or 8765),
                               only=args.interface, advertise=not args.no_advertise)
    await embedded.start()
    where = f"{embedded.address}:{embedded.port}" if embedded.address else \
        f"port {embedded.port} (no network address other machines can reach)"
    out("service", f"room service on {where}", port=embedded.port, address=embedded.address,
        addresses=[a.address for a in embedded.addresses])
    return embedded


async def run_receive(args: argparse.Namespace, state_dir: Path) -> int:
    from castapp.session.receiver import ReceiverSession, ReceiverState, ReceiverStatus

    out = Printer(args.json)
    ice = ice_kwargs(args, out)
    if ice is None:
        return 2
    stop = asyncio.Event()
    _on_signals(stop)  # from the start: a receiver stopped while starting still cleans up
    embedded: EmbeddedService | None = None
    url = args.server
    if url is None:
        embedded = await _host_service(args, state_dir, out)
        url = embedded.url
    adverts: set[asyncio.Task[None]] = set()

    async def advertise(code: str) -> None:
        assert embedded is not None
        try:
            if await embedded.advertise(code, args.name):
                out("advert", "found on this network by its code", advertised=True)
            else:
                out("advert", "not advertised on the network", advertised=False)
        except Exception as exc:  # the receiver works without an advert: say so, go on
            words = exc.strerror if isinstance(exc, OSError) else type(exc).__name__
            out("advert", f"cannot advertise on the network: {words}", advertised=False)

    def help_line(code: str) -> None:
        link = embedded.link(code) if embedded is not None else None
        text = f"on the laptop: castapp send {group(code)}"
        if link:
            text += f"  (or {link})"
        out("help", text, link=link, address=embedded.address if embedded else None)

    token_file = state_dir / "receiver-token"
    token = token_file.read_text().strip() if token_file.exists() else None
    recorder = None
    if args.record:
        from castapp.rtc.record import Recorder

        recorder = Recorder(args.record)
    last: dict[str, Any] = {}

    def on_status(st: ReceiverStatus) -> None:
        if st.display_code and st.display_code != last.get("code"):
            last["code"] = st.display_code
            out("code", f"cast code {st.display_code}", code=st.code)
            if st.code is not None:
                help_line(st.code)
                if embedded is not None:
                    task = asyncio.create_task(advertise(st.code))
                    adverts.add(task)
                    task.add_done_callback(adverts.discard)
        if st.state is not last.get("state"):
            last["state"] = st.state
            words = {
                ReceiverState.WAITING: "waiting for a sender",
                ReceiverState.CONNECTING: f"{st.sender or 'a sender'} is connecting",
                ReceiverState.RECEIVING: f"showing the screen of {st.sender or 'a sender'}",
                ReceiverState.RECONNECTING: "the picture stopped; reconnecting",
            }.get(st.state, st.state.value)
            out("state", words, state=st.state.value, sender=st.sender)
        _route_line(out, last, st.route)
        if not st.service_ok and st.retry_in_s is not None:
            last["service_lost"] = True
            out("service", f"room service unreachable; retrying in {st.retry_in_s} s",
                retry_in_s=st.retry_in_s)
        elif st.service_ok and last.pop("service_lost", False):
            out("service", f"room service reachable again; cast code {st.display_code}",
                ok=True, code=st.code)

    gaps = FrameGaps(recorder.offer if recorder else None)
    session = ReceiverSession(url, name=args.name, token=token, on_status=on_status,
                              on_frame=gaps, audio_out=system_audio_out(),
                              audio_muted=args.mute, **ice)
    try:
        if not await _unless_stopped(session.start(), stop):
            return 0
        if session.token:
            write_secret(token_file, session.token)
        tasks = [asyncio.create_task(_stats_loop(
            session.stats, out, lambda: {**gaps.take(), **session.audio_stats()}))
                 ] if args.stats else []
        await _until_stopped(stop, args.duration)
        for task in tasks:
            task.cancel()
    finally:
        for task in list(adverts):
            task.cancel()
        await asyncio.gather(*adverts, return_exceptions=True)
        if embedded is not None:
            await embedded.stop_advertising()
        await session.stop()
        if recorder is not None:
            recorder.close()
        if embedded is not None:
            await embedded.stop("The receiver closed.")
    return 0


def _route_line(out: Printer, last: dict[str, Any], route: Any) -> None:
    """Say which way media travels whenever that changes."""
    if route is not None and route is not last.get("route"):
        value = route.value
        out("route", f"media path: {ROUTE_WORDS.get(value, value)}", route=value)
    last["route"] = route


# ---------------------------------------------------------------------- send
def _size(text: str) -> tuple[int, int]:
    w, _, h = text.lower().partition("x")
    try:
        size = int(w), int(h)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, got {text!r}") from None
    if min(size) < 16:
        raise argparse.ArgumentTypeError("the size is too small")
    return size


def add_send(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    s = sub.add_parser("send", help="cast this screen to the receiver showing a code")
    s.add_argument("target", nargs="?", metavar="CODE|LINK",
                   help="the cast code the receiver shows, or its castapp://HOST:PORT/CODE link")
    s.add_argument("--code", help="the cast code (the same as CODE)")
    s.add_argument("--server", help="room service URL (ws://host:port/ws); default: the one in "
                   "the link, or find the receiver on this network by its code")
    s.add_argument("--headless", action="store_true", help="no window: print status lines")
    s.add_argument("--find-timeout", type=float, default=3.0, metavar="S",
                   help="how long to look for the receiver on the network (default 3)")
    s.add_argument("--interface", action="append", default=[], metavar="NAME|ADDRESS",
                   help="look for receivers only on this interface or address (repeatable)")
    s.add_argument("--state-dir", type=Path, help="where settings and secrets live")
    s.add_argument("--monitor", type=int, default=1, help="monitor to cast (1 = first)")
    s.add_argument("--display", help="X display to capture (default: $DISPLAY)")
    s.add_argument("--fps", type=float, default=30.0, help="frames per second (default 30)")
    s.add_argument("--codec", choices=["h264", "vp8"], default="h264")
    s.add_argument("--max-size", type=_size, metavar="WxH", help="downscale to fit this size")
    s.add_argument("--synthetic", type=_size, metavar="WxH",
                   help="send a test pattern of this size instead of the screen")
    s.add_argument("--name", default=os.uname().nodename, help="name shown on the receiver")
    s.add_argument("--audio", action=argparse.BooleanOptionalAction, default=True,
                   help="share what this computer plays (default: on when it can)")
    s.add_argument("--stats", action="store_true", help="print stats every second")
    s.add_argument("--json", action="store_true", help="print JSON lines")
    s.add_argument("--duration", type=float, help="stop after this many seconds")
    add_ice_flags(s)


def _target(args: argparse.Namespace, out: Printer) -> CastTarget | None:
    from castapp.links import LinkError, parse_cast_input

    text = args.target or args.code
    if not text:
        out("error", "give the cast code the receiver shows", code="bad_input")
        return None
    try:
        return parse_cast_input(text, None)
    except LinkError as exc:
        out("error", str(exc), code="bad_input")
        return None


async def _find(code: str, args: argparse.Namespace, out: Printer,
                skip: list[str]) -> Receiver | None:
    from castapp.discovery.mdns import find_receiver, lan_addresses
    from castapp.discovery.record import NotFound, NotFoundReason

    out("finding", "looking for the receiver on this network")
    try:
        found = await find_receiver(code, timeout=args.find_timeout, skip=skip,
                                    addresses=lan_addresses(args.interface))
    except OSError as exc:
        out("error", f"cannot look on the network: {exc.strerror or exc}", code="not_found",
            reason="network_error", seen=0)
        return None
    if isinstance(found, NotFound):
        words = {
            NotFoundReason.NO_NETWORK: "there is no network to look on",
            NotFoundReason.INCOMPATIBLE: f"{found.name} shows this code but runs another "
            "version of castapp",
            NotFoundReason.NO_ANSWER: "no receiver on this network shows that code",
        }[found.reason]
        out("error", f"{words}; give its address instead: castapp send castapp://HOST:PORT/CODE",
            code="not_found", reason=found.reason.value, seen=found.seen)
        return None
    out("found", f"found {found.name} at {found.host}:{found.port}", name=found.name,
        host=found.host, port=found.port)
    return found


async def run_send(args: argparse.Namespace) -> int:
    from castapp.rtc.capture import FrameSource, ScreenCapture, SyntheticSource
    from castapp.rtc.diagnose import describe
    from castapp.rtc.encoder import EncoderConfig
    from castapp.session.sender import SenderSession, SenderState, SenderStatus
    from castapp.signaling.client import SignalingError, UnknownCodeError

    out = Printer(args.json)
    ice = ice_kwargs(args, out)
    target = _target(args, out)
    if ice is None or target is None:
        return 2
    source: FrameSource
    if args.synthetic:
        source = SyntheticSource(*args.synthetic, fps=args.fps)
    else:
        source = ScreenCapture(args.monitor, max_size=args.max_size, fps=args.fps,
                               display=args.display)
    done = asyncio.Event()
    last: dict[str, Any] = {}

    def on_status(st: SenderStatus) -> None:
        if st.state is not last.get("state"):
            last["state"] = st.state
            words = {
                SenderState.JOINING: f"joining {group(target.code)}",
                SenderState.CONNECTING: f"connecting to {st.receiver or 'the receiver'}",
                SenderState.CASTING: f"casting to {st.receiver or 'the receiver'}",
                SenderState.WAITING: "the receiver dropped; waiting for it to come back",
                SenderState.RECONNECTING: "the connection was lost; reconnecting",
                SenderState.ENDED: "the cast ended",
            }.get(st.state, st.state.value)
            ended = st.ended.value if st.ended else None
            if st.state is SenderState.ENDED and st.diagnosis is not None:
                last["failed"] = True
                text = f"cannot connect: {describe(st.diagnosis)}"
                out("error", text, code=st.diagnosis.value, message=text)
            elif st.state is SenderState.ENDED and st.failed:
                last["failed"] = True
                detail = st.source_error or st.fault or (st.error.message if st.error else "")
                text = {"source_failed": f"cannot capture the screen: {detail}",
                        "service_failed": f"the room service refused: {detail}",
                        }.get(st.ended.value if st.ended else "", f"castapp failed: {detail}")
                out("error", text, code=st.ended.value if st.ended else "fault", message=text)
            out("state", words, state=st.state.value, ended=ended)
            if st.state is SenderState.ENDED:
                done.set()
        if st.warning is not None and st.warning is not last.get("warning") and not st.ended:
            text = f"{describe(st.warning)}; trying the other paths"
            out("warning", text, code=st.warning.value, message=text)
        last["warning"] = st.warning
        _route_line(out, last, st.route)

    session: SenderSession | None = None
    skip: list[str] = []  # receivers whose tag matched by chance but whose service refused
    sound = share_sound(args.audio, out)
    try:
        try:
            source.start()
            while session is None:
                url = args.server or target.server_url
                found = None
                if url is None:
                    found = await _find(target.code, args, out, skip)
                    if found is None:
                        return 1
                    url = found.server_url
                attempt = SenderSession(url, source, name=args.name, codec=args.codec,
                                        encoder=EncoderConfig(max_fps=args.fps),
                                        on_status=on_status, audio=sound, **ice)
                try:
                    await attempt.cast(target.code)
                    session = attempt
                except UnknownCodeError:
                    await attempt.close()
                    if found is None or len(skip) >= 2:
                        raise
                    skip.append(found.instance)
                except BaseException:
                    await attempt.close()
                    raise
        except SignalingError as exc:
            out("error", exc.message, code=str(exc.code))
            return 1
        except OSError as exc:
            out("error", f"cannot capture the screen: {exc}", code="capture")
            return 1
        tasks = [asyncio.create_task(_stats_loop(session.stats, out))] if args.stats else []
        waiter = asyncio.create_task(done.wait())
        await asyncio.wait([waiter, asyncio.create_task(_until_stopped(asyncio.Event(),
                                                                       args.duration))],
                           return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            task.cancel()
    finally:
        if session is not None:
            await session.close()
        source.stop()
    return 1 if last.get("failed") else 0


def run(coro_factory: Callable[[], Any]) -> int:
    try:
        return asyncio.run(coro_factory())
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        print(f"castapp: {exc.strerror or exc}", file=sys.stderr)
        return 1
