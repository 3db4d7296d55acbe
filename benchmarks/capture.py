"""Capture cost and change-to-frame latency per capture backend, as JSON.

    python benchmarks/capture.py [--backend x11|portal|both] [--res 1080p] [--seconds 5]

* ``x11``: castapp's ScreenCapture (mss + libyuv) on a private Xvfb at 60 fps, with the
  pointer drawn in and without; the cost of a frame (grab, convert, CPU) and the latency
  from a screen change (a window repainted through python-xlib) to the frame carrying it
  in the newest-frame mailbox.
* ``portal``: castapp's PortalCapture on the private Wayland desktop the tests use
  (tests/wayland_stack.py: sway with the pixman renderer, PipeWire, xdg-desktop-portal and
  xdg-desktop-portal-wlr), frames from the portal's PipeWire node through ``pipewiresrc``;
  a full-screen Wayland window (Qt) flips colour, and the latency runs from its repaint to
  the frame carrying it in the mailbox (the compositor's next output frame, screencopy,
  PipeWire, GStreamer, castapp's reader). The compositor sends frames only when the screen
  changes, so ``fps`` is the flip rate here (one flip, then 50 ms pause, as for x11), not a
  capture rate.

Figures: ``frame_ms`` (castapp's thread per frame), ``cpu_ms_per_frame`` (castapp's
process; ``child_cpu_ms_per_frame`` adds the GStreamer child for the portal), fps reached,
and ratios against the x11 path without pointer measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from castapp.rtc.capture import ScreenCapture  # noqa: E402
from castapp.rtc.convert import libyuv_available  # noqa: E402

SIZES = {"720p": (1280, 720), "1080p": (1920, 1080), "1440p": (2560, 1440)}


def xvfb(width: int, height: int) -> tuple[subprocess.Popen[bytes], str]:
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0",
                             f"{width}x{height}x24", "-nolisten", "tcp", "-noreset"],
                            pass_fds=(write_fd,), stderr=subprocess.DEVNULL)
    os.close(write_fd)
    number = b""
    while not number.endswith(b"\n"):
        ready, _, _ = select.select([read_fd], [], [], 15)
        if not ready:
            raise SystemExit("Xvfb did not start")
        number += os.read(read_fd, 64)
    os.close(read_fd)
    return proc, f":{number.decode().strip()}"


def summary(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    return {"mean": round(statistics.mean(values), 3),
            "p50": round(values[len(values) // 2], 3),
            "p95": round(values[int(len(values) * 0.95)], 3)}


def run_x11(display: str, size: tuple[int, int], seconds: float, pointer: bool) -> dict[str, Any]:
    from Xlib import X
    from Xlib import display as xdisplay

    d = xdisplay.Display(display)
    screen = d.screen()
    colours = [screen.default_colormap.alloc_color(c * 257, 40 * 257, 200 * 257).pixel
               for c in (30, 220)]
    win = screen.root.create_window(0, 0, size[0], size[1], 0, screen.root_depth,
                                    X.InputOutput, X.CopyFromParent,
                                    background_pixel=colours[0], override_redirect=True)
    win.map()
    d.sync()
    frame_ms: list[float] = []
    latencies: list[float] = []
    cap = ScreenCapture(1, display=display, fps=60, with_cursor=pointer)
    with cap:
        frame = cap.wait_newer(-1, timeout=10)
        c0, t_start, n0 = time.process_time(), time.monotonic(), cap.frames_produced
        flip = 0
        while time.monotonic() - t_start < seconds:
            flip ^= 1
            win.change_attributes(background_pixel=colours[flip])
            win.clear_area()
            d.sync()
            changed_at = time.monotonic()
            want_dark = flip == 0
            while True:
                frame = cap.wait_newer(frame.seq, timeout=5)
                frame_ms.append(frame.produce_ms)
                luma = int(frame.y[size[1] // 3, size[0] // 3])
                if (luma < 80) == want_dark:
                    latencies.append(
                        (frame.monotonic + frame.produce_ms / 1000.0 - changed_at) * 1000.0)
                    break
            time.sleep(0.05)
        frames = cap.frames_produced - n0
        elapsed = time.monotonic() - t_start
        cpu = time.process_time() - c0
    d.close()
    return {"fps": round(frames / elapsed, 1), "frame_ms": summary(frame_ms),
            "cpu_ms_per_frame": round(cpu * 1000 / max(1, frames), 3),
            "change_to_frame_ms": summary([max(0.0, x) for x in latencies]),
            "grab_ms_last": round(cap.grab_ms, 3), "convert_ms_last": round(cap.convert_ms, 3)}


def child_cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


FLIPPER = """
import os, sys, time
from PySide6.QtCore import QSocketNotifier
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QApplication, QWidget
COLOURS = [QColor(30, 40, 200), QColor(220, 40, 200)]
class Flip(QWidget):
    colour = 0
    def paintEvent(self, event):
        QPainter(self).fillRect(self.rect(), COLOURS[self.colour])
        print(f"{self.colour} {time.monotonic():.6f}", flush=True)
    def command(self):
        line = sys.stdin.readline()
        if not line:
            app.quit()
        self.colour = int(line)
        self.repaint()
