"""Windows and macOS capture recipes, driven through fakes of the OS API (soundcard, pyobjc)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from castapp.rtc.audio import AudioUnavailable, ChunkBuffer
from castapp.rtc.audio.macos import SC_STREAM_OUTPUT_AUDIO, open_screencapturekit
from castapp.rtc.audio.source import CHUNK_BYTES, CHUNK_SAMPLES
from castapp.rtc.audio.windows import open_loopback, to_s16


class FakeRecorder:
    def __init__(self) -> None:
        self.calls = 0

    def __enter__(self) -> FakeRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def record(self, numframes: int) -> np.ndarray:
        self.calls += 1
        return np.full((numframes, 2), 0.5, dtype=np.float32)


class FakeSoundcard:
    def __init__(self, speaker: bool = True) -> None:
        self._speaker = SimpleNamespace(id="{spk}", name="Speakers") if speaker else None
        self.asked: list[tuple[str, bool]] = []
        self.rec = FakeRecorder()

    def default_speaker(self) -> Any:
        return self._speaker

    def get_microphone(self, ident: str, include_loopback: bool = False) -> Any:
        self.asked.append((ident, include_loopback))
        opened: dict[str, int] = {}

        def recorder(samplerate: int, channels: int, blocksize: int) -> FakeRecorder:
            opened.update(samplerate=samplerate, channels=channels, blocksize=blocksize)
            self.opened = opened
            return self.rec

        return SimpleNamespace(recorder=recorder)


def test_wasapi_loopback_records_the_default_speaker_in_10ms_chunks() -> None:
    sc = FakeSoundcard()

    async def main() -> bytes:
        buf = ChunkBuffer(asyncio.get_running_loop())
        src = open_loopback(sc)
        src.start(buf)
        chunk = await asyncio.wait_for(buf.get(), 5)
        src.stop()
        return chunk.pcm

    pcm = asyncio.run(main())
    assert sc.asked == [("{spk}", True)]
    assert sc.opened == {"samplerate": 48000, "channels": 2, "blocksize": CHUNK_SAMPLES}
    assert len(pcm) == CHUNK_BYTES
    assert set(np.frombuffer(pcm, "<i2").tolist()) == {16383}


def test_windows_without_output_device_says_sound_is_unavailable() -> None:
    with pytest.raises(AudioUnavailable, match=r"sound is not available.*no output device"):
        open_loopback(FakeSoundcard(speaker=False))


def test_float_mono_becomes_s16_stereo_and_clips() -> None:
    out = np.frombuffer(to_s16(np.array([0.0, 2.0, -2.0], dtype=np.float32)), "<i2")
    assert out.tolist() == [0, 0, 32767, 32767, -32767, -32767]


def test_macos_before_13_has_no_system_sound() -> None:
    with pytest.raises(AudioUnavailable, match="macOS 13"):
        open_screencapturekit("12.7")


class FakeStream:
    def __init__(self) -> None:
        self.outputs: list[Any] = []
        self.started = False

    def initWithFilter_configuration_delegate_(self, f: Any, c: Any, d: Any) -> FakeStream:
        self.config = c
        return self

    def addStreamOutput_type_sampleHandlerQueue_error_(self, out: Any, kind: int, q: Any,
                                                       e: Any) -> None:
        self.outputs.append((out, kind))

    def startCaptureWithCompletionHandler_(self, handler: Any) -> None:
        self.started = True

    def stopCaptureWithCompletionHandler_(self, handler: Any) -> None:
        self.started = False


class FakeConfig:
    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def init(self) -> FakeConfig:
        return self

    def __getattr__(self, name: str) -> Any:
        if name.startswith("set"):
            return lambda v: self.values.__setitem__(name[3:-1], v)
        raise AttributeError(name)


def fake_sck(displays: list[Any], stream: FakeStream, config: FakeConfig) -> Any:
    content = SimpleNamespace(displays=lambda: displays)
    filt = SimpleNamespace(initWithDisplay_excludingWindows_=lambda d, w: ("filter", d))
    return SimpleNamespace(
        SCShareableContent=SimpleNamespace(
            getShareableContentWithCompletionHandler_=lambda h: h(content, None)),
        SCContentFilter=SimpleNamespace(alloc=lambda: filt),
        SCStreamConfiguration=SimpleNamespace(alloc=lambda: config),
        SCStream=SimpleNamespace(alloc=lambda: stream),
    )


def fake_cm(pcm: np.ndarray) -> Any:
    data = pcm.astype(np.float32).tobytes()
    return SimpleNamespace(
        CMSampleBufferGetDataBuffer=lambda buf: "block",
        CMBlockBufferGetDataLength=lambda block: len(data),
        CMBlockBufferCopyDataBytes=lambda block, off, n, out: (0, data[off: off + n]),
    )


def test_screencapturekit_asks_for_48k_stereo_audio_and_rechunks() -> None:
    stream, config = FakeStream(), FakeConfig()
    block = np.full((1024, 2), -0.25, dtype=np.float32)  # macOS delivers 1024-frame blocks
    src = open_screencapturekit("14.2", (fake_sck(["display"], stream, config), fake_cm(block)))

    async def main() -> list[bytes]:
        buf = ChunkBuffer(asyncio.get_running_loop(), max_chunks=100)
        src.start(buf)
        out, _kind = stream.outputs[0]
        for _ in range(3):
            out.stream_didOutputSampleBuffer_ofType_(stream, "sample", SC_STREAM_OUTPUT_AUDIO)
            out.stream_didOutputSampleBuffer_ofType_(stream, "video", 0)  # ignored
        await asyncio.sleep(0.05)
        return [(await buf.get()).pcm for _ in range(len(buf))]

    chunks = asyncio.run(main())
    assert stream.started and config.values == {
        "CapturesAudio": True, "ExcludesCurrentProcessAudio": True, "SampleRate": 48000,
        "ChannelCount": 2}
    assert len(chunks) == 3 * 1024 // CHUNK_SAMPLES  # 6 whole chunks out of 3072 frames
    assert all(len(c) == CHUNK_BYTES for c in chunks)
    src.stop()
    assert not stream.started


def test_screencapturekit_without_permission_says_so() -> None:
    with pytest.raises(AudioUnavailable, match="Screen Recording"):
        open_screencapturekit("14.0", (fake_sck([], FakeStream(), FakeConfig()), fake_cm(
            np.zeros((2, 2)))))
