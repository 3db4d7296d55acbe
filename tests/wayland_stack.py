"""A private Wayland desktop for tests: sway (headless), PipeWire, WirePlumber and
xdg-desktop-portal on a private D-Bus session bus, with known content on screen.

Everything comes from Debian packages that scripts/setup.sh installs. sway refuses to run
as root, so when the tests run as root (CI) sway alone runs as ``nobody`` in a runtime
directory it owns; the other daemons run as the test user and reach sway's socket there.
The bus is private (its own dbus-daemon with a config that lets both users in); nothing
touches the machine's own session, and every process is stopped at the end.

The ScreenCast backend is :mod:`portal_backend` (see there for why
xdg-desktop-portal-wlr cannot be used without a GPU).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

HERE = Path(__file__).parent
SETUP_HINT = ("run scripts/setup.sh, which installs sway, pipewire, wireplumber, "
              "xdg-desktop-portal, gstreamer1.0-pipewire and grim")

DBUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={dir}</listen>
  <auth>EXTERNAL</auth>
  <allow_anonymous/>
  <standard_session_servicedirs/>
  <policy context="default">
    <allow user="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""

CONTENT_APP = """
import sys
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QApplication, QWidget
COLOURS = [QColor(255, 0, 0), QColor(0, 255, 0), QColor(0, 0, 255), QColor(255, 255, 255)]
class Bars(QWidget):
    def paintEvent(self, event):
        p = QPainter(self)
        w = self.width() // 4
        for i, c in enumerate(COLOURS):
            p.fillRect(i * w, 0, w if i < 3 else self.width() - 3 * w, self.height(), c)
