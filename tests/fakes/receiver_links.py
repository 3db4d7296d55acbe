"""Fakes for the receiver session: media links it builds, and a registering signaling client."""

from __future__ import annotations

import asyncio
import time

import av

from castapp import protocol as p
from castapp.pairing import Pairing, PairingError, PairingRole
from castapp.rtc.peer import Route
from castapp.rtc.receive import ReceivedFrame
from castapp.session.receive_link import LinkRequest, LinkStats
from fakes.signaling import FakeSignaling

#: The DTLS fingerprint of every fake peer in receiver tests (the pairing binds it).
FP_LINE = "a=fingerprint:sha-256 " + ":".join(["5A"] * 32) + "\r\n"


def bare(sdp: object) -> object:
    """An SDP without its fingerprint line, as tests name them ("offer-s1", "answer-0")."""
    return sdp.replace(FP_LINE, "") if isinstance(sdp, str) else sdp


class ReceiverSignaling(FakeSignaling):
    """The fake client, registering as a receiver (with the fields ``registered`` has)."""

    def __init__(self, *args: object, **kw: object) -> None:
        super().__init__(*args, **kw)  # type: ignore[arg-type]
        self.pair_code = None  # the session under test is the receiver: no one plays it
        #: Senders the test plays: their pairing, which confirms when the receiver answers.
        self.senders: dict[str, Pairing | None] = {}
        self.attempts = 0

    def pair(self, peer: str, pin: str | None = None) -> None:
        """``peer`` starts a new pairing over the code (and ``pin``), as a sender does once
        let on (or once its PIN is typed); it confirms when the receiver's PAKE reaches it."""
        self.attempts += 1
        pairing = Pairing(PairingRole.SENDER, self.code, peer, self.peer_id, pin=pin,
                          attempt=self.attempts)
        self.senders[peer] = pairing
        self.push(p.RelayedSignal(from_=peer, body=p.peer_body(pairing.start())))

    async def send_signal(self, to: str, msg: p.PeerMessage) -> None:
        await super().send_signal(to, msg)
        if isinstance(msg, p.Admission) and msg.state is p.AdmissionState.ALLOWED \
                and to in self.senders and self.senders[to] is None:
            self.pair(to)  # let on: the sender pairs before it offers
        pairing = self.senders.get(to)
        if isinstance(msg, p.PakeMessage) and pairing is not None \
                and msg.attempt == pairing.attempt and not pairing.keyed:
            try:
                pairing.receive(msg)
            except PairingError:
                return
            self.push(p.RelayedSignal(from_=to, body=p.peer_body(pairing.confirm(FP_LINE))))

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
        return [bare(m) for k, peer, m in self.sent if k == kind and to in (None, peer)]


class FakeLink:
    def __init__(self, req: LinkRequest, n: int) -> None:
        self.req = req
        self.answer_sdp = f"{FP_LINE}answer-{n}"
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

    def frame(self, width: int = 64, height: int = 48, at: float | None = None) -> ReceivedFrame:
        """Deliver one decoded frame, as the real link's frame receiver would (``at``: the
        monotonic time it arrived, now unless given)."""
        frame = ReceivedFrame(av.VideoFrame(width, height, "yuv420p"), self.frames,
                              time.time(), time.monotonic() if at is None else at, 0)
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
        self.offers.append(str(bare(req.offer_sdp)))
        if self.gate is not None:
            await self.gate.wait()
        if self.error is not None:
            raise self.error
        link = FakeLink(req, len(self.links))
        self.links.append(link)
        return link
