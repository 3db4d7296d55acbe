"""Debian's Chromium, driven by Playwright's Python package, inside a test's network namespace.

Never a downloaded browser: ``executable_path`` points at a small wrapper that runs
``/usr/bin/chromium`` under ``ip netns exec``, so every packet the browser sends stays in the
namespace the test made. Playwright talks to it over pipes, which the wrapper passes on.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
SETUP_HINT = "run scripts/setup.sh (Debian's chromium and the dev extra's playwright)"

BASE_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-domain-reliability",
    "--disable-client-side-phishing-detection", "--no-default-browser-check",
    "--metrics-recording-only", "--disable-breakpad", "--allow-loopback-in-peer-connection",
    "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]


def require_chromium() -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: {SETUP_HINT}", pytrace=False)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.fail(f"the playwright package is missing: {SETUP_HINT}", pytrace=False)


def _wrapper(ns: str, where: Path) -> Path:
    path = where / "chromium-in-netns"
    ip = shutil.which("ip") or "/usr/sbin/ip"
    path.write_text(f'#!/bin/sh\nexec {ip} netns exec {ns} {CHROMIUM} "$@"\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@contextmanager
def chromium(ns: str, where: Path, *, flags: Sequence[str] = (), headless: bool = True,
             display: str | None = None) -> Iterator[Any]:
    """A fresh Chromium profile in namespace ``ns``; yields the Playwright browser context."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    env = dict(os.environ)
    if display is not None:
        env["DISPLAY"] = display
    profile = where / "profile"
    profile.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile), executable_path=str(_wrapper(ns, where)), headless=headless,
            args=[*BASE_FLAGS, *flags], env=env, ignore_https_errors=False,
        )
        try:
            yield context
        finally:
            context.close()


def luma(rgba: Sequence[int], width: int, height: int) -> Any:
    """The BT.601 limited-range luma plane of RGBA bytes read from a canvas."""
    import numpy as np

    arr = np.frombuffer(bytes(rgba), dtype=np.uint8).reshape(height, width, 4).astype(np.float32)
    y = 16 + 0.257 * arr[..., 0] + 0.504 * arr[..., 1] + 0.098 * arr[..., 2]
    return y.clip(0, 255).astype(np.uint8)


#: Runs in the TV page: the video element's current picture as RGBA bytes (base64).
READ_VIDEO = """() => {
  const v = document.getElementById('video');
  if (!v || !v.videoWidth) return null;
  const c = document.createElement('canvas');
  c.width = v.videoWidth; c.height = v.videoHeight;
  const g = c.getContext('2d');
  g.drawImage(v, 0, 0);
  const d = g.getImageData(0, 0, c.width, c.height).data;
  let s = '';
  for (let i = 0; i < d.length; i += 0x8000)
    s += String.fromCharCode.apply(null, d.subarray(i, i + 0x8000));
  return {w: c.width, h: c.height, rgba: btoa(s)};
}"""


def tv_code(page: Any, console: list[str] | None = None, timeout: float = 30.0) -> str:
    """The cast code a TV page shows, once it has registered; when it has none after
    ``timeout`` s, the failure says what the page shows and logged instead."""
    try:
        return str(wait_until(page, "() => document.body.dataset.code", timeout))
    except AssertionError:
        shown = page.evaluate("() => document.body.innerText.slice(0, 400)")
        raise AssertionError(f"the TV page has no code after {timeout} s; it shows "
                             f"{shown!r}; its console: {(console or [])[-10:]!r}") from None


def wait_until(page: Any, script: str, timeout: float = 15.0, every: float = 0.1) -> Any:
    """Poll ``script`` (a JS function) in ``page`` until it returns something truthy.

    Playwright's own ``wait_for_function`` evaluates a string inside the page, which the
    pages' Content-Security-Policy forbids (no ``unsafe-eval``), as it should.
    """
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(script)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{script} still false after {timeout} s")
        time.sleep(every)