app = QApplication(sys.argv)
bars = Bars()
bars.setWindowTitle("castapp known content")
bars.showFullScreen()
app.exec()
"""

TOOLS = ("sway", "pipewire", "wireplumber", "dbus-daemon", "gst-launch-1.0", "grim",
         "pw-dump")
PORTAL = "/usr/libexec/xdg-desktop-portal"


@dataclass
class WaylandDesktop:
    env: dict[str, str]
    root: Path
    output: str = "HEADLESS-1"
    size: tuple[int, int] = (1280, 720)
    backend_lines: list[dict[str, object]] = field(default_factory=list)
    _backend: subprocess.Popen[str] | None = None

    def backend_events(self) -> list[dict[str, object]]:
        """Lines the portal backend printed so far (``{"dialog": N}`` ...)."""
        assert self._backend is not None and self._backend.stdout is not None
        os.set_blocking(self._backend.stdout.fileno(), False)
        while True:
            line = self._backend.stdout.readline()
            if not line:
                break
            self.backend_lines.append(json.loads(line))
        return list(self.backend_lines)

    def screenshot(self, path: Path) -> Path:
        subprocess.run([shutil.which("grim") or "grim", "-o", self.output, str(path)],
                       env=self.env, check=True, timeout=20)
        return path


def require_stack() -> None:
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if not os.path.exists(PORTAL):
        missing.append("xdg-desktop-portal")
    if missing:
        pytest.fail(f"missing {', '.join(missing)}: {SETUP_HINT}", pytrace=False)


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not come up within {timeout:.0f} s", pytrace=False)
        time.sleep(0.1)


@contextmanager
def wayland_desktop(width: int = 1280, height: int = 720) -> Iterator[WaylandDesktop]:
    require_stack()
    root = Path(tempfile.mkdtemp(prefix="castapp-wayland-"))
    procs: list[subprocess.Popen[bytes] | subprocess.Popen[str]] = []
    as_root = os.geteuid() == 0
    try:
        root.chmod(0o755)
        runtime = root / "run"
        runtime.mkdir(mode=0o700)
        (root / "bus").mkdir(mode=0o777)
        (root / "bus").chmod(0o777)
        config = root / "config"
        (config / "sway").mkdir(parents=True)
        (config / "sway" / "config").write_text(
            f"output HEADLESS-1 resolution {width}x{height} position 0,0\n"
            "default_border none\n")
        for p in (config, config / "sway", config / "sway" / "config"):
            p.chmod(0o755 if p.is_dir() else 0o644)
        portals = root / "portals"
        portals.mkdir()
        (portals / "castapptest.portal").write_text(
            "[portal]\nDBusName=org.freedesktop.impl.portal.desktop.castapptest\n"
            "Interfaces=org.freedesktop.impl.portal.ScreenCast;\nUseIn=sway\n")
        if as_root:
            os.chown(runtime, 65534, 65534)
        (root / "dbus.conf").write_text(DBUS_CONFIG.format(dir=root / "bus"))

        base = {k: v for k, v in os.environ.items()
                if k not in ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS")}
        base.update(XDG_RUNTIME_DIR=str(runtime), XDG_CONFIG_HOME=str(config),
                    XDG_CURRENT_DESKTOP="sway", XDG_SESSION_TYPE="wayland",
                    HOME=str(root), XDG_DESKTOP_PORTAL_DIR=str(portals))

        bus = subprocess.Popen(["dbus-daemon", f"--config-file={root / 'dbus.conf'}",
                                "--nofork", "--print-address=1"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=base)
        procs.append(bus)
        assert bus.stdout is not None
        address = bus.stdout.readline().decode().strip()
        if not address:
            pytest.fail("the private D-Bus daemon did not start", pytrace=False)
        env = dict(base, DBUS_SESSION_BUS_ADDRESS=address)

        sway_cmd = ["sway", "-c", str(config / "sway" / "config")]
        if as_root:
            sway_cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        *sway_cmd]
        sway_env = dict(env, WLR_BACKENDS="headless", WLR_RENDERER="pixman",
                        WLR_LIBINPUT_NO_DEVICES="1")
        procs.append(subprocess.Popen(sway_cmd, env=sway_env, stdout=subprocess.DEVNULL,
                                      stderr=(root / "sway.log").open("wb")))
        _wait_for(lambda: any(p.name.startswith("wayland-") and not p.name.endswith(".lock")
                              for p in runtime.iterdir()), 20, "sway")
        socket = next(p.name for p in runtime.iterdir()
                      if p.name.startswith("wayland-") and not p.name.endswith(".lock"))
        env["WAYLAND_DISPLAY"] = socket

        def daemon(cmd: list[str], name: str, **extra: str) -> None:
            procs.append(subprocess.Popen(cmd, env=dict(env, **extra),
                                          stdout=subprocess.DEVNULL,
                                          stderr=(root / f"{name}.log").open("wb")))

        daemon(["pipewire"], "pipewire")
        _wait_for(lambda: (runtime / "pipewire-0").exists(), 20, "PipeWire")
        daemon(["wireplumber"], "wireplumber")
        backend = subprocess.Popen([sys.executable, str(HERE / "portal_backend.py"), "HEADLESS-1"],
                                   env=env, stdout=subprocess.PIPE, text=True,
                                   stderr=(root / "backend.log").open("wb"))
        procs.append(backend)
        assert backend.stdout is not None
        if json.loads(backend.stdout.readline() or "{}").get("ready") is not True:
            pytest.fail("the test ScreenCast backend did not start", pytrace=False)
        daemon([PORTAL, "-r", "-v"], "portal")
        daemon([sys.executable, "-c", CONTENT_APP], "content", QT_QPA_PLATFORM="wayland")
        desktop = WaylandDesktop(env=env, root=root, size=(width, height), _backend=backend)

        def content_shown() -> bool:
            shot = root / "probe.png"
            try:
                desktop.screenshot(shot)
            except subprocess.CalledProcessError:
                return False
            return _png_pixel(shot, 10, 10) == (255, 0, 0)

        _wait_for(content_shown, 30, "the known content on the Wayland screen")
        _wait_for(lambda: _portal_ready(env), 20, "xdg-desktop-portal")
        yield desktop
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
        shutil.rmtree(root, ignore_errors=True)


def _portal_ready(env: dict[str, str]) -> bool:
    out = subprocess.run(
        ["dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus",
         "/org/freedesktop/DBus", "org.freedesktop.DBus.NameHasOwner",
         "string:org.freedesktop.portal.Desktop"],
        env=env, capture_output=True, text=True, timeout=10)
    return "boolean true" in out.stdout


def _png_pixel(path: Path, x: int, y: int) -> tuple[int, int, int]:
    import av

    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
    rgb = frame.to_ndarray(format="rgb24")
    return tuple(int(c) for c in rgb[y, x])  # type: ignore[return-value]
