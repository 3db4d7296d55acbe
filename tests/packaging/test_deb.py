"""The Debian package: its contents, and a real install, self-test and purge."""

from __future__ import annotations

import gzip
import os
import re
import struct
import subprocess
from pathlib import Path

import pytest
from pkgbuild import Build, headless_env

pytestmark = [pytest.mark.packaging, pytest.mark.timeout(900)]

APP_ID = "io.github.castapp"
ICON_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)


def _run(*cmd: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env=headless_env())


def _installed() -> bool:
    done = _run("dpkg-query", "-W", "-f=${db:Status-Status}", "castapp")
    return done.returncode == 0 and done.stdout.strip() not in ("", "not-installed")


def test_changelog_copyright_and_manual_page(build: Build, tmp_path: Path):
    assert _run("dpkg-deb", "-x", str(build.deb), str(tmp_path)).returncode == 0
    doc = tmp_path / "usr" / "share" / "doc" / "castapp"
    changelog = gzip.decompress((doc / "changelog.gz").read_bytes()).decode()
    assert changelog.startswith(f"castapp ({build.version}) ")
    copyright_ = (doc / "copyright").read_text()
    assert copyright_.startswith("Format: https://www.debian.org/doc/packaging-manuals/")
    for licence in ("MIT", "LGPL-3", "LGPL-2.1+", "BSD-3-clause"):
        assert f"\nLicense: {licence}\n" in copyright_, licence  # a stand-alone paragraph
    page = gzip.decompress((tmp_path / "usr/share/man/man1/castapp.1.gz").read_bytes()).decode()
    assert page.startswith(".TH CASTAPP 1") and "\\-\\-self\\-test" in page
    control = tmp_path / "control"
    assert _run("dpkg-deb", "-e", str(build.deb), str(control)).returncode == 0
    assert "purge" in (control / "postrm").read_text()


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", head[16:24])


def test_control_fields(build: Build):
    field = {f: _run("dpkg-deb", "-f", str(build.deb), f).stdout.strip()
             for f in ("Package", "Version", "Architecture", "Depends", "Installed-Size",
                       "Recommends")}
    assert field["Package"] == "castapp"
    assert field["Version"] == build.version
    assert field["Architecture"] == _run("dpkg", "--print-architecture").stdout.strip()
    depends = {d.strip().split(" ")[0] for d in field["Depends"].split(",")}
    for package in ("libc6", "libegl1", "libgl1", "libfontconfig1", "libxkbcommon-x11-0",
                    "libxcb-cursor0", "libxcb-icccm4", "libxcb-keysyms1", "libpulse0",
                    "libdbus-1-3"):
        assert package in depends, package
    assert int(field["Installed-Size"]) > 100_000  # KiB
    assert "fonts-noto-cjk" in field["Recommends"]  # the Chinese interface needs CJK glyphs
    # the GTK stack is not bundled, so nothing drags GTK or Wayland into Depends
    assert not [d for d in depends if re.match(r"lib(gtk|gdk|wayland|atk|cairo|pango)", d)]


def test_contents(build: Build):
    listing = _run("dpkg-deb", "-c", str(build.deb)).stdout
    assert "./usr/bin/castapp -> /opt/castapp/castapp" in listing
    for path in ("./opt/castapp/castapp", f"./usr/share/applications/{APP_ID}.desktop",
                 f"./usr/share/metainfo/{APP_ID}.metainfo.xml",
                 f"./usr/share/icons/hicolor/scalable/apps/{APP_ID}.svg",
                 "./usr/share/doc/castapp/copyright", "./usr/share/doc/castapp/changelog.gz",
                 "./usr/share/man/man1/castapp.1.gz"):
        assert f" {path}" in listing, path
    for n in ICON_SIZES:
        assert f" ./usr/share/icons/hicolor/{n}x{n}/apps/{APP_ID}.png" in listing, n
    assert " root/root " in listing and "fakeroot" not in listing


@pytest.mark.skipif(os.geteuid() != 0, reason="installing a Debian package needs root")
def test_install_self_test_and_purge(build: Build):
    if _installed():
        assert _run("dpkg", "--purge", "castapp").returncode == 0
    done = _run("dpkg", "-i", str(build.deb), timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    try:
        files = [Path(p) for p in _run("dpkg", "-L", "castapp").stdout.split()]
        assert Path("/opt/castapp/castapp") in files and len(files) > 100

        desktop = Path(f"/usr/share/applications/{APP_ID}.desktop")
        check = _run("desktop-file-validate", str(desktop))
        assert check.returncode == 0 and "error" not in check.stdout.lower(), check.stdout
        metainfo = Path(f"/usr/share/metainfo/{APP_ID}.metainfo.xml")
        check = _run("appstreamcli", "validate", "--no-net", str(metainfo))
        assert check.returncode == 0, check.stdout + check.stderr
        for n in ICON_SIZES:
            png = Path(f"/usr/share/icons/hicolor/{n}x{n}/apps/{APP_ID}.png")
            assert _png_size(png) == (n, n)

        assert Path("/usr/bin/castapp").resolve() == Path("/opt/castapp/castapp")
        version = _run("/usr/bin/castapp", "--version")
        assert version.stdout.strip() == f"castapp {build.version}", version.stderr
        selftest = _run("/usr/bin/castapp", "--self-test", timeout=60)
        assert selftest.returncode == 0, selftest.stdout + selftest.stderr
        assert "self-test passed" in selftest.stdout

        assert _run("dpkg", "-r", "castapp").returncode == 0
        assert not Path("/usr/bin/castapp").exists()
    finally:
        purge = _run("dpkg", "--purge", "castapp")
    assert purge.returncode == 0, purge.stderr
    assert not _installed()
    left = [p for p in files if p.exists() and not p.is_dir()]
    assert not left, left[:10]
    assert not Path("/opt/castapp").exists()
    assert not desktop.exists() and not metainfo.exists()
