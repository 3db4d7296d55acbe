"""What every fan-out path must show, whichever way the frames travel (mesh or SFU).

Each check takes the cast (``FanoutCast`` or ``SfuFanoutCast``), its four receiver sessions
and their screens (``test_cast_session.Screen``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from rtp_tap import tap

from castapp.rtc.backlog import h264_keyframe_start
from castapp.session.receiver import ReceiverState
from castapp.session.sender import SenderState


def pc_of(receiver: Any) -> Any:
    """The peer connection of a receiver's one call."""
    (call,) = receiver.calls.values()
    return call.link.pc if call.link is not None else None


def watch_keyframes(pc: Any) -> list[float]:
    """Times at which keyframes start to arrive at this receiver (after decryption): one
    entry per keyframe, however many of its slices start in separate packets."""
    seen: list[float] = []
    stamps: set[int] = set()
    rtp_receiver = pc.getTransceivers()[0].receiver

    def spy(packet: Any) -> bool:
        if packet.timestamp not in stamps and h264_keyframe_start(packet.payload):
            stamps.add(packet.timestamp)
            seen.append(asyncio.get_running_loop().time())
        return True

    tap(rtp_receiver, spy)
    return seen


async def others_go_on_after_one_leaves(fanout: Any, receivers: list[Any],
                                        screens: list[Any]) -> None:
    """TV 2 goes away: its call ends, the other three keep casting and receiving."""
    await receivers[1].stop()
    left = fanout.receivers[1]
    before = [len(s.counters) for s in screens]
    await asyncio.gather(*(screens[i].wait_frames(before[i] + 45, timeout=6) for i in (0, 2, 3)))
    ended = await left.session.wait_for(SenderState.ENDED, timeout=10)
    assert ended.ended is not None
    for i in (0, 2, 3):
        assert fanout.receivers[i].session.status.state is SenderState.CASTING
        assert receivers[i].status.state is ReceiverState.RECEIVING
    # and the others keep receiving after it ended
    mark = [len(s.counters) for s in screens]
    await asyncio.gather(*(screens[i].wait_frames(mark[i] + 20, timeout=5) for i in (0, 2, 3)))


async def others_go_on_after_one_vanishes(fanout: Any, receivers: list[Any],
                                          screens: list[Any]) -> None:
    """TV 4 dies without a word: it reads nothing and sends nothing, no bye, no DTLS close
    (its DTLS transport's receive loop is cancelled and its sends are swallowed)."""
    dtls = pc_of(receivers[3]).getTransceivers()[0].receiver.transport

    async def silent(data: bytes) -> None:
        return None

    dtls._send_rtp = silent
    dtls._task.cancel()
    before = [len(s.counters) for s in screens]
    await asyncio.gather(*(screens[i].wait_frames(before[i] + 60, timeout=8) for i in range(3)))
    for i in range(3):
        status = fanout.receivers[i].session.status
        assert status.state is SenderState.CASTING and status.reconnects == 0
    for t in fanout.hub.tracks:
        assert len(t.sub.queue) <= 8  # a silent receiver's frames are dropped, not piled up


async def one_request_gives_one_keyframe_to_all(fanout: Any, receivers: list[Any],
                                                screens: list[Any]) -> Any:
    """TV 3 asks for a keyframe: the one encoder makes one, and every TV receives it.
    Returns the encoder group."""
    (group,) = fanout.hub.groups.values()
    seen = [watch_keyframes(pc_of(r)) for r in receivers]
    await asyncio.sleep(1.5)  # past the joins' keyframes and the request interval
    k0 = group.keyframes
    asked_at = asyncio.get_running_loop().time()
    rtp_receiver = pc_of(receivers[2]).getTransceivers()[0].receiver
    await rtp_receiver._send_rtcp_pli(rtp_receiver.getSynchronizationSources()[0].source)
    await asyncio.sleep(1.5)
    assert group.keyframes - k0 == 1, "one request, one keyframe"
    for times in seen:
        after = [t for t in times if t > asked_at]
        assert len(after) == 1, "every receiver got the one keyframe"
    return group


async def pictures_go_on(screens: list[Any]) -> None:
    mark = [len(s.counters) for s in screens]
    await asyncio.gather(*(s.wait_frames(n + 10, timeout=5)
                           for s, n in zip(screens, mark, strict=True)))


def same_frames_shown(screens: list[Any], start: list[int], context: object = "") -> int:
    """Every screen showed its frames in order, and the frames all of them showed in a
    common window are most of them. Returns the window's length in frames."""
    seen = [set(s.counters[n:]) for s, n in zip(screens, start, strict=True)]
    for s in screens:
        assert all(b >= a for a, b in zip(s.counters, s.counters[1:], strict=False)), (
            s.counters, context)
    lo, hi = max(min(x) for x in seen), min(max(x) for x in seen)
    assert hi - lo > 30
    window = [{c for c in x if lo <= c <= hi} for x in seen]
    common = set.intersection(*window)
    assert len(common) >= 0.8 * max(len(w) for w in window), (len(common),
                                                             [len(w) for w in window])
    return hi - lo
