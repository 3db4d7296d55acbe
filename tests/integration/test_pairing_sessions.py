"""The sessions pair over the cast code: a room service that swaps DTLS fingerprints is
refused by both ends, and the honest service casts with both ends verified.

Real SenderSession and ReceiverSession with real aiortc peers on loopback, through castapp's
own service; the malicious runs use its relay hook from ``security_cast.py`` (the relay
rewrites the fingerprints of the offers, the answers or both to its own certificate's).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator

import pytest
from aiortc import RTCCertificate
from security_cast import TamperingRooms

from castapp import protocol as p
from castapp.rtc.capture import SyntheticSource
from castapp.rtc.receive import ReceivedFrame
from castapp.session.receiver import ReceiverSession
from castapp.session.room import AdmissionMode
from castapp.session.sender import EndReason, SenderSession, SenderState
from castapp.signaling.server import RoomServer, ServiceConfig
from castapp.signaling.tokens import TokenSigner

pytestmark = [pytest.mark.timeout(120), pytest.mark.usefixtures("loopback_only")]
TAMPERED = "The connection was tampered with — not casting."
REWRITES = {"offer": (p.RelayedOffer,), "answer": (p.RelayedAnswer,),
            "both": (p.RelayedOffer, p.RelayedAnswer)}


async def service(rewrite: str | None) -> RoomServer:
    config = ServiceConfig(host="127.0.0.1", port=0)
    signer = TokenSigner(secrets.token_bytes(32))
    server = RoomServer(config, signer)
    if rewrite is not None:
        rooms = TamperingRooms(server.store, signer, config.rooms, server.rooms.clock)
        rooms.rewrite = REWRITES[rewrite]
        rooms.fingerprints = tuple(f"{f.algorithm} {f.value}" for f in
                                   RTCCertificate.generateCertificate().getFingerprints())
        server.rooms = rooms
    await server.start()
    return server


@pytest.fixture
async def source() -> AsyncIterator[SyntheticSource]:
    src = SyntheticSource(320, 180, fps=15)
    yield src
    src.stop()


async def cast(server: RoomServer, source: SyntheticSource, mode: AdmissionMode
               ) -> tuple[ReceiverSession, SenderSession, list[ReceivedFrame]]:
    frames: list[ReceivedFrame] = []
    receiver = ReceiverSession(server.url, name="TV", admission=mode,
                               on_call_frame=lambda peer, f: frames.append(f))
    sender = SenderSession(server.url, source, name="Laptop")
    await receiver.start()
    await sender.cast(receiver.status.code or "")
    return receiver, sender, frames


async def test_the_honest_service_casts_and_both_ends_are_verified(source) -> None:
    server = await service(None)
    receiver, sender, frames = await cast(server, source, AdmissionMode.OPEN)
    try:
        st = await sender.wait_for(SenderState.CASTING, timeout=30)
        assert st.verified
        rx = await receiver.wait_until(lambda s: bool(s.calls) and s.calls[0].verified,
                                       timeout=30)
        for _ in range(100):
            if len(frames) >= 10:
                break
            await asyncio.sleep(0.1)
        assert len(frames) >= 10 and rx.fault is None
    finally:
        await sender.close()
        await receiver.stop()
        await server.stop()


@pytest.mark.parametrize("rewrite", ["offer", "answer", "both"])
async def test_a_service_that_swaps_fingerprints_is_refused_by_both_ends(
        source, rewrite: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    server = await service(rewrite)
    receiver, sender, frames = await cast(server, source, AdmissionMode.OPEN)
    try:
        st = await sender.wait_for(SenderState.ENDED, timeout=30)
        assert st.ended is EndReason.TAMPERED and not st.verified
        rx = await receiver.wait_until(lambda s: s.fault is not None and not s.calls,
                                       timeout=30)
        assert rx.fault is not None and TAMPERED in rx.fault
        await asyncio.sleep(1.0)
        assert frames == []  # no frame was shown
        assert server.rooms.rewritten >= 1  # the attack really happened
        security = [r.message for r in caplog.records if r.message.startswith("security:")]
        assert any("receiver" in m for m in security) and any("sender" in m for m in security)
        assert (receiver.status.code or "-") not in caplog.text  # the code is never logged
    finally:
        await sender.close()
        await receiver.stop()
        await server.stop()


async def test_pin_mode_pairs_over_code_and_pin_and_refuses_tampering(source) -> None:
    server = await service("both")
    receiver, sender, frames = await cast(server, source, AdmissionMode.PIN)
    try:
        rx = await receiver.wait_until(lambda s: bool(s.calls) and s.calls[0].pin is not None)
        await sender.wait_until(lambda s: s.admission is p.AdmissionState.PIN)
        await sender.answer_pin(rx.calls[0].pin or "")
        st = await sender.wait_for(SenderState.ENDED, timeout=30)
        assert st.ended is EndReason.TAMPERED and frames == []
    finally:
        await sender.close()
        await receiver.stop()
        await server.stop()
