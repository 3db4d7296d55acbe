"""What the desktop app remembers between runs, in the platform's config directory.

Plain JSON, read leniently: a damaged or hand-edited file falls back to defaults field by
field instead of stopping the app. The receiver's code token is a secret and lives in the
state directory with owner-only permissions (see :mod:`castapp.cli`), never in this file.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from castapp.quality import DEFAULT, PRESETS
from castapp.session.room import AdmissionMode

log = logging.getLogger(__name__)

QUALITIES = tuple(PRESETS)
#: The languages the interface is written or translated in, each named in itself.
LANGUAGE_NAMES = {"en": "English", "zh_CN": "简体中文"}
#: What the language setting may hold: ``system`` follows the system locale.
LANGUAGES = ("system", *LANGUAGE_NAMES)
#: How a new presenter may get on the TV (the receiver session's modes).
ADMISSIONS = tuple(mode.value for mode in AdmissionMode)
SHARES = ("screen", "window", "region")
_MAX_FILE = 64 * 1024


def config_dir() -> Path:
    override = os.environ.get("CASTAPP_CONFIG_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_config_dir("castapp", appauthor=False))


@dataclass(frozen=True)
class Settings:
    #: A standalone room service (``ws://host:port/ws``); empty: host one / discover one.
    server: str = ""
    #: Name shown to the other side; empty: the machine's name.
    display_name: str = ""
    quality: str = DEFAULT
    #: ``system`` follows the system locale.
    language: str = "system"
    #: The monitor the sender cast last time (mss numbering, 1 = first).
    monitor: int = 1
    #: How a new presenter gets on the TV: ``open``, ``approve`` (ask the TV) or ``pin``.
    admission: str = "approve"
    #: The receiver window starts full screen; leaving full screen is remembered.
    receiver_fullscreen: bool = True
    #: The receiver's built-in room service also serves the sender page over HTTPS (a
    #: self-signed certificate), so guests' browsers can share a screen.
    receiver_https: bool = True
    #: The same monitor by output name and geometry (found again if the numbering changes).
    monitor_key: str = ""
    #: Draw the mouse pointer into the cast.
    pointer: bool = True
    #: What the sender shares: the whole ``screen``, one ``window`` or a ``region``.
    share: str = "screen"
    #: The last region shared, ``X,Y,W,H`` relative to the monitor.
    region: str = ""

    def __post_init__(self) -> None:
        if self.quality not in QUALITIES:
            raise ValueError(f"unknown quality {self.quality!r}")
        if self.language not in LANGUAGES:
            raise ValueError(f"unknown language {self.language!r}")
        if self.admission not in ADMISSIONS:
            raise ValueError(f"unknown admission mode {self.admission!r}")
        if not 0 <= self.monitor <= 64:
            raise ValueError("monitor out of range")
        if self.share not in SHARES:
            raise ValueError(f"unknown share mode {self.share!r}")
        if len(self.server) > 1024 or len(self.display_name) > 64 or \
                len(self.monitor_key) > 256 or len(self.region) > 64:
            raise ValueError("setting too long")

    def name_or(self, fallback: str) -> str:
        return self.display_name.strip() or fallback


def _path(directory: Path | None) -> Path:
    return (directory or config_dir()) / "settings.json"


def load(directory: Path | None = None) -> Settings:
    """The saved settings; unreadable or invalid values are replaced by defaults."""
    path = _path(directory)
    try:
        if path.stat().st_size > _MAX_FILE:
            raise ValueError("settings file too large")
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Settings()
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable settings file %s: %s", path, exc)
        return Settings()
    settings = Settings()
    if not isinstance(raw, dict):
        return settings
    for f in fields(Settings):
        value = raw.get(f.name)
        if value is None or type(value) is not type(getattr(settings, f.name)):
            continue
        try:
            settings = replace(settings, **{f.name: value})
        except ValueError:
            log.warning("ignoring invalid setting %s", f.name)
    return settings


def save(settings: Settings, directory: Path | None = None) -> None:
    """Write atomically: a crash mid-write leaves the old file."""
    path = _path(directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(settings), indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def write_secret(path: Path, text: str) -> None:
    """Write a secret (such as the receiver's code token) readable by this user only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.touch(mode=0o600, exist_ok=True)
    tmp.chmod(0o600)
    tmp.write_text(text)
    os.replace(tmp, path)
