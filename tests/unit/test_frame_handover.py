"""How :class:`FrameReceiver` takes frames from aiortc's remote track: as they are put in
the track's queue (in the same loop step), or by awaiting ``recv()``; the end either way."""

from __future__ import annotations

import asyncio

import av
import pytest
from aiortc.rtcrtpreceiver import RemoteStreamTrack

from castapp.rtc.receive import FrameReceiver, ReceivedFrame

pytestmark = pytest.mark.timeout(30)


def picture(i: int) -> av.VideoFrame:
    frame = av.VideoFrame(64, 36, "yuv420p")
    frame.pts = i
    return frame


async def test_frames_are_handed_on_as_the_track_is_given_them() -> None:
    track = RemoteStreamTrack(kind="video")
    got: list[ReceivedFrame] = []
    receiver = FrameReceiver(track, got.append)
    track._queue.put_nowait(picture(0))  # decoded before the receiver started
    track._queue.put_nowait(picture(1))
    receiver.start()
    assert [(r.frame.pts, r.skipped) for r in got] == [(1, 1)]  # the newest, one skipped
    track._queue.put_nowait(picture(2))
    assert got[-1].frame.pts == 2 and got[-1].seq == 1  # at once: no loop pass in between
    waiting = asyncio.ensure_future(receiver.next_frame(1))
    await asyncio.sleep(0)
    track._queue.put_nowait(picture(3))
    assert (await asyncio.wait_for(waiting, 5)).frame.pts == 3
    assert track._queue.empty() and receiver.frames == 3 and receiver.skipped == 1
    track._queue.put_nowait(None)  # the track ended
    assert receiver.ended.is_set() and track.readyState == "ended"
    assert "put_nowait" not in vars(track._queue)  # the queue is a plain queue again
    with pytest.raises(EOFError):
        await receiver.next_frame(3)


async def test_stop_gives_the_queue_back() -> None:
    track = RemoteStreamTrack(kind="video")
    receiver = FrameReceiver(track)
    receiver.start()
    await receiver.stop()
    assert receiver.ended.is_set() and "put_nowait" not in vars(track._queue)
    track._queue.put_nowait(picture(0))
    assert track._queue.qsize() == 1 and receiver.latest() is None


async def test_awaiting_recv_hands_on_the_newest_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(FrameReceiver, "direct", False)
    track = RemoteStreamTrack(kind="video")
    receiver = FrameReceiver(track)
    receiver.start()
    for i in range(3):
        track._queue.put_nowait(picture(i))
    newest = await asyncio.wait_for(receiver.next_frame(), 5)
    assert newest.frame.pts == 2 and newest.skipped == 2
    assert "put_nowait" not in vars(track._queue)
    track._queue.put_nowait(None)
    await asyncio.wait_for(receiver.ended.wait(), 5)
    await receiver.stop()
