"""CPU per received video packet: castapp's packet path against the coroutine chain.

Real H.264 packets (a 1080p desktop-like keyframe and the frames after it, and a 640×360
tile stream) are handed, as decrypted datagrams, to
``RTCDtlsTransport._handle_rtp_data`` of two aiortc video receivers in turn, over and over,
on one thread:

* ``path``: castapp's :class:`~castapp.rtc.rxpath.VideoPath` with its three watchers hooked
  in as castapp's receive links hook them (a marker hook, an admit check, a handled hook);
* ``chain``: aiortc's own ``_handle_rtp_data`` and ``_handle_rtp_packet`` with the same three
  watchers as coroutine wrappers around the handler, which is how castapp read packets before
  the path (``--reference stock`` leaves the wrappers out: aiortc alone).

Frames go to a stand-in decoder queue (decoding is the same either way and measured
elsewhere); SRTP and the socket are left out too. Both receivers get the same packets in
alternating rounds, so the machine's load falls on both alike; the figure to read is
``path_over_reference`` (CPU per packet, path / reference, medians over the rounds).

    python benchmarks/rx_path.py [--rounds 15] [--reference chain|stock]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def desktop(w: int, h: int, i: int) -> Any:
    """A desktop-like picture: flat panels, lines of 'text', one moving block."""
    import numpy as np

    rng = np.random.default_rng(7)
    img = np.full((h, w, 3), 236, np.uint8)
    img[: h // 18] = (40, 44, 52)
    text = rng.integers(0, 2, (h // 4, w // 2), dtype=np.uint8) * 180
    rows = np.repeat(np.repeat(text, 2, axis=0), 2, axis=1)[: h * 3 // 4, : w * 3 // 4]
    img[h // 8: h // 8 + rows.shape[0], w // 8: w // 8 + rows.shape[1]] = rows[..., None]
    x = (i * 17) % (w - 200)
    img[h - 300: h - 100, x: x + 200] = (200, 60, 60)
    return img


def encoded(w: int, h: int, count: int) -> list[list[bytes]]:
    import av
    from aiortc.codecs.h264 import H264Encoder

    encoder = H264Encoder()
    encoder.target_bitrate = 8_000_000
    frames = []
    for i in range(count):
        frame = av.VideoFrame.from_ndarray(desktop(w, h, i), format="rgb24")
        frame.pts, frame.time_base = i * 3000, Fraction(1, 90000)
        payloads, _ = encoder.encode(frame, force_keyframe=i == 0)
        frames.append(payloads)
    return frames


def datagrams(frames: list[list[bytes]], ext_map: Any) -> list[bytes]:
    from aiortc.rtp import RtpPacket

    out, seq, sent = [], 0, 0.0
    for i, payloads in enumerate(frames):
        for j, payload in enumerate(payloads):
            p = RtpPacket(payload_type=96, sequence_number=seq & 0xFFFF, timestamp=i * 3000,
                          ssrc=1111, marker=j == len(payloads) - 1, payload=payload)
            p.extensions.abs_send_time = int(sent * (1 << 18)) & 0xFFFFFF
            out.append(p.serialize(ext_map))
            seq, sent = seq + 1, sent + 0.0001
        sent += 1 / 30
    return out


class Queue:
    def __init__(self) -> None:
        self.frames = 0

    def put(self, task: Any) -> None:
        self.frames += 1


class Transport:
    state = "new"

    async def _send_rtp(self, data: bytes) -> None:
        pass


def make_receiver(kind: str) -> tuple[Any, Any, Queue]:
    """(dtls stand-in, receiver, decoder queue); kind: path, chain or stock."""
    import aiortc.rtcdtlstransport as dtls
    from aiortc.rtcrtpparameters import (
        RTCRtpCodecParameters,
        RTCRtpHeaderExtensionParameters,
        RTCRtpReceiveParameters,
    )
    from aiortc.rtcrtpreceiver import RTCRtpReceiver
    from aiortc.rtp import HeaderExtensionsMap

    from castapp.rtc import rxpath

    codec = RTCRtpCodecParameters(mimeType="video/H264", clockRate=90000, payloadType=96,
                                  parameters={"packetization-mode": "1"})
    r = RTCRtpReceiver("video", Transport())  # type: ignore[arg-type]
    r._RTCRtpReceiver__codecs[96] = codec
    queue = Queue()
    r._RTCRtpReceiver__decoder_queue = queue
    r._RTCRtpReceiver__decoder_thread = True
    r._set_rtcp_ssrc(3333)
    ext = HeaderExtensionsMap()
    ext.configure(RTCRtpReceiveParameters(headerExtensions=[RTCRtpHeaderExtensionParameters(
        id=3, uri="http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time")]))
    router = dtls.RtpRouter()
    router.register_receiver(r, ssrcs=[1111], payload_types=[96])

    class Dtls:
        _rtp_header_extensions_map = ext
        _rtp_router = router

    state = {"markers": 0, "handled": 0}
    if kind == "path":
        path = rxpath.path_of(r)
        assert path is not None
        path.admit = lambda packet: True
        path.on_marker.append(lambda packet: state.__setitem__("markers", 1))
        path.handled.append(lambda: state.__setitem__("handled", 1))
        handler = rxpath.handle_rtp_data
    else:
        handler = rxpath_stock()
        if kind == "chain":  # castapp's three watchers, as coroutine wrappers
            inner = r._handle_rtp_packet

            async def marker(packet: Any, arrival_time_ms: int) -> None:
                if packet.marker:
                    state["markers"] = 1
                await inner(packet, arrival_time_ms)

            async def admit(packet: Any, arrival_time_ms: int) -> None:
                if bool(packet):
                    await marker(packet, arrival_time_ms)

            async def handled(packet: Any, arrival_time_ms: int) -> None:
                await admit(packet, arrival_time_ms)
                state["handled"] = 1

            r._handle_rtp_packet = handled
    dtls_obj = Dtls()

    async def feed(data: bytes, arrival_ms: int) -> None:
        await handler(dtls_obj, data, arrival_ms)

    return feed, r, queue


def rxpath_stock() -> Any:
    from castapp.rtc import adapt

    return adapt._stock_handle_rtp_data


def shifted(trace: list[bytes], passes: int, start: int) -> list[bytes]:
    """``passes`` copies of the trace as later packets: sequence numbers and RTP timestamps
    go on from pass ``start`` (as a stream does), abs-send-time as sent."""
    out = []
    frames = max(1, sum(1 for d in trace if d[1] & 0x80))
    for k in range(start, start + passes):
        for data in trace:
            seq = (int.from_bytes(data[2:4], "big") + k * len(trace)) & 0xFFFF
            ts = (int.from_bytes(data[4:8], "big") + k * frames * 3000) & 0xFFFFFFFF
            out.append(data[:2] + seq.to_bytes(2, "big") + ts.to_bytes(4, "big") + data[8:])
    return out


async def measure(feed: Any, datagrams: list[bytes], clock: list[int]) -> float:
    """CPU µs per packet (arrival times go on a millisecond a packet)."""
    t0 = time.thread_time()
    for data in datagrams:
        clock[0] += 1
        await feed(data, clock[0])
    return (time.thread_time() - t0) * 1e6 / len(datagrams)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from aiortc.rtcrtpparameters import (
        RTCRtpHeaderExtensionParameters,
        RTCRtpReceiveParameters,
    )
    from aiortc.rtp import HeaderExtensionsMap

    from castapp.rtc import adapt

    adapt.install(advertise_level=False)
    ext = HeaderExtensionsMap()
    ext.configure(RTCRtpReceiveParameters(headerExtensions=[RTCRtpHeaderExtensionParameters(
        id=3, uri="http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time")]))
    cases = {"1080p_keyframe_and_10_frames": datagrams(encoded(1920, 1080, 11), ext),
             "640x360_tile_frames": datagrams(encoded(640, 360, 60), ext)}
    result: dict[str, Any] = {"benchmark": "rx_path", "reference": args.reference,
                              "rounds": args.rounds}
    for name, trace in cases.items():
        repeat = max(1, 6000 // len(trace))
        mine, _, mine_q = make_receiver("path")
        ref, _, ref_q = make_receiver(args.reference)
        times: dict[str, list[float]] = {"path": [], "reference": []}
        clocks = {"path": [0], "reference": [0]}
        for k in range(args.rounds):
            batch = shifted(trace, repeat, k * repeat)
            for who, feed in (("path", mine), ("reference", ref)):
                times[who].append(await measure(feed, batch, clocks[who]))
        path_us = statistics.median(times["path"])
        ref_us = statistics.median(times["reference"])
        result[name] = {
            "packets": len(trace),
            "frames": len(trace) and sum(1 for d in trace if d[1] & 0x80),
            "path_us_per_packet": round(path_us, 2),
            "reference_us_per_packet": round(ref_us, 2),
            "path_over_reference": round(path_us / ref_us, 3),
            "frames_to_decoder": [mine_q.frames, ref_q.frames],
        }
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--reference", choices=["chain", "stock"], default="chain")
    print(json.dumps(asyncio.run(run(ap.parse_args()))), flush=True)


if __name__ == "__main__":
    main()
