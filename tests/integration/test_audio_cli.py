"""``castapp send`` shares the laptop's sound and ``castapp receive`` plays it: two processes
in a private namespace, each with its own PulseAudio daemon (the laptop's and the TV's)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from castproc import CastProc, castapp_env
from netns import in_namespace, private_namespace
from pulse_server import RATE, as_mono, matching_windows, melody, pulse_server

pytestmark = pytest.mark.timeout(120)


def cast_with_sound(tmp_path: Path, receive_args: tuple[str, ...], send_args: tuple[str, ...],
                    seconds: float = 8.0) -> tuple[np.ndarray, np.ndarray, list[dict], dict]:
    signal = melody(seconds + 20)
    with pulse_server(tmp_path / "laptop", ("laptop",)) as laptop, \
            pulse_server(tmp_path / "tv", ("tv",)) as tv, private_namespace() as ns:
        rx = CastProc(in_namespace(ns, []), "receive", "--headless", "--listen", "127.0.0.1:0",
                      "--admission", "open", "--state-dir", str(tmp_path / "rx"), *receive_args,
                      env=castapp_env(PULSE_SERVER=tv.server))
        try:
            port = rx.expect("service")["port"]
            code = rx.expect("code")["code"]
            player = laptop.play(signal, "laptop")
            tx = CastProc(in_namespace(ns, []), "send", "--headless", "--server",
                          f"ws://127.0.0.1:{port}/ws", "--code", code, "--synthetic", "320x240",
                          *send_args, env=castapp_env(PULSE_SERVER=laptop.server))
            try:
                tx.expect("state", state="casting", timeout=40)
                recorder = tv.record("tv.monitor", tmp_path / "tv.raw")
                time.sleep(seconds)
                recorder.terminate()
                recorder.wait()
                stats = rx.expect("stats", timeout=5) if "--stats" in receive_args else {}
            finally:
                tx.stop()
                player.kill()
                player.wait()
            said = [e for e in tx.seen if e["event"] == "sound"]
        finally:
            rx.stop()
    return signal, as_mono((tmp_path / "tv.raw").read_bytes()), said, stats


def test_the_tv_plays_the_laptops_sound(tmp_path: Path) -> None:
    signal, heard, said, stats = cast_with_sound(tmp_path, ("--stats",), ())
    assert said and said[0]["audio"] is True
    assert stats["audio_codec"] == "opus" and 16 <= stats["audio_kbps"] <= 200, stats
    assert 20 <= stats["audio_buffer_ms"] <= 40, stats
    assert len(heard) > 5 * RATE
    loud, found, _ = matching_windows(signal[:, 0], heard[RATE:], threshold=0.8)
    windows = (len(heard) - RATE) // (RATE // 10)
    assert loud >= 0.9 * windows and found >= 0.85 * windows, (loud, found, windows)


def test_receive_mute_plays_nothing(tmp_path: Path) -> None:
    _, heard, _, _ = cast_with_sound(tmp_path, ("--mute",), (), seconds=4.0)
    assert len(heard) > 2 * RATE and np.abs(heard).max() < 200


def test_send_no_audio_shares_no_sound(tmp_path: Path) -> None:
    _, heard, said, _ = cast_with_sound(tmp_path, (), ("--no-audio",), seconds=3.0)
    assert said == []
    # the TV's sink gets no stream at all: the monitor records nothing or silence
    assert len(heard) == 0 or np.abs(heard).max() < 200
