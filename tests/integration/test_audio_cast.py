"""Sound across real aiortc peers: the laptop's sink → monitor capture → Opus → the TV's sink.

One private PulseAudio daemon has two null sinks: ``laptop`` (what the laptop plays; the
sender captures its monitor) and ``tv`` (where the receiver plays; parec records its monitor).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import numpy as np
import pytest
from aiortc import RTCPeerConnection
from aiortc.mediastreams import MediaStreamTrack

from castapp.rtc import peer
from castapp.rtc.audio import ChunkBuffer, open_system_audio
from castapp.rtc.audio.opus_track import OpusAudioTrack
from castapp.rtc.audio.playout import AudioPlayer
from castapp.rtc.audio.pulse import PulseSink
from castapp.rtc.audio.rtp import add_audio_receiver, add_audio_sender
from tests.pulse_server import RATE, as_mono, matching_windows, melody, pulse_server

pytestmark = pytest.mark.timeout(120)


async def exchange(offerer: RTCPeerConnection, answerer: RTCPeerConnection) -> None:
    await offerer.setLocalDescription(await offerer.createOffer())
    await answerer.setRemoteDescription(offerer.localDescription)
    await answerer.setLocalDescription(await answerer.createAnswer())
    await offerer.setRemoteDescription(answerer.localDescription)


def test_sound_arrives_without_gaps_and_stops_on_mute(tmp_path: Path, loopback_only: None) -> None:
    seconds = 32.0
    signal = melody(seconds + 3)

    async def main() -> tuple[float, int, float]:
        with pulse_server(tmp_path) as pulse:
            recorder = pulse.record("tv.monitor", tmp_path / "tv.raw")
            send_pc, recv_pc = peer.make_peer_connection([]), peer.make_peer_connection([])
            track = OpusAudioTrack(open_system_audio(pulse.server),
                                   ChunkBuffer(asyncio.get_running_loop()))
            add_audio_sender(send_pc, track)
            add_audio_receiver(recv_pc)
            players: list[AudioPlayer] = []
            tasks: list[asyncio.Task[None]] = []

            @recv_pc.on("track")
            def on_track(remote: MediaStreamTrack) -> None:
                player = AudioPlayer(remote)
                player.play_into(PulseSink(pulse.server, "tv"))
                players.append(player)
                tasks.append(asyncio.ensure_future(player.run()))

            await exchange(send_pc, recv_pc)
            await asyncio.sleep(0.5)
            source = pulse.play(signal, "laptop")
            await asyncio.sleep(seconds)
            glitches_before_mute = players[0].buffer.glitches
            t_mute = time.monotonic()
            track.muted = True
            await asyncio.sleep(1.5)
            recorder.terminate()
            recorder.wait()
            muted_for = time.monotonic() - t_mute
            players[0].stop()
            source.kill()
            source.wait()
            await send_pc.close()
            await recv_pc.close()
            for t in tasks:
                t.cancel()
            return muted_for, glitches_before_mute, players[0].buffer.jitter_ms

    muted_for, glitches, jitter_ms = asyncio.run(main())
    heard = as_mono((tmp_path / "tv.raw").read_bytes())
    assert len(heard) > 31 * RATE, "the recording of the TV's sink is too short"
    mute_at = len(heard) - int(muted_for * RATE)
    # From the first sound to the mute, every 100 ms is the signal, at one steady delay.
    start = int(np.argmax(np.abs(heard) > 500))
    span = heard[start: mute_at - RATE // 10]
    loud, found, lags = matching_windows(signal[:, 0], span, threshold=0.8)
    windows = len(span) // (RATE // 10)
    assert windows >= 300, f"only {windows / 10:.1f} s of sound were recorded"
    # A 100 ms window with no sound at all is a gap a listener hears. On an idle machine there
    # are none; this shared 2-core machine (load 8) stalls processes for 50–200 ms at times,
    # which no 40 ms buffer can hide: allow 5 % of windows, and report the underruns behind them.
    assert loud >= 0.95 * windows, (
        f"{windows - loud} silent 100 ms windows (gaps) in 30 s; {glitches} underruns")
    # each underrun splices silence into a window, and each drop after a stall cuts sound out
    # of one, which then no longer matches whole; at a load average of 6-8 on 2 cores about
    # 60 % of the windows came through whole (nearly all on a quiet machine)
    assert found >= 0.5 * windows, (
        f"only {found} of {windows} windows carry the signal; {glitches} underruns")
    # The delay may move by what a CPU stall of this shared machine costs (an underrun refills
    # the buffer with silence; pacat feeding the laptop's sink can underrun too), but never
    # grows with time: the buffers drop instead of queueing.
    drift_ms = (lags[0] - lags[-1]) / RATE * 1000
    assert abs(drift_ms) < 250, f"the delay moved by {drift_ms:.0f} ms over 30 s"
    assert glitches <= 90, f"{glitches} playout underruns in 30 s (at most one per 3 frames)"
    assert jitter_ms < 40
    # After the sender mutes, the TV plays silence.
    tail = heard[mute_at + RATE // 2:]
    assert len(tail) > RATE // 2 and np.abs(tail).max() < 200, "sound went on after mute"
