"""A private PulseAudio daemon for tests: null sinks, a unix socket in a temp dir, no D-Bus.

It runs as the test user with its own HOME/XDG_RUNTIME_DIR; as root PulseAudio only warns
(per-user mode, not ``--system``), which is what a test wants: nothing outside the temp dir.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RATE = 48000


@dataclass
class PulseServer:
    server: str  # "unix:/…/native", for PULSE_SERVER or pasimple's server_name
    env: dict[str, str]

    def run(self, *argv: str, **kw: object) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(list(argv), env=self.env, check=True, capture_output=True,
                              timeout=20, **kw)  # type: ignore[call-overload]

    def play(self, pcm: np.ndarray, sink: str) -> subprocess.Popen[bytes]:
        """Start pacat playing interleaved s16 stereo ``pcm`` into ``sink`` (from a file, so
        the caller never blocks on a pipe)."""
        self._plays = getattr(self, "_plays", 0) + 1
        path = Path(self.env["HOME"]) / f"play-{self._plays}.raw"
        path.write_bytes(pcm.astype("<i2").tobytes())
        with open(path, "rb") as data:
            return subprocess.Popen(
                ["pacat", "--playback", f"--device={sink}", "--format=s16le", f"--rate={RATE}",
                 "--channels=2", "--latency-msec=100", "--raw"],
                env=self.env, stdin=data, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def record(self, source: str, into: Path) -> subprocess.Popen[bytes]:
        """Start parec recording ``source`` as raw s16 stereo into the file ``into``.

        A monitor delivers nothing while its sink has no stream playing: the recording starts
        with the first stream, so measure positions from its end.
        """
        with open(into, "wb") as out:
            return subprocess.Popen(
                ["parec", f"--device={source}", "--format=s16le", f"--rate={RATE}",
                 "--channels=2", "--latency-msec=10", "--raw"],
                env=self.env, stdout=out, stderr=subprocess.DEVNULL)


def require_pulse() -> None:
    for tool in ("pulseaudio", "pacat", "parec", "pactl"):
        if shutil.which(tool) is None:
            raise RuntimeError(
                f"{tool} is missing: run scripts/setup.sh (pulseaudio, pulseaudio-utils)")


@contextmanager
def pulse_server(tmp: Path, sinks: tuple[str, ...] = ("laptop", "tv")) -> Iterator[PulseServer]:
    require_pulse()
    tmp.mkdir(parents=True, exist_ok=True)
    socket = tmp / "native"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULSE", "DBUS"))}
    env.update(HOME=str(tmp), XDG_RUNTIME_DIR=str(tmp), XDG_CONFIG_HOME=str(tmp / "config"),
               PULSE_SERVER=f"unix:{socket}")
    argv = ["pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--use-pid-file=no",
            "--disable-shm=yes", "--log-target=stderr",
            f"--load=module-native-protocol-unix socket={socket} auth-anonymous=1"]
    argv += [f"--load=module-null-sink sink_name={s} rate={RATE} channels=2" for s in sinks]
    log = open(tmp / "pulseaudio.log", "wb")  # noqa: SIM115 - lives as long as the daemon
    proc = subprocess.Popen(argv, env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 15
        while True:
            ok = subprocess.run(["pactl", "info"], env=env, capture_output=True)
            if ok.returncode == 0:
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("pulseaudio did not start: " +
                                   (tmp / "pulseaudio.log").read_text(errors="replace")[-2000:])
            time.sleep(0.1)
        subprocess.run(["pactl", "set-default-sink", sinks[0]], env=env, check=True)
        yield PulseServer(f"unix:{socket}", env)
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def tone(seconds: float, freq: float = 440.0, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    mono = (amp * 32767 * np.sin(2 * np.pi * freq * t)).astype(np.int16)
    return np.repeat(mono[:, None], 2, axis=1)


def chirps(seconds: float, seed: int = 7) -> np.ndarray:
    """A noise-like signal with a sharp autocorrelation, for cross-correlation."""
    rng = np.random.default_rng(seed)
    mono = (rng.standard_normal(int(seconds * RATE)) * 6000).clip(-32767, 32767).astype(np.int16)
    return np.repeat(mono[:, None], 2, axis=1)


def melody(seconds: float, seed: int = 11, step_s: float = 0.025) -> np.ndarray:
    """Tones of random pitch (300–3000 Hz), 25 ms each, phase-continuous: unique at every
    100 ms like noise, but coded faithfully by Opus (which smears white noise)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    step = int(step_s * RATE)
    freqs = np.repeat(rng.uniform(300, 3000, n // step + 1), step)[:n]
    phase = 2 * np.pi * np.cumsum(freqs) / RATE
    mono = (0.3 * 32767 * np.sin(phase)).astype(np.int16)
    return np.repeat(mono[:, None], 2, axis=1)


def as_mono(raw: bytes) -> np.ndarray:
    a = np.frombuffer(raw[: len(raw) // 4 * 4], dtype="<i2").reshape(-1, 2)
    return a.mean(axis=1)


def best_lag(reference: np.ndarray, recorded: np.ndarray) -> tuple[int, float]:
    """(lag, normalised peak): where ``recorded`` best matches inside ``reference``.

    The lag is the index in ``reference`` of the first sample of ``recorded``.
    """
    n = len(recorded) + len(reference)
    size = 1 << (n - 1).bit_length()
    spec = np.fft.rfft(reference, size) * np.conj(np.fft.rfft(recorded, size))
    corr = np.fft.irfft(spec, size)[: max(1, len(reference) - len(recorded) + 1)]
    lag = int(np.argmax(corr))
    ref = reference[lag: lag + len(recorded)]
    seg = recorded[: len(ref)]
    denom = float(np.linalg.norm(seg) * np.linalg.norm(ref)) or 1.0
    return lag, float(np.dot(seg, ref) / denom)


def matching_windows(reference: np.ndarray, recorded: np.ndarray, window: int = RATE // 10,
                     threshold: float = 0.9) -> tuple[int, int, list[int]]:
    """Split ``recorded`` into 100 ms windows; (windows with sound, of which found in
    ``reference`` with correlation > 0.9, their lags)."""
    ref = np.concatenate([reference.astype(float), np.zeros(window)])
    loud = found = 0
    lags: list[int] = []
    for start in range(0, len(recorded) - window + 1, window):
        seg = recorded[start: start + window]
        if np.abs(seg).mean() < 200:
            continue
        loud += 1
        peak = 0.0
        if lags:  # look near the delay found so far first: a full search is slow
            near = max(0, start + lags[-1] - window)
            lag, peak = best_lag(ref[near: near + 3 * window], seg)
            lag += near
        if peak <= threshold:
            lag, peak = best_lag(ref, seg)
        if peak > threshold:
            found += 1
            lags.append(lag - start)
    return loud, found, lags
