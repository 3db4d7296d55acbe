"""The stale-datagram gate on real UDP sockets over 127.0.0.1, and the keyframe parsers on
packets from castapp's own H.264 packetiser."""

from __future__ import annotations

import fractions
import socket
import sys
import time
from collections.abc import Iterator

import av
import numpy as np
import pytest
from aiortc.codecs.h264 import H264Encoder

from castapp.rtc.backlog import (
    StaleGate,
    h264_keyframe_start,
    kernel_arrival,
    vp8_keyframe_start,
)

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="kernel arrival times are read with SIOCGSTAMP")


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    yield rx, tx
    rx.close()
    tx.close()


def rtp(seq: int) -> bytes:
    return bytes([0x80, 96]) + seq.to_bytes(2, "big") + bytes(8) + b"payload"


def read_after(rx: socket.socket, tx: socket.socket, wait_s: float, seq: int = 1) -> None:
    tx.sendto(rtp(seq), rx.getsockname())
    time.sleep(wait_s)
    rx.recvfrom(2048)


@linux_only
def test_the_kernel_dates_a_datagram_by_its_arrival_not_its_reading(
        pair: tuple[socket.socket, socket.socket]) -> None:
    rx, tx = pair
    kernel_arrival(rx.fileno())  # turns stamping on
    # the kernel may turn it on a moment later (a deferred static key): a datagram read
    # before that is dated by its reading
    read_after(rx, tx, 0.05, seq=0)
    read_after(rx, tx, 0.3)
    arrived = kernel_arrival(rx.fileno())
    assert arrived is not None
    assert 0.28 < time.time() - arrived < 1.5


@linux_only
def test_a_datagram_that_waited_is_dropped_outside_the_hold_off(
        pair: tuple[socket.socket, socket.socket]) -> None:
    rx, tx = pair
    fd = rx.fileno()
    gate = StaleGate(stale_s=0.2, hold_off_s=30.0)
    kernel_arrival(fd)
    read_after(rx, tx, 0.0)
    assert not gate.stale(fd)  # read at once
    read_after(rx, tx, 0.35)
    assert gate.stale(fd)  # waited: dropped, an episode begins
    read_after(rx, tx, 0.35)
    assert gate.stale(fd)  # the same episode
    read_after(rx, tx, 0.0)
    assert not gate.stale(fd)  # current again: the episode ends
    read_after(rx, tx, 0.35)
    assert not gate.stale(fd)  # within the hold-off: decoded, not dropped
    gate.hold_off_s = 0.0
    gate.quiet_until = time.time() + 30  # as while a keyframe is awaited
    read_after(rx, tx, 0.35)
    assert not gate.stale(fd)
    gate.quiet_until = 0.0
    read_after(rx, tx, 0.35)
    assert gate.stale(fd)  # a new episode
    assert gate.counts.episodes == 2 and gate.counts.dropped == 3
    assert gate.counts.longest_wait_ms > 300


def h264_packets(keyframe: bool) -> list[bytes]:
    enc = H264Encoder()
    frame = av.VideoFrame.from_ndarray(
        np.random.default_rng(1).integers(0, 256, (360, 640, 3), dtype=np.uint8), format="rgb24")
    frame.pts, frame.time_base = 0, fractions.Fraction(1, 90000)
    packets, _ = enc.encode(frame, force_keyframe=True)
    if keyframe:
        return packets
    frame2 = av.VideoFrame.from_ndarray(
        np.random.default_rng(2).integers(0, 256, (360, 640, 3), dtype=np.uint8), format="rgb24")
    frame2.pts, frame2.time_base = 3000, fractions.Fraction(1, 90000)
    packets2, _ = enc.encode(frame2)
    return packets2


def test_the_first_packet_of_an_h264_keyframe_is_recognised() -> None:
    key = h264_packets(keyframe=True)
    assert h264_keyframe_start(key[0])
    continued = [p for p in key if p[0] & 0x1F == 28 and not p[1] & 0x80]
    assert continued and not any(h264_keyframe_start(p) for p in continued)
    delta = h264_packets(keyframe=False)
    assert not any(h264_keyframe_start(p) for p in delta)


def test_vp8_keyframe_start() -> None:
    # descriptor: X=1 S=1 PID=0; I=1 with a 15-bit picture id; then the VP8 frame tag
    key = bytes([0x90, 0x80, 0x81, 0x23, 0x10]) + b"\x9d\x01\x2a"
    inter = bytes([0x90, 0x80, 0x81, 0x23, 0x11])
    later = bytes([0x80, 0x80, 0x81, 0x23, 0x10])  # not the start of the partition
    assert vp8_keyframe_start(key)
    assert not vp8_keyframe_start(inter)
    assert not vp8_keyframe_start(later)
    assert vp8_keyframe_start(bytes([0x10, 0x10]))  # no extension
