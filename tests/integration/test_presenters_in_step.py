"""The TV brings its presenters' capture clocks in step: real service, real aiortc peers.

Two senders capture synthetic patterns at 30 fps on clocks started 15 ms apart; the
receiver asks one of them to move its clock, and their frames then arrive together.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from castapp.rtc.capture import SyntheticSource
from castapp.session.phase import PERIOD_S
from castapp.session.receiver import ReceiverSession, ReceiverState
from castapp.session.sender import SenderSession

pytestmark = [pytest.mark.timeout(90), pytest.mark.usefixtures("loopback_only")]

#: In step: every presenter's frames arrive within this of the first one's.
IN_STEP_S = 0.004


async def _start_at(source: SyntheticSource, phase_s: float) -> None:
    """Start ``source``'s capture clock at ``phase_s`` on the 30 Hz grid."""
    await asyncio.sleep((phase_s - time.monotonic()) % PERIOD_S)
    source.start()


async def test_two_presenters_out_of_step_end_in_step(server) -> None:
    sources = [SyntheticSource(320, 180, fps=30, first_counter=i * 10_000) for i in range(2)]
    receiver = ReceiverSession(server.url, name="TV")
    senders = [SenderSession(server.url, src, name=f"Laptop {i}")
               for i, src in enumerate(sources)]
    try:
        await receiver.start()
        await _start_at(sources[0], 0.0)
        await _start_at(sources[1], 0.015)
        code = receiver.status.code or ""
        await asyncio.gather(*(s.cast(code) for s in senders))
        await receiver.wait_for(ReceiverState.RECEIVING, timeout=30)
        aligner = receiver.phase
        assert aligner is not None

        def in_step() -> bool:
            offsets = aligner.offsets()
            return (aligner.asked >= 1 and len(offsets) == 2
                    and all(abs(o) <= IN_STEP_S for o in offsets.values()))

        deadline = time.monotonic() + 40
        while not in_step():
            assert time.monotonic() < deadline, f"not in step: {aligner.offsets()}"
            await asyncio.sleep(0.2)
        # the first presenter was the reference: only the other one moved its clock
        assert sorted(src.shifts for src in sources) == [0, aligner.asked]
    finally:
        for sender in senders:
            await sender.close()
        await receiver.stop()
        for src in sources:
            src.stop()
