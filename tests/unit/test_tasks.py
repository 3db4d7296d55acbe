"""Ending a task without losing the caller's own cancellation (``castapp.tasks``), and the
screen track that once lost it between two frames (its sender's close then never returned)."""

from __future__ import annotations

import asyncio
import time

import pytest

from castapp.rtc.capture import SyntheticSource
from castapp.rtc.track import CaptureTrack
from castapp.tasks import cancel_and_wait


async def slow_to_end(ending: asyncio.Event, error: BaseException | None = None) -> None:
    """Takes 0.2 s to end once cancelled (tidying up), then ends cancelled or with ``error``."""
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        ending.set()
        await asyncio.sleep(0.2)
        if error is not None:
            raise error from None
        raise


async def test_a_caller_cancelled_while_it_waits_ends_cancelled() -> None:
    ending = asyncio.Event()
    child = asyncio.ensure_future(slow_to_end(ending))
    await asyncio.sleep(0)
    went_on: list[bool] = []

    async def caller() -> None:
        await cancel_and_wait(child)
        went_on.append(True)

    outer = asyncio.ensure_future(caller())
    await ending.wait()  # the child is ending; the caller waits for it
    outer.cancel()
    await asyncio.wait({outer}, timeout=5)
    assert outer.cancelled() and not went_on
    await asyncio.wait({child}, timeout=5)
    assert child.cancelled()


async def test_the_task_is_waited_for_and_its_own_failure_is_raised() -> None:
    ending = asyncio.Event()
    child = asyncio.ensure_future(slow_to_end(ending))
    await asyncio.sleep(0)
    await cancel_and_wait(child)
    assert child.cancelled()

    failing = asyncio.ensure_future(slow_to_end(asyncio.Event(), ValueError("broke")))
    await asyncio.sleep(0)
    with pytest.raises(ValueError, match="broke"):
        await cancel_and_wait(failing)
    await cancel_and_wait(None)  # nothing to end
    with pytest.raises(ValueError, match="broke"):  # already ended: its failure again
        await cancel_and_wait(failing)
    done = asyncio.ensure_future(asyncio.sleep(0))
    await done
    await cancel_and_wait(done)


@pytest.mark.parametrize("steps", range(8))
async def test_a_frame_wait_cancelled_at_any_step_ends_cancelled(steps: int) -> None:
    """The sender's RTP loop waits in ``recv()`` for the next picture. Cancelled at any turn
    of the loop after that picture came (while the wait tidies up), the call ends cancelled
    instead of handing the picture on, so the loop ends and the connection can close."""
    source = SyntheticSource(64, 64, fps=30)  # not started: frames are published here
    source.mailbox.open()

    def publish() -> None:
        source._publish(source._produce(source._seq), time.time(), time.monotonic())

    track = CaptureTrack(source)
    publish()
    await track.recv()  # the first picture; from now on recv() waits for a newer one
    try:
        pending = asyncio.ensure_future(track.recv())
        await asyncio.sleep(0.01)  # waiting for a newer picture
        assert not pending.done()
        publish()
        for _ in range(steps):
            await asyncio.sleep(0)
        if pending.done():  # it had the picture before the cancel came
            assert pending.result() is not None
            return
        assert pending.cancel()
        await asyncio.wait({pending}, timeout=5)
        assert pending.cancelled(), f"went on after a cancel {steps} turns after the frame"
    finally:
        track.stop()
        source.mailbox.close(None)
