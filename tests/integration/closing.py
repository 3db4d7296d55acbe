"""Closing real peers in a test's teardown without letting one hung step hold the test.

aiortc's closing (a frame receiver's stop, a peer connection's close) has, rarely and on a
loaded machine, never ended in a teardown after every assertion had passed. Each step is
bounded; one that does not end is named in a warning with the stack of every task still
pending, so the occurrence says which await it was.
"""

from __future__ import annotations

import asyncio
import io
import sys
import warnings
from collections.abc import Awaitable

CLOSE_STEP_S = 15.0


async def bounded(what: str, step: Awaitable[None]) -> None:
    try:
        await asyncio.wait_for(step, CLOSE_STEP_S)
    except TimeoutError:
        stacks = io.StringIO()
        for task in asyncio.all_tasks():
            if task is not asyncio.current_task():
                task.print_stack(limit=8, file=stacks)
        print(f"{what} did not end within {CLOSE_STEP_S:g} s; pending tasks:\n"
              f"{stacks.getvalue()}", file=sys.stderr)
        warnings.warn(f"{what} did not end within {CLOSE_STEP_S:g} s", stacklevel=2)
