"""Glass-to-glass latency of the browser paths beside the app-to-app path, in one run.

Reuses ``benchmarks/cast.py``'s scene (Xvfb, the stamped desktop content, ``castapp serve``
in a private network namespace) and its app-to-app pipeline (``cast_sender.py`` to
``cast_probe.py``), then measures the two browser paths on the same screen and service:

* **browser -> app**: Debian's Chromium (headed on the Xvfb screen, driven by Playwright's
  Python package with ``executable_path``, never a downloaded browser) opens the web sender at
  ``/#<code>`` and shares the entire screen (``--auto-select-desktop-capture-source``); its
  window sits in the bottom-right corner, away from the stamp. ``cast_probe.py`` receives and
  reads the stamp of every frame handed over, exactly as for the app.
* **app -> browser**: ``cast_sender.py`` casts the screen to the web TV at ``/tv`` in a
  headless Chromium; a ``requestVideoFrameCallback`` loop reads the stamp from each frame the
  video element presents (the stamp's corner drawn into a canvas) and takes
  ``Date.now()`` - stamp. This includes Chromium's jitter buffer, decode and compositing,
  which the app probe (hand-over after decode, no display) does not.

Prints one JSON object: ``app_to_app`` (cast.py's figures), ``browser_to_app`` and
``app_to_browser`` (``fps``, ``latency_ms`` {p50, p95, p99}, ``first_frame_ms``, CPU), and
``ratios`` of the browser paths' latency to the app-to-app latency. ``benchmarks/cast.py
--sender browser`` (or ``--receiver browser``) runs this with one browser path only. App to
browser also gives Chromium's own per-frame figures over the measured seconds (``jitter_buffer_ms``,
``jitter_target_ms``, ``jitter_floor_ms`` from ``jitterBufferMinimumDelay``, ``decode_ms``)
and measures the same cast again with the browser's default jitter-buffer target
(``browser_default_target``; the page sets ``jitterBufferTarget = 0``). Needs root, Xvfb and
Debian's chromium. Run: ``.venv/bin/python benchmarks/cast_browser.py --res 1080p``.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


cast = load("cast_bench", HERE / "cast.py")
stamp = load("cast_stamp", HERE / "cast_stamp.py")
browser_helpers = load("cast_chromium", ROOT / "tests" / "browser" / "chromium.py")

#: Installed in the TV page (through the debugging protocol, so the page's CSP still holds):
#: reads the stamp of every presented frame; the same layout and checks as cast_stamp.py.
STAMP_READER = """([cols, rows, bits, checkBits, fraction, mod]) => {
  const v = document.getElementById('video');
  const w = window.__bench = {lat: [], frames: 0, unread: 0, measuring: false};
  const c = document.createElement('canvas');
  const g = c.getContext('2d', {willReadFrequently: true});
  const check = (value) => Number((BigInt(value) * 2654435761n) & 0xFFFFFFFFn) >>> (32 - checkBits);
  function onFrame(now, meta) {
    const at = Date.now();
    if (w.measuring && v.videoHeight) {
      w.frames++;
      const cell = v.videoHeight * fraction;
      const cw = Math.ceil(cell * (cols + 1.5)), ch = Math.ceil(cell * (rows + 1.5));
      c.width = cw; c.height = ch;
      g.drawImage(v, 0, 0, cw, ch, 0, 0, cw, ch);
      const d = g.getImageData(0, 0, cw, ch).data;
      const levels = [];
      for (let i = 0; i < cols * rows; i++) {
        const row = Math.floor(i / cols), col = i % cols;
        let sum = 0;
        for (const oy of [-0.25, 0, 0.25]) for (const ox of [-0.25, 0, 0.25]) {
          const y = Math.min(ch - 1, Math.round((1.5 + row + oy) * cell));
          const x = Math.min(cw - 1, Math.round((1.5 + col + ox) * cell));
          const o = (y * cw + x) * 4;
          sum += 16 + 0.257 * d[o] + 0.504 * d[o + 1] + 0.098 * d[o + 2];
        }
        levels.push(sum / 9);
      }
      const white = levels[0], black = levels[1];
      const mid = (white + black) / 2, margin = (white - black) / 4;
      let ok = white - black >= 80, value = 0, chk = 0;
      for (let i = 2; ok && i < levels.length; i++) {
        if (Math.abs(levels[i] - mid) < margin) ok = false;
        const bit = levels[i] > mid ? 1 : 0;
        if (i < 2 + bits) value = value * 2 + bit; else chk = chk * 2 + bit;
      }
      if (ok && chk === check(value)) w.lat.push((((at - value) % mod) + mod) % mod);
      else w.unread++;
    }
    v.requestVideoFrameCallback(onFrame);
  }
  v.requestVideoFrameCallback(onFrame);
  return true;
}"""


#: Before the TV page loads: keeps its peer connections' receivers reachable for the benchmark.
KEEP_RECEIVERS = """(() => {
  const Real = window.RTCPeerConnection;
  window.__receivers = [];
  window.RTCPeerConnection = function (...args) {
    const pc = new Real(...args);
    pc.addEventListener('track', (ev) => window.__receivers.push(ev.receiver));
    return pc;
  };
  window.RTCPeerConnection.prototype = Real.prototype;
})()"""

#: Puts the video receivers back on the browser's own jitter-buffer target; returns what the
#: page had set.
BROWSER_TARGET = """() => {
  const rs = (window.__receivers || []).filter((r) => r.track && r.track.kind === 'video');
  const was = rs.map((r) => r.jitterBufferTarget);
  for (const r of rs) r.jitterBufferTarget = null;
  return was;
}"""


def chromium_cpu(ns: str) -> float:
    """CPU seconds of every Chromium process in the namespace."""
    pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout
    total = 0.0
    for pid in pids.split():
        try:
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            continue
        if comm.startswith("chrom"):
            total += cast.cpu_seconds(int(pid))
    return total


def chromium_delays(before: dict[str, Any] | None,
                    after: dict[str, Any] | None) -> dict[str, float | None]:
    """Per-frame means over the measured seconds, from the video receiver's inbound-rtp stats:
    the jitter buffer's delay (first packet in to frame out to the decoder), the delay it
    aimed at, its floor (``jitterBufferMinimumDelay``: what it would hold with no target of
    its own, only the network's jitter), decode time, and receive-to-decoded."""
    names = {"jitter_buffer_ms": ("jitterBufferDelay", "jitterBufferEmittedCount"),
             "jitter_target_ms": ("jitterBufferTargetDelay", "jitterBufferEmittedCount"),
             "jitter_floor_ms": ("jitterBufferMinimumDelay", "jitterBufferEmittedCount"),
             "decode_ms": ("totalDecodeTime", "framesDecoded"),
             "processing_ms": ("totalProcessingDelay", "framesDecoded")}
    out: dict[str, float | None] = {}
    for key, (total, count) in names.items():
        if not after or after.get(total) is None:
            out[key] = None
            continue
        t0 = (before or {}).get(total) or 0.0
        n0 = (before or {}).get(count) or 0
        frames = (after.get(count) or 0) - n0
        out[key] = round(1000 * (after[total] - t0) / frames, 1) if frames > 0 else None
    return out


def base_url(bench: Any) -> str:
    return bench.url.replace("ws://", "http://").removesuffix("/ws")


def browser_to_app(bench: Any, tmp: Path) -> dict[str, Any]:
    a = bench.args
    probe = bench.spawn("web-probe", bench.python(
        "cast_probe.py", "--server", bench.url, "--samples", str(tmp / "web-received")))
    code = probe.expect("code", 30)["code"]
    w, h = bench.width, bench.height
    flags = ["--auto-select-desktop-capture-source=Entire screen",
             f"--window-position={w - 520},{h - 420}", "--window-size=500,400"]
    where = tmp / "web-sender"
    where.mkdir()
    with browser_helpers.chromium(bench.ns, where, flags=flags, headless=False,
                                  display=bench.display) as browser:
        page = browser.pages[0] if browser.pages else browser.new_page()
        page.goto(f"{base_url(bench)}/#{code}")
        browser_helpers.wait_until(page, "() => document.body.dataset.ready === '1'")
        joining = time.time()
        page.click("#share")
        first = probe.expect("first_frame", 40)
        time.sleep(a.warmup)
        cpu0 = (cast.cpu_seconds(probe.pid), chromium_cpu(bench.ns))
        t0 = time.monotonic()
        probe.send("measure")
        time.sleep(a.seconds)
        sent = page.evaluate("() => window.castappSendStats()")
        probe.send("stop")
        span = time.monotonic() - t0
        cpu1 = (cast.cpu_seconds(probe.pid), chromium_cpu(bench.ns))
        got = probe.expect("report", 30)
        # the probe's stop may have ended the cast already; the window is small, so no
        # pointer click
        page.evaluate("() => document.getElementById('stop').click()")
    bench.retire(probe)
    return {
        "fps": got.get("fps"),
        "latency_ms": got.get("latency_ms"),
        "first_frame_ms": round((first["t"] - joining) * 1000, 1),
        "sender_cpu": round((cpu1[1] - cpu0[1]) / span, 3),  # the whole browser
        "receiver_cpu": round((cpu1[0] - cpu0[0]) / span, 3),
        "kbps": got.get("kbps"),
        "detail": {"latency_mean_ms": got.get("latency_mean_ms"), "size": got.get("size"),
                   "frames": got.get("frames"), "unread_stamps": got.get("unread"),
                   "browser_sender": sent},
    }


def app_to_browser(bench: Any, tmp: Path) -> dict[str, Any]:
    a = bench.args
    where = tmp / "web-tv"
    where.mkdir()
    with browser_helpers.chromium(bench.ns, where,
                                  flags=["--use-fake-ui-for-media-stream"]) as browser:
        tv = browser.new_page()
        tv.add_init_script(KEEP_RECEIVERS)
        tv.set_viewport_size({"width": bench.width, "height": bench.height})
        tv.goto(f"{base_url(bench)}/tv")
        code = browser_helpers.wait_until(tv, "() => document.body.dataset.code", 20)
        tv.evaluate(STAMP_READER, [stamp.COLS, stamp.ROWS, stamp.STAMP_BITS, stamp.CHECK_BITS,
                                   stamp.CELL_FRACTION, stamp.STAMP_MOD])
        sender = bench.spawn("web-tv-sender", bench.python(
            "cast_sender.py", "--server", bench.url, "--code", code, "--codec", a.codec,
            "--fps", f"{a.fps:g}", "--samples", str(tmp / "web-tv-captured")))
        joining = sender.expect("joining", 30)["t"]
        browser_helpers.wait_until(
            tv, "() => document.getElementById('video').videoWidth > 0", 40, every=0.02)
        first_ms = (time.time() - joining) * 1000
        time.sleep(a.warmup)
        cpu0 = (cast.cpu_seconds(sender.pid), chromium_cpu(bench.ns))
        t0 = time.monotonic()
        before = tv.evaluate("() => window.castappReceiveStats()")
        tv.evaluate("() => { window.__bench.measuring = true; }")
        time.sleep(a.seconds)
        got = tv.evaluate("() => { window.__bench.measuring = false; return window.__bench; }")
        recv = tv.evaluate("() => window.castappReceiveStats()")
        span = time.monotonic() - t0
        cpu1 = (cast.cpu_seconds(sender.pid), chromium_cpu(bench.ns))
        size = tv.evaluate("() => [document.getElementById('video').videoWidth,"
                           " document.getElementById('video').videoHeight]")
        # the same cast again with the browser's own jitter-buffer target (what the page
        # turns off), to weigh that setting within the run
        target = tv.evaluate(BROWSER_TARGET)
        time.sleep(min(3.0, a.warmup))
        before2 = tv.evaluate("() => window.castappReceiveStats()")
        tv.evaluate("() => { Object.assign(window.__bench, {lat: [], frames: 0, unread: 0,"
                    " measuring: true}); }")
        t1 = time.monotonic()
        time.sleep(a.seconds)
        got2 = tv.evaluate("() => { window.__bench.measuring = false; return window.__bench; }")
        recv2 = tv.evaluate("() => window.castappReceiveStats()")
        span2 = time.monotonic() - t1
        bench.retire(sender)
    default = {"fps": round(got2["frames"] / span2, 1),
               "latency_ms": stamp.percentiles(got2["lat"]), "page_target": target,
               **chromium_delays(before2, recv2)}
    lat = got["lat"]
    return {
        "fps": round(got["frames"] / span, 1),
        "latency_ms": stamp.percentiles(lat),
        "first_frame_ms": round(first_ms, 1),
        "sender_cpu": round((cpu1[0] - cpu0[0]) / span, 3),
        "receiver_cpu": round((cpu1[1] - cpu0[1]) / span, 3),  # the whole browser
        "detail": {"latency_mean_ms": round(sum(lat) / len(lat), 1) if lat else None,
                   "size": size, "frames": got["frames"], "unread_stamps": got["unread"],
                   # Chromium's own figures over the measured seconds, per frame
                   **chromium_delays(before, recv),
                   "browser_receiver": recv,
                   "browser_default_target": default},
    }


def main(argv: list[str] | None = None) -> int:
    args = cast.parse_args(argv)
    netns = cast.load_netns()
    result: dict[str, Any] = {"res": args.res, "fps_target": args.fps, "codec": args.codec}
    limit = 90 + 3 * (args.warmup + args.seconds + 150)
    try:
        with cast.interruptible(limit), tempfile.TemporaryDirectory(prefix="cast-web-") as t, \
                netns.private_namespace() as ns:
            tmp = Path(t)
            bench = cast.Bench(args, ns, tmp, netns)
            try:
                bench.start_xvfb()
                bench.start_content()
                bench.start_service()
                app = bench.run_pipeline(naive=False)
                result["app_to_app"] = app
                both = "browser" not in (args.sender, args.receiver)  # run directly: both
                if both or args.sender == "browser":
                    result["browser_to_app"] = browser_to_app(bench, tmp)
                if both or args.receiver == "browser":
                    result["app_to_browser"] = app_to_browser(bench, tmp)
            finally:
                bench.stop_all()
    except cast.BenchError as exc:
        print(f"browser cast benchmark failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("browser cast benchmark interrupted", file=sys.stderr)
        return 130
    ref = result["app_to_app"]["latency_ms"]
    result["ratios"] = {
        f"{path}_{q}": cast.ratio(result[path]["latency_ms"].get(q), ref.get(q))
        for path in ("browser_to_app", "app_to_browser") if path in result
        for q in ("p50", "p95")
    }
    if "app_to_browser" in result:
        default = result["app_to_browser"]["detail"]["browser_default_target"]
        for q in ("p50", "p95"):
            result["ratios"][f"app_to_browser_default_target_{q}"] = cast.ratio(
                default["latency_ms"].get(q), ref.get(q))
    result["warmup_s"], result["seconds"] = args.warmup, args.seconds
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
