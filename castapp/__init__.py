"""castapp: cast a laptop's screen to a TV-side machine by typing a short code."""

from __future__ import annotations

__all__ = ["__version__"]

__version__: str  # looked up on first use (see _installed_version)


#: How the dist-info folders of the two distributions that install this package begin.
_DISTRIBUTIONS = ("castapp-", "castapp_server-")


def _installed_version() -> str:
    """The installed distribution's version (``castapp``, or ``castapp-server`` for the
    room service alone).

    Its ``castapp-VERSION.dist-info`` folder, found on ``sys.path`` as importlib.metadata
    would find it, names the version; reading the folder name spares ``castapp --version``
    importing importlib.metadata and the e-mail parser behind it (a third of its start-up).
    """
    import os
    import sys

    for entry in sys.path:
        try:
            names = [n for n in os.listdir(entry or ".")
                     if n.startswith(_DISTRIBUTIONS) and n.endswith(".dist-info")]
        except OSError:
            continue
        if len(names) == 1:
            return names[0].split("-", 1)[1].removesuffix(".dist-info")
        if names:  # stale copies side by side: let importlib.metadata choose
            break
    from importlib.metadata import PackageNotFoundError, version

    for name in ("castapp", "castapp-server"):
        try:
            return version(name)
        except PackageNotFoundError:
            pass
    return "0.0.0+local"  # running from a source tree that was not installed


def __getattr__(name: str) -> str:
    if name != "__version__":
        raise AttributeError(f"module 'castapp' has no attribute {name!r}")
    found = _installed_version()
    globals()["__version__"] = found
    return found
