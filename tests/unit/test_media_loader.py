"""A receiver shows its code without the media stack, which loads afterwards on a thread.

The session, the host and the room service must import none of aiortc, PyAV and NumPy (checked
in a fresh interpreter); :data:`RECEIVER_MEDIA` must name everything answering a call imports;
the link factory of :class:`MediaLoader` waits for the import before it answers.
"""

from __future__ import annotations

import ast
import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from castapp.app.media import RECEIVER_MEDIA, MediaLoader

ROOT = Path(__file__).resolve().parents[2]
MEDIA = ("aiortc", "aioice", "av", "numpy", "PySide6")

PROBE = """
import json, sys
import castapp.app.host, castapp.embedded, castapp.session.receiver, castapp.app.media
print(json.dumps(sorted(sys.modules)))
"""


def test_the_session_and_the_service_import_no_media() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    modules = set(json.loads(done.stdout.splitlines()[-1]))
    assert "castapp.session.receiver" in modules  # the probe imported what it should
    heavy = sorted(m for m in modules if m.split(".")[0] in MEDIA or m.startswith("castapp.rtc."))
    assert heavy == []


def _local_imports(path: Path) -> set[str]:
    """Modules imported inside functions of ``path``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.ImportFrom) and inner.module:
                    found.add(inner.module)
    return found


def test_the_loader_names_what_answering_a_call_imports() -> None:
    wanted = {m for m in _local_imports(ROOT / "castapp" / "session" / "receive_link.py")
              if m.startswith("castapp.rtc") or m.split(".")[0] == "aiortc"}
    assert wanted  # the link builder does import them there
    missing = {m for m in wanted
               if not any(m == n or m.startswith(n + ".") for n in RECEIVER_MEDIA)}
    assert missing == set()


async def test_links_wait_for_the_import() -> None:
    order: list[str] = []
    loader = MediaLoader(more=("json",))

    async def inner(req: object) -> object:
        order.append("link")
        assert loader.loaded
        return req

    factory = loader.link_factory(inner)
    assert not loader.loaded
    assert await factory("request") == "request"  # type: ignore[arg-type]
    assert order == ["link"] and loader.loaded
    assert loader.start() is loader.start()  # one import, however often it is asked for


async def test_a_failed_import_fails_each_link_and_is_said(
        caplog: pytest.LogCaptureFixture) -> None:
    loader = MediaLoader(more=("castapp_no_such_module",))
    factory = loader.link_factory()
    with pytest.raises(ImportError):
        await factory("request")  # type: ignore[arg-type]
    with pytest.raises(ImportError):
        await factory("request")  # type: ignore[arg-type]
    await asyncio.sleep(0)
    assert "cannot be loaded" in caplog.text and "Traceback" not in caplog.text
    assert not loader.loaded


async def test_a_stopped_loader_is_not_loaded() -> None:
    loader = MediaLoader(more=("json",))
    loader.start()
    loader.stop()
    await asyncio.sleep(0)
    assert not loader.loaded
    loader.stop()  # again: nothing to stop
