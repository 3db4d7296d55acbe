"""A private Wayland desktop for tests: sway (headless, pixman renderer), PipeWire,
WirePlumber, xdg-desktop-portal and xdg-desktop-portal-wlr on a private D-Bus session bus,
with known content on screen.

Everything comes from Debian packages that scripts/setup.sh installs. sway refuses to run
as root, so when the tests run as root (CI) sway alone runs as ``nobody`` in a runtime
directory it owns; the other daemons run as the test user and reach sway's socket there.
The bus is private (its own dbus-daemon with a config that lets both users in); nothing
touches the machine's own session, and every process is stopped at the end.

The ScreenCast backend is the real xdg-desktop-portal-wlr; it reaches sway through
:mod:`wayland_shm_proxy` (see there for the one event it adds so that xdpw 0.7.0 accepts a
compositor without DMA-BUF, i.e. without a GPU). Its output chooser, the "dialog" a user
would answer, is a script that picks the headless output and counts how often it ran.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).parent
SETUP_HINT = ("run scripts/setup.sh, which installs sway, pipewire, wireplumber, "
              "xdg-desktop-portal, xdg-desktop-portal-wlr, gstreamer1.0-pipewire and grim")

DBUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={dir}</listen>
  <auth>EXTERNAL</auth>
  <allow_anonymous/>
  <servicedir>{services}</servicedir>
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
from PySide6.QtCore import QTimer
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QApplication, QWidget
COLOURS = [QColor(255, 0, 0), QColor(0, 255, 0), QColor(0, 0, 255), QColor(255, 255, 255)]
class Bars(QWidget):
    ticks = 0
    shift = 0
    moving = False
    def tick(self):
        self.ticks += 1
        if self.moving:  # SIGUSR1 / SIGUSR2: the bars slide sideways, the whole screen moves
            self.shift = (self.shift + 24) % self.width()
            self.update()
        else:
            self.update(self.width() - 16, self.height() - 16, 16, 16)
    def paintEvent(self, event):
        p = QPainter(self)
        w = self.width() // 4
        for i, c in enumerate(COLOURS):
            x = (i * w + self.shift) % self.width()
            p.fillRect(x, 0, w if i < 3 else self.width() - 3 * w, self.height(), c)
            if x + w > self.width():
                p.fillRect(x - self.width(), 0, w, self.height(), c)
        # A blinking 16x16 square in the bottom-right corner: the screen changes, so a
        # damage-driven screencast keeps sending frames.
        grey = 255 * (self.ticks % 2)
        p.fillRect(self.width() - 16, self.height() - 16, 16, 16, QColor(grey, grey, grey))
app = QApplication(sys.argv)
bars = Bars()
import signal
def _moving(on):
    bars.moving = on
    if not on:
        bars.shift = 0
        bars.update()
signal.signal(signal.SIGUSR1, lambda *_: _moving(True))
signal.signal(signal.SIGUSR2, lambda *_: _moving(False))
bars.setWindowTitle("castapp known content")
bars.showFullScreen()
timer = QTimer()
timer.timeout.connect(bars.tick)
timer.start(int(sys.argv[1]) if len(sys.argv) > 1 else 33)
app.exec()
"""

# Xwayland runs as sway's user; the test user may connect too (xhost), then it says where.
XWAYLAND_CONFIG = ("xwayland force\n"
                   "exec sh -c 'xhost +si:localuser:#{uid} >/dev/null && "
                   "echo $DISPLAY > $XDG_RUNTIME_DIR/x-display'\n")

TOOLS = ("sway", "pipewire", "wireplumber", "dbus-daemon", "gst-launch-1.0", "grim",
         "pw-dump")
PORTAL = "/usr/libexec/xdg-desktop-portal"
XDPW = "/usr/libexec/xdg-desktop-portal-wlr"
XDPW_NAME = "org.freedesktop.impl.portal.desktop.wlr"
XDPW_SCRIPT = """#!/bin/sh
echo $$ >> {root}/xdpw.pids
WAYLAND_DISPLAY=wayland-xdpw exec {xdpw} -l DEBUG >> {root}/xdpw.log 2>&1
"""
CHOOSER = """#!/bin/sh
echo chosen >> {log}
echo {output}
"""


