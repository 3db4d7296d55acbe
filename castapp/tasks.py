"""Ending an asyncio task without losing the caller's own cancellation.

The usual way, ``task.cancel()`` and then ``await task`` under
``contextlib.suppress(asyncio.CancelledError)``, has a trap: if the caller is itself
cancelled while it waits there, the ``CancelledError`` it is handed is taken for the task's
and suppressed, and the caller carries on as if nobody had asked it to stop. A sender's RTP
loop that did this between two frames went on sending, and the peer connection's close, which
waits for that loop to end, never returned.
"""

from __future__ import annotations

import asyncio
from typing import Any


async def cancel_and_wait(task: asyncio.Future[Any] | None) -> None:
    """Cancel ``task`` and wait until it has ended; re-raise what it failed with, if it
    failed with something other than its cancellation. A cancellation of the caller while it
    waits ends the caller, as it should (the task has been asked to end all the same)."""
    if task is None:
        return
    task.cancel()
    await asyncio.wait({task})
    if not task.cancelled():
        task.result()
