"""Per-frame stage timings for the screen-cast benchmark (``cast.py --trace``).

Each measured process wraps a few aiortc/castapp calls *in its own process only* (the
product is not changed) and records wall-clock times per frame, keyed by the frame's
painted time stamp (read from the picture, so both ends agree without any shared id):

sender
    ``capture``/``convert``: the capture thread's grab and BGRA->I420 times;
    ``wait``: capture to encode start (the newest-frame mailbox and the encoder's queue);
    ``encode``; ``handoff``: encode end (the encoder's thread) to the first RTP packet
    handed to the transport (the event loop); ``send``: first to last packet handed over.
receiver
    ``network``: first packet handed over to its arrival in the receiver's RTP handler (one
    clock: same machine);
    ``receive``: first to last packet (the per-packet Python path, a keyframe's burst);
    ``arrive``: the kernel's arrival time of the frame's first datagram to its last (how
    spread out the packets came; Linux only);
    ``behind``: the last datagram's kernel arrival to its release by the jitter buffer
    (how far the receiver's reading lagged behind the wire);
    ``queue``: the frame's release by the jitter buffer to its decode start (the hand-over
    to the decoder thread for a large frame);
    ``decode``; ``deliver``: decoded to handed to the application.

:func:`merge` joins both sides and :func:`stage_table` summarises them (p50/p95 per stage,
for keyframes and their two followers vs the other frames).
"""

from __future__ import annotations

import contextvars
import json
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from cast_stamp import StampReader

STAGES = ("capture", "convert", "wait", "encode", "handoff", "send", "network", "receive",
          "arrive", "behind", "queue", "decode", "deliver")

#: The stamp of the frame whose packets the running task is sending (set in the video
#: sender's RTP task only).
_SENDING: contextvars.ContextVar[int | None] = contextvars.ContextVar("cast_trace_sending",
                                                                      default=None)


def _y_view(frame: Any) -> np.ndarray:
    plane = frame.planes[0]
    arr = np.frombuffer(plane, np.uint8).reshape(frame.height, plane.line_size)
    return arr[:, : frame.width]


class SenderTrace:
    def __init__(self) -> None:
        self.frames: dict[int, dict[str, Any]] = {}
        self._pts: dict[int, int] = {}
        self._reader = StampReader()
        self._lock = threading.Lock()
        self._last: dict[int, int] = {}
        self.enabled = False

    def captured(self, stamp: int, grab_ms: float, convert_ms: float) -> None:
        if self.enabled:
            self.frames.setdefault(stamp, {}).update(
                captured=time.time(), capture=grab_ms, convert=convert_ms)

    def install(self) -> None:
        import aiortc.rtcrtpsender as rs

        from castapp.rtc import adapt
        from castapp.rtc.encoder import ScreenH264Encoder, ScreenVp8Encoder

        adapt.install()  # first: it checks the stock code these wrappers replace
        trace = self
        for cls in (ScreenH264Encoder, ScreenVp8Encoder):
            original = cls.encode

            def encode(self: Any, frame: Any, force_keyframe: bool = False,
                       _orig: Any = original) -> Any:
                with trace._lock:
                    stamp = trace._reader.read(_y_view(frame)) if trace.enabled else None
                t0 = time.time()
                out = _orig(self, frame, force_keyframe)
                if stamp is not None:
                    trace.frames.setdefault(stamp, {}).update(
                        encode_start=t0, encode_end=time.time(),
                        key=bool(self.stats.last_keyframe), bytes=self.stats.last_bytes)
                    trace._pts[out[1]] = stamp
                return out

            cls.encode = encode  # type: ignore[method-assign]

        original_next = rs.RTCRtpSender._next_encoded_frame

        async def next_encoded(self: Any, codec: Any) -> Any:
            prev = trace._last.pop(id(self), None)
            if prev is not None and prev in trace.frames:
                trace.frames[prev]["send_end"] = time.time()
            encoded = await original_next(self, codec)
            stamp = None
            if encoded is not None:
                stamp = trace._pts.pop(encoded.timestamp, None)
                if stamp is not None:
                    trace._last[id(self)] = stamp
                    trace.frames[stamp]["packets"] = len(encoded.payloads)
            _SENDING.set(stamp)
            return encoded

        rs.RTCRtpSender._next_encoded_frame = next_encoded  # type: ignore[method-assign]

        import aiortc.rtcdtlstransport as dt

        original_send = dt.RTCDtlsTransport._send_rtp

        async def send_rtp(self: Any, data: bytes) -> None:
            stamp = _SENDING.get()
            if stamp is not None:
                frame = trace.frames.get(stamp)
                if frame is not None and "send_start" not in frame:
                    frame["send_start"] = time.time()
            await original_send(self, data)

        dt.RTCDtlsTransport._send_rtp = send_rtp  # type: ignore[method-assign]

    def write(self, path: Path) -> None:
        path.write_text(json.dumps({str(k): v for k, v in self.frames.items()}))


