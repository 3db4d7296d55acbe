"""Glass-to-glass screen-cast benchmark: a real X screen cast through castapp, measured.

Everything runs inside a private network namespace (``tests/netns.py``: loopback plus a veth
pair whose both ends stay inside, so aiortc has a host candidate to offer and no packet can
leave) and on a private X server:

1. ``Xvfb :N -screen 0 WxHx24 -nolisten tcp`` on a free display number (``-displayfd``
   tells when it accepts clients);
2. ``cast_content.py`` repaints desktop-like content on it at ~60 Hz: a static text window,
   a scrolling terminal on a quarter of the screen, a small text window bouncing across the
   desktop, and the wall-clock time of each repaint as a barcode (``cast_stamp.py``).
   About 5 % of the luma pixels change per repaint at 1080p; the content process and Xvfb
   cost about 0.05 and 0.1-0.2 cores (reported under ``detail``, not in the sender/receiver
   figures);
3. ``castapp serve`` on 127.0.0.1 (no STUN/TURN servers handed out: ICE servers are empty);
4. ``cast_probe.py``, a receiver running castapp's ``ReceiverSession``; it prints the cast
   code and, for every frame handed over, reads the stamp from the decoded Y plane and
   records glass-to-glass latency = hand-over wall time - stamped repaint time;
5. ``cast_sender.py``, which does what ``castapp send`` does (castapp's ``ScreenCapture`` of
   the Xvfb screen, ``SenderSession``, default encoder settings) with a tap that reads the
   stamp of each captured frame.

After the first frame arrives it waits ``--warmup`` seconds, then measures for
``--seconds``: delivered fps, latency percentiles, CPU of the sender and receiver processes
(from ``/proc/<pid>/stat``), received kbps (transport bytes, so RTP/SRTP overhead included)
and PSNR-Y. ``first_frame_ms`` runs from the moment the sender starts joining the room to the
first frame handed over at the receiver.

**PSNR.** Both ends keep the Y plane of frames whose stamp is a multiple of 23 (about 2.6
content repaints a second) during the window: the sender as captured and converted to I420
(what the encoder is given, after any ``--max-size`` downscale), the probe as decoded.
Frames with the same stamp are paired and PSNR-Y is computed over the whole frame (mean over
pairs, identical frames count as 99 dB). Copying a sample costs the probe about 1 ms at
1080p a couple of times a second; files are written by a background thread.

The latency includes the content's own staleness (a repaint is grabbed up to one repaint
interval after it was stamped; 8.4 ms on average) but no display: the probe converts
nothing and paints nothing. The content repaints at 59.5 Hz by default, not 60: the capture
thread and the content both run on absolute monotonic schedules, and at exactly 60 Hz (or
30) their phase locks for the whole run, making the staleness an arbitrary constant between
0 and 16.7 ms that changes from run to run. At 59.5 Hz the phase sweeps through every value
every two seconds, so the staleness averages out as it does on a real desktop.

``--compare naive`` then runs the same scene, in the same namespace and on the same screen,
through a stock aiortc pipeline (``cast_naive.py``: ``VideoStreamTrack`` paced by
``next_timestamp()``, grab and ``VideoFrame.from_ndarray`` on the event loop, stock
encoders, stock receiver) and adds ``naive`` and ``ratios``. The stock track's clock runs at
30 fps whatever ``--fps`` asks for; that is part of what is being compared.

**The tail.** A fixed-work probe (``cast_stalls.py``) runs beside the measurement and
reports the machine's own stall events; the JSON then has ``keyframe_latency_ms`` and
``other_latency_ms`` ({p50,p95}: keyframes and the two frames after each vs all others),
``keyframe_ratio`` (``p95_ratio`` of the two and ``ci95``, its 95 % bootstrap interval),
``rebuilds`` (and ``rebuild_reasons``: size, settings, bitrate, fallback; the sender logs
each at debug level), ``keyframes``, ``rcvbuf_errors`` (the namespace's ``/proc/net/snmp``),
``machine_stalls`` ({count,total_ms}) and ``latency_outside_stalls_ms`` ({p50,p95}), see
``cast_tail.py``. ``--repeat K`` runs the single screen cast K times in a row (same scene,
same namespace) and adds ``runs`` (each run's fps, latencies, keyframe figures, rebuilds,
receive-buffer errors, stalls and CPU) and ``pooled`` (``keyframe_latency_ms``,
``other_latency_ms`` and ``keyframe_ratio`` over every run's frames together, and each run's
own ratio in ``run_ratios``): one run's keyframe ratio rests on a few dozen keyframes and
moves by a quarter from one run to the next. ``--trace FILE`` writes per-frame stage timings
(capture, convert, wait, encode, send, network, receive, decode, deliver; ``cast_trace.py``)
to FILE and prints the per-stage table to stderr (and as ``stages`` in the JSON); the portal
run's go to FILE with ``-portal`` before its suffix. With ``--mode fixed`` the sender sends
a keyframe every 8 s, so a short run has few; ``--keyframe-every S`` sends one every S
seconds, and the keyframe figures then rest on more than the group's largest values.
``--pli-every S`` (any mode) has the receiver ask for a keyframe every S seconds instead (an
RTCP PLI, as a decoder that lost a picture does): keyframes as a change-driven sender sends
them. ``--receiver-loop qasync`` runs the receiver's asyncio loop inside Qt through qasync,
as the TV's windows run it (asyncio's own loop by default). ``--compare single-reads`` runs
the scene again on a receiver whose ICE sockets read one datagram per pass of its event loop
(``castapp.rtc.batchread`` off) and adds ``single_reads`` and ``ratios`` (latency, keyframe
group and other frames' p95, receiver CPU: current over single reads); ``--compare queued``
the same on a receiver that queues every datagram for aiortc's DTLS task
(``castapp.rtc.direct`` off; adds ``queued`` and ``ratios``); ``--other-first`` runs that
other receiver first. ``CASTAPP_RECEIVER_PROFILE=FILE`` (any run, ``--senders`` too) writes
a cProfile of the receiver's event-loop thread over the window, in CPU time (slower: for
finding where the time goes, not for figures).

**Scenes and the fixed-rate comparison.** ``--scene static|typing|scroll|video`` replaces
the desktop scene (see ``cast_content.py``; the stamp changes only where the scene does)
and the JSON adds ``change_to_glass_ms`` ({p50,p95}: from a change painted to the first
received frame that shows it), ``encodes_per_s`` and the sender's content ``mode``.
Every run also reports ``content_fps``, the repaints that changed something per second the
content process itself reached in the window (Tk on the same cores often makes fewer than
the 60 asked), and ``fps_over_content``, the frames received over those repaints.
``--mode`` picks the sender's settings: ``auto`` (the Auto preset, castapp's default),
``changes`` (default settings, change-driven) or ``fixed`` (every captured frame encoded,
castapp before change detection); ``--compare fixed`` runs the same scene again with
``fixed`` and adds ``fixed`` and ``ratios``. ``--compare tick`` first runs it with the
capture grabbing at the next capture tick instead of when X DAMAGE reports the change
(castapp before grabbing on the change), then ``fixed``, and adds ``tick``, ``fixed`` and
both sets of ``ratios``. ``--compare limiter`` runs it again with grabs on a
change kept to ``--fps`` by "no two grabs closer than 1/fps" instead of the 1/fps grid
(castapp before the grid) and adds ``interval`` and ``ratios`` (delivered and capture fps);
``--compare grab-copy`` runs it again converting from mss's copy of each whole-screen grab
instead of in place from the X server's shared memory, and adds ``grab_copy``.

**Keyframe delivery.** ``--link MBIT[:QUEUE_MS]`` shapes the namespace's loopback (the
path between the peers) to MBIT Mbit/s with a QUEUE_MS-deep queue (``tc`` ``tbf``: what
does not fit is dropped, like a router with shallow buffers); ``--police MBIT[:BURST_KB]``
drops media packets beyond MBIT Mbit/s once a BURST_KB bucket is spent (nftables, no
queue, like a policer). ``--compare pacing`` runs the scene with castapp's pacing (from the
receiver's first reported loss on), then paced from the first frame, then with pacing off
(every frame in one burst), and adds ``paced_from_start``, ``unpaced`` and ``ratios``;
``--compare intra-refresh`` runs it again with x264 intra refresh instead of keyframes and
adds ``intra_refresh`` and ``ratios``; ``--compare intra-16x16`` runs it again with x264's
``ultrafast`` intra prediction (16×16 blocks only, castapp before 4×4 intra) and adds
``intra_16x16`` and ``ratios``. All report ``link_drops`` (packets the shaped or
policed link dropped over the pipeline's whole run) and the sender's largest frame in the
window (``detail.sender.max_frame_kb``).

**A receiver that falls behind.** ``--stall-receiver S`` stops the receiver process
(``SIGSTOP``) for S seconds a third into the window; ``--starve-receiver S`` lets it run
10 ms after every 150 ms stop for S seconds instead. The JSON adds ``stall`` (when the first
frame under 200 ms was shown after it, frames over 200 ms shown, the oldest; see
``cast_backlog.py``), ``backlog`` (what the receiver's catch-up dropped) and ``new_links``
(connections rebuilt meanwhile, e.g. by the sender's 2 s watchdog). ``--compare catchup``
runs the same on a receiver without the catch-up (it decodes its backlog) and adds
``no_catchup`` and ``ratios``.

``detail`` carries extra figures: mean latency, decoded fps, frames whose stamp could not be
read, the probe's own cost per frame, PSNR pairs, content/Xvfb CPU, the receiver's decoder
catch-ups (``decoder``: times it fell half a second behind and skipped to a keyframe, frames
skipped and dropped unseen; castapp.rtc.decode) and the sender's report (capture and send
fps; for castapp's encoder the mean encode time, keyframes, rebuilds and target bitrate over
the window). ``--logs DIR`` keeps every process's stderr.

**Several peers** (``cast_multi.py`` does the work):

* ``--senders N`` (or a list, ``--senders 1,2,3,4``): N sender processes cast synthetic
  ``--res`` patterns at ``--fps`` to one receiver process that lays them out on a
  ``--screen`` (default 1920x1080, ``none`` for no layout) as ``castapp receive --headless``
  does. The JSON has ``runs`` (per count: ``senders: [{fps, latency_ms{p50,p95}, size,
  asked}]`` and ``receiver_cpu``), the largest count's ``senders`` and ``receiver_cpu`` at
  the top, and ``ratios_to_one_sender`` (receiver CPU, worst p95, lowest fps, and the first
  sender's p50 and p95) against one sender measured in the same run. ``--compare
  no-layout`` runs each count again, right after, on a receiver that lays nothing out
  (every sender sends its full size) and adds
  ``no_layout`` and ``ratios_over_no_layout``; ``--compare stock-decode`` runs each count
  again on a receiver decoding through aiortc's own path and adds ``stock_decode`` and
  ``ratios_over_stock_decode``; ``--compare queued`` on a receiver that queues every
  datagram for aiortc's DTLS task (``queued``, ``ratios_over_queued``); ``--compare
  unaligned`` on a receiver that does not bring its presenters' capture clocks in step
  (``unaligned``, ``ratios_over_unaligned``); ``--compare
  spotlight`` runs each count again with the first sender spotlit and the others in the
  column beside it (as the TV's window lays them out
  on key 1) and adds ``spotlight`` (its ``ratios_to_one_sender`` give the spotlit sender's
  latency against one sender) and ``ratios_over_spotlight``. ``--replay SCENE`` has every
  sender replay a ``cast_content.py`` scene instead of the pattern (150 frames recorded once
  from a private Xvfb at 30 fps and converted as a capture does, looped, each sender from
  its own place in the loop, the counter drawn in; ``content`` in the JSON says which), so
  the receiver decodes what laptops show rather than still bars. ``--repeat K`` measures the
  counts K times over, one series after the other, and adds ``repeats`` (per count: each
  series' receiver CPU against its own one-sender run, their median and range).
* ``--receivers N``: one sender (one capture, one encode) to N receiver processes, against
  one receiver in the same run: ``per_receiver`` fps/latency/CPU, ``sender_cpu``, the
  ``spread_ms`` of one frame across the receivers and ``ratios``.

**Capture backends.** ``--backend x11`` (the default) is the path above. ``--backend
portal`` casts the same scene from a Wayland desktop instead: the private one the tests use
(``tests/wayland_stack.py``: sway headless with the pixman renderer, PipeWire, WirePlumber,
xdg-desktop-portal and xdg-desktop-portal-wlr on a private bus), with ``cast_content.py``
drawn through Xwayland, and the sender capturing through castapp's ``PortalCapture``
(ScreenCast portal, PipeWire, ``pipewiresrc``). The latency then includes the compositor's
wait for its next output frame (up to 16.7 ms at 60 Hz), as on a real Wayland desktop.
``--backend both`` runs x11 first and then portal in the same run: the x11 figures at the
top, the portal run under ``portal`` and ``portal_vs_x11`` (latency differences in ms,
fps and CPU ratios).

Prints one JSON object. Needs root (network namespace) and Xvfb. Run with the project's
virtualenv Python, e.g. ``.venv/bin/python benchmarks/cast.py --res 1080p --fps 60``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import math
import os
import queue
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import cast_backlog  # noqa: E402
import cast_tail  # noqa: E402
import cast_trace  # noqa: E402

RESOLUTIONS = {"720p": (1280, 720), "1080p": (1920, 1080), "4k": (3840, 2160)}
CLK_TCK = os.sysconf("SC_CLK_TCK")


class BenchError(RuntimeError):
    pass


def load_netns() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cast_netns", ROOT / "tests" / "netns.py")
    if spec is None or spec.loader is None:
        raise BenchError("cannot load tests/netns.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


class Child:
    """A child process with JSON lines on stdout, commands on stdin, stderr to a file."""

    def __init__(self, name: str, argv: list[str], log_dir: Path, env: dict[str, str],
                 pass_fds: tuple[int, ...] = (), json_stdout: bool = True) -> None:
        self.name = name
        self.log = log_dir / f"{name}.stderr"
        self._stderr = self.log.open("wb")
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE if json_stdout else subprocess.DEVNULL,
            stderr=self._stderr,
            env=env,
            pass_fds=pass_fds,
            start_new_session=True,  # a Ctrl-C reaches only us; we stop children in order
        )
        self.events: queue.Queue[dict[str, Any] | None] = queue.Queue()
        if json_stdout:
            threading.Thread(target=self._read, name=f"read-{name}", daemon=True).start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode(errors="replace").strip()
            try:
                item = json.loads(line) if line.startswith("{") else None
            except json.JSONDecodeError:
                item = None
            self.events.put(item if isinstance(item, dict) else {"event": "line", "text": line})
        self.events.put(None)

    def tail(self, lines: int = 15) -> str:
        with contextlib.suppress(OSError):
            text = self.log.read_text(errors="replace").strip().splitlines()
            return "\n".join(text[-lines:])
        return ""

    def expect(self, event: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BenchError(f"{self.name}: no '{event}' within {timeout:.0f} s\n"
                                 f"{self.tail()}")
            try:
                item = self.events.get(timeout=remaining)
            except queue.Empty:
                continue
            if item is None:
                self.proc.wait(5)
                raise BenchError(f"{self.name} exited ({self.proc.returncode}) before "
                                 f"'{event}'\n{self.tail()}")
            if item.get("event") == event:
                return item

    def send(self, line: str) -> None:
        if self.proc.stdin is None or self.proc.poll() is not None:
            raise BenchError(f"{self.name} is not running\n{self.tail()}")
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def stop(self, timeout: float = 5.0) -> None:
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    self.proc.kill()
                self.proc.wait(timeout)
        self._stderr.close()


class Bench:
    def __init__(self, args: argparse.Namespace, ns: str, tmp: Path, netns: ModuleType) -> None:
        self.args = args
        self.ns = ns
        self.tmp = tmp
        self.netns = netns
        self.children: list[Child] = []
        self.width, self.height = RESOLUTIONS[args.res]
        self.display = ""
        self.env = dict(os.environ)
        self.env.pop("DISPLAY", None)
        # the children (sender, receiver) load castapp from this tree, as this process does,
        # not from wherever the virtualenv's editable install points
        self.env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
        self.xvfb: Child | None = None
        self.content: Child | None = None
        self.url = ""
        self.sender_extra: list[str] = []
        self.probe_extra: list[str] = []
        self.last_frame_log: list[list[Any]] = []
        """The receiver's per-frame log of the last pipeline run (received, latency, key)."""
        self.probe_loop = ["--loop", args.receiver_loop]
        self.backend = "x11"
        self.desktop: Any = None

    # ------------------------------------------------------------------ processes
    def spawn(self, name: str, argv: list[str], **kwargs: Any) -> Child:
        child = Child(name, self.netns.in_namespace(self.ns, argv), self.tmp,
                      self.env, **kwargs)
        self.children.append(child)
        return child

    def retire(self, child: Child) -> None:
        child.stop()
        if child in self.children:
            self.children.remove(child)

    def stop_all(self) -> None:
        for child in reversed(self.children):
            with contextlib.suppress(Exception):
                child.stop()
        self.children.clear()

    def python(self, script: str, *args: str) -> list[str]:
        return [sys.executable, str(HERE / script), *args]

    # ------------------------------------------------------------------ the scene
    def start_xvfb(self) -> None:
        xvfb = shutil.which("Xvfb")
        if xvfb is None:
            raise BenchError("Xvfb not found (apt-get install xvfb)")
        for number in range(90, 400):
            if Path(f"/tmp/.X{number}-lock").exists() or Path(f"/tmp/.X11-unix/X{number}").exists():
                continue
            read_fd, write_fd = os.pipe()
            try:
                child = self.spawn(
                    f"xvfb-{number}",
                    [xvfb, f":{number}", "-displayfd", str(write_fd), "-screen", "0",
                     f"{self.width}x{self.height}x24", "-nolisten", "tcp"],
                    pass_fds=(write_fd,), json_stdout=False)
                os.close(write_fd)
                write_fd = -1
                if self._wait_display(child, read_fd):
                    self.xvfb, self.display = child, f":{number}"
                    self.env["DISPLAY"] = self.display
                    return
                self.retire(child)
            finally:
                os.close(read_fd)
                if write_fd >= 0:
                    os.close(write_fd)
        raise BenchError("no free X display number found")

    @staticmethod
    def _wait_display(child: Child, read_fd: int) -> bool:
        data = b""
        deadline = time.monotonic() + 15
        while not data.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BenchError(f"Xvfb did not start within 15 s\n{child.tail()}")
            ready, _, _ = select.select([read_fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(read_fd, 64)
            if not chunk:  # exited: display taken after all, or broken
                return False
            data += chunk
        return True

    def start_wayland(self, stack: contextlib.ExitStack) -> None:
        """The Wayland desktop (with Xwayland for the content) in place of Xvfb."""
        sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]
        from wayland_stack import wayland_desktop

        try:
            desktop = stack.enter_context(
                wayland_desktop(self.width, self.height, content=False, xwayland=True))
        except BaseException as exc:  # the stack's own failures (pytest's Failed) included
            if isinstance(exc, KeyboardInterrupt):
                raise
            raise BenchError(f"the private Wayland desktop did not start: {exc}") from None
        self.display = desktop.x_display
        self.desktop = desktop
        self.env.update({k: v for k, v in desktop.env.items()
                         if k.startswith(("XDG_", "WAYLAND_", "DBUS_"))})
        self.env["DISPLAY"] = self.display
        self.backend = "portal"

    def start_content(self) -> None:
        self.content = self.spawn("content", self.python(
            "cast_content.py", "--display", self.display, "--width", str(self.width),
            "--height", str(self.height), "--fps", f"{self.args.content_hz:g}",
            "--scene", self.args.scene))
        self.content.expect("ready", 20)

    def repaints(self) -> tuple[int, float] | None:
        """How many repaints that changed something the content has made, and when
        (its monotonic clock); None without a content process."""
        if self.content is None:
            return None
        try:
            self.content.proc.send_signal(signal.SIGUSR1)
            got = self.content.expect("repaints", 5)
        except (BenchError, OSError):
            return None
        return int(got["n"]), float(got["t"])

    def start_service(self) -> None:
        state = self.tmp / "service-state"
        state.mkdir()
        argv = [sys.executable, "-m", "castapp", "--log-level", "WARNING", "serve",
                "--host", "127.0.0.1", "--port", "0", "--state-dir", str(state)]
        child = self.spawn("service", argv)
        line = child.expect("line", 30)["text"]  # "castapp room service on ws://..."
        url = line.rsplit(" ", 1)[-1]
        if not url.startswith("ws://127.0.0.1:"):
            raise BenchError(f"unexpected room service banner: {line!r}")
        self.url = url

    # ------------------------------------------------------------------ one pipeline
    def run_pipeline(self, naive: bool, mode: str | None = None,
                     kind: str | None = None) -> dict[str, Any]:
        a = self.args
        mode = mode or a.mode
        kind = kind or ("naive" if naive else "tuned" if mode == a.mode else mode)
        recv_dir, cap_dir = self.tmp / f"{kind}-received", self.tmp / f"{kind}-captured"
        probe_args = ["--server", self.url, "--samples", str(recv_dir)]
        # castapp's own pipelines, not the references
        trace = a.trace is not None and kind in ("tuned", "portal", "intra_16x16")
        trace_files = (self.tmp / f"{kind}-trace-sender.json",
                       self.tmp / f"{kind}-trace-receiver.json")
        if trace:
            probe_args += ["--trace", str(trace_files[1])]
        if a.pli_every is not None:
            probe_args += ["--pli-every", f"{a.pli_every:g}"]
        probe = self.spawn(f"{kind}-probe", self.python(
            "cast_probe.py", *probe_args, *(["--naive"] if naive else []), *self.probe_loop,
            *self.probe_extra))
        code = probe.expect("code", 30)["code"]
        common = ["--server", self.url, "--code", code, "--codec", a.codec,
                  "--samples", str(cap_dir)]
        if naive:
            sender = self.spawn(f"{kind}-sender", self.python("cast_naive.py", *common))
        else:
            extra = ["--max-size", a.max_size] if a.max_size else []
            if a.keyframe_every is not None:
                extra += ["--keyframe-every", f"{a.keyframe_every:g}"]
            if trace:
                extra += ["--trace", str(trace_files[0])]
            sender = self.spawn(f"{kind}-sender", self.python(
                "cast_sender.py", *common, "--fps", f"{a.fps:g}", "--mode", mode, *extra,
                "--backend", self.backend, *self.sender_extra))
        joining = sender.expect("joining", 30)["t"]
        first = probe.expect("first_frame", 40)
        time.sleep(a.warmup)

        watched = {"sender": sender.pid, "receiver": probe.pid}
        if self.content is not None and self.xvfb is not None:  # reported as detail
            watched |= {"content": self.content.pid, "xvfb": self.xvfb.pid}
        if self.content is not None and self.desktop is not None:
            watched["content"] = self.content.pid
            watched |= {f"wayland_{name}": pid
                        for name, pid in self.desktop.compositor_pids().items()}
        stalls = self.spawn(f"{kind}-stalls", self.python("cast_stalls.py"))
        stalls.expect("ready", 20)
        udp0 = cast_tail.udp_counters(self.ns)
        painted0 = self.repaints()
        cpu0 = {k: cpu_seconds(pid) for k, pid in watched.items()}
        t0, wall0 = time.monotonic(), time.time()
        sender.send("measure")
        probe.send("measure")
        stalled = None
        if a.stall_receiver or a.starve_receiver:  # a third into the window, for a while
            stalled = cast_backlog.stall(probe.pid, a.seconds / 3,
                                         a.stall_receiver or a.starve_receiver,
                                         starve=bool(a.starve_receiver))
            time.sleep(max(0.0, a.seconds - (time.monotonic() - t0)))
        else:
            time.sleep(a.seconds)
        probe.send("stop")
        sender.send("stop")
        span, wall1 = time.monotonic() - t0, time.time()
        cpu1 = {k: cpu_seconds(pid) for k, pid in watched.items()}
        painted1 = self.repaints()
        udp1 = cast_tail.udp_counters(self.ns)
        stalls.send("stop")
        stall_events = stalls.expect("stalls", 20)["events"]
        got = probe.expect("report", 30)
        sent = sender.expect("report", 30)
        self.retire(stalls)
        self.retire(sender)
        self.retire(probe)
        self.last_frame_log = got.get("frame_log") or []
        tail = cast_tail.tail_fields(self.last_frame_log, stall_events, (wall0, wall1))
        stages = None
        if trace and all(f.exists() for f in trace_files):
            rows = cast_trace.merge(*trace_files)
            stages = cast_trace.stage_table(rows)
            out = a.trace if kind == "tuned" else a.trace.with_name(
                f"{a.trace.stem}-{kind}{a.trace.suffix}")  # --backend both: x11 keeps FILE
            out.write_text(json.dumps(rows))
            print(f"{kind} ({self.backend}):", file=sys.stderr)
            print(cast_trace.format_table(stages), file=sys.stderr)
        cpu = {k: round((cpu1[k] - cpu0[k]) / span, 3) for k in watched}
        psnr, pairs = psnr_y(cap_dir, recv_dir)
        content_fps = (round((painted1[0] - painted0[0]) / (painted1[1] - painted0[1]), 1)
                       if painted0 and painted1 and painted1[1] > painted0[1] else None)
        return {
            "fps": got.get("fps"),
            "content_fps": content_fps,
            "fps_over_content": (round(got["fps"] / content_fps, 3)
                                 if content_fps and got.get("fps") else None),
            "latency_ms": got.get("latency_ms"),
            "latency_p95_by_minute": got.get("latency_p95_by_minute"),
            "first_frame_ms": round((first["t"] - joining) * 1000, 1),
            "sender_cpu": cpu["sender"],
            "receiver_cpu": cpu["receiver"],
            "kbps": got.get("kbps"),
            "psnr_db": psnr,
            "change_to_glass_ms": got.get("change_to_glass_ms"),
            "encodes_per_s": (round(sent["encodes"] / span, 1)
                              if sent.get("encodes") is not None else None),
            "mode": sent.get("mode") or None,
            "keyframe_latency_ms": tail["keyframe_latency_ms"],
            "other_latency_ms": tail["other_latency_ms"],
            "keyframe_ratio": tail["keyframe_ratio"],
            "rebuilds": sent.get("rebuilds"),
            "rebuild_reasons": sent.get("rebuild_reasons"),
            "keyframes": sent.get("keyframes"),
            "rcvbuf_errors": udp1.get("RcvbufErrors", 0) - udp0.get("RcvbufErrors", 0),
            "machine_stalls": tail["machine_stalls"],
            "latency_outside_stalls_ms": tail["latency_outside_stalls_ms"],
            **({"stages": stages} if stages is not None else {}),
            **({"stall": cast_backlog.recovery(got.get("frame_log") or [], *stalled),
                "backlog": got.get("backlog"), "new_links": got.get("new_links")}
               if stalled is not None else {}),
            "detail": {
                "latency_mean_ms": got.get("latency_mean_ms"),
                "decoded_fps": got.get("decoded_fps"),
                "frames": got.get("frames"),
                "unread_stamps": got.get("unread"),
                "probe_ms_per_frame": got.get("probe_ms_per_frame"),
                "size": got.get("size"),
                "psnr_pairs": pairs,
                "content_cpu": cpu.get("content"),
                "xvfb_cpu": cpu.get("xvfb"),
                **({"wayland_cpu": {k[8:]: v for k, v in cpu.items()
                                    if k.startswith("wayland_")}}
                   if self.desktop is not None else {}),
                "keyframe_frames": tail["keyframe_frames"],
                "frames_outside_stalls": tail["frames_outside_stalls"],
                "decoder": got.get("decoder"),
                "sender": {k: v for k, v in sent.items() if k != "event"},
            },
        }


def psnr_y(captured: Path, received: Path) -> tuple[float | None, int]:
    """Mean PSNR-Y over received samples that have a captured frame with the same stamp."""
    values: list[float] = []
    for path in sorted(received.glob("*.npy")):
        ref = captured / path.name
        if not ref.exists():
            continue
        a, b = np.load(ref), np.load(path)
        if a.shape != b.shape:
            continue
        mse = float(np.mean((a.astype(np.float32) - b.astype(np.float32)) ** 2))
        values.append(99.0 if mse == 0 else min(99.0, 10 * math.log10(255.0**2 / mse)))
    if not values:
        return None, 0
    return round(sum(values) / len(values), 2), len(values)


def compare_fixed(current: dict[str, Any], fixed: dict[str, Any]) -> dict[str, Any]:
    """Change-driven (and Auto) against encoding every captured frame, same scene and run."""
    cc, fc = current.get("change_to_glass_ms") or {}, fixed.get("change_to_glass_ms") or {}
    return {
        "sender_cpu_fixed_over_current": ratio(fixed["sender_cpu"], current["sender_cpu"]),
        "kbps_fixed_over_current": ratio(fixed["kbps"], current["kbps"]),
        "encodes_fixed_over_current": ratio(fixed.get("encodes_per_s"),
                                            current.get("encodes_per_s")),
        "change_to_glass_p50_current_over_fixed": ratio(cc.get("p50"), fc.get("p50")),
        "change_to_glass_p95_current_over_fixed": ratio(cc.get("p95"), fc.get("p95")),
        "fps_current_over_fixed": ratio(current["fps"], fixed["fps"]),
    }


def compare_tick(current: dict[str, Any], tick: dict[str, Any]) -> dict[str, Any]:
    """Grabbing on the change against grabbing at the next capture tick, same scene and run."""
    cc, tc = current.get("change_to_glass_ms") or {}, tick.get("change_to_glass_ms") or {}
    return {
        "change_to_glass_p50_current_over_tick": ratio(cc.get("p50"), tc.get("p50")),
        "change_to_glass_p95_current_over_tick": ratio(cc.get("p95"), tc.get("p95")),
        "sender_cpu_current_over_tick": ratio(current["sender_cpu"], tick["sender_cpu"]),
        "encodes_current_over_tick": ratio(current.get("encodes_per_s"),
                                           tick.get("encodes_per_s")),
    }


#: What ``--repeat`` keeps of each run of the single cast.
RUN_FIELDS = ("fps", "latency_ms", "keyframe_latency_ms", "other_latency_ms", "keyframe_ratio",
              "keyframes", "rebuilds", "rcvbuf_errors", "machine_stalls", "sender_cpu",
              "receiver_cpu")


def repeat_single(bench: Bench, first: dict[str, Any], repeat: int) -> dict[str, Any]:
    """The single screen cast ``repeat`` times in all (``first`` was the first): each run's
    figures in ``runs`` and the keyframe figures over all runs' frames in ``pooled``."""
    runs, logs = [first], [bench.last_frame_log]
    for i in range(2, repeat + 1):
        runs.append(bench.run_pipeline(naive=False, kind=f"tuned_{i}"))
        logs.append(bench.last_frame_log)
    pooled = cast_tail.pooled(logs)
    pooled["run_ratios"] = [(r.get("keyframe_ratio") or {}).get("p95_ratio") for r in runs]
    return {"runs": [{k: r.get(k) for k in RUN_FIELDS} for r in runs], "pooled": pooled}


#: ``--compare`` runs of the same sender with one capture setting back as it was:
#: (result key, cast_sender.py arguments).
SENDER_VARIANTS = {
    "limiter": ("interval", ["--limiter", "interval"]),
    "grab-copy": ("grab_copy", ["--grab-copy"]),
}


#: Receiver settings the single screen cast can run again with: --compare value -> (the
#: receiver's flag, the result's key).
RECEIVER_COMPARES = {"single-reads": ("--single-reads", "single_reads"),
                     "queued": ("--queued", "queued")}


def run_receiver_variant(bench: Bench, flag: str, kind: str) -> dict[str, Any]:
    """The single screen cast once more, on a receiver started with ``flag``."""
    bench.probe_extra = [flag]
    try:
        return bench.run_pipeline(naive=False, kind=kind)
    finally:
        bench.probe_extra = []


def compare_receiver(current: dict[str, Any], other: dict[str, Any],
                     kind: str) -> dict[str, Any]:
    """The receiver against itself with one setting as it was before, same sender, scene."""
    def p95(run: dict[str, Any], field: str) -> float | None:
        return (run.get(field) or {}).get("p95")

    return {
        f"latency_p95_current_over_{kind}": ratio(p95(current, "latency_ms"),
                                                   p95(other, "latency_ms")),
        f"keyframe_p95_current_over_{kind}": ratio(p95(current, "keyframe_latency_ms"),
                                                    p95(other, "keyframe_latency_ms")),
        f"other_p95_current_over_{kind}": ratio(p95(current, "other_latency_ms"),
                                                 p95(other, "other_latency_ms")),
        f"receiver_cpu_current_over_{kind}": ratio(current["receiver_cpu"],
                                                    other["receiver_cpu"]),
    }


def compare_variant(current: dict[str, Any], other: dict[str, Any], kind: str) -> dict[str, Any]:
    """The sender against itself with one capture setting as it was before, same scene."""
    cs, os_ = current["detail"]["sender"], other["detail"]["sender"]
    return {
        f"fps_current_over_{kind}": ratio(current["fps"], other["fps"]),
        f"capture_fps_current_over_{kind}": ratio(cs.get("capture_fps"),
                                                  os_.get("capture_fps")),
        f"grab_ms_current_over_{kind}": ratio(cs.get("grab_ms"), os_.get("grab_ms")),
        f"latency_p95_current_over_{kind}": ratio((current["latency_ms"] or {}).get("p95"),
                                                  (other["latency_ms"] or {}).get("p95")),
        f"sender_cpu_current_over_{kind}": ratio(current["sender_cpu"], other["sender_cpu"]),
    }


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or not b or math.isnan(a) or math.isnan(b):
        return None
    return round(a / b, 2)


def compare(tuned: dict[str, Any], naive: dict[str, Any]) -> dict[str, Any]:
    tl, nl = tuned["latency_ms"] or {}, naive["latency_ms"] or {}
    psnr = (round(tuned["psnr_db"] - naive["psnr_db"], 2)
            if tuned["psnr_db"] is not None and naive["psnr_db"] is not None else None)
    return {
        "latency_p50_naive_over_tuned": ratio(nl.get("p50"), tl.get("p50")),
        "latency_p95_naive_over_tuned": ratio(nl.get("p95"), tl.get("p95")),
        "fps_tuned_over_naive": ratio(tuned["fps"], naive["fps"]),
        "first_frame_naive_over_tuned": ratio(naive["first_frame_ms"], tuned["first_frame_ms"]),
        "sender_cpu_naive_over_tuned": ratio(naive["sender_cpu"], tuned["sender_cpu"]),
        "receiver_cpu_naive_over_tuned": ratio(naive["receiver_cpu"], tuned["receiver_cpu"]),
        "kbps_tuned_over_naive": ratio(tuned["kbps"], naive["kbps"]),
        "psnr_db_tuned_minus_naive": psnr,
    }


def compare_backends(x11: dict[str, Any], portal: dict[str, Any]) -> dict[str, Any]:
    def diff(field: str, q: str) -> float | None:
        a, b = (portal.get(field) or {}).get(q), (x11.get(field) or {}).get(q)
        return None if a is None or b is None else round(a - b, 1)

    return {
        "latency_p50_diff_ms": diff("latency_ms", "p50"),
        "latency_p95_diff_ms": diff("latency_ms", "p95"),
        "fps_portal_over_x11": ratio(portal["fps"], x11["fps"]),
        "sender_cpu_portal_over_x11": ratio(portal["sender_cpu"], x11["sender_cpu"]),
        "first_frame_portal_over_x11": ratio(portal["first_frame_ms"], x11["first_frame_ms"]),
    }


DELIVERY_COMPARES = ("pacing", "intra-refresh", "intra-16x16")
#: The refresh wave's period for ``--compare intra-refresh`` (seconds of encoded frames).
INTRA_REFRESH_S = 1.0


def link_spec(text: str) -> tuple[float, float]:
    rate, _, queue = text.partition(":")
    return float(rate), float(queue or 10)


def shape_link(ns: str, mbit: float, queue_ms: float) -> None:
    """Shape the namespace's loopback (both peers' path) with a token bucket and a
    ``queue_ms``-deep queue; packets that do not fit are dropped."""
    subprocess.run(["ip", "netns", "exec", ns, "tc", "qdisc", "replace", "dev", "lo", "root",
                    "tbf", "rate", f"{mbit:g}mbit", "burst", "16kb",
                    "latency", f"{queue_ms:g}ms"], check=True, capture_output=True)


def police_link(ns: str, mbit: float, burst_kb: float) -> None:
    """Drop received UDP media packets (over 300 bytes: not RTCP or STUN) above ``mbit``
    once a ``burst_kb`` bucket is used up; the sender sees no back-pressure. Counted in
    1200-byte packets: nftables' byte limits add a whole second of rate to the bucket."""
    pps = max(1, round(mbit * 1e6 / 8 / 1200))
    burst = max(1, round(burst_kb * 1000 / 1200))
    script = (f"table inet castbench {{\n chain in {{\n"
              f"  type filter hook input priority 0;\n"
              f"  meta l4proto udp meta length > 300 limit rate over {pps}/second "
              f"burst {burst} packets counter drop\n }}\n}}\n")
    subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", "-"], input=script, text=True,
                   check=True, capture_output=True)


