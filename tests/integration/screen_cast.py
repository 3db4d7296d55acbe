"""A real X screen (Xvfb) captured, encoded in software and cast between two real aiortc
peers in this process, for the change-driven capture tests.

Use it under the ``loopback_only`` fixture, so the peers offer only 127.0.0.1.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Self

from aiortc import RTCPeerConnection
from aiortc.rtcrtpreceiver import RemoteStreamTrack
from closing import bounded
from xvfb import xsetroot, xvfb

from castapp.rtc import peer
from castapp.rtc.capture import ScreenCapture
from castapp.rtc.encoder import EncoderConfig
from castapp.rtc.receive import FrameReceiver, ReceivedFrame
from castapp.rtc.track import CaptureTrack

W, H = 1280, 720



@contextmanager
def x_screen(background: str) -> Iterator[str]:
    """A W x H Xvfb screen with a solid ``background``; yields its display name."""
    with xvfb(W, H) as display:
        xsetroot(display, "-solid", background)
        yield display


class ScreenCast:
    """Screen 1 of ``display`` sent from one peer to the other; ``async with`` starts it and
    returns once the first frame arrived, and closes it. Subclasses see each decoded frame in
    :meth:`on_frame`."""

    def __init__(self, display: str, fps: float, encoder: EncoderConfig) -> None:
        self.source = ScreenCapture(1, fps=fps, display=display)
        self.encoder = encoder
        self.pcs: list[RTCPeerConnection] = []
        self.track: CaptureTrack | None = None
        self.receiver: FrameReceiver | None = None

    def on_frame(self, frame: ReceivedFrame) -> None:
        """Called for every frame the receiving peer decodes."""

    async def start(self) -> None:
        self.source.start()
        sender, receiver = peer.make_peer_connection([]), peer.make_peer_connection([])
        self.pcs = [sender, receiver]
        self.track = CaptureTrack(self.source, encoder=self.encoder)
        peer.add_video_sender(sender, self.track, "h264")
        got: asyncio.Future[FrameReceiver] = asyncio.get_running_loop().create_future()

        @receiver.on("track")
        def on_track(t: RemoteStreamTrack) -> None:
            fr = FrameReceiver(t, self.on_frame)
            fr.start()
            got.set_result(fr)

        await sender.setLocalDescription(await sender.createOffer())
        await receiver.setRemoteDescription(sender.localDescription)
        await receiver.setLocalDescription(await receiver.createAnswer())
        await sender.setRemoteDescription(receiver.localDescription)
        self.receiver = await asyncio.wait_for(got, 15)
        await asyncio.wait_for(self.receiver.next_frame(), 15)

    async def close(self) -> None:
        """Each step bounded: a step that does not end within CLOSE_STEP_S is named in a
        warning, with the stack of every task still pending, and the next step runs (the
        tests here are about what was cast, not about how aiortc closes)."""
        if self.receiver is not None:
            await bounded("the frame receiver's stop", self.receiver.stop())
        for i, pc in enumerate(self.pcs):
            await bounded(f"peer connection {i}'s close", pc.close())
        self.source.stop()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
