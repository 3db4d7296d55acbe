"""One cast to several receivers: a sender session per receiver, one shared encode.

Each receiver gets its own :class:`~castapp.session.sender.SenderSession` (its own
signaling client, so codes may be on different services; its own peer connection, route,
stats and recovery), and every session's calls send encoded frames from one
:class:`~castapp.rtc.shared_encoder.SharedEncoderHub`: one capture, one encode per frame
per (codec, size), whatever the number of receivers. A receiver that leaves or stalls only
ends or rebuilds its own call.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from aiortc import RTCIceServer

from castapp.rtc.capture import FrameSource
from castapp.rtc.encoder import EncoderConfig
from castapp.rtc.offer import AiortcOfferPeer, OfferPeer, OfferRequest
from castapp.rtc.peer import (
    Codec,
    IceServerLike,
)
from castapp.rtc.shared_encoder import SharedEncoderHub, SharedTrack
from castapp.session.sender import SenderSession, SenderStatus

#: At most this many receivers in one cast from one laptop (beyond that, an SFU: see
#: docs/fanout.md). Each receiver costs packetisation, SRTP and a connection's RTCP.
MAX_RECEIVERS = 8


class SharedOfferPeer(AiortcOfferPeer):
    """A call whose track sends frames of the cast's shared encoder."""

    def __init__(self, req: OfferRequest, hub: SharedEncoderHub) -> None:
        self.hub = hub
        super().__init__(req)

    def _open_track(self, req: OfferRequest) -> SharedTrack:  # type: ignore[override]
        self.shared = self.hub.track(f"video/{req.codec}")
        return self.shared

    @property
    def frame_size(self) -> tuple[int, int] | None:
        group = self.shared.sub.group
        last = group.track.last_frame
        if last is None:
            return None
        return (last.width // group.scale // 2 * 2, last.height // group.scale // 2 * 2)


@dataclass
class Receiver:
    """One receiver of the cast, as the presenter shows it."""

    index: int
    session: SenderSession

    @property
    def label(self) -> str:
        name = self.session.status.receiver
        return f"TV {self.index}" + (f" ({name})" if name else "")


class FanoutCast:
    """Cast one source to several receivers with one encode."""

    def __init__(
        self,
        source: FrameSource,
        *,
        name: str = "",
        codec: Codec = "h264",
        encoder: EncoderConfig | None = None,
        ice_servers: Sequence[RTCIceServer | IceServerLike] = (),
        relay_only: bool = False,
        on_status: Callable[[Receiver, SenderStatus], None] | None = None,
        session_options: dict[str, object] | None = None,
    ) -> None:
        self.source = source
        self.name = name
        self.codec: Codec = codec
        self.encoder = encoder
        self.ice_servers = list(ice_servers)
        self.relay_only = relay_only
        self.on_status = on_status
        self.session_options = session_options or {}
        self.hub = SharedEncoderHub(source, encoder)
        self.receivers: list[Receiver] = []
        self._count = 0

    async def _offer(self, req: OfferRequest) -> OfferPeer:
        return await shared_offer_factory(self.hub)(req)

    async def add(self, url: str, code: str) -> Receiver:
        """Join one more receiver (``code`` on the service at ``url``). Raises the typed
        signaling errors of :meth:`SenderSession.cast`; the other receivers carry on."""
        if len(self.receivers) >= MAX_RECEIVERS:
            raise ValueError(f"one cast reaches at most {MAX_RECEIVERS} screens")
        self._count += 1
        holder: list[Receiver] = []

        def status(s: SenderStatus) -> None:
            if holder and self.on_status is not None:
                self.on_status(holder[0], s)

        session = SenderSession(url, self.source, name=self.name, codec=self.codec,
                                encoder=self.encoder, ice_servers=self.ice_servers,
                                relay_only=self.relay_only, on_status=status,
                                peer_factory=self._offer,
                                **self.session_options)  # type: ignore[arg-type]
        receiver = Receiver(self._count, session)
        holder.append(receiver)
        self.receivers.append(receiver)
        try:
            await session.cast(code)
        except BaseException:
            self.receivers.remove(receiver)
            await session.close()
            raise
        return receiver

    async def remove(self, receiver: Receiver) -> None:
        if receiver in self.receivers:
            self.receivers.remove(receiver)
        await receiver.session.close()

    def stats(self) -> dict[str, object]:
        """Encoder counters of the whole cast (encodes are per frame, not per receiver)."""
        return self.hub.stats()

    async def close(self) -> None:
        for r in list(self.receivers):
            with contextlib.suppress(Exception):  # broad: closing goes on for the others
                await self.remove(r)
        await self.hub.close()


async def wait_all(fanout: FanoutCast, state: object, timeout: float = 20.0) -> None:
    """Wait until every receiver's session reached ``state``."""
    await asyncio.gather(*(r.session.wait_for(state, timeout)  # type: ignore[arg-type]
                           for r in fanout.receivers))


def shared_offer_factory(hub: SharedEncoderHub) -> Callable[[OfferRequest],
                                                            Awaitable[OfferPeer]]:
    """A :data:`~castapp.rtc.offer.PeerFactory` whose calls send ``hub``'s encoded frames
    (pass it as a sender session's ``peer_factory``)."""

    async def offer(req: OfferRequest) -> OfferPeer:
        peer = SharedOfferPeer(req, hub)
        await peer.offer()
        return peer

    return offer