def link_drops(ns: str) -> int:
    """Packets dropped so far by the shaped link (tc) or the policer (nftables)."""
    out = subprocess.run(["ip", "netns", "exec", ns, "tc", "-s", "qdisc", "show", "dev", "lo"],
                         capture_output=True, text=True).stdout
    found = re.search(r"dropped (\d+)", out)
    nft = subprocess.run(["ip", "netns", "exec", ns, "nft", "list", "table", "inet",
                          "castbench"], capture_output=True, text=True).stdout
    policed = re.search(r"counter packets (\d+)", nft)
    return (int(found.group(1)) if found else 0) + (int(policed.group(1)) if policed else 0)


def compare_delivery(bench: Bench, what: str) -> dict[str, Any]:
    """The sender with packet pacing against the same sender without, or the default
    sender against one with intra refresh instead of keyframes or with 16×16-only intra
    prediction: same scene, same
    namespace and link, one after the other."""
    runs: dict[str, dict[str, Any]] = {}
    window = ["--pace-window", f"{bench.args.pace_window:g}"]
    if what == "pacing":
        kinds = [("tuned", ["--pacing", "after-loss", *window]),
                 ("paced_from_start", ["--pacing", "on", *window]),
                 ("unpaced", ["--pacing", "off"])]
    elif what == "intra-16x16":
        kinds = [("tuned", []), ("intra_16x16", ["--intra-16x16"])]
    else:
        kinds = [("tuned", []), ("intra_refresh", ["--intra-refresh", f"{INTRA_REFRESH_S:g}"])]
    for kind, sender_extra in kinds:
        bench.sender_extra = sender_extra
        before = link_drops(bench.ns)
        runs[kind] = bench.run_pipeline(naive=False, kind=kind)
        runs[kind]["link_drops"] = link_drops(bench.ns) - before
    bench.sender_extra = []
    current = runs["tuned"]

    def p(run: dict[str, Any], field: str, q: str) -> float | None:
        return (run.get(field) or {}).get(q)

    ratios: dict[str, Any] = {}
    for other, _ in kinds[1:]:
        alt = runs[other]
        ratios |= {f"{field}_{q}_{other}_over_default": ratio(p(alt, field, q),
                                                              p(current, field, q))
                   for field in ("latency_ms", "keyframe_latency_ms", "other_latency_ms",
                                 "change_to_glass_ms") for q in ("p50", "p95")}
        ratios |= {f"{k}_{other}_over_default": ratio(alt.get(k), current.get(k))
                   for k in ("kbps", "fps", "sender_cpu", "link_drops")}
        ratios[f"psnr_db_{other}_minus_default"] = (
            round(alt["psnr_db"] - current["psnr_db"], 2)
            if alt.get("psnr_db") is not None and current.get("psnr_db") is not None else None)
    return {**current, **{k: runs[k] for k, _ in kinds[1:]}, "ratios": ratios}


