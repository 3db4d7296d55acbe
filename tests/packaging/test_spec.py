"""What the freeze recipe asks PyInstaller for on each system. Windows and macOS builds cannot
run here, so the spec runs with PyInstaller's build steps recorded instead of executed (the
system boundary); the hosted workflow builds and runs the real thing."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pkgbuild import ROOT

SPEC = ROOT / "packaging" / "castapp.spec"


class Step:
    made: ClassVar[list[Step]] = []

    def __init__(self, *args: Any, **kw: Any) -> None:
        self.args, self.kw = args, kw
        self.kind = type(self).__name__
        Step.made.append(self)
        self.pure, self.scripts, self.binaries, self.datas = [], [], [], []


def run_spec(platform: str, monkeypatch: pytest.MonkeyPatch) -> list[Step]:
    import PyInstaller.utils.hooks as hooks

    monkeypatch.setattr(hooks, "collect_submodules", lambda name: [name])
    monkeypatch.setattr(hooks, "copy_metadata", lambda name: [])
    monkeypatch.setattr(sys, "platform", platform)
    Step.made = []
    kinds = {k: type(k, (Step,), {}) for k in ("Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE")}
    namespace = {"SPECPATH": str(SPEC.parent), "__file__": str(SPEC), **kinds}
    exec(compile(SPEC.read_text(), str(SPEC), "exec"), namespace)
    return Step.made


def _exes(steps: list[Step]) -> dict[str, dict[str, Any]]:
    return {s.kw["name"]: s.kw for s in steps if s.kind == "EXE"}


def test_windows_has_a_windowed_app_and_a_console_companion(monkeypatch) -> None:
    steps = run_spec("win32", monkeypatch)
    exes = _exes(steps)
    assert exes["castapp"]["console"] is False
    assert exes["castapp-cli"]["console"] is True
    coll = next(s for s in steps if s.kind == "COLLECT")
    assert sum(1 for a in coll.args if getattr(a, "kind", "") == "EXE") == 2  # one _internal
    assert not any(s.kind == "BUNDLE" for s in steps)


def test_macos_app_is_a_foreground_app_that_explains_screen_recording(monkeypatch) -> None:
    steps = run_spec("darwin", monkeypatch)
    assert list(_exes(steps)) == ["castapp"]
    assert _exes(steps)["castapp"]["console"] is False  # console=True means LSBackgroundOnly
    plist = next(s for s in steps if s.kind == "BUNDLE").kw["info_plist"]
    assert "LSBackgroundOnly" not in plist and "LSUIElement" not in plist
    assert "screen" in plist["NSScreenCaptureUsageDescription"]


def test_linux_is_one_console_program(monkeypatch) -> None:
    steps = run_spec("linux", monkeypatch)
    exe = _exes(steps)["castapp"]
    assert exe["console"] is True
    analysis = next(s for s in steps if s.kind == "Analysis")
    uses_cv2 = any("import cv2" in p.read_text() for p in (ROOT / "castapp").rglob("*.py"))
    assert ("cv2" in analysis.kw["excludes"]) is not uses_cv2
    assert "gi" in analysis.kw["excludes"]


def test_workflow_runs_the_console_build_and_current_runners() -> None:
    text = (ROOT / ".github" / "workflows" / "build.yml").read_text()
    assert "macos-13" not in text
    assert "castapp-cli.exe" in text and "--self-test" in text
    dmg = (ROOT / "packaging" / "macos" / "build_dmg.sh").read_text()
    assert "for attempt in" in dmg and "LSBackgroundOnly" in dmg
    assert Path(ROOT / "packaging" / "windows" / "build.ps1").read_text().count("castapp-cli") >= 2
