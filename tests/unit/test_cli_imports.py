"""``castapp --version`` and ``--help`` start quickly: they import none of the heavy parts.

Each runs in a fresh interpreter, which then reports what it had imported; the media stack
(aiortc, PyAV, NumPy), Qt and the room service take most of castapp's start-up time.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("aiortc", "av", "numpy", "PySide6", "shiboken6", "aiohttp", "castapp.signaling",
         "castapp.rtc", "castapp.session.receiver", "castapp.gui", "cryptography", "asyncio",
         "importlib.metadata")

PROBE = """
import json, sys
from castapp.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


def imported_by(*argv: str) -> tuple[set[str], str]:
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    *printed, modules = done.stdout.strip().splitlines()
    return set(json.loads(modules)), "\n".join(printed)


@pytest.mark.parametrize("argv", [["--version"], ["--log-level", "INFO", "--version"],
                                  ["--help"], ["receive", "--help"],
                                  ["send", "--help"], ["serve", "--help"]])
def test_version_and_help_import_nothing_heavy(argv: list[str]) -> None:
    modules, printed = imported_by(*argv)
    assert printed.startswith(("castapp ", "usage: castapp"))
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY or m in HEAVY
                   or any(m.startswith(h + ".") for h in HEAVY))
    assert heavy == []


def test_version_says_the_same_with_and_without_the_parser() -> None:
    # alone it is answered before the parser is built; with other options the parser does it
    _, alone = imported_by("--version")
    _, parsed = imported_by("--log-level", "INFO", "--version")
    assert alone == parsed and alone.startswith("castapp ")


def test_the_probe_sees_imports() -> None:
    # the same probe on a command that does import the service finds it
    modules, _ = imported_by("serve", "--code-length", "2")
    assert "castapp.signaling.server" in modules


def test_serve_runs_on_uvloop_only_when_asked(monkeypatch) -> None:
    import asyncio

    from castapp.cli import serve_loop_runner

    uvloop = pytest.importorskip("uvloop")
    monkeypatch.delenv("CASTAPP_SERVE_LOOP", raising=False)
    assert serve_loop_runner() is asyncio.run
    monkeypatch.setenv("CASTAPP_SERVE_LOOP", "uvloop")
    assert serve_loop_runner() is uvloop.run


@pytest.mark.parametrize("folder", ["castapp-9.8.7.dist-info", "castapp_server-9.8.7.dist-info"])
def test_the_version_comes_from_the_dist_info_folder_name(tmp_path, folder: str) -> None:
    # either distribution's folder, first on sys.path as importlib.metadata would see it
    (tmp_path / folder).mkdir()
    import os

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    done = subprocess.run(
        [sys.executable, "-c", PROBE, "--version"], capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), root])}, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "castapp 9.8.7"
