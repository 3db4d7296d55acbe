"""Size and start-up time of the frozen app, as JSON.

    python benchmarks/frozen.py [--app build/package/dist/castapp] [--reference OTHER] [--runs 5]

Build it first (``make package``). Reports the folder's size and file count, the packages
beside it (``.deb``, tarball) when present, what the folder carries (OpenCV, GTK, FFmpeg
copies), and three start-up times:

- ``version_s``: median wall time of ``castapp --version`` (offscreen);
- ``window_cold_s``: ``castapp receive`` until its window is mapped on a fresh Xvfb screen,
  on the first start with empty settings and state (no file of castapp's in the page cache is
  evicted: that would slow everyone else on the machine);
- ``window_s``: the same, median of the following starts;

and ``self_test_s``, a whole ``castapp --self-test`` (which casts for about three seconds).
``python_pass_s`` is ``python -c pass`` measured alternately with them, and
``version_over_python_pass`` and ``window_over_python_pass`` relate the start-up times to
that floor, so that runs on differently loaded machines can be compared.

``--reference OTHER`` measures a second frozen folder (for example the previous release) in the
same run, alternating with the first, and adds ``ratio`` (app / reference) for each figure.
``--source`` also measures ``python -m castapp`` from this checkout in the same run (under
``source``: the same start-up figures and their ratios to ``python -c pass``);
``--source-only`` measures the checkout alone, without a frozen build (with
``--source-reference``, against another source tree).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def size_mb(path: Path) -> float:
    if path.is_file():
        return round(path.stat().st_size / 1e6, 1)
    return round(sum(p.lstat().st_size for p in path.rglob("*")) / 1e6, 1)


def contents(app: Path) -> dict[str, object]:
    # real files only: PyInstaller links top-level copies of libraries to their wheel folders
    names = [p.relative_to(app).as_posix() for p in app.rglob("*") if not p.is_symlink()]
    return {
        "cv2": any(re.search(r"(^|/)(cv2|opencv[^/]*)(/|$)", n) for n in names),
        "gtk": sorted({Path(n).name for n in names
                       if re.search(r"lib(gtk|gdk|atk|cairo|pango)[-_.]", Path(n).name)}),
        "libavcodec_copies": sum(1 for n in names if re.search(r"libavcodec[-.]", Path(n).name)),
        "qt_modules": sorted(Path(n).name.split(".")[0] for n in names
                             if re.fullmatch(r".*/PySide6/Qt\w+\.abi3\.so", n)),
    }


@dataclass(frozen=True)
class Target:
    """How to start one castapp: a frozen folder's program, or ``python -m castapp`` with
    a source tree on PYTHONPATH."""

    argv: tuple[str, ...]
    pythonpath: str | None = None

    @classmethod
    def of(cls, path: Path) -> Target:
        if (path / "castapp" / "__init__.py").is_file():  # a source tree
            return cls((sys.executable, "-m", "castapp"), str(path))
        return cls((str(path / ("castapp.exe" if sys.platform == "win32" else "castapp")),))


def headless_env(target: Target | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "PYTHONPATH")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    if target is not None and target.pythonpath:
        env["PYTHONPATH"] = target.pythonpath
    return env


def wall_time(cmd: list[str], target: Target | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=headless_env(target), timeout=120,
                   cwd=target.pythonpath if target else None)
    return time.perf_counter() - started


def _mapped_window(env: dict[str, str]) -> bool:
    """A window of class castapp, larger than Qt's 1x1 helper windows, is viewable."""
    tree = subprocess.run(["xwininfo", "-root", "-children"], capture_output=True, text=True,
                          env=env, timeout=10).stdout
    for wid in re.findall(r'^\s+(0x[0-9a-f]+) .*\("[^"]*" "castapp"\)\s+(?!1x1)\d+x\d+',
                          tree, re.M):
        info = subprocess.run(["xwininfo", "-id", wid], capture_output=True, text=True,
                              env=env, timeout=10).stdout
        if "IsViewable" in info:
            return True
    return False


