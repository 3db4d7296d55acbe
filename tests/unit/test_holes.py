"""The lost-packet watch on aiortc's real jitter buffer and NACK generator."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import pytest
from aiortc.jitterbuffer import JitterBuffer
from aiortc.rtcrtpreceiver import NackGenerator
from aiortc.rtp import RtpPacket

from castapp.rtc import adapt
from castapp.rtc.holes import TICK_S, HoleWatch

SSRC = 1234


@pytest.fixture(autouse=True)
def castapp_buffer() -> Iterator[None]:
    """The buffer as castapp runs it: a packet with the marker bit ends its frame."""
    was = adapt.installed()
    adapt.install(advertise_level=False)
    yield
    if not was:
        adapt.uninstall()


def packet(seq: int) -> RtpPacket:
    """Frames of two packets: seq 2k and 2k+1 carry frame k; the second has the marker."""
    p = RtpPacket(payload_type=96, sequence_number=seq, timestamp=3000 * (seq // 2),
                  ssrc=SSRC, marker=seq % 2)
    p._data = bytes([seq])  # type: ignore[attr-defined]
    return p


class Receiver:
    """What aiortc's receiver does with each packet, with the watch's NACKs and PLIs noted."""

    def __init__(self) -> None:
        self.buffer = JitterBuffer(capacity=128, is_video=True)
        self.nacks = NackGenerator()
        self.frames: list[int] = []
        self.sent: list[tuple[str, object]] = []
        self.now = 0.0
        self.watch = HoleWatch(self.buffer, self.nacks.missing, self.nack, self.pli,
                               renack_s=0.1, give_up_s=0.35, clock=lambda: self.now)

    async def nack(self, ssrc: int, lost: list[int]) -> None:
        self.sent.append(("nack", lost))

    async def pli(self, ssrc: int) -> None:
        self.sent.append(("pli", ssrc))

    def add(self, seq: int) -> None:
        pkt = packet(seq)
        self.nacks.add(pkt)
        _, frame = self.buffer.add(pkt)
        while frame is not None:
            self.frames.append(frame.timestamp // 3000)
            frame = self.buffer._remove_frame(seq)  # type: ignore[attr-defined]

    async def tick(self, to: float) -> None:
        self.now = to
        await self.watch.check()


async def test_a_hole_is_asked_for_again_then_given_up_with_a_keyframe_request() -> None:
    rx = Receiver()
    for seq in range(12):
        if seq != 4:  # the first half of frame 2 is lost, with every resend
            rx.add(seq)
    assert rx.frames == [0, 1]  # everything behind the hole waits
    await rx.tick(0.0)
    await rx.tick(0.05)
    assert rx.sent == []  # a resend may still be on its way
    await rx.tick(0.12)
    assert rx.sent == [("nack", [4])]
    await rx.tick(0.16)
    assert rx.sent == [("nack", [4])]  # not again at once
    await rx.tick(0.4)
    assert rx.sent[-1] == ("pli", SSRC)
    assert 4 not in rx.nacks.missing  # not asked for any more
    rx.add(12)  # the next packet releases the frames behind the hole
    assert rx.frames[:3] == [0, 1, 3]  # frame 2 is skipped, frame 3 comes first
    assert rx.frames[-1] == 5
    assert rx.watch.counts.renacks == 1 and rx.watch.counts.skipped_frames == 1


async def test_a_hole_filled_in_time_costs_no_keyframe() -> None:
    rx = Receiver()
    for seq in range(12):
        if seq != 7:
            rx.add(seq)
    await rx.tick(0.0)
    await rx.tick(0.15)
    assert rx.sent == [("nack", [7])]
    rx.add(7)  # the resend arrives
    assert rx.frames == [0, 1, 2, 3, 4, 5]
    await rx.tick(0.5)
    await rx.tick(1.0)
    assert [kind for kind, _ in rx.sent] == ["nack"]
    assert rx.watch.counts.skipped_frames == 0


async def test_a_frame_still_arriving_is_no_hole() -> None:
    rx = Receiver()
    for seq in range(5):  # frame 2's second packet has not been sent yet
        rx.add(seq)
    for t in (0.0, 0.2, 0.5, 1.0):
        await rx.tick(t)
    assert rx.sent == [] and rx.frames == [0, 1]


async def test_no_frame_start_behind_the_hole_yet_waits() -> None:
    rx = Receiver()
    for seq in (0, 1, 3):  # 2 lost; 3 ends frame 1 and nothing starts after it yet
        rx.add(seq)
    for t in (0.0, 0.2, 0.5):
        await rx.tick(t)
    assert ("pli", SSRC) not in rx.sent
    rx.add(4)  # frame 2 starts: now the hole can be skipped
    await rx.tick(0.6)
    assert rx.sent[-1] == ("pli", SSRC)
    rx.add(5)
    assert rx.frames == [0, 2]


async def test_the_watch_sleeps_while_no_packet_is_missing_and_wakes_for_a_hole() -> None:
    rx = Receiver()
    watch = rx.watch

    def add(seq: int) -> None:
        rx.add(seq)
        watch.packet_handled()  # what the wrapped packet handler does after each packet

    task = asyncio.create_task(watch.run())
    try:
        for seq in range(6):
            add(seq)
        await asyncio.sleep(5 * TICK_S)
        assert watch.looks == 1  # looked once at the start, then slept: nothing is missing
        add(7)  # 6 is lost
        await asyncio.sleep(0)
        assert watch.looks == 2  # woken by the packet that left 6 missing
        rx.now = 0.15
        await asyncio.sleep(2 * TICK_S)
        assert ("nack", [6]) in rx.sent  # ticking while the hole is open: asked again
        add(6)  # the resend fills it
        assert rx.frames[-1] == 3
        await asyncio.sleep(2 * TICK_S)
        settled = watch.looks
        for seq in range(8, 14):
            add(seq)  # packets in order wake nothing
        await asyncio.sleep(5 * TICK_S)
        assert watch.looks == settled
        assert watch.counts.skipped_frames == 0
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
