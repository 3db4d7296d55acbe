"""A real sender in the TV's waiting room: approval, PIN, denial, stop, and the view it is
asked to send at (real service, real aiortc peers on loopback)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from castapp import protocol as p
from castapp.rtc.capture import SyntheticSource
from castapp.rtc.receive import ReceivedFrame
from castapp.session.receiver import ReceiverSession, ReceiverState
from castapp.session.room import AdmissionMode, CallPhase
from castapp.session.sender import EndReason, SenderSession, SenderState

pytestmark = [pytest.mark.timeout(120), pytest.mark.usefixtures("loopback_only")]
A = p.AdmissionState


class Sizes:
    def __init__(self) -> None:
        self.seen: list[tuple[int, int]] = []
        self.changed = asyncio.Event()

    def __call__(self, peer_id: str, frame: ReceivedFrame) -> None:
        self.seen.append((frame.width, frame.height))
        self.changed.set()

    async def until(self, size: tuple[int, int], timeout: float = 30.0) -> None:
        async def wait() -> None:
            while not self.seen or self.seen[-1] != size:
                self.changed.clear()
                await self.changed.wait()
        await asyncio.wait_for(wait(), timeout)


@contextlib.asynccontextmanager
async def pair(url: str, mode: AdmissionMode, size: tuple[int, int] = (320, 180)
               ) -> AsyncIterator[tuple[ReceiverSession, SenderSession, Sizes]]:
    sizes = Sizes()
    source = SyntheticSource(*size, fps=15)
    receiver = ReceiverSession(url, name="TV", admission=mode, on_call_frame=sizes)
    sender = SenderSession(url, source, name="Laptop")
    try:
        await receiver.start()
        yield receiver, sender, sizes
    finally:
        await sender.close()
        await receiver.stop()
        source.stop()


def only_call(receiver: ReceiverSession) -> str:
    [view] = receiver.status.calls
    return view.peer_id


async def test_approve_keeps_the_sender_waiting_without_an_offer(server) -> None:
    async with pair(server.url, AdmissionMode.APPROVE) as (receiver, sender, sizes):
        await sender.cast(receiver.status.code or "")
        st = await sender.wait_for(SenderState.ADMITTING)
        await receiver.wait_until(lambda s: len(s.calls) == 1)
        await asyncio.sleep(1.5)
        st = sender.status
        assert st.state is SenderState.ADMITTING and st.admission is A.WAITING
        assert sender.peer is None and not sizes.seen  # no offer, no media
        receiver.allow(only_call(receiver))
        st = await sender.wait_for(SenderState.CASTING, timeout=30)
        assert st.admission is A.ALLOWED
        await receiver.wait_for(ReceiverState.RECEIVING, timeout=30)


async def test_denied_and_stopped_are_told_in_the_status(server) -> None:
    async with pair(server.url, AdmissionMode.APPROVE) as (receiver, sender, _):
        code = receiver.status.code or ""
        await sender.cast(code)
        await receiver.wait_until(lambda s: len(s.calls) == 1)
        receiver.deny(only_call(receiver))
        st = await sender.wait_for(SenderState.ENDED, timeout=15)
        assert st.ended is EndReason.DENIED and not st.failed
    async with pair(server.url, AdmissionMode.OPEN) as (receiver, sender, _):
        await sender.cast(receiver.status.code or "")
        await sender.wait_for(SenderState.CASTING, timeout=30)
        receiver.stop_call(only_call(receiver))
        st = await sender.wait_for(SenderState.ENDED, timeout=15)
        assert st.ended is EndReason.STOPPED_BY_TV


async def test_a_pin_typed_wrong_then_right(server) -> None:
    async with pair(server.url, AdmissionMode.PIN) as (receiver, sender, _):
        await sender.cast(receiver.status.code or "")
        rx = await receiver.wait_until(lambda s: len(s.calls) == 1 and s.calls[0].pin)
        pin = rx.calls[0].pin or ""
        await sender.wait_until(lambda s: s.admission is A.PIN)
        assert sender.status.pin_digits == len(pin) == 4
        wrong = f"{(int(pin) + 1) % 10000:04d}"
        await sender.answer_pin(wrong)
        await _until(lambda: sender.status.wrong_pin)
        assert sender.status.state is SenderState.ADMITTING
        await sender.answer_pin(pin)
        await sender.wait_for(SenderState.CASTING, timeout=30)
        rx = await receiver.wait_until(
            lambda s: s.calls and s.calls[0].phase is CallPhase.SHOWING, timeout=30)


async def _until(test, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    async def wait() -> None:
        while not test():
            await asyncio.sleep(0.05)
    await asyncio.wait_for(wait(), timeout)


async def test_the_view_the_tv_asks_for_divides_the_frames(server) -> None:
    async with pair(server.url, AdmissionMode.OPEN, (640, 360)) as (receiver, sender, sizes):
        await sender.cast(receiver.status.code or "")
        await sender.wait_for(SenderState.CASTING, timeout=30)
        await sizes.until((640, 360))
        peer = only_call(receiver)
        receiver.set_view(peer, 400, 300, 10, tile=2, tiles=4, spotlit=False)
        await sizes.until((320, 180))  # 1/2: the smallest whole divisor that fits 400x300
        st = sender.status
        assert (st.tile, st.tiles, st.spotlit, st.view) == (2, 4, False, (400, 300, 10))
        # the rate is capped at the asked 10 fps (the source makes 15)
        track = sender.peer.track  # type: ignore[union-attr]
        before, t0 = track.frames_sent, asyncio.get_running_loop().time()
        await asyncio.sleep(3.0)
        fps = (track.frames_sent - before) / (asyncio.get_running_loop().time() - t0)
        assert fps <= 11.0
        receiver.set_view(peer, 200, 200, 30)
        await sizes.until((160, 90))  # 1/4
        receiver.set_view(peer, 1920, 1080, 30)
        await sizes.until((640, 360))  # room again: full size