class ReceiverTrace:
    def __init__(self) -> None:
        self.by_rtp: dict[int, dict[str, float]] = {}
        self.kernel: dict[int, list[float]] = {}
        """Raw RTP timestamp -> kernel arrival of its first and last datagram."""
        self._datagram: bytes = b""
        self.frames: dict[int, dict[str, Any]] = {}
        self._reader = StampReader()
        self._origin: int | None = None
        self.enabled = False

    def _key(self, rtp_timestamp: int) -> int:
        """aiortc rebases RTP timestamps to the first frame's before decoding."""
        if self._origin is None:
            self._origin = rtp_timestamp
        return (rtp_timestamp - self._origin) % (1 << 32)

    def delivered(self, stamp: int, at: float) -> None:
        if self.enabled and stamp in self.frames:
            self.frames[stamp]["delivered"] = at

    def install(self) -> None:
        from aiortc.codecs.h264 import H264Decoder
        from aiortc.codecs.vpx import Vp8Decoder
        from aiortc.jitterbuffer import JitterBuffer

        from castapp.rtc import adapt
        from castapp.rtc.rxpath import VideoPath

        adapt.install()  # first: it checks the stock code these wrappers replace
        trace = self
        from castapp.rtc import backlog

        original_is_rtp, original_arrival = backlog._is_rtp, backlog.kernel_arrival

        def is_rtp(data: bytes) -> bool:
            trace._datagram = data
            return original_is_rtp(data)

        def kernel_arrival(fd: int) -> float | None:
            at = original_arrival(fd)
            data, trace._datagram = trace._datagram, b""
            if trace.enabled and at is not None and len(data) >= 8:
                raw = int.from_bytes(data[4:8], "big")
                span = trace.kernel.setdefault(raw, [at, at])
                span[0], span[1] = min(span[0], at), max(span[1], at)
            return at

        backlog._is_rtp = is_rtp  # type: ignore[assignment]
        backlog.kernel_arrival = kernel_arrival  # type: ignore[assignment]
        original_handle = VideoPath.handle

        def handle(self: Any, packet: Any, arrival_time_ms: int) -> Any:
            key = trace._key(packet.timestamp)
            if trace.enabled:
                entry = trace.by_rtp.get(key)
                now = time.time()
                if entry is None:
                    trace.by_rtp[key] = {"first": now, "last": now, "raw": packet.timestamp}
                else:
                    entry["last"] = now
            return original_handle(self, packet, arrival_time_ms)

        VideoPath.handle = handle  # type: ignore[method-assign]

        original_add = JitterBuffer.add

        def add(self: Any, packet: Any) -> Any:
            pli, frame = original_add(self, packet)
            if frame is not None and trace.enabled:
                entry = trace.by_rtp.get(trace._key(frame.timestamp))
                if entry is not None:
                    entry["released"] = time.time()
            return pli, frame

        JitterBuffer.add = add  # type: ignore[method-assign]

        for cls in (H264Decoder, Vp8Decoder):
            original_decode = cls.decode

            def decode(self: Any, encoded: Any, _orig: Any = original_decode) -> Any:
                t0 = time.time()
                frames = _orig(self, encoded)
                t1 = time.time()
                if trace.enabled and frames:
                    stamp = trace._reader.read(_y_view(frames[0]))
                    if stamp is not None:
                        trace.frames[stamp] = {"rtp": encoded.timestamp, "decode_start": t0,
                                               "decode_end": t1}
                return frames

            cls.decode = decode  # type: ignore[method-assign]

    def write(self, path: Path) -> None:
        out = {}
        for stamp, f in self.frames.items():
            rtp = self.by_rtp.get(f.get("rtp", -1), {})
            kernel = self.kernel.get(int(rtp.get("raw", -1)))
            if kernel is not None:
                rtp = {**rtp, "kfirst": kernel[0], "klast": kernel[1]}
            out[str(stamp)] = {**f, **{f"rtp_{k}": v for k, v in rtp.items()}}
        path.write_text(json.dumps(out))


