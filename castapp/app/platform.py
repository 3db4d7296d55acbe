"""Operating-system differences in one place, so the rest runs on Linux, Windows and macOS.

Nothing here may fail on import on any of them: every POSIX-only call is looked up when it
is needed and skipped where the platform lacks it.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import Callable
from typing import Any

#: Signals that ask a command to stop, by name (Windows has SIGINT and SIGBREAK only).
STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGBREAK")


def machine_name() -> str:
    """This computer's name as people know it (the first label of the host name)."""
    try:
        name = socket.gethostname()
    except OSError:
        name = ""
    return name.split(".", 1)[0].strip() or "castapp"


def stop_on_signals(stop: asyncio.Event) -> Callable[[], None]:
    """Make Ctrl+C (and SIGTERM where it exists) set ``stop``; returns a function undoing it.

    The event loop's own signal handlers exist on POSIX only; elsewhere (Windows) a plain
    handler wakes the loop thread-safely.
    """
    loop = asyncio.get_running_loop()
    in_loop: list[int] = []  # handled by the loop
    plain: list[tuple[int, Any]] = []  # handled by a plain handler: (signal, the old one)

    def wake(_signum: int, _frame: object) -> None:
        loop.call_soon_threadsafe(stop.set)

    for name in STOP_SIGNALS:
        sig = getattr(signal, name, None)
        if sig is None:
            continue
        try:
            loop.add_signal_handler(sig, stop.set)
            in_loop.append(sig)
            continue
        except (NotImplementedError, RuntimeError, ValueError, OSError):
            pass
        try:
            plain.append((sig, signal.signal(sig, wake)))
        except (ValueError, OSError):  # not the main thread, or not settable here
            continue

    def restore() -> None:
        for sig in in_loop:
            with contextlib.suppress(RuntimeError, ValueError, OSError, NotImplementedError):
                loop.remove_signal_handler(sig)
        for sig, old in plain:
            with contextlib.suppress(ValueError, OSError, TypeError):
                signal.signal(sig, old)

    return restore


def raise_open_file_limit() -> None:
    """Each client is a socket: allow as many as the system lets this process have.

    POSIX only (the ``resource`` module does not exist on Windows, which has no such limit).
    """
    try:
        import resource
    except ImportError:
        return
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ValueError, OSError):
        return
    # macOS refuses an unlimited or very large soft limit; 10240 is its OPEN_MAX
    for want in (hard, min(hard, 10240) if hard != resource.RLIM_INFINITY else 10240):
        if want != resource.RLIM_INFINITY and want <= soft:
            return
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
            return
        except (ValueError, OSError):  # not allowed: try the smaller figure
            continue