@contextlib.contextmanager
def interruptible(limit_s: float) -> Iterator[None]:
    """SIGTERM acts like Ctrl-C, and the whole run is bounded by ``limit_s``."""

    def on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    def on_alarm(signum: int, frame: object) -> None:
        raise BenchError(f"the benchmark exceeded its {limit_s:.0f} s time limit")

    old_term = signal.signal(signal.SIGTERM, on_term)
    old_alarm = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(max(1, math.ceil(limit_s)))
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old_alarm)
        signal.signal(signal.SIGTERM, old_term)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--res", choices=sorted(RESOLUTIONS), default="1080p")
    ap.add_argument("--fps", type=float, default=30.0, help="sender target fps (default 30)")
    ap.add_argument("--codec", choices=["h264", "vp8"], default="h264")
    ap.add_argument("--seconds", type=float, default=20.0, help="measurement window")
    ap.add_argument("--warmup", type=float, default=6.0,
                    help="seconds after the first frame before measuring (default 6)")
    ap.add_argument("--compare", choices=["naive", "fixed", "tick", "limiter", "grab-copy",
                                          "no-layout", "stock-decode", "spotlight", "queued",
                                          "unaligned", "catchup", "single-reads",
                                          *DELIVERY_COMPARES],
                    help="also run the stock aiortc pipeline (naive), castapp encoding "
                    "every captured frame (fixed), grabbing at the capture tick and then fixed "
                    "(tick), grabbing on changes with the old limiter (limiter), "
                    "converting from mss's copy of each grab (grab-copy), "
                    "paced from the first frame and without packet pacing (pacing) or with "
                    "intra refresh instead of keyframes (intra-refresh) or x264 ultrafast's "
                    "16x16-only intra prediction (intra-16x16); with --senders, "
                    "each count again on a receiver that asks for no tile sizes (no-layout) or "
                    "that decodes through aiortc's own path (stock-decode) or that queues every "
                    "datagram for the DTLS transport's task (queued) or that leaves its "
                    "presenters' capture clocks where they are (unaligned) or that spotlights "
                    "the first sender, the others beside it (spotlight); with "
                    "--stall-receiver, again on a receiver that works through its backlog "
                    "(catchup); again on a receiver whose sockets read one datagram per "
                    "pass of its event loop (single-reads) or, without --senders, that "
                    "queues every datagram for the DTLS transport's task (queued)")
    ap.add_argument("--other-first", action="store_true",
                    help="with --compare single-reads or queued: run the other receiver "
                    "before the current one (the order each half of a run gets the machine "
                    "in is then the other way round)")
    ap.add_argument("--receiver-loop", choices=["asyncio", "qasync"], default="asyncio",
                    help="the receiver's event loop: asyncio's own (default) or asyncio "
                    "inside Qt through qasync, as the TV's windows run it")
    ap.add_argument("--stall-receiver", type=float, default=0.0, metavar="S",
                    help="stop the receiver process for S seconds a third into the window "
                    "(cast_backlog.py); --compare catchup: again without the receiver's "
                    "catch-up")
    ap.add_argument("--starve-receiver", type=float, default=0.0, metavar="S",
                    help="like --stall-receiver, but the receiver runs 10 ms after every "
                    "150 ms stop (it falls behind without going silent)")
    ap.add_argument("--link", type=link_spec, metavar="MBIT[:QUEUE_MS]",
                    help="shape the path between the peers to MBIT Mbit/s with a QUEUE_MS "
                    "(default 10) queue")
    ap.add_argument("--pace-window", type=float, default=0.100, metavar="S",
                    help="--compare pacing: a large frame leaves within S seconds (0.1)")
    ap.add_argument("--police", type=link_spec, metavar="MBIT[:BURST_KB]",
                    help="police media packets at MBIT Mbit/s with a BURST_KB (default 10) "
                    "bucket and no queue (nftables), as a policer on the path would")
    ap.add_argument("--scene", choices=["desktop", "static", "typing", "scroll", "video"],
                    default="desktop", help="what moves on the screen (cast_content.py)")
    ap.add_argument("--mode", choices=["auto", "changes", "fixed"], default="auto",
                    help="sender settings: the Auto preset (default), change-driven "
                    "default settings, or every captured frame encoded")
    ap.add_argument("--keyframe-every", type=float, metavar="S",
                    help="with --mode fixed: a keyframe every S seconds instead of 8, so the "
                    "keyframe figures rest on more keyframes")
    ap.add_argument("--pli-every", type=float, metavar="S",
                    help="the receiver asks for a keyframe every S seconds (an RTCP PLI, as a "
                    "decoder that lost a picture does), in any --mode: keyframes the way "
                    "a change-driven sender sends them")
    ap.add_argument("--content-hz", type=float, default=59.5,
                    help="content repaint rate (default 59.5: just off 60 Hz so repaints and "
                    "capture ticks drift through every phase instead of locking)")
    ap.add_argument("--max-size", metavar="WxH", help="let the tuned sender downscale to fit")
    ap.add_argument("--trace", type=Path, metavar="FILE",
                    help="write per-frame stage timings (JSON) to FILE and print the "
                    "per-stage table")
    ap.add_argument("--logs", type=Path, metavar="DIR",
                    help="copy every process's stderr into DIR at the end")
    many = ap.add_mutually_exclusive_group()
    many.add_argument("--senders", type=_counts, metavar="N[,N…]",
                      help="N synthetic senders (1-4) cast to one receiver; a list runs each "
                      "count; one sender is always measured too, as the reference")
    many.add_argument("--receivers", type=int, metavar="N",
                      help="one synthetic sender casts to N receivers (1-8), against one")
    ap.add_argument("--repeat", type=int, default=1, metavar="K",
                    help="with --senders: measure the counts K times over, one series after "
                    "the other, and add each series' receiver CPU ratios and their median; "
                    "the single screen cast: run it K times and add each run's figures "
                    "(runs) and the keyframe figures over all runs' frames (pooled)")
    ap.add_argument("--pin", action="store_true",
                    help="with --senders: run the receiver on the first core and the senders "
                    "on the others, as on separate machines")
    ap.add_argument("--replay", choices=["desktop", "typing", "scroll", "video"],
                    help="with --senders: every sender replays this scene (recorded once "
                    "from cast_content.py on a private Xvfb, 5 s looped, the counter drawn "
                    "in) instead of the synthetic pattern")
    ap.add_argument("--screen", type=_screen, default=(1920, 1080), metavar="WxH|none",
                    help="with --senders: the receiver's screen the senders are laid out on "
                    "(default 1920x1080; none: no layout, every sender sends its full size)")
    ap.add_argument("--backend", choices=["x11", "portal", "both"], default="x11",
                    help="the sender's capture backend (default x11); both: x11, then the "
                    "portal on a Wayland desktop, in one run")
    ap.add_argument("--sender", choices=["app", "browser"], default="app",
                    help="browser: the web sender page in Chromium casts to the app, measured "
                    "beside app to app in the same run (benchmarks/cast_browser.py)")
    ap.add_argument("--receiver", choices=["app", "browser"], default="app",
                    help="browser: the app casts to the web TV page in Chromium, measured "
                    "beside app to app in the same run (both browser flags: both paths)")
    args = ap.parse_args(argv)
    if args.seconds <= 0 or args.warmup < 0 or args.fps <= 0:
        ap.error("--seconds and --fps must be positive, --warmup not negative")
    if args.receivers is not None and not 1 <= args.receivers <= 8:
        ap.error("--receivers takes 1 to 8")
    if (args.senders or args.receivers) and (args.compare in ("naive", "fixed", "tick")
                                             or args.trace
                                             or args.max_size or args.backend != "x11"):
        ap.error("--senders and --receivers cast synthetic patterns: --compare naive|fixed, "
                 "--trace, --max-size and --backend apply to the single screen cast only")
    if args.repeat != 1 and (args.compare or args.repeat < 1 or args.receivers
                             or (not args.senders and (
                                 args.trace or args.backend != "x11" or args.receiver != "app"
                                 or args.stall_receiver or args.starve_receiver))):
        ap.error("--repeat K (K >= 1) goes without --compare, with --senders or with the "
                 "single screen cast on x11 to the app receiver (without --trace and the "
                 "receiver stalls)")
    if args.keyframe_every is not None and (args.mode != "fixed" or args.keyframe_every <= 0):
        ap.error("--keyframe-every S (S > 0) goes with --mode fixed (a change-driven sender "
                 "sends keyframes only when they are needed)")
    if args.pli_every is not None and (args.pli_every <= 0 or args.senders or args.receivers):
        ap.error("--pli-every S (S > 0) applies to the single screen cast")
    if args.replay and not args.senders:
        ap.error("--replay goes with --senders")
    if (args.receiver_loop != "asyncio" or args.compare == "single-reads") and (
            args.senders or args.receivers or args.receiver != "app"):
        ap.error("--receiver-loop and --compare single-reads apply to the app receiver of "
                 "the single screen cast")
    if args.other_first and (args.compare not in RECEIVER_COMPARES or args.senders):
        ap.error("--other-first goes with --compare single-reads or queued (one sender)")
    if args.compare == "queued" and not args.senders and (
            args.receivers or args.receiver != "app"):
        ap.error("--compare queued applies to the app receiver")
    if args.compare in ("no-layout", "stock-decode", "spotlight", "unaligned") \
            and not args.senders:
        ap.error(f"--compare {args.compare} goes with --senders")
    args.size = RESOLUTIONS[args.res]
    return args


