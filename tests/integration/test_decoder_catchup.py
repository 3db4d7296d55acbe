"""A receiver whose decoder thread falls behind mid-cast shows current pictures again, not
the frames that queued behind it.

Real aiortc peers over 127.0.0.1, as in test_receiver_backlog.py (the receiver's connection
built by the receiver session's own factory on an event loop in a thread of its own). Here
the event loop keeps reading; the decoder thread is held for 1.5 s in one frame, as a
machine that takes the CPU away from it would, while every frame goes to that thread (as
once the sound has run dry, ``decode_pictures_off_loop``): the frames queue behind it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import numpy as np
import pytest
from test_receiver_backlog import ReceiverThread, Shown, current_cast, receiver_thread

from castapp.rtc import decode
from castapp.rtc.audio.playout import decode_pictures_off_loop, picture_decode_queues

pytestmark = pytest.mark.timeout(90)

HOLD_S = 1.5
__all__ = ["receiver_thread"]  # the fixture, used by name


def hold_the_decoder_thread(queue: decode.DecodeQueue, seconds: float) -> threading.Event:
    """The thread's next decode waits ``seconds`` first; the event is set when it goes on."""
    real = queue.decode
    done = threading.Event()
    held = threading.Lock()

    def decode_late(task: decode.Task) -> list[Any]:
        if threading.current_thread() is not threading.main_thread() and held.acquire(False):
            time.sleep(seconds)
            done.set()
        return real(task)

    queue.decode = decode_late  # type: ignore[method-assign]
    return done


async def cast_and_hold(rt: ReceiverThread, max_lag_s: float | None) -> tuple[Shown, float,
                                                                             decode.DecodeQueue]:
    """Cast, hold the receiver's decoder thread once; (frames, time it went on, queue)."""
    async with current_cast(rt) as (shown, link):
        (queue,) = picture_decode_queues(link.pc)
        if max_lag_s is not None:
            queue.max_lag_s = max_lag_s
        assert decode_pictures_off_loop([queue]) == 1  # every frame to the thread
        done = hold_the_decoder_thread(queue, HOLD_S)
        while not done.is_set():
            await asyncio.sleep(0.01)
        resumed = time.monotonic()
        await asyncio.sleep(2.5)
        said = rt.run(link.stats())  # what the TV's --stats says of it
        assert said.catchups == queue.episodes, (said, queue.episodes)
        return shown, resumed, queue


async def test_a_decoder_that_fell_behind_skips_to_a_fresh_keyframe(
    loopback_only: None, receiver_thread: ReceiverThread
) -> None:
    shown, resumed, queue = await cast_and_hold(receiver_thread, None)
    soon = shown.ages(resumed, resumed + 1.0)
    later = shown.ages(resumed + 1.0)
    after = shown.ages(resumed)
    print(f"\nthe decoder went on; ages in the first second {sorted(soon)[:3]}.."
          f"{sorted(soon)[-3:]}, worst since {max(after) if after else None}; "
          f"{queue.episodes} catch-up, {queue.unseen} frames dropped unseen, "
          f"{queue.skipped} skipped")
    assert soon and min(soon) < 0.2, soon  # current again within a second ...
    assert later and np.median(later) < 0.2 and len(later) >= 20, later  # ... and stays
    assert max(after) < 0.6, sorted(after)[-5:]  # none of the queued frames was shown
    # one catch-up when the hold began, and one more when the keyframe it asked for had
    # waited half a second behind the held frame in turn (timing may add a third)
    assert 1 <= queue.episodes <= 3 and queue.unseen > 20, (queue.episodes, queue.unseen)


async def test_without_the_catch_up_the_queued_frames_are_shown(
    loopback_only: None, receiver_thread: ReceiverThread
) -> None:
    """The same hold on a decoder that works through its queue: pictures up to the hold's
    age are shown after it (what the catch-up removes; the receiver's newest-frame hand-over
    leaves out those decoded while a newer one was ready)."""
    shown, resumed, queue = await cast_and_hold(receiver_thread, float("inf"))
    after = shown.ages(resumed)
    stale = sum(a > 0.6 for a in after)
    print(f"\nwithout the catch-up: worst age since {max(after)}, {stale} frames older than "
          "0.6 s")
    assert queue.episodes == 0
    assert after and max(after) > 0.6 and stale >= 5, sorted(after)[-5:]
