"""Logging a failure in one line, whoever configured logging.

People are told about a failure in words; the log gets one line with the failure's type and
message. Where it happened (the traceback) is logged only when the logger is at DEBUG, so
an application embedding castapp with a plain formatter sees no traceback either.
"""

from __future__ import annotations

import logging


def describe(exc: BaseException) -> str:
    """``Type: message``, or the type alone when there is no message."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def failed(log: logging.Logger, what: str, exc: BaseException,
           level: int = logging.ERROR) -> None:
    """Log ``what (Type: message)`` at ``level``; with the traceback only at DEBUG."""
    log.log(level, "%s (%s)", what, describe(exc),
            exc_info=exc if log.isEnabledFor(logging.DEBUG) else None)
