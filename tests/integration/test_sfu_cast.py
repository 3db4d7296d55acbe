"""One sender, four receivers through a real Janus VideoRoom SFU, all in a private namespace.

Janus, the room service and every aiortc peer run inside a namespace the test makes (the
test process enters it with setns): Janus's ICE uses only the namespace's 198.51.100.1, its
API listens on the namespace's loopback. The sender publishes once; each receiver is an
unchanged castapp receiver whose call's offer comes from the SFU.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import pytest

from castapp.rtc.capture import SyntheticSource
from castapp.rtc.encoder import EncoderConfig
from castapp.session.receiver import ReceiverSession
from castapp.session.sender import SenderState
from castapp.sfu.janus import JanusError, JanusSession
from castapp.sfu.relay import SfuFanoutCast, SfuOfferPeer
from castapp.sfu.token import SfuConfig, mint_token

sys.path.insert(0, str(Path(__file__).parent))
from fanout_checks import (
    one_request_gives_one_keyframe_to_all,
    others_go_on_after_one_leaves,
    others_go_on_after_one_vanishes,
    pc_of,
    pictures_go_on,
    same_frames_shown,
)
from sfu_support import SECRET, janus_in_namespace
from test_cast_session import Screen

pytestmark = [pytest.mark.timeout(60)]


@pytest.fixture
def janus(tmp_path):  # type: ignore[no-untyped-def]
    with janus_in_namespace(tmp_path) as j:
        yield j


@pytest.fixture
async def sfu_cast4(janus, start_server):  # type: ignore[no-untyped-def]
    server = await start_server(sfu=SfuConfig(url=janus.url, secret=SECRET))
    source = SyntheticSource(640, 360, fps=30)
    screens = [Screen() for _ in range(4)]
    receivers = [ReceiverSession(server.url, name=f"TV{i}", on_frame=s)
                 for i, s in enumerate(screens)]
    fanout = SfuFanoutCast(source, name="Laptop",
                       encoder=EncoderConfig(change_driven=False, max_fps=30))
    try:
        for r in receivers:
            status = await r.start()
            await fanout.add(server.url, status.display_code or status.code or "")
        try:
            for f in fanout.receivers:
                await f.session.wait_for(SenderState.CASTING, timeout=20)
        except TimeoutError:
            pytest.fail(f"senders {[f.session.status for f in fanout.receivers]} "
                        f"receivers {[r.status for r in receivers]} "
                        f"frames {[len(s.counters) for s in screens]} {janus.log_tail()}")
        try:
            await asyncio.gather(*(s.wait_frames(15, timeout=20) for s in screens))
        except TimeoutError:
            pytest.fail(f"frames shown {[len(s.counters) for s in screens]} "
                        f"{fanout.stats()} {janus.log_tail()}")
        yield fanout, receivers, screens
    finally:
        await fanout.close()
        for r in receivers:
            await r.stop()
        source.stop()


async def test_four_receivers_through_the_sfu_decode_the_same_frames(sfu_cast4):
    fanout, receivers, screens = sfu_cast4
    pub = fanout.sfu.publisher
    assert pub is not None
    (group,) = fanout.hub.groups.values()
    assert len(group.subs) == 1, "one upload: the publisher is the group's only connection"
    encodes0 = group.encodes
    start = [len(s.counters) for s in screens]
    await asyncio.gather(*(s.wait_frames(n + 60, timeout=15)
                           for s, n in zip(screens, start, strict=True)))
    span = same_frames_shown(screens, start)
    encodes = group.encodes - encodes0
    assert encodes < 1.3 * (span + 60), "one encode per frame, not per receiver"
    # every receiver's media comes from the SFU, not from the sender
    for r in fanout.receivers:
        assert isinstance(r.session.peer, SfuOfferPeer)
    for r in receivers:
        pc = pc_of(r)
        assert pc is not None and "s=VideoRoom" in pc.remoteDescription.sdp
        # Janus offers only the namespace's address (ice_enforce_list)
        cands = [line.split()[4] for line in pc.remoteDescription.sdp.splitlines()
                 if line.startswith("a=candidate:")]
        assert cands and set(cands) == {"198.51.100.1"}, cands
    stats = await pub.peer.stats(None)  # type: ignore[attr-defined]
    assert stats.bytes_sent > 10_000


async def test_one_receiver_leaving_does_not_stall_the_others(sfu_cast4):
    await others_go_on_after_one_leaves(*sfu_cast4)


async def test_a_keyframe_request_from_one_gives_a_keyframe_to_all(sfu_cast4):
    await one_request_gives_one_keyframe_to_all(*sfu_cast4)  # the SFU passed the request on
    await pictures_go_on(sfu_cast4[2])


async def test_the_room_service_hands_out_sfu_tokens_janus_accepts(janus, start_server,
                                                                    make_client):
    server = await start_server(sfu=SfuConfig(url=janus.url, secret=SECRET, ttl_s=120))
    tv = await make_client(server.url, name="TV")
    reg = await tv.register()
    laptop = await make_client(server.url, name="Laptop")
    joined = await laptop.join(reg.code)
    now = time.time()
    for access in (reg.sfu, joined.sfu):
        assert access is not None and access.url == janus.url
        assert now + 100 < access.expires <= now + 121
        session = await JanusSession.open(access.url, access.token)
        await session.attach()
        await session.close()
    assert reg.sfu.token != mint_token("another secret", reg.sfu.expires)  # type: ignore[union-attr]
    for bad in (mint_token("another secret", int(now) + 60), mint_token(SECRET, int(now) - 1),
                "", "1,janus,janus.plugin.videoroom:AAAA"):
        with pytest.raises(JanusError):
            await JanusSession.open(janus.url, bad)


async def test_one_receiver_vanishing_does_not_stall_the_others(sfu_cast4):
    await others_go_on_after_one_vanishes(*sfu_cast4)
    assert len(sfu_cast4[0].hub.tracks) == 1


async def test_a_cast_room_needs_its_pin_besides_a_valid_token(janus):
    """Tokens open the SFU; only who knows the cast's room PIN (the sender, and the calls it
    makes) can subscribe."""
    from dataclasses import replace

    from castapp.rtc.shared_encoder import SharedEncoderHub
    from castapp.sfu.videoroom import SfuPublisher, SfuSubscriber

    token = mint_token(SECRET, int(time.time()) + 60)
    source = SyntheticSource(320, 180, fps=30)
    hub = SharedEncoderHub(source, EncoderConfig(change_driven=False, max_fps=30))
    pub = await SfuPublisher.open(janus.url, token, hub)
    try:
        await pub.wait_connected()
        assert pub.feed is not None
        screen = Screen()
        sub = None
        for _ in range(50):  # the feed is listed once its media flows
            try:
                sub = await SfuSubscriber.open(pub.feed, token, screen)
                break
            except JanusError:
                await asyncio.sleep(0.1)
        assert sub is not None
        with pytest.raises(JanusError) as refused:
            await SfuSubscriber.open(replace(pub.feed, pin="0000"), token, lambda f: None)
        assert refused.value.code == 433, str(refused.value)  # VideoRoom: unauthorized
        try:
            await screen.wait_frames(20, timeout=10)
        finally:
            await sub.close()
    finally:
        await pub.close()
        await hub.close()
        source.stop()
