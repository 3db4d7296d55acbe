"""A private X server for tests that capture or show a screen.

``Xvfb -displayfd`` picks a free display number and writes it to a pipe once it accepts
connections, so there is no polling and no sleeping. ``-noreset`` keeps the root window
background when a drawing client (``xsetroot``) disconnects.
"""

from __future__ import annotations

import ctypes
import os
import select
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

SETUP_HINT = (
    "run the setup script scripts/setup.sh, which installs the Debian packages "
    "'xvfb' and 'x11-xserver-utils'"
)


def require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} not found: {SETUP_HINT}", pytrace=False)
    return path


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@contextmanager
def xvfb(width: int, height: int, depth: int = 24, *, keep: bool = False) -> Iterator[str]:
    """Run an Xvfb screen of this size; yields its display name (``:N``).

    ``keep``: leave the server running after the block; it ends with the test process. A
    QApplication connected to it lives until the process exits, and Qt ends the process
    if its X server goes away first.
    """
    read_fd, write_fd = os.pipe()
    args = [require("Xvfb"), "-displayfd", str(write_fd), "-screen", "0",
            f"{width}x{height}x{depth}", "-nolisten", "tcp", "-noreset"]
    proc = subprocess.Popen(args, pass_fds=(write_fd,), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, preexec_fn=_die_with_parent)
    os.close(write_fd)
    try:
        number = b""
        deadline = time.monotonic() + 15
        while not number.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([read_fd], [], [], max(0.0, remaining))
            if not ready:
                pytest.fail("Xvfb did not report a display within 15 s", pytrace=False)
            chunk = os.read(read_fd, 64)
            if not chunk:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                pytest.fail(f"Xvfb exited early: {err[-2000:]}", pytrace=False)
            number += chunk
        yield f":{number.decode().strip()}"
    finally:
        os.close(read_fd)
        if not keep:
            _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def xsetroot(display: str, *args: str) -> None:
    subprocess.run([require("xsetroot"), "-display", display, *args], check=True, timeout=10)
