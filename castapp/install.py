"""Which parts of castapp this installation has.

``castapp`` (the full distribution) has everything; ``castapp-server`` has the room service
only (``castapp serve``), without the GUI and media libraries. Commands that need those say so
in words instead of failing on an import.
"""

from __future__ import annotations

import importlib.util

#: Modules the desktop app needs beyond the room service (import names).
APP_MODULES = ("PySide6", "qasync", "aiortc", "av", "mss", "numpy", "segno", "zeroconf", "ifaddr")


def missing_app_modules() -> list[str]:
    """The desktop app's modules that cannot be imported here (empty for the full app)."""
    missing = []
    for name in APP_MODULES:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(name)
    return missing


def app_problem(command: str) -> str | None:
    """Why ``command`` cannot run in this installation, or None when it can."""
    missing = missing_app_modules()
    if not missing:
        return None
    return (
        f"castapp {command} needs the desktop app, but this installation has only the room "
        f"service (missing: {', '.join(missing)}). Install the full app with: pip install castapp"
    )
