"""The core never imports Qt: it must run headless and be testable without PySide6."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import castapp

CORE = ("castapp.gui",)


def test_core_modules_import_without_qt():
    names = [
        m.name
        for m in pkgutil.walk_packages(castapp.__path__, "castapp.")
        if not m.name.startswith(CORE)
    ]
    code = (
        "import importlib, sys\n"
        f"for n in {names!r}: importlib.import_module(n)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'qasync')]\n"
        "assert not bad, bad\n"
        "print(len(sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert len(names) >= 10
