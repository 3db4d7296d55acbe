"""castapp: cast a laptop's screen to a TV-side machine by typing a short code."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("castapp")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+local"

__all__ = ["__version__"]