@dataclass
class WaylandDesktop:
    env: dict[str, str]
    root: Path
    output: str = "HEADLESS-1"
    size: tuple[int, int] = (1280, 720)
    x_display: str = ""
    sway_pid: int = 0
    content_pid: int = 0

    @contextlib.contextmanager
    def still(self) -> Iterator[None]:
        """The screen stands still meanwhile (the blinking content is paused)."""
        os.kill(self.content_pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(self.content_pid, signal.SIGCONT)

    @contextlib.contextmanager
    def moving(self) -> Iterator[None]:
        """The colour bars slide sideways 24 pixels a tick meanwhile (a busy screen)."""
        os.kill(self.content_pid, signal.SIGUSR1)
        try:
            yield
        finally:
            os.kill(self.content_pid, signal.SIGUSR2)

    def compositor_pids(self) -> dict[str, int]:
        """The desktop's own processes that work for a screencast: sway, Xwayland,
        xdg-desktop-portal-wlr, PipeWire (to report their CPU)."""
        pids = {"sway": self.sway_pid}
        started = self.root / "xdpw.pids"
        for pid in (started.read_text().split() if started.exists() else []):
            if Path(f"/proc/{pid}").exists():
                pids["xdpw"] = int(pid)
        for proc in Path("/proc").iterdir():
            try:
                comm = (proc / "comm").read_text().strip()
                if comm in ("Xwayland", "pipewire") and self._ours(proc):
                    pids[comm.lower()] = int(proc.name)
            except (OSError, ValueError):
                continue
        return pids

    def _ours(self, proc: Path) -> bool:
        runtime = f"XDG_RUNTIME_DIR={self.env['XDG_RUNTIME_DIR']}".encode()
        return runtime in (proc / "environ").read_bytes().split(b"\0")

    def dialogs(self) -> int:
        """How often the portal asked the user which screen to share (ran its chooser)."""
        chosen = self.root / "chooser.log"
        return len(chosen.read_text().splitlines()) if chosen.exists() else 0

    def portal_options(self) -> list[dict[str, int]]:
        """The ScreenCast options each SelectSources carried, as xdpw logged them."""
        sessions: list[dict[str, int]] = []
        for line in self.portal_log().splitlines():
            if "dbus: select sources method invoked" in line:
                sessions.append({})
            elif "dbus: option " in line and sessions:
                key, _, value = line.split("dbus: option ", 1)[1].partition(":")
                with contextlib.suppress(ValueError):
                    sessions[-1][key] = int(value, 16 if key == "cursor_mode" else 10)
        return sessions

    def revive_backend(self, timeout_s: float = 5.0) -> bool:
        """Make sure the ScreenCast backend answers before a test asks the portal for a
        cast: ping xdpw (which D-Bus starts it if it is not running); one that does not
        answer within ``timeout_s`` (0.7.0 can hang, as it can crash, when a cast ends)
        is killed, so the portal's next call starts a fresh one. True if it had to."""
        ping = ["dbus-send", "--session", "--print-reply", f"--dest={XDPW_NAME}",
                f"--reply-timeout={int(timeout_s * 1000)}", "/org/freedesktop/portal/desktop",
                "org.freedesktop.DBus.Peer.Ping"]
        try:
            answered = subprocess.run(ping, env=self.env, capture_output=True,
                                      timeout=timeout_s + 5).returncode == 0
        except subprocess.TimeoutExpired:
            answered = False
        if answered:
            return False
        pids = self.root / "xdpw.pids"
        for pid in pids.read_text().split() if pids.exists() else []:
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        deadline = time.monotonic() + 10
        while _name_owned(self.env, XDPW_NAME):
            if time.monotonic() > deadline:
                pytest.fail("a hung xdg-desktop-portal-wlr kept its bus name after SIGKILL",
                            pytrace=False)
            time.sleep(0.1)
        return True

    def portal_log(self) -> str:
        log = self.root / "xdpw.log"
        return log.read_text(errors="replace") if log.exists() else ""

    def screenshot(self, path: Path) -> Path:
        subprocess.run([shutil.which("grim") or "grim", "-o", self.output, str(path)],
                       env=self.env, check=True, timeout=20)
        return path


def require_stack() -> None:
    missing = [t for t in TOOLS if shutil.which(t) is None]
    missing += [os.path.basename(p) for p in (PORTAL, XDPW) if not os.path.exists(p)]
    if missing:
        pytest.fail(f"missing {', '.join(missing)}: {SETUP_HINT}", pytrace=False)


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not come up within {timeout:.0f} s", pytrace=False)
        time.sleep(0.1)


@contextmanager
def wayland_desktop(width: int = 1280, height: int = 720, *, content: bool = True,
                    xwayland: bool = False) -> Iterator[WaylandDesktop]:
    """The desktop; ``content``: show the four colour bars; ``xwayland``: also run X11
    clients (Xwayland, ``x_display`` says where)."""
    require_stack()
    if xwayland and shutil.which("Xwayland") is None:
        pytest.fail("Xwayland is missing: apt-get install xwayland", pytrace=False)
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
            "default_border none\n"
            + (XWAYLAND_CONFIG.format(uid=os.geteuid()) if xwayland else "xwayland disable\n"))
        for p in (config, config / "sway", config / "sway" / "config"):
            p.chmod(0o755 if p.is_dir() else 0o644)
        portals = root / "portals"
        portals.mkdir()
        (portals / "wlr.portal").write_text(
            f"[portal]\nDBusName={XDPW_NAME}\n"
            "Interfaces=org.freedesktop.impl.portal.ScreenCast;\nUseIn=sway\n")
        chooser = root / "chooser.sh"
        chooser.write_text(CHOOSER.format(log=root / "chooser.log", output="HEADLESS-1"))
        chooser.chmod(0o755)
        (config / "xdg-desktop-portal-wlr").mkdir()
        (config / "xdg-desktop-portal-wlr" / "config").write_text(
            f"[screencast]\nchooser_type=simple\nchooser_cmd={chooser}\n")
        if as_root:
            os.chown(runtime, 65534, 65534)
        (root / "dbus.conf").write_text(DBUS_CONFIG.format(dir=root / "bus",
                                                           services=root / "services"))
        # xdpw is started by the bus when the portal first needs it, and again should it
        # have exited (0.7.0 sometimes crashes when a cast ends), as on a desktop; this
        # copy reaches sway through the proxy and notes its pid for the clean-up.
        (root / "services").mkdir()
        (root / "services" / f"{XDPW_NAME}.service").write_text(
            f"[D-BUS Service]\nName={XDPW_NAME}\nExec={root / 'xdpw.sh'}\n")
        (root / "xdpw.sh").write_text(XDPW_SCRIPT.format(root=root, xdpw=XDPW))
        (root / "xdpw.sh").chmod(0o755)

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
        proxy = subprocess.Popen([sys.executable, str(HERE / "wayland_shm_proxy.py"),
                                  str(runtime / "wayland-xdpw"), str(runtime / socket)],
                                 env=env, stdout=subprocess.PIPE, text=True,
                                 stderr=(root / "proxy.log").open("wb"))
        procs.append(proxy)
        assert proxy.stdout is not None
        if proxy.stdout.readline().strip() != "ready":
            pytest.fail("the Wayland proxy for xdg-desktop-portal-wlr did not start",
                        pytrace=False)
        daemon([PORTAL, "-r", "-v"], "portal")
        content_pid = 0
        if content:
            daemon([sys.executable, "-c", CONTENT_APP], "content", QT_QPA_PLATFORM="wayland")
            content_pid = procs[-1].pid
        desktop = WaylandDesktop(env=env, root=root, size=(width, height),
                                 sway_pid=procs[1].pid, content_pid=content_pid)

        def content_shown() -> bool:
            shot = root / "probe.png"
            try:
                desktop.screenshot(shot)
            except subprocess.CalledProcessError:
                return False
            return _png_pixel(shot, 10, 10) == (255, 0, 0)

        if content:
            _wait_for(content_shown, 30, "the known content on the Wayland screen")
        if xwayland:
            shown = runtime / "x-display"
            _wait_for(lambda: shown.exists() and shown.read_text().strip() != "", 20,
                      "Xwayland")
            desktop.x_display = shown.read_text().strip()
        _wait_for(lambda: _name_owned(env, "org.freedesktop.portal.Desktop"), 60,
                  "xdg-desktop-portal")
        yield desktop
    finally:
        pids = root / "xdpw.pids"
        for pid in (pids.read_text().split() if pids.exists() else []):
            with contextlib.suppress(OSError):
                os.kill(int(pid), signal.SIGTERM)
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
        shutil.rmtree(root, ignore_errors=True)


def _name_owned(env: dict[str, str], name: str) -> bool:
    out = subprocess.run(
        ["dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus",
         "/org/freedesktop/DBus", "org.freedesktop.DBus.NameHasOwner", f"string:{name}"],
        env=env, capture_output=True, text=True, timeout=10)
    return "boolean true" in out.stdout


def _png_pixel(path: Path, x: int, y: int) -> tuple[int, int, int]:
    import av

    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
    rgb = frame.to_ndarray(format="rgb24")
    return tuple(int(c) for c in rgb[y, x])  # type: ignore[return-value]
