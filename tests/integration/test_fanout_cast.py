"""One sender, four receivers: real service, real aiortc at every end, one shared encode."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pylibsrtp
import pytest

from castapp.rtc.capture import SyntheticSource
from castapp.rtc.encoder import EncoderConfig
from castapp.session.fanout import FanoutCast, SharedOfferPeer
from castapp.session.receiver import ReceiverSession
from castapp.session.sender import SenderState

sys.path.insert(0, str(Path(__file__).parent))
from fanout_checks import (
    one_request_gives_one_keyframe_to_all,
    others_go_on_after_one_leaves,
    others_go_on_after_one_vanishes,
    pc_of,
    pictures_go_on,
    same_frames_shown,
)
from test_cast_session import Screen

pytestmark = [pytest.mark.timeout(120), pytest.mark.usefixtures("loopback_only")]


@pytest.fixture
async def cast4(server):
    """A synthetic 640x360 source cast to four receivers; every frame is encoded."""
    source = SyntheticSource(640, 360, fps=30)
    screens = [Screen() for _ in range(4)]
    receivers = [ReceiverSession(server.url, name=f"TV{i}", on_frame=s)
                 for i, s in enumerate(screens)]
    fanout = FanoutCast(source, name="Laptop",
                        encoder=EncoderConfig(change_driven=False, max_fps=30))
    try:
        for r in receivers:
            status = await r.start()
            await fanout.add(server.url, status.display_code or status.code or "")
        for f in fanout.receivers:
            await f.session.wait_for(SenderState.CASTING, timeout=30)
        try:
            await asyncio.gather(*(s.wait_frames(15, timeout=30) for s in screens))
        except TimeoutError:
            subs = [(t.sub.active, t.sub.waiting_key, t.sub.frames, t.sub.resyncs)
                    for t in fanout.hub.tracks]
            pytest.fail(f"frames shown {[len(s.frames) for s in screens]} "
                        f"counters {[len(s.counters) for s in screens]} subs {subs} "
                        f"{fanout.stats()} {[r.status for r in receivers]}")
        yield fanout, receivers, screens
    finally:
        await fanout.close()
        for r in receivers:
            await r.stop()
        source.stop()


async def test_four_receivers_decode_the_same_frames_from_one_encode(cast4):
    fanout, _receivers, screens = cast4
    start = [len(s.counters) for s in screens]
    (group,) = fanout.hub.groups.values()
    encodes0, frames0 = group.encodes, group.encoder.stats.frames
    sent0 = [r.session.peer.track.frames_sent for r in fanout.receivers]  # type: ignore[union-attr]
    await asyncio.sleep(3.0)
    await asyncio.gather(*(s.wait_frames(n + 40, timeout=20) for s, n in zip(screens, start,
                                                                             strict=True)))
    span = same_frames_shown(screens, start, fanout.stats())

    # one encode per frame, not per receiver
    encodes = group.encodes - encodes0
    assert abs(group.encoder.stats.frames - frames0 - encodes) <= 1  # the encoder's own counter
    assert group.encodes <= group.track.frames_sent
    sent = [r.session.peer.track.frames_sent - n  # type: ignore[union-attr]
            for r, n in zip(fanout.receivers, sent0, strict=True)]
    assert all(abs(n - encodes) <= 3 for n in sent), (sent, encodes)
    assert encodes < 1.3 * (span + 40), "encodes must follow frames, not frames x receivers"
    # each receiver has its own connection, route and stats
    for r in fanout.receivers:
        stats = await r.session.stats()
        assert stats is not None and stats.ice is not None and stats.ice.kind == "host"
        assert stats.bytes_sent > 10_000
    ssrcs = {r.session.peer.pc.getTransceivers()[0].sender._ssrc  # type: ignore[union-attr]
             for r in fanout.receivers}
    assert len(ssrcs) == 4


async def test_one_receiver_leaving_does_not_stall_the_others(cast4):
    await others_go_on_after_one_leaves(*cast4)


async def test_one_receiver_vanishing_does_not_stall_the_others(cast4):
    await others_go_on_after_one_vanishes(*cast4)


async def test_a_keyframe_request_from_one_gives_one_keyframe_to_all(cast4):
    fanout, receivers, screens = cast4
    peers = [r.session.peer for r in fanout.receivers]
    before = [p.track.keyframe_requests for p in peers]  # type: ignore[union-attr]
    group = await one_request_gives_one_keyframe_to_all(*cast4)
    # counted from before the request: each TV's decoder asks once when it joins
    requests = [p.track.keyframe_requests - n  # type: ignore[union-attr]
                for p, n in zip(peers, before, strict=True)]
    assert requests[2] >= 1 and sum(requests) == requests[2], requests
    # all four asking at once: still one keyframe (requests are answered once per interval)
    await asyncio.sleep(1.0)
    k1 = group.keyframes
    rtp_receivers = [pc_of(r).getTransceivers()[0].receiver for r in receivers]
    await asyncio.gather(*(x._send_rtcp_pli(x.getSynchronizationSources()[0].source)
                           for x in rtp_receivers))
    await asyncio.sleep(0.4)  # less than the request interval
    assert group.keyframes - k1 == 1
    await pictures_go_on(screens)


async def test_each_receiver_has_its_own_srtp_keys(cast4):
    """An SRTP packet sent to one receiver cannot be decrypted with another's keys."""
    fanout, receivers, _ = cast4
    peer_a = fanout.receivers[0].session.peer
    assert isinstance(peer_a, SharedOfferPeer)
    ice = peer_a.pc.getTransceivers()[0].sender.transport.transport
    rx = [pc_of(r).getTransceivers()[0].receiver.transport._rx_srtp for r in receivers]  # type: ignore[union-attr]
    checked: asyncio.Future[tuple[list[bool], bytes | None]] = \
        asyncio.get_running_loop().create_future()
    send = ice._send

    def decrypts(session: pylibsrtp.Session, packet: bytes) -> bytes | None:
        try:
            return bytes(session.unprotect(packet))
        except pylibsrtp.Error:
            return None

    async def spy(data: bytes) -> None:
        # Checked before the packet is sent, so the addressed receiver has not seen it yet
        # (it then drops the real copy as a replay, which the stream survives).
        if not checked.done() and len(data) > 200 and 128 <= data[0] < 192 \
                and not 192 <= data[1] <= 223:
            others = [decrypts(other, bytes(data)) is None for other in rx[1:]]
            checked.set_result((others, decrypts(rx[0], bytes(data))))
        await send(data)

    ice._send = spy
    others_fail, clear = await asyncio.wait_for(checked, 5)
    ice._send = send
    assert others_fail == [True, True, True], "another receiver decrypted the packet"
    assert clear is not None, "the addressed receiver could not decrypt its own packet"
    sender = peer_a.pc.getTransceivers()[0].sender
    assert int.from_bytes(clear[8:12], "big") in (sender._ssrc, sender._rtx_ssrc)
