"""What a packaging build produced, and how to run the frozen app like a build machine."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Build:
    version: str
    app: Path
    tarball: Path
    deb: Path

    @property
    def exe(self) -> Path:
        return self.app / "castapp"


def headless_env() -> dict[str, str]:
    """No display: Qt runs offscreen, as on a build machine."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    env.pop("PYTHONPATH", None)  # the frozen app must not need the source tree
    return env
