"""Shared encoder groups: one encode per frame, keyframe-aligned subscribers, weakest-receiver
bitrate, a far slower receiver moved to its own smaller encoder, and the pinned sender hook."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiortc.rtcrtpsender
import pytest
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from castapp.rtc import adapt
from castapp.rtc.capture import SyntheticSource
from castapp.rtc.encoder import EncoderConfig
from castapp.rtc.shared_encoder import (
    MAX_BEHIND,
    SLOW_REPORTS,
    SLOW_SCALE,
    SharedEncoderHub,
    SharedTrack,
)

pytestmark = pytest.mark.timeout(60)

H264 = RTCRtpCodecParameters(mimeType="video/H264", clockRate=90000, payloadType=102)


@pytest.fixture
async def hub() -> AsyncIterator[SharedEncoderHub]:
    source = SyntheticSource(320, 180, fps=30)
    source.start()
    h = SharedEncoderHub(source, EncoderConfig(change_driven=False, max_fps=30,
                                               floor_bps=400_000, ceiling_bps=8_000_000))
    yield h
    await h.close()
    source.stop()


async def take(track: SharedTrack, n: int) -> list[tuple[list[bytes], int]]:
    return [await asyncio.wait_for(track.castapp_next_encoded(H264), 10) for _ in range(n)]


async def test_three_tracks_one_encode_per_frame(hub: SharedEncoderHub) -> None:
    tracks = [hub.track() for _ in range(3)]
    got = await asyncio.gather(*(take(t, 20) for t in tracks))
    (group,) = hub.groups.values()
    # the same payload objects reached every track: packetised once
    common = {id(p[0][0]) for p in got[0]} & {id(p[0][0]) for p in got[1]} \
        & {id(p[0][0]) for p in got[2]}
    assert len(common) >= 15
    assert group.encodes <= group.track.frames_sent
    assert group.encodes < 30  # 20 frames each to three tracks, not 60 encodes
    assert group.encoder.stats.frames == group.encodes


async def test_a_track_starts_at_a_keyframe(hub: SharedEncoderHub) -> None:
    first = hub.track()
    await take(first, 10)
    late = hub.track()
    (group,) = hub.groups.values()
    k0 = group.keyframes
    await take(late, 1)
    assert group.keyframes == k0 + 1  # the late joiner asked, everyone got one keyframe


async def test_a_stalled_track_is_resynchronised_without_holding_the_others(
        hub: SharedEncoderHub) -> None:
    active, stalled = hub.track(), hub.track()
    stalled.sub.activate()  # its sender started, then stopped reading
    await take(active, MAX_BEHIND * 3)
    assert stalled.sub.resyncs >= 1
    assert len(stalled.sub.queue) <= MAX_BEHIND


async def test_bitrate_follows_the_weakest_within_the_floor(hub: SharedEncoderHub) -> None:
    a, b = hub.track(), hub.track()
    await take(a, 3)
    group = a.sub.group
    floor = group.encoder.policy.bounds.floor_bps
    a.bitrate_sink.target_bitrate = 6_000_000
    b.bitrate_sink.target_bitrate = 3_000_000
    policy = group.encoder.policy
    assert policy.last_estimate_bps == 3_000_000  # the weakest estimate drives the encoder
    b.bitrate_sink.target_bitrate = floor // 2  # one report below the floor: not moved yet
    assert policy.last_estimate_bps == floor // 2 and b.sub.group is group
    assert group.encoder.target_bitrate >= floor  # never below the screen-text floor


async def test_a_far_slower_receiver_moves_to_its_own_smaller_encoder(
        hub: SharedEncoderHub) -> None:
    fast1, fast2, slow = hub.track(), hub.track(), hub.track()
    await asyncio.gather(take(fast1, 3), take(fast2, 3), take(slow, 3))
    group = fast1.sub.group
    floor = group.encoder.policy.bounds.floor_bps
    fast1.bitrate_sink.target_bitrate = 5_000_000
    fast2.bitrate_sink.target_bitrate = 4_000_000
    for _ in range(SLOW_REPORTS):
        slow.bitrate_sink.target_bitrate = floor // 4
    assert slow.sub.group is not group and slow.sub.group.scale == SLOW_SCALE
    # the others are no longer dragged down: the group follows the weakest of the rest
    assert group.encoder.policy.last_estimate_bps == 4_000_000
    payloads = await take(slow, 5)
    assert payloads and slow.sub.group.encodes >= 1
    assert hub.moves == 1
    full = group.track.last_frame
    assert full is not None and slow.sub.group.encoder.codec is not None
    assert slow.sub.group.encoder.codec.width == full.width // SLOW_SCALE


def test_sender_hook_is_pinned(installed: None) -> None:
    assert adapt.check_internals() == []
    sender_cls = aiortc.rtcrtpsender.RTCRtpSender
    assert sender_cls._next_encoded_frame is adapt._next_encoded_frame_castapp
    adapt.uninstall()
    try:
        assert sender_cls._next_encoded_frame is adapt._stock_next_encoded_frame
    finally:
        adapt.install()
