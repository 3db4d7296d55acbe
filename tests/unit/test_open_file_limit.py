"""A receiver's embedded service and a standalone one raise their open-file limit as far as
the system lets them: each client is a socket."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from castapp.app import platform

ROOT = Path(__file__).resolve().parents[2]

RAISE = r'''
import resource, sys
sys.path.insert(0, sys.argv[1])
_, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (64, hard))
from castapp import embedded  # the receiver's service raises it through the same call
from castapp.app.platform import raise_open_file_limit
assert embedded.raise_open_file_limit is raise_open_file_limit
raise_open_file_limit()
print(resource.getrlimit(resource.RLIMIT_NOFILE)[0], hard)
'''


@pytest.mark.skipif(sys.platform == "win32", reason="no open-file limit on Windows")
def test_the_soft_limit_goes_up_to_the_hard_one() -> None:
    out = subprocess.run([sys.executable, "-c", RAISE, str(ROOT)], capture_output=True,
                         text=True, timeout=60, check=True)
    soft, hard = map(int, out.stdout.split())
    assert soft == hard > 64


def test_macos_unlimited_hard_limit_gets_its_open_max(monkeypatch: pytest.MonkeyPatch) -> None:
    """macOS reports an unlimited hard limit but refuses a soft limit above OPEN_MAX (10240):
    the call settles on 10240 instead of keeping 256."""
    inf = 2**63 - 1
    limits = {"soft": 256}

    def setrlimit(which: int, pair: tuple[int, int]) -> None:
        if pair[0] > 10240:
            raise ValueError("invalid argument")  # what macOS's setrlimit says
        limits["soft"] = pair[0]

    fake: Any = types.SimpleNamespace(RLIMIT_NOFILE=8, RLIM_INFINITY=inf,
                                      getrlimit=lambda which: (limits["soft"], inf),
                                      setrlimit=setrlimit)
    monkeypatch.setitem(sys.modules, "resource", fake)
    platform.raise_open_file_limit()
    assert limits["soft"] == 10240
