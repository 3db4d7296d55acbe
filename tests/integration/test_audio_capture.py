"""Capture of what the laptop plays, from a real PulseAudio daemon's monitor source."""

from __future__ import annotations

import asyncio
import itertools
import threading
from pathlib import Path

import av
import numpy as np
import pytest

from castapp.rtc.audio import AudioUnavailable, ChunkBuffer, open_system_audio
from castapp.rtc.audio.opus_track import OpusAudioTrack, OpusSettings
from castapp.rtc.audio.pulse import PulseMonitorSource
from castapp.rtc.audio.source import CAPTURE_BYTES, CHUNK_BYTES
from tests.pulse_server import as_mono, chirps, matching_windows, pulse_server

pytestmark = pytest.mark.timeout(60)


def test_monitor_capture_hears_what_the_default_output_plays(tmp_path: Path) -> None:
    signal = chirps(1.5)

    async def main() -> bytes:
        with pulse_server(tmp_path) as pulse:
            source = open_system_audio(pulse.server)
            buf = ChunkBuffer(asyncio.get_running_loop(), max_chunks=1000)
            source.start(buf)
            await asyncio.sleep(0.2)
            player = pulse.play(signal, "laptop")
            got = bytearray()
            for _ in range(125):  # 2.5 s in 20 ms reads
                got += (await buf.get()).pcm
            source.stop()
            player.wait(10)
            assert buf.dropped == 0
            return bytes(got)

    raw = asyncio.run(main())
    assert len(raw) == 125 * CAPTURE_BYTES
    loud, found, _ = matching_windows(signal[:, 0], as_mono(raw))
    assert loud >= 12, f"only {loud} windows of 100 ms carried sound"
    # pacat itself can underrun on a loaded machine; nearly every window must be the signal
    assert found >= loud - 2, f"{found} of {loud} windows match what was played"


def test_no_sound_server_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(AudioUnavailable, match="sound is not available"):
        PulseMonitorSource(f"unix:{tmp_path}/nobody-here")


def test_buffer_drops_oldest_instead_of_queueing() -> None:
    async def main() -> tuple[int, int, bytes]:
        buf = ChunkBuffer(asyncio.get_running_loop(), max_chunks=4)
        for i in range(10):
            buf.put(bytes([i]) * 4)
        await asyncio.sleep(0)
        first = (await buf.get()).pcm
        return len(buf), buf.dropped, first

    left, dropped, first = asyncio.run(main())
    assert (left, dropped) == (3, 6)
    assert first == bytes([6]) * 4  # the newest four survive


def test_framing_joins_chunks_and_encodes_on_the_capture_thread() -> None:
    """10 ms chunks become 20 ms frames, each passed through the encoder on the thread that
    put it, with the capture time of the frame's last sample; the loop gets one item a frame."""
    async def main() -> tuple[list[tuple[bytes, float, object]], set[str]]:
        buf = ChunkBuffer(asyncio.get_running_loop())
        threads: set[str] = set()

        def encode(pcm: bytes, at: float) -> object:
            threads.add(threading.current_thread().name)
            return ("packet", pcm[:1])

        buf.framing(2 * CHUNK_BYTES, 3, encode)

        def capture() -> None:
            for i in range(4):
                buf.put(bytes([i]) * CHUNK_BYTES, 10.0 + 0.01 * i)
            buf.put(bytes([9]) * (CHUNK_BYTES + CHUNK_BYTES // 2), 10.1)  # 15 ms at once
            buf.put(bytes([7]) * CHUNK_BYTES, 10.2)  # ends a frame 5 ms before its own end

        t = threading.Thread(target=capture, name="capture")
        t.start()
        t.join()
        await asyncio.sleep(0.05)
        got = []
        while len(buf):
            c = await buf.get()
            got.append((c.pcm, c.captured_at, c.packet))
        return got, threads

    got, threads = asyncio.run(main())
    assert threads == {"capture"}
    assert [(pcm[:1], pcm[-1:], len(pcm)) for pcm, _, _ in got] == [
        (b"\x00", b"\x01", 2 * CHUNK_BYTES), (b"\x02", b"\x03", 2 * CHUNK_BYTES),
        (b"\x09", b"\x07", 2 * CHUNK_BYTES)]
    assert [round(at, 4) for _, at, _ in got] == [10.01, 10.03, 10.195]
    assert [p for _, _, p in got] == [("packet", b"\x00"), ("packet", b"\x02"),
                                      ("packet", b"\x09")]


def test_opus_track_encodes_real_time_frames_and_mutes(tmp_path: Path) -> None:
    async def main() -> tuple[list[av.Packet], list[av.Packet]]:
        with pulse_server(tmp_path) as pulse:
            source = open_system_audio(pulse.server)
            buf = ChunkBuffer(asyncio.get_running_loop())
            track = OpusAudioTrack(source, buf, OpusSettings(frame_ms=20))
            player = pulse.play(chirps(2.0), "laptop")
            loud = [await track.recv() for _ in range(25)]
            track.muted = True
            for _ in range(15):  # CELT codes the step into silence over a few hundred ms
                await track.recv()
            quiet = [await track.recv() for _ in range(10)]
            track.stop()
            player.kill()
            player.wait()
            return loud, quiet

    loud, quiet = asyncio.run(main())
    pts = [p.pts for p in loud]
    assert all(b - a >= 960 for a, b in itertools.pairwise(pts)), pts
    dec = av.CodecContext.create("libopus", "r")
    levels = []
    for p in loud + quiet:  # decoded in order, as a receiver would
        frames = dec.decode(p)
        levels.append(float(np.abs(frames[0].to_ndarray()).mean()) if frames else 0.0)
    assert np.mean(levels[15:25]) > 500, levels
    assert max(levels[-3:]) < 5, levels  # Opus fades out over a few frames, then silence
    # muted packets are far smaller than sound (Opus codes silence in a few bytes)
    assert np.mean([p.size for p in quiet[-8:]]) < 0.4 * np.mean([p.size for p in loud[-10:]])