def _counts(text: str) -> list[int]:
    try:
        counts = [int(c) for c in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected counts such as 4 or 1,2,3,4, got {text!r}") from None
    if not counts or any(not 1 <= c <= 4 for c in counts):
        raise argparse.ArgumentTypeError("a receiver shows 1 to 4 senders")
    return counts


def _screen(text: str) -> tuple[int, int] | None:
    if text == "none":
        return None
    sys.path.insert(0, str(ROOT))
    from castapp.layout import parse_screen

    try:
        return parse_screen(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if "browser" in (args.sender, args.receiver):
        import cast_browser

        return int(cast_browser.main(argv))
    if args.compare == "catchup" and not (args.stall_receiver or args.starve_receiver):
        print("cast benchmark: --compare catchup goes with --stall-receiver or "
              "--starve-receiver", file=sys.stderr)
        return 2
    if args.backend != "x11" and (args.compare or args.link or args.police):
        print("cast benchmark: --backend portal|both goes without --compare, --link and "
              "--police", file=sys.stderr)
        return 2
    if args.senders or args.receivers:
        import cast_multi

        try:
            cases = (len(set(args.senders) | {1}) * (2 if args.compare else args.repeat)
                     if args.senders else 2)
            with interruptible(120 + cases * (args.warmup + args.seconds + 120)):
                result = (cast_multi.run_senders(args) if args.senders
                          else cast_multi.run_receivers(args))
        except (BenchError, RuntimeError) as exc:
            print(f"cast benchmark failed: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("cast benchmark interrupted", file=sys.stderr)
            return 130
        result["warmup_s"] = args.warmup
        print(json.dumps(result))
        return 0
    pipelines = (3 if args.compare == "tick" else 2 if args.compare or args.backend == "both"
                 else 1)
    limit = 90 + pipelines * (args.warmup + args.seconds + 150)
    netns = load_netns()
    result: dict[str, Any] = {
        "res": args.res,
        "fps_target": args.fps,
        "codec": args.codec,
        "scene": args.scene,
        "sender_mode": args.mode,
        "backend": args.backend,
    }
    try:
        with interruptible(limit), tempfile.TemporaryDirectory(prefix="cast-bench-") as tmp, \
                netns.private_namespace() as ns, contextlib.ExitStack() as wayland:
            bench = Bench(args, ns, Path(tmp), netns)
            try:
                if args.link is not None:
                    shape_link(ns, *args.link)
                    result["link"] = {"mbit": args.link[0], "queue_ms": args.link[1]}
                if args.police is not None:
                    police_link(ns, *args.police)
                    result["police"] = {"mbit": args.police[0], "burst_kb": args.police[1]}
                bench.start_service()
                if args.backend == "portal":
                    bench.start_wayland(wayland)
                else:
                    bench.start_xvfb()
                bench.start_content()
                receiver_compare = RECEIVER_COMPARES.get(args.compare or "")
                other: dict[str, Any] | None = None
                if receiver_compare is not None and args.other_first:
                    other = run_receiver_variant(bench, *receiver_compare)
                if args.compare in DELIVERY_COMPARES:
                    result.update(compare_delivery(bench, args.compare))
                else:
                    tuned = bench.run_pipeline(naive=False)
                    result.update(tuned)
                    if args.repeat > 1 and not args.senders:
                        result.update(repeat_single(bench, tuned, args.repeat))
                if receiver_compare is not None:
                    if other is None:
                        other = run_receiver_variant(bench, *receiver_compare)
                    kind = receiver_compare[1]
                    result[kind] = other
                    result["ratios"] = compare_receiver(tuned, other, kind)
                    result["other_first"] = bool(args.other_first)
                if args.compare == "catchup":
                    old = run_receiver_variant(bench, "--no-catchup", "no_catchup")
                    result["no_catchup"] = old
                    result["ratios"] = cast_backlog.compare(tuned, old)
                if args.compare == "naive":
                    naive = bench.run_pipeline(naive=True)
                    result["naive"] = naive
                    result["ratios"] = compare(tuned, naive)
                elif args.compare in SENDER_VARIANTS:
                    kind, bench.sender_extra = SENDER_VARIANTS[args.compare]
                    other = bench.run_pipeline(naive=False, kind=kind)
                    bench.sender_extra = []
                    result[kind] = other
                    result["ratios"] = compare_variant(tuned, other, kind)
                elif args.compare in ("fixed", "tick"):
                    if args.compare == "tick":
                        bench.sender_extra = ["--grab", "tick"]
                        tick = bench.run_pipeline(naive=False, kind="tick")
                        bench.sender_extra = []
                        result["tick"] = tick
                    fixed = bench.run_pipeline(naive=False, mode="fixed")
                    result["fixed"] = fixed
                    result["ratios"] = compare_fixed(tuned, fixed)
                    if args.compare == "tick":
                        result["ratios"].update(compare_tick(tuned, tick))
                if args.backend == "both":  # the same scene again, on Wayland
                    for child in (bench.content, bench.xvfb):
                        if child is not None:
                            bench.retire(child)
                    bench.content = bench.xvfb = None
                    bench.start_wayland(wayland)
                    bench.start_content()
                    portal = bench.run_pipeline(naive=False, kind="portal")
                    result["portal"] = portal
                    result["portal_vs_x11"] = compare_backends(tuned, portal)
            finally:
                bench.stop_all()
                if args.logs is not None:
                    args.logs.mkdir(parents=True, exist_ok=True)
                    for log in Path(tmp).glob("*.stderr"):
                        shutil.copy(log, args.logs / log.name)
    except BenchError as exc:
        print(f"cast benchmark failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("cast benchmark interrupted", file=sys.stderr)
        return 130
    result["warmup_s"], result["seconds"] = args.warmup, args.seconds
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
