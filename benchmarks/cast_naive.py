"""A stock aiortc screen-cast pipeline, the baseline of ``cast.py --compare naive``.

This is the straightforward way to cast a screen with aiortc, and none of castapp's media
code is used (castapp's aiortc adaptations are never installed in these processes):

* sender: a ``VideoStreamTrack`` paced by aiortc's ``next_timestamp()`` (a fixed 30 fps
  clock, whatever ``--fps`` asks for), ``mss`` grab + ``np.array`` +
  ``VideoFrame.from_ndarray(bgra)`` on the event loop, and aiortc's stock H.264/VP8
  encoders (pixel-format conversion happens inside the encoder);
* receiver (:func:`receive`, used by ``cast_probe.py --naive``): a plain
  ``RTCPeerConnection`` and ``await track.recv()`` for every decoded frame, with aiortc's
  stock jitter buffer and no draining of its frame queue.

Both ends still find each other through castapp's room service with castapp's signaling
client (that part carries no media). ICE servers are always empty.

Sender stdout (JSON lines): ``joining``, ``casting``, and after ``stop`` on stdin a
``report``. For the PSNR check the sender reads the stamp of each grabbed frame and, for
sample stamps inside the measurement window, writes the Y plane (castapp's BGRA->I420, luma
within one level of the encoder's own conversion) — only then, so the normal path stays stock.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import mss
import numpy as np
from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.mediastreams import MediaStreamTrack
from cast_stamp import SampleWriter, StampReader, emit, stdin_commands

from castapp import protocol as p
from castapp.rtc.convert import I420Converter
from castapp.signaling.client import SignalingClient


def assert_stock() -> None:
    """Fail if castapp's aiortc adaptations were installed in this process."""
    adapt = sys.modules.get("castapp.rtc.adapt")
    if adapt is not None and adapt.installed():
        raise RuntimeError("castapp's aiortc adaptations are installed in a naive process")


def stock_peer_connection() -> RTCPeerConnection:
    assert_stock()
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


class NaiveScreenTrack(VideoStreamTrack):
    """Grab the screen in ``recv()`` on the event loop, at aiortc's 30 fps pace."""

    def __init__(self, samples: SampleWriter) -> None:
        super().__init__()
        self.sct = mss.MSS()
        self.monitor = self.sct.monitors[1]
        self.samples = samples
        self.reader = StampReader()
        self.frames_sent = 0
        self.tap_ms = 0.0

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        bgra = np.array(self.sct.grab(self.monitor))
        t0 = time.perf_counter()
        self._tap(bgra)
        self.tap_ms += (time.perf_counter() - t0) * 1000.0
        frame = av.VideoFrame.from_ndarray(bgra, format="bgra")
        frame.pts = pts
        frame.time_base = time_base
        self.frames_sent += 1
        return frame

    def _tap(self, bgra: np.ndarray) -> None:
        # Black and white cells read the same in any channel; green stands in for luma.
        stamp = self.reader.read(bgra[:, :, 1])
        if stamp is None or not self.samples.enabled:
            return
        if self.samples.wants(stamp):
            y = I420Converter().convert(bgra)[: bgra.shape[0]]
            self.samples.offer(stamp, y, copy=False)

    def stop(self) -> None:
        super().stop()
        self.sct.close()


def codec_preferences(codec: str) -> list[Any]:
    wanted = "video/h264" if codec == "h264" else "video/vp8"
    caps = RTCRtpSender.getCapabilities("video").codecs
    return [c for c in caps if c.mimeType.lower() in (wanted, "video/rtx")]


async def next_event(client: SignalingClient, kind: type, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        ev = await client.next_event(max(0.01, deadline - time.monotonic()))
        if isinstance(ev, kind):
            return ev


async def send(args: argparse.Namespace) -> int:
    samples = SampleWriter(args.samples)
    commands = await stdin_commands()
    client = SignalingClient(args.server, name="cast-bench-naive", reconnect=False)
    track = NaiveScreenTrack(samples)
    pc = stock_peer_connection()
    start: tuple[float, int, float] | None = None

    @pc.on("connectionstatechange")
    def on_state() -> None:
        if pc.connectionState == "connected":
            emit("casting", t=time.time())

    try:
        emit("joining", t=time.time())
        await client.connect()
        joined = await client.join(args.code)
        receiver = joined.receiver.peer_id
        transceiver = pc.addTransceiver(track, direction="sendonly")
        transceiver.setCodecPreferences(codec_preferences(args.codec))
        await pc.setLocalDescription(await pc.createOffer())
        await client.send_offer(receiver, pc.localDescription.sdp)
        answer = await next_event(client, p.RelayedAnswer, 20)
        await pc.setRemoteDescription(RTCSessionDescription(answer.sdp, "answer"))
        while line := (await commands.readline()).decode().strip():
            if line == "measure":
                start = (time.time(), track.frames_sent, track.tap_ms)
                samples.enabled = True
            elif line == "stop":
                samples.enabled = False
                report: dict[str, Any] = {"misreads": track.reader.misreads}
                if start is not None:
                    span = max(1e-6, time.time() - start[0])
                    sent = track.frames_sent - start[1]
                    report["sent_fps"] = round(sent / span, 1)
                    report["tap_ms_per_frame"] = round((track.tap_ms - start[2]) / max(1, sent),
                                                       3)
                samples.close()
                report["samples"] = samples.written
                emit("report", **report)
                break
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(pc.close(), 5)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.close(), 5)
    return 0


_pulls: set[asyncio.Task[None]] = set()


async def receive(
    client: SignalingClient, on_frame: Callable[[av.VideoFrame, float], None]
) -> RTCPeerConnection:
    """Answer the first offer with a stock peer connection; frames go to ``on_frame``.

    ``on_frame(frame, wall_time)`` is called for every frame ``track.recv()`` returns.
    Returns once the answer is sent; the frame loop runs as a task.
    """
    offer = await next_event(client, p.RelayedOffer, 60)
    pc = stock_peer_connection()

    async def pull(track: MediaStreamTrack) -> None:
        with contextlib.suppress(Exception):
            while True:
                frame = await track.recv()
                if isinstance(frame, av.VideoFrame):
                    on_frame(frame, time.time())

    @pc.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        if track.kind == "video":
            task = asyncio.ensure_future(pull(track))
            _pulls.add(task)
            task.add_done_callback(_pulls.discard)

    await pc.setRemoteDescription(RTCSessionDescription(offer.sdp, "offer"))
    await pc.setLocalDescription(await pc.createAnswer())
    await client.send_answer(offer.from_, pc.localDescription.sdp)
    return pc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--server", required=True)
    ap.add_argument("--code", required=True)
    ap.add_argument("--codec", choices=["h264", "vp8"], default="h264")
    ap.add_argument("--samples", type=Path, required=True)
    args = ap.parse_args()
    raise SystemExit(asyncio.run(send(args)))


if __name__ == "__main__":
    main()
