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
from castapp.cli_cast import Printer, _route_line, _service_line, _stats_loop, _until_stopped
from castapp.session.sender import SenderStatus


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
    from castapp.app.target import (
        Caster,
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
    from castapp.rtc.shared_encoder import SharedEncoderHub
    from castapp.session.fanout import MAX_RECEIVERS, shared_offer_factory
    from castapp.session.sender import SenderState
    from castapp.sfu.relay import SFU_MAX_RECEIVERS, SfuCast

    via_sfu = bool(getattr(args, "via_sfu", False))
    limit = SFU_MAX_RECEIVERS if via_sfu else MAX_RECEIVERS
    if len(codes) > limit:
        more = "" if via_sfu else "; more through the room service's SFU (--via-sfu)"
        out.fail(words.Failure("bad_input", {
            "reason": f"one cast reaches at most {limit} screens{more}"}))
        return 2
    try:
        targets = [parse_target(c) for c in codes]
        urls = [service_url(t, args.server) for t in targets]
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
    ended: set[int] = set()
    all_ended = asyncio.Event()
    sessions: list[Any] = []
    tasks: list[asyncio.Task[Any]] = []
    hub = None
    sfu: SfuCast | None = None
    try:
        try:
            await start_source(source)
        except CastFailed as exc:
            out.fail(exc.failure)
            return 1
        hub = SharedEncoderHub(source, chosen.encoder())
        if via_sfu:
            sfu = SfuCast(hub, name=args.name or "castapp", codec=args.codec,
                          encoder=chosen.encoder())
            factory = sfu.factory()
        else:
            factory = shared_offer_factory(hub)
        source_down = asyncio.Event()

        def source_failed(failure: words.Failure) -> None:
            failed.add(0)
            out.fail(failure)
            source_down.set()

        tasks.append(asyncio.create_task(watch_source(source, source_failed)))

        async def one(index: int, target: Any, url: str | None) -> None:
            tv = TaggedPrinter(out, index)
            last: dict[str, Any] = {}

            def on_status(st: SenderStatus) -> None:
                if st.state is not last.get("state"):
                    last["state"] = st.state
                    bad = words.sender_failure(st) if st.state is SenderState.ENDED else None
                    if bad is not None and sfu is not None and sfu.error and st.fault:
                        bad = words.Failure("fault", {"reason": sfu.error})  # in words
                    if bad is not None:
                        failed.add(index)
                        tv.fail(bad)
                    tv("state", words.sender_line(st, group(target.code)),
                       state=st.state.value, ended=st.ended.value if st.ended else None)
                    if st.state is SenderState.ENDED:
                        ended.add(index)
                        if len(ended) >= len(targets):
                            all_ended.set()
                _route_line(tv, last, st.route)
                _service_line(tv, last, st)

            caster = Caster(discover=lan_discovery(args.find_timeout, args.interface),
                            name=args.name or "", on_status=on_status,
                            session_args={"codec": args.codec, "encoder": chosen.encoder(),
                                          "peer_factory": factory, **ice})
            try:
                session = await caster.cast(target, url, source)
            except CastFailed as exc:
                failed.add(index)
                tv.fail(exc.failure)
                ended.add(index)
                if len(ended) >= len(targets):
                    all_ended.set()
                return
            sessions.append(session)
            if via_sfu and session.client.joined is not None \
                    and session.client.joined.sfu is None:
                failed.add(index)
                tv.fail(words.Failure("fault", {
                    "reason": "this room service runs no SFU; cast without --via-sfu"}))
                await session.close()
                ended.add(index)
                if len(ended) >= len(targets):
                    all_ended.set()
                return
            if args.stats:
                tasks.append(asyncio.create_task(_stats_loop(session.stats, tv)))

        await asyncio.gather(*(one(i + 1, t, u)
                               for i, (t, u) in enumerate(zip(targets, urls, strict=True))))
        waits: list[asyncio.Task[Any]] = [
            asyncio.create_task(e.wait()) for e in (all_ended, source_down)]
        waits.append(asyncio.create_task(_until_stopped(asyncio.Event(), args.duration)))
        tasks += waits
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for session in sessions:
            await session.close()
        if sfu is not None:
            await sfu.close()
        if hub is not None:
            await hub.close()
        source.stop()
    return 1 if failed else 0
