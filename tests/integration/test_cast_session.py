"""A whole cast on loopback: real service, real aiortc at both ends, synthetic frames."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from castapp.rtc import pattern
from castapp.rtc.capture import SyntheticSource
from castapp.rtc.receive import ReceivedFrame
from castapp.session.receiver import ReceiverSession, ReceiverState
from castapp.session.sender import EndReason, SenderSession, SenderState
from castapp.signaling.client import UnknownCodeError

sys.path.insert(0, str(Path(__file__).parents[1]))
from castproc import CastProc
from netns import in_namespace, private_namespace
from xvfb import xvfb

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("loopback_only")]


class Screen:
    """Collects what the receiver would show."""

    def __init__(self) -> None:
        self.frames: list[ReceivedFrame] = []
        self.counters: list[int] = []
        self.arrived = asyncio.Event()

    def __call__(self, frame: ReceivedFrame) -> None:
        self.frames.append(frame)
        y = frame.frame.to_ndarray(format="gray")
        value = pattern.read_counter(y)
        if value is not None:
            self.counters.append(value)
        self.arrived.set()

    async def wait_frames(self, n: int, timeout: float = 15.0) -> None:
        async def wait() -> None:
            while len(self.counters) < n:
                self.arrived.clear()
                await self.arrived.wait()
        await asyncio.wait_for(wait(), timeout)


@pytest.fixture
async def source():
    src = SyntheticSource(640, 360, fps=30)
    yield src
    src.stop()


async def test_cast_stop_and_cast_again(server, source):
    screen = Screen()
    receiver = ReceiverSession(server.url, name="TV", on_frame=screen)
    sender = SenderSession(server.url, source, name="Laptop")
    try:
        status = await receiver.start()
        assert status.state is ReceiverState.WAITING and status.display_code
        await sender.cast(status.display_code)
        await sender.wait_for(SenderState.CASTING)
        await screen.wait_frames(20)
        shown = await receiver.wait_for(ReceiverState.RECEIVING)
        assert shown.sender == "Laptop"
        assert screen.frames[-1].width == 640 and screen.frames[-1].height == 360
        # the pattern survives encode/decode: counters read back and keep increasing
        assert len(screen.counters) >= 20
        assert screen.counters[-1] > screen.counters[0]
        assert all(b > a for a, b in zip(screen.counters, screen.counters[1:], strict=False))
        stats = await sender.stats()
        assert stats is not None and stats.codec and "264" in stats.codec
        assert stats.ice is not None and stats.ice.kind == "host"

        await sender.stop()
        await receiver.wait_for(ReceiverState.WAITING)
        before = len(screen.counters)
        await sender.cast(status.code or "")
        await screen.wait_frames(before + 10)
        await receiver.wait_for(ReceiverState.RECEIVING)
    finally:
        await sender.close()
        await receiver.stop()


async def test_receiver_returns_to_waiting_when_the_sender_vanishes(server, source):
    screen = Screen()
    receiver = ReceiverSession(server.url, on_frame=screen, recovery_window_s=3.0)
    sender = SenderSession(server.url, source)
    try:
        status = await receiver.start()
        await sender.cast(status.code or "")
        await screen.wait_frames(5)
        # the laptop dies: no bye, its connection just drops
        await sender.tasks.close()
        sender.client.reconnect = False  # a dead laptop does not come back
        sender.client._ws._response.connection.transport.abort()  # type: ignore[union-attr]
        if sender.peer is not None:
            await sender.peer.close()
        # the last frame stays with "reconnecting" for the recovery window, then the code
        await receiver.wait_for(ReceiverState.RECONNECTING, timeout=15)
        back = await receiver.wait_for(ReceiverState.WAITING, timeout=15)
        assert back.code == status.code and back.sender is None
    finally:
        await receiver.stop()
        await sender.client.close()


async def test_receiver_stopping_ends_the_cast_for_the_sender(server, source):
    receiver = ReceiverSession(server.url)
    sender = SenderSession(server.url, source)
    try:
        status = await receiver.start()
        await sender.cast(status.code or "")
        await sender.wait_for(SenderState.CASTING)
        await receiver.stop()
        ended = await sender.wait_for(SenderState.ENDED)
        assert ended.ended is EndReason.RECEIVER_STOPPED
    finally:
        await sender.close()


async def test_wrong_code_is_reported_and_the_sender_can_retry(server, source):
    receiver = ReceiverSession(server.url)
    sender = SenderSession(server.url, source)
    try:
        status = await receiver.start()
        wrong = "000000" if status.code != "000000" else "111111"
        with pytest.raises(UnknownCodeError):
            await sender.cast(wrong)
        assert sender.status.state is SenderState.IDLE
        assert isinstance(sender.status.error, UnknownCodeError)
        await sender.cast(status.code or "")
        await sender.wait_for(SenderState.CASTING)
    finally:
        await sender.close()
        await receiver.stop()


def test_a_monitor_that_does_not_exist_ends_the_cast_with_the_reason(tmp_path):
    """``castapp send --monitor 9`` on a one-monitor screen: one sentence, exit status 2."""
    with xvfb(640, 480) as display, private_namespace() as ns:
        rx = CastProc(in_namespace(ns, []), "receive", "--headless", "--admission", "open",
                                            "--listen", "127.0.0.1:0",
                      "--state-dir", str(tmp_path))
        try:
            port = rx.expect("service")["port"]
            code = rx.expect("code")["code"]
            tx = CastProc(in_namespace(ns, []), "send", "--headless", "--server",
                          f"ws://127.0.0.1:{port}/ws", "--code", code, "--monitor", "9",
                          "--display", display)
            try:
                err = tx.expect("error", timeout=20)
                assert err["code"] == "no_monitor"
                assert "monitor 9 does not exist" in err["message"].lower()
                assert tx.proc.wait(15) == 2
                tx.drain()
                states = [e["state"] for e in tx.seen if e["event"] == "state"]
                assert "casting" not in states  # nothing was sent
            finally:
                tx.stop()
            # the receiver was told and shows its code again
            rx.expect("state", state="waiting", timeout=15)
        finally:
            rx.stop()
