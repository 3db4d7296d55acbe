"""``castapp send CODE CODE …``: one cast to several receivers, one encode.

Each code gets its own sender session (found on the LAN or at ``--server``), its own
status, route and stats lines (``TV 2: …``; ``"receiver": 2`` in JSON); all of them send
the frames of one shared encoder (:mod:`castapp.session.fanout`). One receiver failing or
leaving ends only its own lines; the command exits when every receiver has ended, or at
``--duration``, non-zero when a receiver could not be reached or failed.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from castapp.app import words
from castapp.cli_cast import (
    Printer,
    _route_line,
    _service_line,
    _stats_loop,
    _until_stopped,
    casting_line_says_it,
)


class TaggedPrinter(Printer):
    """The lines of one receiver: ``TV n:`` before the sentence, ``receiver`` in JSON."""

    def __init__(self, out: Printer, index: int) -> None:
        super().__init__(out.as_json)
        self.index = index

    def __call__(self, event: str, text: Any, **fields: Any) -> None:
        line = text.render() if hasattr(text, "render") else str(text)
        super().__call__(event, f"TV {self.index}: {line}", receiver=self.index, **fields)


async def run_send_many(args: argparse.Namespace, codes: list[str], out: Printer,
                        ice: dict[str, Any], chosen: Any) -> int:
    from castapp.app.fanout import MultiCast, Tv
    from castapp.app.target import (
        CastFailed,
        lan_discovery,
        parse_target,
        screen_source,
        service_url,
        start_source,
        synthetic_source,
        watch_source,
    )
    from castapp.codes import group
    from castapp.rtc.capture_source import CaptureSpec, CaptureSpecError, parse_region
    from castapp.session.fanout import MAX_RECEIVERS
    from castapp.session.sender import SenderState
    from castapp.sfu.relay import SFU_MAX_RECEIVERS

    via_sfu = bool(getattr(args, "via_sfu", False))
    limit = SFU_MAX_RECEIVERS if via_sfu else MAX_RECEIVERS
    if len(codes) > limit:
        more = "" if via_sfu else "; more through the room service's SFU (--via-sfu)"
        out.fail(words.Failure("bad_input", {
            "reason": f"one cast reaches at most {limit} screens{more}"}))
        return 2
    try:
        targets = [parse_target(c) for c in codes]
        for t in targets:
            service_url(t, args.server)
    except CastFailed as exc:
        out.fail(exc.failure)
        return 2
    if len({t.code for t in targets}) != len(targets):
        out.fail(words.Failure("bad_input", {"reason": "the same code is given twice"}))
        return 2
    try:
        if args.synthetic:
            source = synthetic_source(args.synthetic, chosen.fps)
        else:
            region = parse_region(args.region) if args.region else None
            spec = CaptureSpec(args.monitor, region, args.window, pointer=not args.no_pointer)
            source = screen_source(chosen, spec, args.display)
    except (CaptureSpecError, CastFailed) as exc:
        out.fail(exc.failure if isinstance(exc, CastFailed)
                 else words.Failure("source_failed", {"reason": str(exc)}))
        return 2
    failed: set[int] = set()
    all_ended = asyncio.Event()
    tasks: list[asyncio.Task[Any]] = []
    lines: dict[int, dict[str, Any]] = {}

    def on_change(tv: Tv) -> None:
        printer = TaggedPrinter(out, tv.index)
        last = lines.setdefault(tv.index, {})
        st = tv.status
        if tv.failure is not None and not last.get("failed"):
            last["failed"] = True
            failed.add(tv.index)
            printer.fail(tv.failure)
        if st is not None and last.get("state") is not SenderState.ENDED:
            # (once a TV's cast has ended, its session's goings-on are not that TV's news)
            told = casting_line_says_it(printer, last, st)
            if st.state is not last.get("state"):
                last["state"] = st.state
                printer("state", words.sender_line(st, group(tv.code)),
                        state=st.state.value, ended=st.ended.value if st.ended else None)
            if told:
                last["route"] = st.route
            _route_line(printer, last, st.route)
            _service_line(printer, last, st)
        if tv.ended and not last.get("ended"):
            last["ended"] = True
            if all(t.ended for t in cast_.tvs) and len(cast_.tvs) >= len(codes):
                all_ended.set()

    cast_ = MultiCast(source, encoder=chosen.encoder(),
                      discover=lan_discovery(args.find_timeout, args.interface),
                      name=args.name or "", server=args.server or "", via_sfu=via_sfu,
                      session_args={"codec": args.codec, **ice}, on_change=on_change)
    try:
        try:
            await start_source(source)
        except CastFailed as exc:
            out.fail(exc.failure)
            return 1
        cast_.start()
        source_down = asyncio.Event()

        def source_failed(failure: words.Failure) -> None:
            failed.add(0)
            out.fail(failure)
            source_down.set()

        tasks.append(asyncio.create_task(watch_source(source, source_failed)))
        for tv in await cast_.add_many(codes):
            if args.stats and tv.session is not None:
                tasks.append(asyncio.create_task(
                    _stats_loop(tv.session.stats, TaggedPrinter(out, tv.index))))
        if all(t.ended for t in cast_.tvs):
            all_ended.set()
        waits: list[asyncio.Task[Any]] = [
            asyncio.create_task(e.wait()) for e in (all_ended, source_down)]
        waits.append(asyncio.create_task(_until_stopped(asyncio.Event(), args.duration)))
        tasks += waits
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        if not all_ended.is_set() and not source_down.is_set():  # --duration, Ctrl-C
            out("state", words.ended(None), state="ended", ended=None)
    finally:
        for task in tasks:
            task.cancel()
        await cast_.close()
        source.stop()
    return 1 if failed else 0
