"""lintian's errors on the Debian package are exactly the ones packaging/README.md lists as
what an /opt bundle cannot avoid; a new error, or a listed one that went away, fails."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from pkgbuild import ROOT, Build

pytestmark = [pytest.mark.packaging, pytest.mark.timeout(1800)]


def documented_errors() -> set[str]:
    text = (ROOT / "packaging" / "README.md").read_text()
    block = re.search(r"<!-- lintian-errors -->(.*?)<!-- /lintian-errors -->", text, re.S)
    assert block, "packaging/README.md has no lintian-errors table"
    return set(re.findall(r"^\| `([a-z0-9-]+)` \|", block.group(1), re.M))


def test_lintian_errors_are_the_documented_ones(build: Build):
    lintian = shutil.which("lintian")
    if lintian is None:
        pytest.fail("lintian is missing: run scripts/setup.sh as root (Debian package lintian)")
    done = subprocess.run([lintian, "--no-tag-display-limit", str(build.deb)],
                          capture_output=True, text=True, timeout=1700)
    errors = set(re.findall(r"^E: castapp: (\S+)", done.stdout, re.M))
    assert errors, done.stdout + done.stderr  # lintian ran and found the /opt layout at least
    assert errors == documented_errors(), (
        f"new: {sorted(errors - documented_errors())}, "
        f"gone: {sorted(documented_errors() - errors)}\n{done.stdout[-5000:]}")