def merge(sender_file: Path, receiver_file: Path) -> list[dict[str, Any]]:
    """Per-frame stage times in ms, for frames seen on both ends, in capture order."""
    sent = {int(k): v for k, v in json.loads(sender_file.read_text()).items()}
    got = {int(k): v for k, v in json.loads(receiver_file.read_text()).items()}
    rows = []
    for stamp, s in sent.items():
        r = got.get(stamp)
        if r is None or "encode_end" not in s or "delivered" not in r:
            continue

        def ms(a: float | None, b: float | None) -> float | None:
            return None if a is None or b is None else round((b - a) * 1000.0, 2)

        rows.append({
            "stamp": stamp,
            "key": s.get("key", False),
            "bytes": s.get("bytes"),
            "packets": s.get("packets"),
            "at": s.get("captured"),
            "capture": s.get("capture"),
            "convert": s.get("convert"),
            "wait": ms(s.get("captured"), s.get("encode_start")),
            "encode": ms(s.get("encode_start"), s.get("encode_end")),
            "handoff": ms(s.get("encode_end"), s.get("send_start")),
            "send": ms(s.get("send_start"), s.get("send_end")),
            "network": ms(s.get("send_start"), r.get("rtp_first")),
            "receive": ms(r.get("rtp_first"), r.get("rtp_released", r.get("rtp_last"))),
            "arrive": ms(r.get("rtp_kfirst"), r.get("rtp_klast")),
            "behind": ms(r.get("rtp_klast"), r.get("rtp_released", r.get("rtp_last"))),
            "queue": ms(r.get("rtp_released"), r.get("decode_start")),
            "decode": ms(r.get("decode_start"), r.get("decode_end")),
            "deliver": ms(r.get("decode_end"), r.get("delivered")),
        })
    rows.sort(key=lambda row: row["at"] or 0.0)
    # Keyframes and the two frames after each form the "keyframe" group.
    after = 0
    for row in rows:
        if row["key"]:
            after = 3
        row["key_group"] = after > 0
        after = max(0, after - 1)
    return rows


def _pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 2) if values else None


def stage_table(rows: list[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    table = {}
    for stage in STAGES:
        all_v = [r[stage] for r in rows if r.get(stage) is not None]
        key_v = [r[stage] for r in rows if r.get(stage) is not None and r["key_group"]]
        table[stage] = {"p50": _pct(all_v, 50), "p95": _pct(all_v, 95),
                        "key_p95": _pct(key_v, 95)}
    return table


def format_table(table: dict[str, dict[str, float | None]]) -> str:
    lines = ["| stage | p50 ms | p95 ms | keyframe group p95 ms |", "|---|---|---|---|"]
    for stage, v in table.items():
        cells = ["-" if v[k] is None else f"{v[k]:.1f}" for k in ("p50", "p95", "key_p95")]
        lines.append(f"| {stage} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
