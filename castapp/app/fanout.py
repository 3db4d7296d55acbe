"""One cast to several TVs: used by ``castapp send CODE CODE …`` and the sender window.

A :class:`MultiCast` owns the cast's one source and one shared encoder
(:class:`~castapp.rtc.shared_encoder.SharedEncoderHub`) and a :class:`Tv` per code: each
TV has its own sender session (found on the LAN or at the room service typed), its own
state, route and statistics, and its own failure. A TV can be added while the cast runs
(its call subscribes to the encoder already running; the other TVs notice nothing) and
removed on its own. With ``via_sfu`` every call goes through the media server (SFU) that
the room service names with each join: one encode and one upload for all TVs.

Presenters get a :class:`Tv` through ``on_change`` whenever one of its lines changes, and
word it with :mod:`castapp.app.words`; nothing here prints or draws.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from castapp.app.target import Caster, CastFailed, Discover, SenderEvent, parse_target, service_url
from castapp.app.words import Failure, sender_failure
from castapp.codes import CodeFormat
from castapp.links import is_link

if TYPE_CHECKING:
    from castapp.rtc.capture import FrameSource
    from castapp.rtc.encoder import EncoderConfig
    from castapp.rtc.offer import OfferPeer, OfferRequest
    from castapp.rtc.peer import Codec, PeerStats
    from castapp.rtc.shared_encoder import SharedEncoderHub
    from castapp.session.sender import SenderSession, SenderStatus
    from castapp.sfu.relay import SfuCast

log = logging.getLogger(__name__)

#: Why a cast through the SFU cannot reach a TV whose room service runs none.
NO_SFU = "this room service runs no SFU; cast without --via-sfu"
_SEPARATORS = re.compile("[,;\n\u3001\uff0c\uff1b]+")  # and the full-width ones


def split_codes(text: str, fmt: CodeFormat | None = None) -> list[str]:
    """The entries of a typed list: codes and links, separated by commas, semicolons, new
    lines or spaces between links and whole codes (``482 913 130 557`` is two codes, as the
    digits of one code may be grouped by a space)."""
    fmt = fmt or CodeFormat()
    entries: list[str] = []
    for part in _SEPARATORS.split(text):
        run: list[str] = []
        for word in [*part.split(), ""]:
            if word and not is_link(word):
                run.append(word)
                continue
            if run:
                entries.extend(_whole_codes(" ".join(run), fmt))
                run = []
            if word:
                entries.append(word)
    return entries


def _whole_codes(text: str, fmt: CodeFormat) -> list[str]:
    """``text`` as whole codes when its symbols make several of them, else as it is."""
    symbols = "".join(text.split())
    n = fmt.length
    if len(symbols) > n and len(symbols) % n == 0:
        chunks = [symbols[i:i + n] for i in range(0, len(symbols), n)]
        if all(fmt.normalize(c) is not None for c in chunks):
            # the spaces typed must fall between codes or inside one code's groups
            return chunks
    return [text]


@dataclass
class Tv:
    """One TV of the cast, as presenters show it."""

    index: int
    #: What was typed for it (a code or a link).
    typed: str
    code: str = ""
    status: SenderStatus | None = None
    #: Why this TV could not be reached or stopped receiving (None while all is well).
    failure: Failure | Any | None = None
    session: SenderSession | None = None
    caster: Caster | None = None
    #: Its call goes through the room service's media server.
    via_sfu: bool = False
    #: The last statistics of its call (see :meth:`MultiCast.poll_stats`).
    stats: PeerStats | None = None
    removed: bool = False
    #: Being reached (looking, joining, asked in): the statuses of attempts given up on
    #: do not end it; its failure does.
    reaching: bool = False
    #: The latest looking/found event while it is being reached.
    event: SenderEvent | None = None

    @property
    def name(self) -> str:
        """The TV's display name once known, else its code as typed."""
        receiver = self.status.receiver if self.status is not None else None
        return receiver or self.code or self.typed.strip()

    @property
    def ended(self) -> bool:
        from castapp.session.sender import SenderState

        if self.removed:
            return True
        if self.reaching:
            return False
        return (self.failure is not None and self.session is None) or (
            self.status is not None and self.status.state is SenderState.ENDED)

    @property
    def casting(self) -> bool:
        from castapp.session.sender import SenderState

        return not self.ended and self.status is not None \
            and self.status.state is SenderState.CASTING


