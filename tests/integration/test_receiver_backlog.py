"""A receiver whose event loop stalls mid-cast shows current pictures again, not its backlog.

Real aiortc peers over 127.0.0.1: the sender on the test's event loop, the receiver's
connection built by the receiver session's own factory (``aiortc_link``) on an event loop in
a thread of its own. That loop is then blocked for 1.5 s (``time.sleep`` in a callback, as a
machine that takes the CPU away would), while the sender goes on sending: the datagrams wait
in the receiver's socket. Frame ages are castapp's own estimate (``ReceivedFrame.age_s``:
sender reports plus abs-send-time, one clock here).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

import castapp.session.receive_link as receive_link
from castapp.rtc import backlog, peer
from castapp.rtc.capture import SyntheticSource
from castapp.rtc.encoder import EncoderConfig
from castapp.rtc.ice import IceChooser, IcePlan
from castapp.rtc.receive import ReceivedFrame
from castapp.rtc.track import CaptureTrack

pytestmark = pytest.mark.timeout(90)

STALL_S = 1.5


class MovingSource(SyntheticSource):
    """The test pattern with a band of noise that changes every frame (a video in a window):
    P-frames of several KB, so the stall leaves hundreds of datagrams queued."""

    def __init__(self, width: int, height: int, fps: float) -> None:
        super().__init__(width, height, fps)
        self._rng = np.random.default_rng(3)

    def _produce(self, seq: int) -> np.ndarray:
        frame = super()._produce(seq)
        frame[:96, :256] = self._rng.integers(0, 256, (96, 256), dtype=np.uint8)
        return frame


@dataclass
class Shown:
    """Frames handed over by the receiver: (monotonic time, age in seconds)."""

    frames: list[tuple[float, float | None]] = field(default_factory=list)

    def on_frame(self, f: ReceivedFrame) -> None:
        self.frames.append((f.received_monotonic, f.age_s))

    def ages(self, since: float, until: float = float("inf")) -> list[float]:
        return [a for t, a in list(self.frames) if since <= t < until and a is not None]


class ReceiverThread:
    """An event loop in a thread of its own, for the receiving peer."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: object, timeout: float = 20) -> object:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)  # type: ignore

    def stall(self, seconds: float) -> None:
        """Block the loop for ``seconds``; :attr:`resumed` says when it ran again."""
        self.resumed: float | None = None

        def block() -> None:
            time.sleep(seconds)
            self.resumed = time.monotonic()

        self.loop.call_soon_threadsafe(block)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def receiver_thread() -> Iterator[ReceiverThread]:
    rt = ReceiverThread()
    yield rt
    rt.close()


@contextlib.asynccontextmanager
async def current_cast(rt: ReceiverThread) -> AsyncIterator[tuple[Shown, Any]]:
    """Cast 1280x720 at 30 fps to a receiver link on ``rt``'s loop; yields (frames shown,
    link) once it has shown current pictures for 3 s."""
    src = MovingSource(1280, 720, 30)
    src.start()
    sender = peer.make_peer_connection([])
    config = EncoderConfig(max_fps=30, hardware=False, change_driven=False)
    peer.add_video_sender(sender, CaptureTrack(src, encoder=config))
    shown = Shown()
    link: Any = None
    try:
        await sender.setLocalDescription(await sender.createOffer())
        request = receive_link.LinkRequest(
            offer_sdp=sender.localDescription.sdp, chooser=IceChooser(IcePlan()),
            on_frame=shown.on_frame, on_failed=lambda: None)
        link = await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(
            receive_link.aiortc_link(request), rt.loop))
        from aiortc import RTCSessionDescription

        await sender.setRemoteDescription(
            RTCSessionDescription(sdp=link.answer_sdp, type="answer"))
        deadline = time.monotonic() + 20
        while not shown.ages(0.0) or time.monotonic() - shown.frames[0][0] < 3.0:
            assert time.monotonic() < deadline, "no dated frames within 20 s"
            await asyncio.sleep(0.1)
        before = shown.ages(time.monotonic() - 1.0)
        assert before and np.median(before) < 0.2, before  # a current cast to begin with
        yield shown, link
    finally:
        if link is not None:
            rt.run(link.close())
        await sender.close()
        src.stop()


async def cast_and_stall(rt: ReceiverThread) -> tuple[Shown, float, Any, int]:
    """Cast, stall the receiver's loop once; (frames, resume time, link, the catch-ups the
    TV's --stats says)."""
    async with current_cast(rt) as (shown, link):
        rt.stall(STALL_S)
        await asyncio.sleep(STALL_S)
        while rt.resumed is None:
            await asyncio.sleep(0.01)
        resumed = rt.resumed
        await asyncio.sleep(2.5)
        said = rt.run(link.stats())
        return shown, resumed, link, said.catchups  # type: ignore[attr-defined]


async def test_a_stalled_receiver_skips_its_backlog_to_a_fresh_keyframe(
    loopback_only: None, receiver_thread: ReceiverThread
) -> None:
    shown, resumed, link, catchups = await cast_and_stall(receiver_thread)
    soon = shown.ages(resumed, resumed + 1.0)
    later = shown.ages(resumed + 1.0)
    after = shown.ages(resumed)  # every frame handed over since the loop ran again
    gate = next(getattr(t.receiver, "castapp_backlog", None)
                for t in link.pc.getTransceivers())  # type: ignore[attr-defined]
    print(f"\nresumed; ages in the first second {sorted(soon)[:3]}..{sorted(soon)[-3:]}, "
          f"after it median {np.median(later) if later else None}, worst since the resume "
          f"{max(after) if after else None}; {gate and gate.counts}")
    # Within a second of the resume the picture is current again, and stays so ...
    assert soon and min(soon) < 0.2, soon
    assert later and np.median(later) < 0.2 and len(later) >= 20, later
    # ... and none of the 1.5 s of stale pictures was shown on the way.
    assert max(after) < 0.6, sorted(after)[-5:]
    # The receiver dropped the stale datagrams and asked for one keyframe.
    assert gate is not None and gate.counts.episodes == 1 and gate.counts.dropped > 50, \
        gate and gate.counts
    assert 1 <= gate.counts.keyframe_requests <= 2, gate.counts
    assert catchups == 1  # and --stats says so


async def test_without_the_catch_up_the_backlog_is_shown(
    loopback_only: None, receiver_thread: ReceiverThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same stall on a receiver that reads and decodes every stale datagram: its first
    pictures after the resume are as old as the stall (what the catch-up removes)."""
    monkeypatch.setattr(backlog, "watch_connection", lambda pc, receiver: None)
    shown, resumed, _, _ = await cast_and_stall(receiver_thread)
    after = shown.ages(resumed)
    print(f"\nwithout the catch-up: worst age since the resume {max(after)}, "
          f"{sum(a > 0.2 for a in after)} frames older than 0.2 s")
    assert after and max(after) > 0.8 * STALL_S, sorted(after)[-5:]
