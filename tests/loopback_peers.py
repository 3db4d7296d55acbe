"""Real aiortc peers in one process over loopback: what tests need to set a cast up and to
close everything they opened."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from aiortc import RTCPeerConnection
from closing import bounded

from castapp.rtc import peer
from castapp.rtc.capture import SyntheticSource
from castapp.rtc.receive import FrameReceiver, ReceivedFrame

S = TypeVar("S", bound=SyntheticSource)


@dataclass
class Harness:
    pcs: list[RTCPeerConnection] = field(default_factory=list)
    sources: list[SyntheticSource] = field(default_factory=list)
    receivers: list[FrameReceiver] = field(default_factory=list)

    def pc(self) -> RTCPeerConnection:
        pc = peer.make_peer_connection([])
        self.pcs.append(pc)
        return pc

    def started(self, src: S) -> S:
        src.start()
        self.sources.append(src)
        return src

    async def close(self) -> None:
        for r in self.receivers:
            await bounded("a frame receiver's stop", r.stop())
        for pc in self.pcs:
            await bounded("a peer connection's close", pc.close())
        for s in self.sources:
            s.stop()


async def exchange(offerer: RTCPeerConnection, answerer: RTCPeerConnection) -> None:
    await offerer.setLocalDescription(await offerer.createOffer())
    await answerer.setRemoteDescription(offerer.localDescription)
    await answerer.setLocalDescription(await answerer.createAnswer())
    await offerer.setRemoteDescription(answerer.localDescription)


def receive_into(
    h: Harness, pc: RTCPeerConnection, on_frame: Callable[[ReceivedFrame], None]
) -> asyncio.Future[FrameReceiver]:
    """The :class:`FrameReceiver` of the first track ``pc`` receives, once it does."""
    fut: asyncio.Future[FrameReceiver] = asyncio.get_running_loop().create_future()

    @pc.on("track")
    def on_track(track: object) -> None:
        receiver = FrameReceiver(track, on_frame)  # type: ignore[arg-type]
        receiver.start()
        h.receivers.append(receiver)
        if not fut.done():
            fut.set_result(receiver)

    return fut
