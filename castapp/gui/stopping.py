"""How the desktop app stops from outside its windows.

* Ctrl-C in the terminal that started it, or SIGTERM (a logout, a service manager, ``kill``),
  closes its windows as the user would, so the session ends the way the close button ends
  it: the room service and the other side are told. A second signal stops at once.
  Python runs a signal handler only when it next gets control, which Qt's own event loop
  does not give it; a short timer does.
* The window system going away (the X server or compositor stopped, the session ended)
  ends Qt's event loop under the app: :func:`display_lost` says so in one sentence instead
  of asyncio's "Event loop stopped before Future completed" traceback.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from types import FrameType
from typing import NoReturn

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

log = logging.getLogger(__name__)

#: How often Qt's event loop hands Python the chance to run a signal handler.
SIGNAL_POLL_MS = 200
#: What qasync says when Qt's loop ended before the app's coroutine did.
LOOP_STOPPED = "Event loop stopped before Future completed."


def close_windows_on_signals(app: QApplication) -> QTimer:
    """Ctrl-C / SIGTERM close every window (see the module); returns the polling timer."""

    def close_all() -> None:
        for widget in app.topLevelWidgets():
            if widget.isVisible():
                widget.close()

    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: closing the windows", signum)
        for name in ("SIGINT", "SIGTERM"):  # a second one stops at once
            sig = getattr(signal, name, None)
            if sig is not None:
                signal.signal(sig, signal.SIG_DFL)
        QTimer.singleShot(0, close_all)

    for name in ("SIGINT", "SIGTERM"):
        sig = getattr(signal, name, None)
        if sig is not None:
            try:
                signal.signal(sig, handler)
            except (OSError, ValueError):  # not the main thread (embedded), or not allowed
                log.debug("cannot handle %s here", name)
    tick = QTimer(app)
    tick.timeout.connect(lambda: None)
    tick.start(SIGNAL_POLL_MS)
    return tick


def display_lost(exc: RuntimeError) -> bool:
    """Whether ``exc`` is Qt's event loop having ended under the app (the display went)."""
    return str(exc) == LOOP_STOPPED


def exit_display_lost() -> NoReturn:
    """Say that the display went away and end the process (nothing is left to draw on, and
    Qt cannot tidy its windows without it)."""
    print("castapp: the display this window was on went away (its X server or compositor "
          "stopped), so castapp stopped.", file=sys.stderr, flush=True)
    sys.stdout.flush()
    os._exit(1)
