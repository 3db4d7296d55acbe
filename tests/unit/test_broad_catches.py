"""Every catch-all in castapp says why it is one.

A failure is caught by what it can raise (``OSError``, ``ValueError``, ...). A handler that
catches everything (``except Exception``, ``except BaseException`` that does not re-raise,
a bare ``except:``, ``contextlib.suppress(Exception)``) is allowed only as a deliberate
boundary, marked on its line (or the comment line above it) with ``# broad:`` and a reason.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

SOURCE = Path(__file__).parents[2] / "castapp"
BROAD = {"Exception", "BaseException"}
MARKER = re.compile(r"#\s*broad:\s*\S.{8,}")


def _names(node: ast.expr | None) -> set[str]:
    if node is None:
        return {"BaseException"}  # a bare ``except:``
    items = node.elts if isinstance(node, ast.Tuple) else [node]
    out = set()
    for item in items:
        if isinstance(item, ast.Starred):
            item = item.value
        if isinstance(item, ast.Name):
            out.add(item.id)
        elif isinstance(item, ast.Attribute):
            out.add(item.attr)
    return out


def _reraises(handler: ast.ExceptHandler) -> bool:
    last = handler.body[-1]
    return isinstance(last, ast.Raise) and last.exc is None


def _is_suppress(call: ast.Call) -> bool:
    f = call.func
    return (isinstance(f, ast.Attribute) and f.attr == "suppress") or \
        (isinstance(f, ast.Name) and f.id == "suppress")


def broad_catches(text: str) -> list[int]:
    """Lines of catch-alls in ``text`` that carry no ``# broad:`` reason."""
    lines = text.splitlines()

    def marked(lineno: int) -> bool:
        here = lines[lineno - 1]
        above = lines[lineno - 2].strip() if lineno >= 2 else ""
        return bool(MARKER.search(here)) or (above.startswith("#") and bool(MARKER.search(above)))

    found = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ExceptHandler):
            if _names(node.type) & BROAD and not _reraises(node) and not marked(node.lineno):
                found.append(node.lineno)
        elif isinstance(node, ast.Call) and _is_suppress(node):
            names = set().union(*(_names(a) for a in node.args)) if node.args else set()
            if names & BROAD and not marked(node.lineno):
                found.append(node.lineno)
    return sorted(found)


def test_the_scan_finds_unexplained_catch_alls() -> None:
    text = (
        "import contextlib\n"
        "try:\n    pass\nexcept Exception:\n    pass\n"                          # 4
        "try:\n    pass\nexcept:\n    pass\n"                                    # 8
        "try:\n    pass\nexcept (OSError, BaseException) as exc:\n    pass\n"    # 12
        "with contextlib.suppress(Exception):\n    pass\n"                       # 14
        "try:\n    pass\nexcept Exception:  # broad: a reason given here\n    pass\n"
        "try:\n    pass\n# broad: a reason on the line above\nexcept Exception:\n    pass\n"
        "try:\n    pass\nexcept BaseException:\n    cleanup()\n    raise\n"
        "try:\n    pass\nexcept (OSError, ValueError):\n    pass\n"
        "try:\n    pass\nexcept Exception:  # broad:\n    pass\n"                # 36: no reason
    )
    assert broad_catches(text) == [4, 8, 12, 14, 36]


def test_every_catch_all_in_castapp_says_why() -> None:
    unexplained = [f"{path.relative_to(SOURCE.parent)}:{line}"
                   for path in sorted(SOURCE.rglob("*.py"))
                   for line in broad_catches(path.read_text(encoding="utf-8"))]
    assert not unexplained, (
        "catch what can really happen there (OSError, ValueError, av.error.FFmpegError, ...), "
        "or mark a deliberate boundary with '# broad: <why>': " + ", ".join(unexplained))


# ---------------------------------------------------------------- the boundaries that stay
def test_a_failing_change_listener_is_dropped_logged_once_and_the_capture_goes_on(caplog):
    import logging

    import numpy as np

    from castapp.rtc.change import CompareFilter

    caplog.set_level(logging.INFO, logger="castapp")
    flt = CompareFilter()
    calls: list[float] = []

    def broken(change: object) -> None:
        calls.append(1.0)
        raise ValueError("a listener's bug")

    seen: list[object] = []
    flt.listeners.extend([broken, seen.append])
    for shade in (10, 200, 30):  # three different frames: each one is a change
        assert flt.after_grab(np.full((48, 64), shade, np.uint8)) is True
    assert len(calls) == 1 and broken not in flt.listeners
    assert len(seen) == 3, "the other listeners still hear every change"
    records = [r for r in caplog.records if r.name == "castapp.rtc.change"]
    assert len(records) == 1 and records[0].exc_info is None
    assert records[0].getMessage() == \
        "a change listener failed and was dropped (ValueError: a listener's bug)"


def test_a_failing_frame_consumer_is_logged_once_and_frames_keep_coming(caplog):
    import asyncio
    import logging

    from aiortc.mediastreams import VideoStreamTrack

    from castapp.rtc.receive import FrameReceiver

    caplog.set_level(logging.INFO, logger="castapp")
    calls: list[int] = []

    def broken(received: object) -> None:
        calls.append(1)
        raise RuntimeError("a consumer's bug")

    async def main() -> int:
        receiver = FrameReceiver(VideoStreamTrack(), broken)
        receiver.start()
        seq = -1
        for _ in range(4):
            seq = (await asyncio.wait_for(receiver.next_frame(seq), 5)).seq
        await receiver.stop()
        return seq

    assert asyncio.run(main()) >= 3, "frames are still handed on after the failure"
    assert len(calls) >= 4
    records = [r for r in caplog.records if r.name == "castapp.rtc.receive"]
    assert [r.getMessage() for r in records] == \
        ["handing on a frame failed (RuntimeError: a consumer's bug)"]
    assert records[0].exc_info is None
