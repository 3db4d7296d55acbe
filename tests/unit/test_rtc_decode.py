"""The receiver's video decoding: small frames on the event loop, large ones on the thread,
in order, with aiortc's real receiver, decoder and an x264 stream."""

from __future__ import annotations

import asyncio
import queue
import random
import threading
from collections.abc import Iterator
from fractions import Fraction

import av
import numpy as np
import pytest
from aiortc.codecs import get_capabilities
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtcrtpreceiver import RTCRtpReceiver
from aiortc.rtp import RtpPacket

from castapp.rtc import adapt, decode
from castapp.rtc.holes import HoleWatch

pytestmark = pytest.mark.timeout(60)

H264 = next(c for c in get_capabilities("video").codecs if c.mimeType == "video/H264")


FILLER = b"\x00\x00\x01\x0c" + b"\xff" * 3000 + b"\x80"


def h264_stream(frames: int = 12, keyframe_every: int = 6) -> list[bytes]:
    """Annex-B access units of a 320x180 picture whose Y value says which frame it is."""
    enc = av.CodecContext.create("libx264", "w")
    enc.width, enc.height, enc.pix_fmt = 320, 180, "yuv420p"
    enc.time_base = Fraction(1, 30)
    enc.options = {"preset": "ultrafast", "tune": "zerolatency", "g": str(keyframe_every)}
    out: list[bytes] = []
    for i in range(frames):
        y = np.full((180 * 3 // 2, 320), 128, np.uint8)
        y[:180] = value(i)
        frame = av.VideoFrame.from_ndarray(y, format="yuv420p")
        frame.pts = i
        out += [bytes(p) for p in enc.encode(frame)]
    return out


def value(i: int) -> int:
    return 16 + (i * 9) % 200


def luma(frame: av.VideoFrame) -> int:
    return int(frame.to_ndarray()[:180].mean() + 0.5)


async def run_through(queue: decode.DecodeQueue, units: list[bytes],
                      pause_s: float = 0.0) -> list[int]:
    """Feed ``units`` as the receiver would, with the decoder thread running; the Y value
    of every picture handed back, in order."""
    loop = asyncio.get_running_loop()
    out: asyncio.Queue[av.VideoFrame | None] = asyncio.Queue()
    error = threading.Event()
    thread = threading.Thread(target=decode.decoder_worker, args=(loop, queue, out, error))
    thread.start()
    while queue._out is None:  # the thread binds itself first
        await asyncio.sleep(0.001)
    for i, unit in enumerate(units):
        queue.put((H264, JitterFrame(unit, i * 3000)))
        await asyncio.sleep(pause_s)
    queue.put(None)
    seen: list[int] = []
    while (frame := await asyncio.wait_for(out.get(), 10)) is not None:
        seen.append(luma(frame))
    await asyncio.get_running_loop().run_in_executor(None, thread.join)
    assert not error.is_set()
    return seen


async def test_small_frames_are_decoded_on_the_loop_large_ones_on_the_thread() -> None:
    # every sixth frame made large with filler data (a NAL unit decoders skip)
    units = [u + (FILLER if i % 6 == 0 else b"") for i, u in enumerate(h264_stream())]
    assert max(len(u) for i, u in enumerate(units) if i % 6) < 2000 < len(FILLER)
    queue = decode.DecodeQueue(inline_max_bytes=2000)
    seen = await run_through(queue, units, pause_s=0.02)
    assert seen == [value(i) for i in range(12)]  # every picture, in order
    assert queue.threaded == 2 and queue.inline == 10


async def test_order_is_kept_when_the_thread_is_behind() -> None:
    """Frames that could be decoded at once wait their turn behind the thread's."""
    units = h264_stream(frames=24, keyframe_every=4)
    queue = decode.DecodeQueue(inline_max_bytes=max(len(u) for u in units) - 1)
    release = threading.Event()
    slow = queue.decode

    def held(task: decode.Task) -> list[av.VideoFrame]:
        if threading.current_thread() is not threading.main_thread():
            release.wait(0.05)  # the thread is slow: the loop's frames queue behind it
        return slow(task)

    queue.decode = held  # type: ignore[method-assign]
    seen = await run_through(queue, units)
    assert seen == [value(i) for i in range(24)]
    assert queue.threaded > 6  # frames small enough stayed behind the slow ones


async def test_a_broken_frame_asks_for_a_keyframe_and_keeps_the_decoder() -> None:
    units = h264_stream()
    queue = decode.DecodeQueue()
    loop = asyncio.get_running_loop()
    out: asyncio.Queue[av.VideoFrame | None] = asyncio.Queue()
    error = threading.Event()
    queue.bind(loop, out, error)
    queue.put((H264, JitterFrame(units[0], 0)))
    queue.put((H264, JitterFrame(b"\x00\x00\x01\x65" + bytes(range(256)) * 4, 3000)))
    decoder = queue._decoder
    await asyncio.sleep(0.01)
    assert error.is_set()  # the receiver asks for a keyframe
    assert queue._decoder is decoder  # kept: it still holds the last good picture
    for i, unit in enumerate(units[1:], 1):
        queue.put((H264, JitterFrame(unit, i * 3000)))
    await asyncio.sleep(0.01)
    frames = []
    while not out.empty():
        frames.append(out.get_nowait())
    assert luma(frames[-1]) == value(11)  # the next keyframe and the frames after decode


def sized_stream(width: int, height: int, frames: int, first: int = 0) -> list[bytes]:
    """Access units of a ``width`` x ``height`` picture (Y value as in :func:`value`), cut
    into two slices as castapp's senders cut theirs (x264 with two sliced threads)."""
    enc = av.CodecContext.create("libx264", "w")
    enc.width, enc.height, enc.pix_fmt = width, height, "yuv420p"
    enc.time_base = Fraction(1, 30)
    enc.thread_count = 2
    enc.options = {"preset": "ultrafast", "tune": "zerolatency", "g": "1000"}
    out: list[bytes] = []
    for i in range(first, first + frames):
        y = np.full((height * 3 // 2, width), 128, np.uint8)
        y[:height] = value(i)
        y[:8, : 8 * (i % 8 + 1)] = 255  # something moves, so P-frames are not empty
        frame = av.VideoFrame.from_ndarray(y, format="yuv420p")
        frame.pts = i
        out += [bytes(p) for p in enc.encode(frame)]
    return out


def decode_all(queue: decode.DecodeQueue, units: list[bytes]) -> list[av.VideoFrame]:
    return [f for i, u in enumerate(units) for f in queue.decode((H264, JitterFrame(u, i)))]


def test_a_small_picture_is_decoded_on_one_thread_a_large_one_on_ffmpegs_threads() -> None:
    queue = decode.DecodeQueue()
    small = decode_all(queue, sized_stream(640, 360, 6))
    # one picture per frame, in order: the keyframe decoded again is not handed on twice
    assert [int(f.to_ndarray()[100:360].mean() + 0.5) for f in small] == [
        value(i) for i in range(6)]
    assert queue.decoder_threads == 1 and queue._decoder.codec.thread_count == 1

    queue = decode.DecodeQueue()
    large = decode_all(queue, sized_stream(1280, 720, 3))
    assert len(large) == 3 and queue.decoder_threads == 0
    assert queue._decoder.codec.thread_count != 1  # FFmpeg's choice (several, here)


def test_a_size_change_at_a_keyframe_changes_the_decoder_threads() -> None:
    """A tile that becomes the spotlit picture (and back) gets the setting of its size."""
    queue = decode.DecodeQueue()
    units = [*sized_stream(640, 360, 3), *sized_stream(1280, 720, 3, first=3),
             *sized_stream(640, 360, 3, first=6)]
    frames = decode_all(queue, units)
    assert [(f.width, f.height) for f in frames] == [(640, 360)] * 3 + [(1280, 720)] * 3 + [
        (640, 360)] * 3
    assert [int(f.to_ndarray()[100:360].mean() + 0.5) for f in frames] == [
        value(i) for i in range(9)]
    assert queue.decoder_threads == 1


def test_a_keyframe_a_new_decoder_cannot_start_on_keeps_the_old_one() -> None:
    """Without its parameter sets a keyframe starts no new decoder: the old one goes on."""
    queue = decode.DecodeQueue()
    first = sized_stream(640, 360, 2)
    decode_all(queue, first[:1])
    queue.decoder_threads = 0  # as if the first decoder had been opened with FFmpeg's threads
    old = queue._decoder
    again = sized_stream(640, 360, 1, first=1)[0]  # a fresh keyframe of the same size
    slices = again[again.index(b"\x00\x00\x01\x65"):]  # its IDR slices, no SPS/PPS
    frames = queue.decode((H264, JitterFrame(slices, 1)))
    assert len(frames) == 1 and frames[0].key_frame
    assert queue._decoder is old and queue.decoder_threads == 0


async def test_sound_decodes_through_the_same_queue_without_a_thread_rule() -> None:
    """The decoder thread of a sound receiver decodes through ``DecodeQueue`` too (the stock
    queue, every frame on the thread): sound has no picture size, and must not trip the
    picture's thread rule."""
    from aiortc.codecs.opus import OpusEncoder

    opus = next(c for c in get_capabilities("audio").codecs if c.mimeType == "audio/opus")
    encoder = OpusEncoder()
    units: list[bytes] = []
    for i in range(10):
        chunk = av.AudioFrame.from_ndarray(
            np.zeros((1, 960 * 2), np.int16), format="s16", layout="stereo")
        chunk.sample_rate, chunk.pts = 48000, i * 960
        payloads, _ = encoder.encode(chunk)
        units += payloads
    assert units
    loop = asyncio.get_running_loop()
    out: asyncio.Queue[av.AudioFrame | None] = asyncio.Queue()
    error = threading.Event()
    plain: queue.Queue[decode.Task | None] = queue.Queue()  # aiortc's own queue for sound
    thread = threading.Thread(target=decode.decoder_worker, args=(loop, plain, out, error))
    thread.start()
    for i, unit in enumerate(units):
        plain.put((opus, JitterFrame(unit, i * 960)))
    plain.put(None)
    got = []
    while (frame := await asyncio.wait_for(out.get(), 10)) is not None:
        got.append(frame)
    await loop.run_in_executor(None, thread.join)
    assert len(got) == len(units) and all(isinstance(f, av.AudioFrame) for f in got)
    assert not error.is_set()


@pytest.fixture
def installed() -> Iterator[None]:
    was = adapt.installed()
    adapt.install(advertise_level=False)
    yield
    if not was:
        adapt.uninstall()


def test_video_receivers_get_the_queue_sound_keeps_stock(installed: None) -> None:
    class Transport:
        state = "new"

    video = RTCRtpReceiver("video", Transport())  # type: ignore[arg-type]
    audio = RTCRtpReceiver("audio", Transport())  # type: ignore[arg-type]
    assert isinstance(video._RTCRtpReceiver__decoder_queue, decode.DecodeQueue)  # type: ignore[attr-defined]
    assert not isinstance(audio._RTCRtpReceiver__decoder_queue, decode.DecodeQueue)  # type: ignore[attr-defined]
    import aiortc.rtcrtpreceiver

    assert aiortc.rtcrtpreceiver.decoder_worker is decode.decoder_worker
    adapt.use_stock_decoding()
    try:
        plain = RTCRtpReceiver("video", Transport())  # type: ignore[arg-type]
        assert not isinstance(plain._RTCRtpReceiver__decoder_queue, decode.DecodeQueue)  # type: ignore[attr-defined]
    finally:
        adapt.uninstall()
        adapt.install(advertise_level=False)


def _slow_first_hole(buffer: JitterBuffer) -> tuple[int, RtpPacket] | None:
    """The watch's scan as it was: one slot at a time from the origin."""
    if buffer._origin is None:
        return None
    cap, hole = buffer._capacity, None
    for i in range(cap):
        packet = buffer._packets[(buffer._origin + i) % cap]
        if packet is None:
            if hole is None:
                hole = i
        elif hole is not None:
            return hole, packet
    return None


def test_hole_scan_matches_a_slot_by_slot_scan() -> None:
    rng = random.Random(7)
    for _ in range(400):
        buffer = JitterBuffer(capacity=64, is_video=True)
        buffer._origin = rng.randrange(65536)
        fill = rng.random()
        for i in range(64):
            if rng.random() < fill:
                buffer._packets[(buffer._origin + i) % 64] = RtpPacket(sequence_number=i)
        watch = HoleWatch(buffer, set(), None, None)  # type: ignore[arg-type]
        assert watch._first_hole() == _slow_first_hole(buffer)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class HeldThread:
    """A decoder thread on ``q`` whose decode of the frames numbered in :meth:`hold` waits
    until :meth:`release` (the machine gave its CPU to something else)."""

    def __init__(self, q: decode.DecodeQueue) -> None:
        self.q = q
        self.out: asyncio.Queue[av.VideoFrame | None] = asyncio.Queue()
        self.error = threading.Event()
        self.held: dict[int, threading.Event] = {}
        self.begun: dict[int, threading.Event] = {}
        real = q.decode

        def decode_held(task: decode.Task) -> list[av.VideoFrame]:
            i = task[1].timestamp // 3000
            if i in self.held:
                self.begun[i].set()
                self.held[i].wait(10)
            return real(task)

        q.decode = decode_held  # type: ignore[method-assign]
        self.thread = threading.Thread(target=decode.decoder_worker,
                                       args=(asyncio.get_running_loop(), q, self.out, self.error))
        self.thread.start()

    def hold(self, i: int) -> None:
        self.held[i], self.begun[i] = threading.Event(), threading.Event()

    async def begun_on(self, i: int) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.begun[i].wait, 10)

    def release(self, i: int) -> None:
        self.held[i].set()

    def put(self, units: list[bytes], *frames: int) -> None:
        for i in frames:
            self.q.put((H264, JitterFrame(units[i], i * 3000)))

    async def shown(self) -> list[int]:
        """Ends the stream; the Y value of every picture handed on."""
        self.q.put(None)
        seen: list[int] = []
        while (frame := await asyncio.wait_for(self.out.get(), 10)) is not None:
            seen.append(luma(frame))
        await asyncio.get_running_loop().run_in_executor(None, self.thread.join)
        return seen


async def test_a_decoder_that_fell_behind_skips_to_the_next_keyframe() -> None:
    """Frames that have waited half a second for a stuck thread are dropped unseen, a
    keyframe is asked for, and the picture goes on from a keyframe that did not wait that
    long: nothing decoded without its reference, nothing stale shown."""
    units = h264_stream(frames=24, keyframe_every=8)  # keyframes: 0, 8 and 16
    assert [decode.decodes_alone(H264, u) for u in units].count(True) == 3
    clock = Clock()
    q = decode.DecodeQueue(inline_max_bytes=-1, clock=clock)  # every frame to the thread
    t = HeldThread(q)
    while q._out is None:
        await asyncio.sleep(0.001)
    t.hold(0)
    t.put(units, *range(6))  # 0 is being decoded, 1-5 wait behind it
    await t.begun_on(0)
    clock.now = 0.3
    t.put(units, 6)  # waited 0.3 s: decoded in turn
    assert q.episodes == 0 and not t.error.is_set()
    clock.now = 0.6
    t.put(units, 7)  # waited 0.6 s: stale
    assert q.episodes == 1 and q.skipped == 1
    assert t.error.is_set()  # the receiver's next packet carries a keyframe request
    t.error.clear()
    clock.now = 0.7
    t.put(units, *range(8, 12))  # the keyframe and the frames after it, behind frame 0
    clock.now = 1.0
    t.put(units, 12)
    assert q.episodes == 1
    clock.now = 1.3  # the keyframe has waited 0.6 s for the stuck thread: stale as well
    t.put(units, *range(13, 16))
    assert q.episodes == 2 and q.skipped == 4 and t.error.is_set()
    clock.now = 1.4
    t.put(units, *range(16, 24))
    t.release(0)
    seen = await t.shown()
    # 0 was being decoded: its picture is as stale as 1-12, dropped unseen; 16 on, all
    assert seen == [value(i) for i in range(16, 24)]
    assert q.unseen == 11 and q.episodes == 2


async def test_a_keyframe_slow_to_decode_is_shown() -> None:
    """No new episode starts while the keyframe that ended one is being decoded, however
    long it takes: a machine slow at keyframes still shows each."""
    units = h264_stream(frames=16, keyframe_every=8)
    clock = Clock()
    q = decode.DecodeQueue(inline_max_bytes=-1, clock=clock)
    t = HeldThread(q)
    while q._out is None:
        await asyncio.sleep(0.001)
    t.hold(1)
    t.hold(8)
    t.put(units, *range(6))
    await t.begun_on(1)
    clock.now = 0.6
    t.put(units, 6, 7)  # stale: an episode
    assert q.episodes == 1 and q.skipped == 2
    clock.now = 0.7
    t.put(units, 8)  # the keyframe
    t.release(1)
    await t.begun_on(8)  # 2-5 dropped unseen; the keyframe's decode takes long
    clock.now = 1.5
    t.put(units, *range(9, 16))  # 0.8 s after the keyframe, still no new episode
    assert q.episodes == 1
    t.release(8)
    seen = await t.shown()
    assert seen == [value(0), *(value(i) for i in range(8, 16))]
    assert q.unseen == 4


async def test_the_keyframe_is_asked_for_again_while_none_comes() -> None:
    units = h264_stream(frames=8, keyframe_every=100)
    clock = Clock()
    q = decode.DecodeQueue(inline_max_bytes=-1, clock=clock)
    error = threading.Event()
    q.bind(asyncio.get_running_loop(), asyncio.Queue(), error)  # no thread: it never catches up
    q.put((H264, JitterFrame(units[0], 0)))
    clock.now = 0.6
    q.put((H264, JitterFrame(units[1], 3000)))
    assert error.is_set() and q.episodes == 1
    error.clear()
    clock.now = 1.0
    q.put((H264, JitterFrame(units[2], 6000)))
    assert not error.is_set()  # once a second, not once a frame
    clock.now = 1.7
    q.put((H264, JitterFrame(units[3], 9000)))
    assert error.is_set() and q.episodes == 1 and q.skipped == 3


def test_frames_that_decode_alone() -> None:
    h264 = h264_stream(frames=3, keyframe_every=100)
    assert decode.decodes_alone(H264, h264[0])
    assert not any(decode.decodes_alone(H264, u) for u in h264[1:])
    vp8 = next(c for c in get_capabilities("video").codecs if c.mimeType == "video/VP8")
    enc = av.CodecContext.create("libvpx", "w")
    enc.width, enc.height, enc.pix_fmt = 320, 180, "yuv420p"
    enc.time_base = Fraction(1, 30)
    units = []
    for i in range(3):
        frame = av.VideoFrame.from_ndarray(np.full((270, 320), 16 + 40 * i, np.uint8),
                                           format="yuv420p")
        frame.pts = i
        units += [bytes(p) for p in enc.encode(frame)]
    units += [bytes(p) for p in enc.encode(None)]
    assert len(units) >= 2
    assert decode.decodes_alone(vp8, units[0])
    assert not any(decode.decodes_alone(vp8, u) for u in units[1:])
    opus = next(c for c in get_capabilities("audio").codecs if c.mimeType == "audio/opus")
    assert decode.decodes_alone(opus, b"\x01\x02")
