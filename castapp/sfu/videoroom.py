"""Publishing a cast to a Janus VideoRoom once, and subscribing to it from each receiver.

The sender makes one room per cast (random id, random PIN: codes and rooms are secrets),
joins it as its only publisher and sends one aiortc call whose track is a
:class:`~castapp.rtc.shared_encoder.SharedTrack`: one encode, one upload, whatever the number
of receivers. A receiver joins the room as a subscriber of the sender's feed: Janus offers,
aiortc answers, and the decoded frames go to ``on_frame`` exactly as in a direct call.
Janus forwards every subscriber's keyframe request (PLI) to the publisher, whose shared
encoder answers it once for all.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aiortc import RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from castapp.rtc.encoder import EncoderConfig
from castapp.rtc.offer import OfferRequest
from castapp.rtc.peer import Codec, IceServerLike, make_peer_connection
from castapp.rtc.receive import FrameReceiver, ReceivedFrame
from castapp.rtc.shared_encoder import SharedEncoderHub
from castapp.session.fanout import SharedOfferPeer
from castapp.sfu.janus import Handle, JanusError, JanusSession, Jsep, _int

#: Janus's VideoRoom takes numeric room ids up to 2**53 (JSON numbers).
_ROOM_MAX = 2**52


@dataclass(frozen=True)
class SfuFeed:
    """Where a receiver finds the cast on the SFU (sent to it by the sender)."""

    url: str
    room: int
    pin: str
    feed: int

    def as_dict(self) -> dict[str, object]:
        return {"url": self.url, "room": self.room, "pin": self.pin, "feed": self.feed}

    @classmethod
    def parse(cls, value: object) -> SfuFeed | None:
        """A feed from an untrusted message, or None when any part is malformed."""
        if not isinstance(value, dict):
            return None
        url, pin = value.get("url"), value.get("pin")
        room, feed = _int(value.get("room")), _int(value.get("feed"))
        if (not isinstance(url, str) or not url.startswith(("ws://", "wss://"))
                or len(url) > 512 or not isinstance(pin, str) or not 0 < len(pin) <= 64
                or room is None or feed is None or not 0 < room <= _ROOM_MAX
                or not 0 < feed <= _ROOM_MAX):
            return None
        return cls(url, room, pin, feed)


class SfuPublisher:
    """The sender's one call to the SFU; use :meth:`open`, then hand :attr:`feed` on."""

    def __init__(self, session: JanusSession, handle: Handle, room: int, secret: str) -> None:
        self.session = session
        self.handle = handle
        self.room = room
        self.secret = secret
        self.peer: SharedOfferPeer | None = None
        self.feed: SfuFeed | None = None

    @classmethod
    async def open(cls, url: str, token: str, hub: SharedEncoderHub, *,
                   codec: Codec = "h264", name: str = "castapp",
                   ice_servers: Sequence[RTCIceServer | IceServerLike] = (),
                   encoder: EncoderConfig | None = None,
                   timeout_s: float = 10.0) -> SfuPublisher:
        if hub.source.error is None and not hub.source.running:
            hub.source.start()
        session = await JanusSession.open(url, token, timeout_s)
        self: SfuPublisher | None = None
        try:
            handle = await session.attach()
            room, pin, secret = secrets.randbelow(_ROOM_MAX - 1) + 1, secrets.token_hex(8), \
                secrets.token_hex(16)
            await handle.request({"request": "create", "room": room, "pin": pin,
                                  "secret": secret, "is_private": True, "publishers": 1,
                                  "videocodec": codec, "audiocodec": "opus",
                                  "fir_freq": 0, "notify_joining": False})
            self = cls(session, handle, room, secret)
            joined = await handle.request({"request": "join", "ptype": "publisher",
                                           "room": room, "pin": pin, "display": name[:64]})
            feed = _int(joined.data.get("id"))
            if joined.data.get("videoroom") != "joined" or feed is None:
                raise JanusError("The SFU did not let the cast into its room.")
            req = OfferRequest(servers=[s for s in ice_servers if isinstance(s, RTCIceServer)],
                               relay_only=False, source=hub.source, codec=codec,
                               encoder=encoder, on_state=lambda _s: None)
            peer = SharedOfferPeer(req, hub)
            self.peer = peer
            await peer.offer()
            answer = await handle.request({"request": "publish", "video": True,
                                           "audio": False, "data": False},
                                          Jsep("offer", peer.offer_sdp))
            if answer.jsep is None or answer.jsep.type != "answer":
                raise JanusError("The SFU did not answer the cast's offer.")
            await peer.apply_answer(answer.jsep.sdp)
            self.feed = SfuFeed(url, room, pin, feed)
            return self
        except BaseException:
            if self is not None:
                await self.close()
            else:
                await session.close()
            raise

    @property
    def pc(self) -> RTCPeerConnection:
        assert self.peer is not None
        return self.peer.pc

    async def wait_connected(self, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while self.pc.connectionState != "connected":
                if self.pc.connectionState in ("failed", "closed"):
                    raise JanusError("The cast could not reach the SFU.")
                await asyncio.sleep(0.05)

    async def close(self) -> None:
        with contextlib.suppress(JanusError):
            await self.handle.request({"request": "destroy", "room": self.room,
                                       "secret": self.secret})
        if self.peer is not None:  # closing over a dead path may raise anything aiortc raises
            with contextlib.suppress(Exception):  # broad: ending anyway
                await self.peer.close()
        await self.session.close()


class SfuSubscriber:
    """One receiver's subscription to a cast on the SFU; use :meth:`open`."""

    def __init__(self, session: JanusSession, handle: Handle, pc: RTCPeerConnection) -> None:
        self.session = session
        self.handle = handle
        self.pc = pc
        self.frames: FrameReceiver | None = None

    @classmethod
    async def open(cls, feed: SfuFeed, token: str,
                   on_frame: Callable[[ReceivedFrame], None], *,
                   ice_servers: Sequence[IceServerLike] = (),
                   timeout_s: float = 10.0) -> SfuSubscriber:
        session = await JanusSession.open(feed.url, token, timeout_s)
        pc: RTCPeerConnection | None = None
        try:
            handle = await session.attach()
            offer = await handle.request({"request": "join", "ptype": "subscriber",
                                          "room": feed.room, "pin": feed.pin,
                                          "streams": [{"feed": feed.feed}]})
            if offer.jsep is None or offer.jsep.type != "offer":
                raise JanusError("The SFU did not offer the cast.")
            pc = make_peer_connection(list(ice_servers))
            self = cls(session, handle, pc)
            videos: list[MediaStreamTrack] = []
            pc.on("track", lambda t: videos.append(t) if t.kind == "video" else None)
            await pc.setRemoteDescription(RTCSessionDescription(offer.jsep.sdp, "offer"))
            await pc.setLocalDescription(await pc.createAnswer())
            await handle.request({"request": "start"},
                                 Jsep("answer", pc.localDescription.sdp))
            if not videos:
                raise JanusError("The SFU's offer carried no video.")
            self.frames = FrameReceiver(videos[0], on_frame)
            self.frames.start()
            return self
        except BaseException:
            if pc is not None:
                await pc.close()
            await session.close()
            raise

    async def request_keyframe(self) -> None:
        """Ask the sender for a keyframe through the SFU (an RTCP PLI on this call)."""
        receiver = self.pc.getTransceivers()[0].receiver
        sources = receiver.getSynchronizationSources()
        if sources:
            await receiver._send_rtcp_pli(sources[0].source)

    async def close(self) -> None:
        if self.frames is not None:
            await self.frames.stop()
        await self.pc.close()
        await self.session.close()
