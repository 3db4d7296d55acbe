"""castapp(1) comes from the argparse definitions: every option is in it and groff reads it
without a warning."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pkgbuild import ROOT

from castapp.cli import build_parser


def test_manual_page_has_every_option_and_renders_cleanly(tmp_path: Path) -> None:
    page = tmp_path / "castapp.1"
    done = subprocess.run([sys.executable, str(ROOT / "packaging" / "manpage.py"), str(page)],
                          capture_output=True, text=True, env={"SOURCE_DATE_EPOCH": "1764504000",
                                                               "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    text = page.read_text()
    assert text.startswith('.TH CASTAPP 1 "2025-11-30"')
    parsers = [build_parser()]
    for action in parsers[0]._actions:
        if hasattr(action, "choices") and isinstance(action.choices, dict):
            parsers += list(action.choices.values())
    for parser in parsers:
        for action in parser._actions:
            for option in action.option_strings:
                if option.startswith("--") and option != "--help":
                    assert option.replace("-", "\\-") in text, option
    groff = shutil.which("groff")
    if groff is None:
        pytest.fail("groff is missing (Debian package groff-base)")
    rendered = subprocess.run([groff, "-man", "-Tutf8", "-ww", "-z", str(page)],
                              capture_output=True, text=True)
    assert rendered.returncode == 0 and rendered.stderr == "", rendered.stderr
    assert re.search(r"^\.SH ENVIRONMENT$", text, re.M) and "CASTAPP_ROOM_KEY" in text
