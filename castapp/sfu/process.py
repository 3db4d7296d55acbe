"""Run a Janus process with a generated configuration (tests, benchmarks, a local SFU).

``JanusProcess.start`` writes the configuration (:mod:`castapp.sfu.jcfg`) into a folder,
starts ``janus`` on it and waits until its WebSocket port accepts connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
from pathlib import Path

from castapp.sfu.jcfg import JanusSettings, write_config


class JanusNotAvailable(RuntimeError):
    """The ``janus`` program is not installed (Debian package ``janus``)."""


class JanusProcess:
    def __init__(self, proc: subprocess.Popen[bytes], settings: JanusSettings,
                 log_path: Path) -> None:
        self.proc = proc
        self.settings = settings
        self.log_path = log_path

    @property
    def url(self) -> str:
        return f"ws://{self.settings.ws_ip}:{self.settings.ws_port}/"

    @classmethod
    async def start(cls, folder: Path, settings: JanusSettings,
                    prefix: list[str] | None = None, timeout_s: float = 10.0) -> JanusProcess:
        """Start Janus; ``prefix`` runs it inside something (``ip netns exec NS``)."""
        exe = shutil.which("janus")
        if exe is None:
            raise JanusNotAvailable("Janus is not installed: run scripts/setup.sh "
                                    "(Debian package janus).")
        conf = write_config(folder, settings)
        log_path = folder / "janus.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen([*(prefix or []), exe, "-C", str(conf), "-F", str(folder),
                                     "-o", "-N", "-L", str(log_path)],
                                    stdout=log, stderr=subprocess.STDOUT)
        self = cls(proc, settings, log_path)
        try:
            await self._wait_ready(timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    async def _wait_ready(self, timeout_s: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Janus exited at start: {self.log_tail()}")
            if await self._port_open():
                return
            if loop.time() > deadline:
                raise RuntimeError(f"Janus did not start listening: {self.log_tail()}")
            await asyncio.sleep(0.05)

    async def _port_open(self) -> bool:
        try:
            _r, w = await asyncio.open_connection(self.settings.ws_ip, self.settings.ws_port)
        except OSError:
            return False
        w.close()
        return True

    def log_tail(self, n: int = 1500) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-n:]
        return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
