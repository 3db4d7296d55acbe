"""Build the frozen app, tarball and Debian package once per test session."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pkgbuild import ROOT, Build


@pytest.fixture(scope="session")
def build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    for tool in ("dpkg-deb", "fakeroot", "objdump"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing (scripts/setup.sh installs it)")
    out = tmp_path_factory.mktemp("package")
    done = subprocess.run(
        [sys.executable, str(ROOT / "packaging" / "build_linux.py"), "--out", str(out),
         # xz as Debian's tools expect it (lintian rejects zstd members), at a fast level
         "--compress", "xz", "--level", "1"],
        capture_output=True, text=True, timeout=900, cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    made = json.loads(done.stdout.strip().splitlines()[-1])
    return Build(made["version"], Path(made["app"]), Path(made["tarball"]), Path(made["deb"]))
