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
    undo: list[Callable[[], None]] = []
    for name in STOP_SIGNALS:
        sig = getattr(signal, name, None)
        if sig is None:
            continue
        try:
            loop.add_signal_handler(sig, stop.set)
            undo.append(lambda sig=sig: loop.remove_signal_handler(sig))
            continue
        except (NotImplementedError, RuntimeError, ValueError, OSError):
            pass
        try:
            old = signal.signal(sig, lambda _n, _f: loop.call_soon_threadsafe(stop.set))
        except (ValueError, OSError):  # not the main thread, or not settable here
            continue
        undo.append(lambda sig=sig, old=old: signal.signal(sig, old))

    def restore() -> None:
        for step in undo:
            with contextlib.suppress(Exception):
                step()

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
