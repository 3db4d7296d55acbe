"""Where the command line's log goes: stderr, one line per record, no tracebacks unless asked."""

from __future__ import annotations

import logging
import threading


class Quiet(logging.Formatter):
    """One line per record, a failure's type and message instead of its traceback (people
    are told in words); ``--log-level DEBUG`` keeps tracebacks."""

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_info or record.stack_info:
            exc = record.exc_info[1] if record.exc_info else None
            record = logging.makeLogRecord(record.__dict__)
            text = record.getMessage()
            if exc is not None:
                text += f" ({type(exc).__name__}: {exc})"
            record.msg, record.args = text, None
            record.exc_info = record.exc_text = record.stack_info = None
        return super().format(record)


def log_to_stderr(level: str) -> None:
    fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(fmt) if level == "DEBUG" else Quiet(fmt))
    logging.basicConfig(level=level, handlers=[handler])
    if level != "DEBUG":
        threading.excepthook = thread_failed


def thread_failed(args: threading.ExceptHookArgs) -> None:
    """A background thread that dies is logged in one line; what it means for the user is
    said by the command (a capture thread's failure ends the cast with a sentence)."""
    if args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread is not None else "a thread"
    logging.getLogger("castapp").error("%s stopped (%s: %s)", name, args.exc_type.__name__,
                                       args.exc_value)
