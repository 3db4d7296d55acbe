"""A cast to several receivers through the SFU, with receivers that need no change.

``castapp send --via-sfu CODE CODE …`` runs one sender session per receiver as the mesh
does, but each session's call is an :class:`SfuOfferPeer`: the offer the receiver gets is
the SFU's (a VideoRoom subscriber handle on the sender's feed), the receiver's answer and
candidates go back to the SFU, and media flows SFU → receiver. The sender pays one encode
and one upload (its :class:`~castapp.sfu.videoroom.SfuPublisher`), whatever the number of
receivers. The code's pairing still binds the call: the sender confirms the SFU's offer as
its own, the receiver's answer is checked as in a direct call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiortc import RTCIceCandidate
from aiortc.sdp import candidate_to_sdp

from castapp.protocol import SfuAccess
from castapp.rtc.capture import FrameSource
from castapp.rtc.encoder import EncoderConfig
from castapp.rtc.offer import OfferPeer, OfferRequest
from castapp.rtc.peer import (
    Codec,
    IcePath,
    PeerStats,
    Route,
    ice_path,
    working_routes,
)
from castapp.rtc.shared_encoder import SharedEncoderHub
from castapp.session.fanout import FanoutCast
from castapp.sfu.janus import Handle, JanusError, Jsep
from castapp.sfu.videoroom import SfuPublisher
from castapp.tasks import cancel_and_wait

log = logging.getLogger(__name__)

#: Receivers of one cast through the SFU (the mesh stops at 8): the sender's cost does not
#: grow with them, the SFU's upload does.
SFU_MAX_RECEIVERS = 64
#: VideoRoom's "no such feed": the publisher is not ready yet; asked again for this long.
NO_SUCH_FEED = 428
FEED_WAIT_S = 5.0


class SfuCast:
    """One publisher on the SFU for the whole cast, opened with the first call."""

    def __init__(self, hub: SharedEncoderHub, *, name: str = "castapp",
                 codec: Codec = "h264", encoder: EncoderConfig | None = None) -> None:
        self.hub = hub
        self.name = name
        self.codec: Codec = codec
        self.encoder = encoder
        self.publisher: SfuPublisher | None = None
        #: The latest failure to reach the SFU, as one sentence for the presenter.
        self.error: str | None = None
        self._expires = 0
        self._lock = asyncio.Lock()

    async def publish(self, access: SfuAccess, req: OfferRequest) -> SfuPublisher:
        async with self._lock:
            pub = self.publisher
            if pub is not None and pub.pc.connectionState in ("failed", "closed"):
                self.publisher = None
                await pub.close()
            if self.publisher is not None and access.expires > self._expires:
                self.publisher.session.token = access.token  # the freshest join's token
                self._expires = access.expires
            if self.publisher is None:
                pub = await SfuPublisher.open(
                    access.url, access.token, self.hub, codec=self.codec, name=self.name,
                    ice_servers=req.servers, encoder=self.encoder)
                try:
                    await pub.wait_connected()
                except (JanusError, TimeoutError):
                    await pub.close()
                    raise JanusError("The cast could not reach the SFU.") from None
                self.publisher, self._expires = pub, access.expires
            return self.publisher

    def factory(self) -> Callable[[OfferRequest], Awaitable[OfferPeer]]:
        """A :data:`~castapp.rtc.offer.PeerFactory` whose calls subscribe receivers to the
        cast on the SFU named by the join."""

        async def offer(req: OfferRequest) -> OfferPeer:
            if req.sfu is None:
                self.error = "this room service runs no SFU; cast without --via-sfu"
                raise ConnectionError(self.error)
            try:
                pub = await self.publish(req.sfu, req)
                peer = await SfuOfferPeer.open(pub, req)
            except JanusError as exc:
                self.error = str(exc)
                raise ConnectionError(self.error) from None
            self.error = None
            return peer

        return offer

    async def close(self) -> None:
        if self.publisher is not None:
            await self.publisher.close()
            self.publisher = None


class SfuOfferPeer:
    """One receiver's call: the SFU's offer handed to the receiver, its answer to the SFU."""

    def __init__(self, pub: SfuPublisher, handle: Handle, offer_sdp: str,
                 on_state: Callable[[str], None]) -> None:
        self.pub = pub
        self.handle = handle
        self._offer = offer_sdp
        self._state = "new"
        self._on_state = on_state
        self._watch = asyncio.create_task(self._events())

    @classmethod
    async def open(cls, pub: SfuPublisher, req: OfferRequest) -> SfuOfferPeer:
        assert pub.feed is not None
        handle = await pub.session.attach()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + FEED_WAIT_S
        try:
            while True:
                try:
                    ev = await handle.request({"request": "join", "ptype": "subscriber",
                                               "room": pub.feed.room, "pin": pub.feed.pin,
                                               "streams": [{"feed": pub.feed.feed}]})
                    break
                except JanusError as exc:  # the feed appears once its media flows
                    if exc.code != NO_SUCH_FEED or loop.time() > deadline:
                        raise
                    await asyncio.sleep(0.1)
            if ev.jsep is None or ev.jsep.type != "offer":
                raise JanusError("The SFU did not offer the cast.")
        except BaseException:
            await handle.detach()
            raise
        return cls(pub, handle, ev.jsep.sdp, req.on_state)

    def _set(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self._on_state(state)

    async def _events(self) -> None:
        while True:
            ev = await self.handle.events.get()
            kind = ev.data.get("castapp")
            if kind == "webrtcup":
                self._set("connected")
            elif kind == "hangup" and self._state != "closed":
                self._set("failed")

    @property
    def offer_sdp(self) -> str:
        return self._offer

    @property
    def gathered(self) -> set[str]:
        return {"host"}

    @property
    def connection_state(self) -> str:
        return self._state

    @property
    def frames_sent(self) -> int:
        return self.pub.peer.frames_sent if self.pub.peer is not None else 0

    @property
    def frame_size(self) -> tuple[int, int] | None:
        return self.pub.peer.frame_size if self.pub.peer is not None else None

    async def apply_answer(self, sdp: str) -> None:
        self._set("connecting")
        try:
            await self.handle.request({"request": "start"}, Jsep("answer", sdp))
        except JanusError as exc:
            raise ValueError(str(exc)) from None

    async def add_candidate(self, candidate: RTCIceCandidate | None) -> None:
        body: dict[str, object] = {"completed": True}
        if candidate is not None:
            body = {"candidate": "candidate:" + candidate_to_sdp(candidate),
                    "sdpMid": candidate.sdpMid or "0",
                    "sdpMLineIndex": candidate.sdpMLineIndex or 0}
        with contextlib.suppress(JanusError):
            await self.handle.session.call({"janus": "trickle", "handle_id": self.handle.id,
                                            "candidate": body})

    def path(self) -> IcePath | None:
        """The sender's own leg (to the SFU); the receiver's leg is the SFU's."""
        return ice_path(self.pub.pc)

    def working_routes(self) -> set[Route]:
        return working_routes(self.pub.pc)

    async def last_heard_at(self) -> float | None:
        # the receiver reports to the SFU; a receiver that is gone ends in a hangup
        if self._state == "failed" or self.pub.peer is None:
            return None
        return await self.pub.peer.last_heard_at()

    async def stats(self, fps: float | None) -> PeerStats:
        assert self.pub.peer is not None
        return await self.pub.peer.stats(fps)

    async def close(self) -> None:
        self._state = "closed"
        await cancel_and_wait(self._watch)
        await self.handle.detach()


class SfuFanoutCast(FanoutCast):
    """:class:`~castapp.session.fanout.FanoutCast` with every call through the SFU that the
    room service names: one publisher, one encode and one upload for all receivers."""

    def __init__(self, source: FrameSource, **kw: Any) -> None:
        super().__init__(source, **kw)
        self.sfu = SfuCast(self.hub, name=self.name or "castapp", codec=self.codec,
                           encoder=self.encoder)
        self._factory = self.sfu.factory()

    async def _offer(self, req: OfferRequest) -> OfferPeer:
        return await self._factory(req)

    async def close(self) -> None:
        for r in list(self.receivers):
            await self.remove(r)
        await self.sfu.close()
        await super().close()
