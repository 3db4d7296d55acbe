"""Build castapp for Linux: the frozen app, a portable tarball and a Debian package.

    python packaging/build_linux.py [--out build/package] [--skip-freeze] [--compress gzip]

Run it with the Python that has castapp, its dependencies and PyInstaller installed. Writes

- ``OUT/dist/castapp/``: the frozen app (``castapp`` plus ``_internal/``),
- ``OUT/castapp-VERSION-linux-ARCH.tar.gz``: that folder as ``castapp-VERSION/``,
- ``OUT/castapp_VERSION_DEBARCH.deb``: installs to /opt/castapp with /usr/bin/castapp,

and prints the paths as JSON. Needs dpkg-deb, fakeroot and objdump (binutils).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import slim
from icons import hicolor

ROOT = Path(__file__).resolve().parent.parent
APP_ID = "io.github.castapp"
PACKAGE = "castapp"
MAINTAINER = "The castapp developers <castapp@users.noreply.github.com>"
HOMEPAGE = "https://github.com/castapp/castapp"
# Needed at run time although no bundled library names them: Qt opens the system's OpenGL
# and EGL, the fontconfig setup, the X11 keyboard and cursor helpers, PulseAudio and D-Bus.
RUNTIME_DEPENDS = (
    "libegl1", "libgl1", "libfontconfig1", "libxkbcommon-x11-0", "libxcb-cursor0",
    "libxcb-icccm4", "libxcb-keysyms1", "libpulse0", "libdbus-1-3",
)
# The Chinese interface needs a font with CJK glyphs; without one its text shows as boxes.
RECOMMENDS = ("fonts-noto-cjk | fonts-wqy-microhei | fonts-wqy-zenhei",)
DEBIAN = ROOT / "packaging" / "debian"


def version() -> str:
    text = (ROOT / "pyproject.toml").read_text()
    found = re.search(r'^version\s*=\s*"([^"]+)"', text, re.MULTILINE)
    if found is None:
        raise SystemExit("no version in pyproject.toml")
    return found.group(1)


def freeze(out: Path) -> Path:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p))
    subprocess.run(
        [sys.executable, "-m", "PyInstaller", str(ROOT / "packaging" / "castapp.spec"),
         "--noconfirm", "--log-level", "WARN",
         "--distpath", str(out / "dist"), "--workpath", str(out / "work")],
        check=True, env=env, cwd=ROOT,
    )
    return out / "dist" / PACKAGE


def tarball(app: Path, out: Path, ver: str) -> Path:
    path = out / f"{PACKAGE}-{ver}-linux-{platform.machine()}.tar.gz"
    with tarfile.open(path, "w:gz", compresslevel=6) as tar:
        tar.add(app, arcname=f"{PACKAGE}-{ver}")
    return path


def _executable(path: Path) -> bool:
    """Programs keep their execute bit; shared libraries and data do not need one."""
    if not os.access(path, os.X_OK):
        return False
    return not re.search(r"\.so(\.[0-9.]+)?$", path.name)


def _is_elf(path: Path) -> bool:
    if not path.is_file() or path.is_symlink():
        return False
    with path.open("rb") as f:
        return f.read(4) == b"\x7fELF"


def _needed(path: Path) -> list[str]:
    dump = subprocess.run(["objdump", "-p", str(path)], capture_output=True, text=True,
                          check=True).stdout
    return re.findall(r"^\s*NEEDED\s+(\S+)", dump, re.MULTILINE)


def _system_library_paths() -> dict[str, str]:
    listing = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True,
                             check=True).stdout
    arch = "x86-64" if platform.machine() == "x86_64" else platform.machine()
    found: dict[str, str] = {}
    for line in listing.splitlines()[1:]:
        m = re.match(r"\s*(\S+) \((.*)\) => (\S+)", line)
        if m and (arch in m.group(2) or "x86" not in m.group(2)):
            found.setdefault(m.group(1), m.group(3))
    return found


def _owner(path: str) -> str | None:
    real = os.path.realpath(path)
    candidates = {path, real}
    for p in list(candidates):  # merged /usr: dpkg may know either spelling
        candidates.add(p.removeprefix("/usr") if p.startswith("/usr/lib") else "/usr" + p)
    for p in sorted(candidates):
        r = subprocess.run(["dpkg", "-S", p], capture_output=True, text=True)
        if r.returncode == 0:
            return r.stdout.split(":")[0].strip()
    return None


def depends(app: Path) -> list[str]:
    """Debian packages providing the libraries the frozen app links but does not bundle."""
    bundled = {p.name for p in app.rglob("*")}
    wanted: dict[str, Path] = {}
    for path in app.rglob("*"):
        if _is_elf(path):
            for soname in _needed(path):
                if soname not in bundled:
                    wanted.setdefault(soname, path)
    system = _system_library_paths()
    packages = set(RUNTIME_DEPENDS)
    missing = []
    for soname, user in sorted(wanted.items()):
        owner = _owner(system[soname]) if soname in system else None
        if owner is None:
            missing.append(f"{soname} (needed by {user.relative_to(app)})")
        else:
            packages.add(owner)
    if missing:
        raise SystemExit("libraries not found on this system:\n  " + "\n  ".join(missing))
    return sorted(packages)


def _deb_arch() -> str:
    return subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True,
                          check=True).stdout.strip()


def _check_release_listed(ver: str) -> Path:
    metainfo = ROOT / "resources" / f"{APP_ID}.metainfo.xml"
    if f'<release version="{ver}"' not in metainfo.read_text():
        raise SystemExit(f"{metainfo.name} has no <release> for version {ver}")
    return metainfo


def _gzip(src: Path, dest: Path) -> None:
    """gzip -9n: no name or time stamp in the header, so the package is reproducible."""
    with dest.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw,
                                               compresslevel=9, mtime=0) as gz:
        gz.write(src.read_bytes())


def _changelog_epoch() -> int:
    """The time of the newest changelog entry (SOURCE_DATE_EPOCH for generated files)."""
    from email.utils import parsedate_to_datetime

    text = (DEBIAN / "changelog").read_text()
    found = re.search(r"^ -- .+?>  (.+)$", text, re.M)
    if found is None:
        raise SystemExit("packaging/debian/changelog has no trailer line")
    return int(parsedate_to_datetime(found.group(1)).timestamp())


def _check_changelog(ver: str) -> None:
    first = (DEBIAN / "changelog").read_text().splitlines()[0]
    if not first.startswith(f"{PACKAGE} ({ver})"):
        raise SystemExit(f"packaging/debian/changelog does not start with version {ver}")


def deb(app: Path, out: Path, ver: str, compress: str = "gzip", level: int | None = None) -> Path:
    arch = _deb_arch()
    _check_changelog(ver)
    stage = out / "deb" / f"{PACKAGE}_{ver}_{arch}"
    if stage.exists():
        shutil.rmtree(stage)
    opt = stage / "opt" / PACKAGE
    shutil.copytree(app, opt, symlinks=True)
    share = stage / "usr" / "share"
    (stage / "usr" / "bin").mkdir(parents=True)
    (stage / "usr" / "bin" / PACKAGE).symlink_to(f"/opt/{PACKAGE}/{PACKAGE}")
    (share / "applications").mkdir(parents=True)
    shutil.copy(ROOT / "resources" / f"{APP_ID}.desktop", share / "applications")
    (share / "metainfo").mkdir()
    shutil.copy(_check_release_listed(ver), share / "metainfo")
    hicolor(ROOT / "resources" / "castapp.svg", share, APP_ID)
    doc = share / "doc" / PACKAGE
    doc.mkdir(parents=True)
    shutil.copy(DEBIAN / "copyright", doc / "copyright")
    _gzip(DEBIAN / "changelog", doc / "changelog.gz")
    man = share / "man" / "man1"
    man.mkdir(parents=True)
    page = out / "castapp.1"
    subprocess.run([sys.executable, str(ROOT / "packaging" / "manpage.py"), str(page)],
                   check=True, stdout=subprocess.DEVNULL,
                   env=dict(os.environ, SOURCE_DATE_EPOCH=str(_changelog_epoch())))
    _gzip(page, man / "castapp.1.gz")
    for path in stage.rglob("*"):
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() or _executable(path) else 0o644)
    size_kb = sum(p.lstat().st_size for p in stage.rglob("*")) // 1024
    control = stage / "DEBIAN" / "control"
    control.parent.mkdir()
    shutil.copy(DEBIAN / "postrm", control.parent / "postrm")
    (control.parent / "postrm").chmod(0o755)
    control.write_text(
        f"Package: {PACKAGE}\nVersion: {ver}\nArchitecture: {arch}\n"
        f"Maintainer: {MAINTAINER}\nInstalled-Size: {size_kb}\n"
        f"Depends: {', '.join(depends(opt))}\n"
        f"Recommends: {', '.join(RECOMMENDS)}\n"
        f"Section: video\nPriority: optional\nHomepage: {HOMEPAGE}\n"
        "Description: cast a laptop's screen to a TV by typing a short code\n"
        " The receiver, on the machine connected to the TV, shows a short cast code;\n"
        " the sender types it and its screen appears on the TV over WebRTC. A room\n"
        " service that pairs them is built in. castapp --self-test checks an\n"
        " installation without using the network.\n"
    )
    path = out / f"{PACKAGE}_{ver}_{arch}.deb"
    subprocess.run(["fakeroot", "dpkg-deb", "--root-owner-group", f"-Z{compress}",
                    *([f"-z{level}"] if level is not None else []), "--build",
                    str(stage), str(path)], check=True, stdout=subprocess.DEVNULL)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "package")
    parser.add_argument("--skip-freeze", action="store_true",
                        help="package the frozen app already in OUT/dist")
    parser.add_argument("--compress", default="gzip", choices=["gzip", "xz", "zstd", "none"],
                        help="compression of the .deb (default %(default)s)")
    parser.add_argument("--level", type=int, choices=range(10), metavar="0-9",
                        help="compression level of the .deb (default: dpkg-deb's)")
    args = parser.parse_args()
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    ver = version()
    app = out / "dist" / PACKAGE if args.skip_freeze else freeze(out)
    if not (app / PACKAGE).is_file():
        raise SystemExit(f"no frozen app in {app}")
    for step, saved in (("stubbing unreachable libraries", slim.stub_unreachable(app)),
                        ("trimming ICU's data", slim.trim_icu(app)),
                        ("stripping", slim.strip_all(app, PACKAGE))):
        print(f"build_linux: {step} saved {saved / 1e6:.1f} MB", file=sys.stderr)
    result = {
        "version": ver,
        "app": str(app),
        "tarball": str(tarball(app, out, ver)),
        "deb": str(deb(app, out, ver, args.compress, args.level)),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
