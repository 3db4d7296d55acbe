"""What talking to an X server with python-xlib can raise."""

from __future__ import annotations


def x_failures(*more: type[Exception]) -> tuple[type[Exception], ...]:
    """No X server or no python-xlib, a connection that fails or closes, a refused request
    (a window that went away: ``BadWindow``, ``BadDrawable``, ``BadMatch``); and ``more``."""
    try:
        from Xlib import error
    except ImportError:
        return (ImportError, OSError, *more)
    return (ImportError, OSError, error.DisplayError, error.ConnectionClosedError,
            error.XauthError, error.XNoAuthError, error.XError, *more)
