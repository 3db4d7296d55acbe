"""The desktop entry names the receiver window's WM_CLASS, so docks and task bars group the
window under castapp's icon. The real receiver window runs under Xvfb; xprop reads the class."""

from __future__ import annotations

import configparser
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from pkgbuild import ROOT
from xvfb import require, xvfb

DESKTOP = ROOT / "resources" / "io.github.castapp.desktop"


def startup_wm_class() -> str:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # type: ignore[assignment,method-assign]  # keep the keys' case
    entry.read(DESKTOP, encoding="utf-8")
    return entry["Desktop Entry"]["StartupWMClass"]


def window_classes(display: str) -> list[tuple[str, str]]:
    """(instance, class) of every top-level window that has a WM_CLASS."""
    env = {**os.environ, "DISPLAY": display}
    tree = subprocess.run([require("xwininfo"), "-root", "-children"], capture_output=True,
                          text=True, env=env, timeout=10).stdout
    found = []
    for wid in re.findall(r"^\s+(0x[0-9a-f]+) ", tree, re.M):
        prop = subprocess.run([require("xprop"), "-id", wid, "WM_CLASS"], capture_output=True,
                              text=True, env=env, timeout=10).stdout
        m = re.search(r'WM_CLASS\(STRING\) = "([^"]*)", "([^"]*)"', prop)
        if m:
            found.append((m.group(1), m.group(2)))
    return found


def wm_class_of(argv: list[str], tmp_path: Path, env: dict[str, str]) -> list[tuple[str, str]]:
    with xvfb(1366, 768) as display:
        proc = subprocess.Popen(
            [*argv, "receive", "--listen", "127.0.0.1:0", "--no-advertise", "--state-dir",
             str(tmp_path / "state"), "--config-dir", str(tmp_path / "config")],
            env={**env, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"},
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                classes = window_classes(display)
                if classes or proc.poll() is not None:
                    break
                time.sleep(0.2)
        finally:
            proc.terminate()
            _, err = proc.communicate(timeout=20)
    assert classes, f"no window appeared; the receiver said:\n{err[-3000:]}"
    return classes


def test_receiver_window_class_matches_the_desktop_entry(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    classes = wm_class_of([sys.executable, "-m", "castapp"], tmp_path, env)
    wanted = startup_wm_class()
    assert {cls for _, cls in classes} == {wanted}, classes
