"""Fakes for the receiver session: media links it builds, and a registering signaling client."""

from __future__ import annotations

import asyncio
import time

import av

from castapp import protocol as p
from castapp.rtc.peer import Route
from castapp.rtc.receive import ReceivedFrame
from castapp.session.receive_link import LinkRequest, LinkStats
from fakes.signaling import FakeSignaling


class ReceiverSignaling(FakeSignaling):
    """The fake client, registering as a receiver (with the fields ``registered`` has)."""

    def __init__(self, *args: object, **kw: object) -> None:
        super().__init__(*args, **kw)  # type: ignore[arg-type]
        self.pair_code = None  # the session under test is the receiver: no one plays it

    async def register(self, token: str | None = None) -> p.Registered:
        if self.register_error is not None:
            raise self.register_error
        self.sent.append(("register", None, token))
        self.registration = p.Registered(code=self.code, token=self.token, ttl_s=60.0,
                                         ice_servers=self.ice_servers, max_senders=4)
        return self.registration

    def signals(self, to: str | None = None) -> list[p.PeerMessage]:
        return [m for kind, peer, m in self.sent if kind == "signal" and to in (None, peer)]

    def admissions(self, to: str) -> list[p.AdmissionState]:
        return [m.state for m in self.signals(to) if isinstance(m, p.Admission)]

    def of(self, kind: str, to: str | None = None) -> list[object]:
        return [m for k, peer, m in self.sent if k == kind and to in (None, peer)]


class FakeLink:
    def __init__(self, req: LinkRequest, n: int) -> None:
        self.req = req
        self.answer_sdp = f"answer-{n}"
        self.candidates: list[p.IceCandidate | None] = []
        self.closed = False
        self.frames = 0
        self.plis = 0

    async def add_candidate(self, cand: p.IceCandidate | None) -> None:
        self.candidates.append(cand)

    def route(self) -> Route | None:
        return Route.DIRECT

    async def stats(self) -> LinkStats:
        return LinkStats(None, 30.0, self.frames, self.plis, 0, 12.5)

    async def close(self) -> None:
        self.closed = True

    def frame(self, width: int = 64, height: int = 48) -> ReceivedFrame:
        """Deliver one decoded frame, as the real link's frame receiver would."""
        frame = ReceivedFrame(av.VideoFrame(width, height, "yuv420p"), self.frames,
                              time.time(), time.monotonic(), 0)
        self.frames += 1
        self.req.on_frame(frame)
        return frame

    def fail(self) -> None:
        self.req.on_failed()


class FakeLinkFactory:
    """Builds :class:`FakeLink` s; ``gate`` (when set) holds every build until it is set."""

    def __init__(self) -> None:
        self.links: list[FakeLink] = []
        self.offers: list[str] = []
        self.gate: asyncio.Event | None = None
        self.error: Exception | None = None

    async def __call__(self, req: LinkRequest) -> FakeLink:
        self.offers.append(req.offer_sdp)
        if self.gate is not None:
            await self.gate.wait()
        if self.error is not None:
            raise self.error
        link = FakeLink(req, len(self.links))
        self.links.append(link)
        return link