app = QApplication(sys.argv)
w = Flip()
w.showFullScreen()
notifier = QSocketNotifier(sys.stdin.fileno(), QSocketNotifier.Type.Read)
notifier.activated.connect(w.command)
app.exec()
"""


def run_portal(size: tuple[int, int], seconds: float) -> dict[str, Any]:
    """PortalCapture of the Wayland desktop while a full-screen Wayland window flips colour."""
    from wayland_stack import wayland_desktop

    from castapp.rtc.capture_portal import PortalCapture

    with wayland_desktop(*size, content=False) as desktop, tempfile.TemporaryDirectory() as tmp:
        for key, value in desktop.env.items():
            if key.startswith(("XDG_", "WAYLAND_", "DBUS_")):
                os.environ[key] = value
        flipper = subprocess.Popen([sys.executable, "-c", FLIPPER],
                                   env=dict(desktop.env, QT_QPA_PLATFORM="wayland"),
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                   stderr=subprocess.DEVNULL)
        assert flipper.stdin is not None and flipper.stdout is not None

        def flip(colour: int) -> float:
            assert flipper.stdin is not None and flipper.stdout is not None
            flipper.stdin.write(f"{colour}\n")
            flipper.stdin.flush()
            while True:
                got, at = flipper.stdout.readline().split()
                if int(got) == colour:
                    return float(at)

        def dark(frame: Any) -> bool:
            return int(frame.y[size[1] // 3, size[0] // 3]) < 80

        try:
            flipper.stdout.readline()  # first paint
            cap = PortalCapture(fps=60, token_path=Path(tmp) / "t.json")
            frame_ms: list[float] = []
            latencies: list[float] = []
            with cap:
                frame = cap.wait_newer(-1, timeout=60)
                while not dark(frame):  # the flipper's window is on screen
                    frame = cap.wait_newer(frame.seq, timeout=10)
                proc = cap._proc
                assert proc is not None
                c0, g0 = time.process_time(), child_cpu_s(proc.pid)
                t0, n0 = time.monotonic(), cap.frames_produced
                colour = 0
                while time.monotonic() - t0 < seconds:
                    colour ^= 1
                    changed_at = flip(colour)
                    while True:
                        frame = cap.wait_newer(frame.seq, timeout=5)
                        frame_ms.append(frame.produce_ms)
                        if dark(frame) == (colour == 0):
                            latencies.append((frame.monotonic + frame.produce_ms / 1000.0
                                              - changed_at) * 1000.0)
                            break
                    time.sleep(0.05)
                frames = cap.frames_produced - n0
                elapsed = time.monotonic() - t0
                cpu, gcpu = time.process_time() - c0, child_cpu_s(proc.pid) - g0
        finally:
            flipper.terminate()
            flipper.wait(5)
        return {"fps": round(frames / elapsed, 1), "frame_ms": summary(frame_ms),
                "cpu_ms_per_frame": round(cpu * 1000 / max(1, frames), 3),
                "child_cpu_ms_per_frame": round(gcpu * 1000 / max(1, frames), 3),
                "change_to_frame_ms": summary([max(0.0, x) for x in latencies])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["x11", "portal", "both"], default="both")
    parser.add_argument("--res", choices=sorted(SIZES), default="1080p")
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    size = SIZES[args.res]
    result: dict[str, Any] = {"res": args.res, "libyuv": libyuv_available()}
    proc, display = xvfb(*size)
    try:
        ref = run_x11(display, size, args.seconds, pointer=False)
        result["x11"] = ref
        if args.backend in ("x11", "both"):
            result["x11_pointer"] = run_x11(display, size, args.seconds, pointer=True)
    finally:
        proc.terminate()
        proc.wait(10)
    if args.backend in ("portal", "both"):
        result["portal"] = run_portal(size, args.seconds)
    base = ref["cpu_ms_per_frame"]
    for key in ("x11_pointer", "portal"):
        if key in result:
            total = result[key]["cpu_ms_per_frame"] + result[key].get("child_cpu_ms_per_frame", 0)
            result[key]["cpu_ratio_vs_x11"] = round(total / base, 2) if base else None
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