@dataclass
class MultiCast:
    """A cast of one source to several TVs with one encode."""

    source: FrameSource
    encoder: EncoderConfig | None = None
    discover: Discover | None = None
    name: str = ""
    #: The room service typed (host:port or URL); "" looks for each TV on the LAN.
    server: str = ""
    fmt: CodeFormat | None = None
    #: Every call through the media server the room service names (``--via-sfu``).
    via_sfu: bool = False
    #: At most this many TVs (None: the mesh's or the SFU's limit).
    limit: int | None = None
    #: Keyword arguments for every session: codec, ICE options, sound.
    session_args: dict[str, Any] = field(default_factory=dict)
    on_change: Callable[[Tv], None] | None = None
    tvs: list[Tv] = field(default_factory=list)
    #: Whether the room service of the last TV reached names a media server (None: unknown).
    sfu_offered: bool | None = None
    hub: SharedEncoderHub | None = field(default=None, init=False)
    sfu: SfuCast | None = field(default=None, init=False)
    _count: int = field(default=0, init=False)

    @property
    def max_tvs(self) -> int:
        from castapp.session.fanout import MAX_RECEIVERS
        from castapp.sfu.relay import SFU_MAX_RECEIVERS

        return self.limit or (SFU_MAX_RECEIVERS if self.via_sfu else MAX_RECEIVERS)

    @property
    def live(self) -> list[Tv]:
        """The TVs not ended nor removed."""
        return [tv for tv in self.tvs if not tv.ended]

    def start(self) -> None:
        """Open the shared encoder (the source runs already); idempotent."""
        if self.hub is not None:
            return
        from castapp.rtc.shared_encoder import SharedEncoderHub
        from castapp.session.fanout import shared_offer_factory
        from castapp.sfu.relay import SfuCast

        self.hub = SharedEncoderHub(self.source, self.encoder)
        self._mesh = shared_offer_factory(self.hub)
        if self.via_sfu:
            codec: Codec = self.session_args.get("codec") or "h264"
            self.sfu = SfuCast(self.hub, name=self.name or "castapp", codec=codec,
                               encoder=self.encoder)
            self._via = self.sfu.factory()

    async def _offer(self, req: OfferRequest) -> OfferPeer:
        """Each call: through the SFU when asked for, else sending the shared encode."""
        self.sfu_offered = req.sfu is not None
        if self.sfu is not None:
            return await self._via(req)
        return await self._mesh(req)

    def _changed(self, tv: Tv) -> None:
        if self.on_change is not None:
            self.on_change(tv)

    def _refuse(self, tv: Tv, failure: Failure) -> Tv:
        tv.failure = failure
        self._changed(tv)
        return tv

    async def add(self, typed: str) -> Tv:
        """Reach one more TV and send it the cast; the TV returned says how that went (its
        ``failure``), the other TVs are not disturbed whatever happens."""
        from castapp.session.sender import SenderState

        self.start()
        self._count += 1
        tv = Tv(self._count, typed)
        self.tvs.append(tv)
        try:
            target = parse_target(typed, self.fmt)
            url = service_url(target, self.server)
        except CastFailed as exc:
            return self._refuse(tv, exc.failure)
        tv.code = target.code
        if any(t is not tv and t.code == tv.code and not t.ended for t in self.tvs):
            return self._refuse(tv, Failure("bad_input", {
                "reason": "the same code is given twice"}))
        if len(self.live) > self.max_tvs:
            return self._refuse(tv, Failure("bad_input", {
                "reason": f"one cast reaches at most {self.max_tvs} screens"}))

        def on_status(st: SenderStatus) -> None:
            if tv.removed:
                return
            tv.status = st
            if st.state is SenderState.ENDED and tv.failure is None:
                bad = sender_failure(st)
                if bad is not None and self.sfu is not None and self.sfu.error and st.fault:
                    bad = Failure("fault", {"reason": self.sfu.error})
                tv.failure = bad
            self._changed(tv)

        def on_event(ev: SenderEvent) -> None:
            tv.event = ev
            self._changed(tv)

        tv.caster = Caster(discover=self.discover, name=self.name, on_status=on_status,
                           on_event=on_event,
                           session_args={**self.session_args, "encoder": self.encoder,
                                         "peer_factory": self._offer})
        tv.via_sfu = self.via_sfu
        tv.reaching = True
        self._changed(tv)
        try:
            tv.session = await tv.caster.cast(target, url, self.source)
        except CastFailed as exc:
            tv.reaching = False
            if not tv.removed:
                self._refuse(tv, exc.failure)
            return tv
        except BaseException:
            tv.reaching = False
            raise
        tv.reaching = False
        if tv.removed:  # stopped while it was being reached
            await tv.session.close()
            return tv
        joined = tv.session.client.joined
        if joined is not None:
            self.sfu_offered = joined.sfu is not None
        if self.via_sfu and joined is not None and joined.sfu is None:
            tv.reaching = True  # its closing status is not how it ended
            await tv.session.close()
            tv.session, tv.reaching = None, False
            return self._refuse(tv, Failure("fault", {"reason": NO_SFU}))
        self._changed(tv)
        return tv

    async def add_many(self, typed: list[str]) -> list[Tv]:
        return list(await asyncio.gather(*(self.add(t) for t in typed)))

    def answer_pin(self, pin: str) -> bool:
        """The PIN typed goes to the TV that asks for one."""
        from castapp.app.words import needs_pin

        for tv in self.live:
            if tv.caster is not None and tv.status is not None and needs_pin(tv.status):
                return tv.caster.answer_pin(pin)
        return False

    async def remove(self, tv: Tv) -> None:
        """Stop casting to this TV only."""
        if tv.removed:
            return
        tv.removed = True
        self._changed(tv)
        session = tv.session or (tv.caster.session if tv.caster is not None else None)
        if session is not None:
            await session.close()

    async def poll_stats(self) -> list[Tv]:
        """Fetch every casting TV's statistics; the TVs whose numbers were read."""
        read = []
        for tv in self.live:
            if tv.session is not None and tv.casting:
                tv.stats = await tv.session.stats()
                read.append(tv)
        return read

    def set_audio_muted(self, muted: bool) -> None:
        for tv in self.live:
            if tv.session is not None:
                tv.session.set_audio_muted(muted)

    async def close(self) -> None:
        """Stop casting to every TV and close the encoder (the source is the caller's)."""
        for tv in list(self.tvs):
            with contextlib.suppress(Exception):  # broad: closing goes on for the others
                await self.remove(tv)
        if self.sfu is not None:
            await self.sfu.close()
        if self.hub is not None:
            await self.hub.close()

