"""A private D-Bus session bus (its own dbus-daemon) for a test: the ``session_bus`` fixture
yields its address."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def session_bus(tmp_path: Path) -> Iterator[str]:
    daemon = shutil.which("dbus-daemon")
    if daemon is None:
        pytest.fail("dbus-daemon not found: run scripts/setup.sh (Debian package dbus)",
                    pytrace=False)
    proc = subprocess.Popen([daemon, "--session", "--nofork", "--nopidfile",
                             f"--address=unix:path={tmp_path}/bus", "--print-address=1"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        proc.terminate()
        proc.wait(10)