def window_time(target: Target) -> float:
    """Seconds from starting ``castapp receive`` until a window of it is mapped."""
    from xvfb import xvfb

    with xvfb(1366, 768) as display, tempfile.TemporaryDirectory() as tmp:
        env = {**headless_env(target), "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
        started = time.perf_counter()
        proc = subprocess.Popen(
            [*target.argv, "receive", "--listen", "127.0.0.1:0", "--no-advertise",
             "--state-dir", f"{tmp}/state", "--config-dir", f"{tmp}/config"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            cwd=target.pythonpath)  # python -m puts the working directory first on sys.path
        try:
            while True:
                if _mapped_window(env):
                    return time.perf_counter() - started
                if proc.poll() is not None or time.perf_counter() - started > 60:
                    raise RuntimeError("the receiver window did not appear")
                time.sleep(0.01)
        finally:
            proc.terminate()
            proc.wait(20)


def packages(app: Path) -> dict[str, float]:
    out = {}
    for pattern, key in (("castapp_*.deb", "deb_mb"), ("castapp-*-linux-*.tar.gz", "tarball_mb")):
        found = sorted(app.parent.parent.glob(pattern))
        if found:
            out[key] = size_mb(found[-1])
    return out


def measure(apps: list[Path], runs: int) -> list[dict[str, object]]:
    """Start-up figures of each frozen folder or source tree (one with a ``castapp``
    package folder), alternating."""
    cmds = [Target.of(app) for app in apps]
    times: list[dict[str, list[float]]] = [{} for _ in apps]
    for i, cmd in enumerate(cmds):  # first starts: nothing of this build ran before
        times[i]["window_cold_s"] = [window_time(cmd)]
    python_pass: list[float] = []
    for _ in range(runs):  # alternate, so all see the same load
        python_pass.append(wall_time([sys.executable, "-c", "pass"]))
        for i, cmd in enumerate(cmds):
            times[i].setdefault("version_s", []).append(
                wall_time([*cmd.argv, "--version"], cmd))
            times[i].setdefault("window_s", []).append(window_time(cmd))
    for i, cmd in enumerate(cmds):
        times[i]["self_test_s"] = [wall_time([*cmd.argv, "--self-test"], cmd)]
    results = []
    for app, t in zip(apps, times, strict=True):
        frozen = Target.of(app).pythonpath is None
        result: dict[str, object] = (
            {"app": str(app), "size_mb": size_mb(app), "files": sum(1 for _ in app.rglob("*")),
             **packages(app)} if frozen else {"app": f"python -m castapp ({app})"})
        result.update({k: round(statistics.median(v), 3) for k, v in t.items()})
        # the floor any Python program pays on this machine now, measured alongside
        result["python_pass_s"] = round(statistics.median(python_pass), 3)
        for key in ("version_s", "window_s"):
            result[f"{key.removesuffix('_s')}_over_python_pass"] = round(
                statistics.median(t[key]) / statistics.median(python_pass), 2)
        result["spread"] = {k: [round(min(v), 3), round(max(v), 3)]
                            for k, v in t.items() if len(v) > 1}
        if frozen:
            result.update(contents(app))
        results.append(result)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", type=Path, default=ROOT / "build" / "package" / "dist" / "castapp")
    parser.add_argument("--reference", type=Path, help="another frozen folder to compare with")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--source-only", action="store_true",
                        help="measure python -m castapp from this checkout, no frozen app")
    parser.add_argument("--source", action="store_true",
                        help="also measure python -m castapp from this checkout")
    parser.add_argument("--source-reference", type=Path, metavar="TREE",
                        help="and from another source tree (for example `git archive` of the "
                        "previous release), with ratios")
    args = parser.parse_args()
    apps: list[Path] = [] if args.source_only else \
        [args.app] + ([args.reference] if args.reference else [])
    args.source = args.source or args.source_only
    for app in apps:
        if not (app / "castapp").is_file() and not (app / "castapp.exe").is_file():
            print(f"no frozen app at {app}: run `make package` first", file=sys.stderr)
            return 2
    trees = ([ROOT] if args.source or args.source_reference else []) + (
        [args.source_reference] if args.source_reference else [])
    results = measure([*apps, *trees], args.runs)
    if not apps:
        results.insert(0, {})  # the source figures go under "source", as with a frozen app
    out = results[0]
    if trees:
        src = results[len(apps) + (not apps)]
        out["source"] = src
        if args.source_reference:
            ref_src = results[len(apps) + (not apps) + 1]
            src["reference"] = ref_src
            src["ratio"] = {k: round(float(src[k]) / float(ref_src[k]), 3)  # type: ignore[arg-type]
                            for k in ("version_s", "window_cold_s", "window_s", "self_test_s")
                            if ref_src.get(k)}
    if args.reference:
        ref = results[1]
        out["reference"] = ref
        out["ratio"] = {k: round(float(out[k]) / float(ref[k]), 3)  # type: ignore[arg-type]
                        for k in ("size_mb", "deb_mb", "version_s", "window_cold_s", "window_s",
                                  "self_test_s") if k in out and k in ref and ref[k]}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
