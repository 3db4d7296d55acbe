"""The tuned sender for the screen-cast benchmark: what ``castapp send`` does, plus a tap.

It builds the same objects as ``castapp send`` (a :class:`ScreenCapture` of monitor 1 on
``$DISPLAY`` at ``--fps``, or with ``--backend portal`` a :class:`PortalCapture` of the
Wayland session in its environment, a :class:`SenderSession` with castapp's default encoder
settings) and casts to ``--code``. The only addition is a tap on the capture thread: each
captured frame's stamp is read from its Y plane (a few dozen pixel look-ups), and while the
measurement window is open the Y planes of sample stamps are written for the PSNR check
(see :mod:`cast_stamp`).

stdout (JSON lines): ``joining`` (wall time just before joining), ``casting``, and after
``stop`` on stdin a ``report`` with counters over the measurement window.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
from cast_stamp import SampleWriter, StampReader, emit, stdin_commands
from cast_trace import SenderTrace

from castapp.quality import PRESETS
from castapp.rtc.capture import ScreenCapture
from castapp.rtc.capture_portal import PortalCapture
from castapp.rtc.encoder import EncoderConfig
from castapp.rtc.pacer import PacingConfig
from castapp.session.sender import SenderSession, SenderState, SenderStatus


class TappedCapture(ScreenCapture):
    """castapp's screen capture, with each frame's stamp read and sample frames kept."""

    def __init__(self, samples: SampleWriter, trace: SenderTrace | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.samples = samples
        self.trace = trace
        self.reader = StampReader()
        self.tap_ms = 0.0

    def _produce(self, seq: int) -> np.ndarray | None:
        i420 = super()._produce(seq)
        if i420 is None:
            return None
        t0 = time.perf_counter()
        height = i420.shape[0] * 2 // 3
        y = i420[:height]
        stamp = self.reader.read(y)
        if stamp is not None:
            self.samples.offer(stamp, y, copy=False)  # every captured array is fresh
            if self.trace is not None:
                self.trace.captured(stamp, self.grab_ms, self.convert_ms)
        self.tap_ms += (time.perf_counter() - t0) * 1000.0
        return i420


class TappedPortalCapture(PortalCapture):
    """castapp's portal capture (``--backend portal``) with the same tap. The grab happens in
    the GStreamer child, so ``grab_ms`` stays 0 and ``convert_ms`` is castapp's own part
    (reading the pipe's frame and converting it)."""

    def __init__(self, samples: SampleWriter, trace: SenderTrace | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.samples = samples
        self.trace = trace
        self.reader = StampReader()
        self.tap_ms = 0.0
        self.grab_ms = 0.0
        self.convert_ms = 0.0

    def _publish(self, i420: np.ndarray, wall: float, t0: float) -> None:
        self.convert_ms = (time.monotonic() - t0) * 1000.0
        t1 = time.perf_counter()
        y = i420[: i420.shape[0] * 2 // 3]
        stamp = self.reader.read(y)
        if stamp is not None:
            self.samples.offer(stamp, y, copy=False)
            if self.trace is not None:
                self.trace.captured(stamp, self.grab_ms, self.convert_ms)
        self.tap_ms += (time.perf_counter() - t1) * 1000.0
        super()._publish(i420, wall, t0)


def current_track(session: SenderSession) -> Any:
    """The current call's capture track (``session.peer.track``; older sessions:
    ``session.track``)."""
    peer = getattr(session, "peer", None)
    return getattr(peer, "track", None) or getattr(session, "track", None)


def encoder_stats(session: SenderSession) -> dict[str, Any]:
    """Counters of the connection's encoder, from the track's encoder link."""
    track = current_track(session)
    link = getattr(track, "link", None)
    if link is None:
        return {}
    s = link.stats
    return {"frames": s.frames, "keyframes": s.keyframes, "rebuilds": s.rebuilds,
            "rebuild_reasons": dict(getattr(s, "rebuild_reasons", {})),
            "total_ms": s.total_ms, "target_bps": s.target_bps,
            "keyframe_requests": s.keyframe_requests, "refreshes": s.refreshes,
            "keyframe_bytes": s.keyframe_bytes, "encoder": s.encoder, "mode": s.mode,
            "total_bytes": s.total_bytes, "max_bytes": s.max_bytes,
            **pacer_stats(link)}


def pacer_stats(link: Any) -> dict[str, Any]:
    p = getattr(link, "pacer_stats", None)
    if p is None:
        return {}
    return {"frames_paced": p.frames_paced, "pace_max_delay_ms": round(p.max_delay_ms, 1),
            "nacked_packets": p.losses}


def snapshot(session: SenderSession, capture: TappedCapture) -> dict[str, Any]:
    track = current_track(session)
    return {
        "t": time.time(),
        "captured": capture.frames_produced,
        "sent": track.frames_sent if track is not None else 0,
        "tap_ms": capture.tap_ms,
        "encoder": encoder_stats(session),
    }


def window(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    span = max(1e-6, b["t"] - a["t"])
    out: dict[str, Any] = {
        "capture_fps": round((b["captured"] - a["captured"]) / span, 1),
        "sent_fps": round((b["sent"] - a["sent"]) / span, 1),
        "tap_ms_per_frame": round((b["tap_ms"] - a["tap_ms"])
                                  / max(1, b["captured"] - a["captured"]), 3),
    }
    ea, eb = a["encoder"], b["encoder"]
    if ea and eb:
        frames = eb["frames"] - ea["frames"]
        out["encode_ms"] = round((eb["total_ms"] - ea["total_ms"]) / max(1, frames), 2)
        out["encodes"] = frames
        out["keyframes"] = eb["keyframes"] - ea["keyframes"]
        out["rebuilds"] = eb["rebuilds"] - ea["rebuilds"]
        ra, rb = ea.get("rebuild_reasons", {}), eb.get("rebuild_reasons", {})
        out["rebuild_reasons"] = {k: rb[k] - ra.get(k, 0) for k in rb if rb[k] > ra.get(k, 0)}
        out["keyframe_requests"] = eb["keyframe_requests"] - ea["keyframe_requests"]
        out["refreshes"] = eb["refreshes"] - ea["refreshes"]
        keys = out["keyframes"]
        out["keyframe_kb"] = round((eb["keyframe_bytes"] - ea["keyframe_bytes"])
                                   / max(1, keys) / 1000, 1)
        out["encoded_kbps"] = round((eb["total_bytes"] - ea["total_bytes"]) * 8 / 1000 / span)
        out["encoder_name"] = eb["encoder"]
        out["max_frame_kb"] = round(eb.get("max_bytes", 0) / 1000, 1)
        if "frames_paced" in eb:
            out["frames_paced"] = eb["frames_paced"] - ea.get("frames_paced", 0)
            out["pace_max_delay_ms"] = eb["pace_max_delay_ms"]
            out["nacked_packets"] = eb["nacked_packets"] - ea.get("nacked_packets", 0)
        out["mode"] = eb["mode"]
        if "target_bps" in eb:
            out["target_kbps"] = round(eb["target_bps"] / 1000)
    return out


async def run(args: argparse.Namespace) -> int:
    samples = SampleWriter(args.samples)
    trace = SenderTrace() if args.trace else None
    if trace is not None:
        trace.install()
    capture: TappedCapture | TappedPortalCapture
    if args.backend == "portal":
        capture = TappedPortalCapture(samples, trace, fps=args.fps, max_size=args.max_size,
                                      token_path=args.samples.parent / "portal-token.json")
    else:
        capture = TappedCapture(samples, trace, monitor=1, fps=args.fps,
                                max_size=args.max_size)
    if isinstance(capture, TappedCapture):
        capture.immediate = capture.patches = args.grab == "change"
        capture.grab_limit = args.limiter
        capture.in_place = not args.grab_copy
    casting = asyncio.Event()

    def on_status(st: SenderStatus) -> None:
        if st.state is SenderState.CASTING and not casting.is_set():
            casting.set()
            emit("casting", t=time.time())
        if st.state is SenderState.ENDED:
            emit("ended", reason=st.ended.value if st.ended else None)

    session = SenderSession(args.server, capture, name="cast-bench", codec=args.codec,
                            encoder=delivery(encoder_config(args.mode, args.fps), args),
                            on_status=on_status)
    commands = await stdin_commands()
    start: dict[str, Any] | None = None
    try:
        capture.start()  # as ``castapp send`` does: the capture runs before joining
        emit("joining", t=time.time())
        await session.cast(args.code)
        while line := (await commands.readline()).decode().strip():
            if line == "measure":
                reset_max_frame(session)
                start = snapshot(session, capture)
                samples.enabled = True
                if trace is not None:
                    trace.enabled = True
            elif line == "stop":
                samples.enabled = False
                end = snapshot(session, capture)
                if trace is not None:
                    trace.enabled = False
                    trace.write(args.trace)
                report = window(start, end) if start is not None else {}
                report["misreads"] = capture.reader.misreads
                report["grab_ms"] = round(capture.grab_ms, 2)
                report["convert_ms"] = round(capture.convert_ms, 2)
                report["grabs_on_change"] = capture.woken
                report["patched"] = capture.patched
                samples.close()
                report["samples"] = samples.written
                emit("report", **report)
                break
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(session.close(), 5)
        capture.stop()
    return 0


def encoder_config(mode: str, fps: float) -> EncoderConfig:
    """``auto``: the Auto preset (the default); ``changes``: default settings, encoding only
    changes; ``fixed``: every captured frame encoded (castapp before change detection)."""
    if mode == "auto":
        p = PRESETS["auto"]
        return EncoderConfig(max_fps=fps, crf=p.crf, ceiling_bps=p.ceiling_bps, auto=True)
    return EncoderConfig(max_fps=fps, change_driven=mode == "changes")


def delivery(config: EncoderConfig, args: argparse.Namespace) -> EncoderConfig:
    """``--pacing off``, ``--intra-refresh S``, ``--intra-16x16`` and ``--keyframe-every S``
    applied to the sender's settings."""
    if args.pacing is not None:
        pacing = None if args.pacing == "off" else PacingConfig(
            window_s=args.pace_window, from_first_loss=args.pacing == "after-loss")
        config = dataclasses.replace(config, pacing=pacing)
    if args.intra_refresh is not None:
        config = dataclasses.replace(config, intra_refresh_s=args.intra_refresh)
    if args.intra_16x16:
        config = dataclasses.replace(config, intra_4x4=False)
    if args.keyframe_every is not None:
        config = dataclasses.replace(config, keyframe_interval_s=args.keyframe_every)
    return config


def reset_max_frame(session: SenderSession) -> None:
    link = getattr(current_track(session), "link", None)
    if link is not None:
        link.stats.max_bytes = 0


def size(text: str) -> tuple[int, int]:
    w, _, h = text.lower().partition("x")
    return int(w), int(h)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--server", required=True)
    ap.add_argument("--code", required=True)
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--codec", choices=["h264", "vp8"], default="h264")
    ap.add_argument("--max-size", type=size, default=None)
    ap.add_argument("--samples", type=Path, required=True)
    ap.add_argument("--trace", type=Path, help="write per-frame stage times to this file")
    ap.add_argument("--mode", choices=["auto", "changes", "fixed"], default="auto")
    ap.add_argument("--backend", choices=["x11", "portal"], default="x11",
                    help="capture $DISPLAY (x11) or the Wayland desktop's ScreenCast portal")
    ap.add_argument("--grab", choices=["change", "tick"], default="change",
                    help="grab when X DAMAGE reports a change, only the drawn rectangle when "
                    "small (default), or the whole screen at the next tick")
    ap.add_argument("--limiter", choices=["grid", "interval"], default="grid",
                    help="keep grabs on a change to --fps by a 1/fps grid (default) or by "
                    "no two grabs closer than 1/fps (castapp before the grid)")
    ap.add_argument("--grab-copy", action="store_true",
                    help="convert from mss's copy of each whole-screen grab instead of from "
                    "the X server's shared memory (castapp before the in-place grab)")
    ap.add_argument("--pacing", choices=["on", "after-loss", "off"],
                    help="on: from the first frame; after-loss: from the receiver's first "
                    "reported loss (castapp's default); default: the encoder's default")
    ap.add_argument("--pace-window", type=float, default=PacingConfig.window_s, metavar="S",
                    help="with --pacing on or after-loss: a large frame leaves within S s")
    ap.add_argument("--intra-refresh", type=float, metavar="S",
                    help="x264 intra refresh over S seconds instead of keyframes")
    ap.add_argument("--keyframe-every", type=float, metavar="S",
                    help="with --mode fixed: a keyframe every S seconds (default 8)")
    ap.add_argument("--intra-16x16", action="store_true",
                    help="x264 ultrafast's intra prediction, 16x16 blocks only (castapp "
                    "before 4x4 intra)")
    args = ap.parse_args()
    # stderr (kept by cast.py --logs): castapp's notes, and why the encoder was rebuilt.
    logging.basicConfig(level=logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("castapp").setLevel(logging.INFO)
    logging.getLogger("castapp.rtc.encoder").setLevel(logging.DEBUG)
    raise SystemExit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
