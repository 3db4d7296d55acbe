"""Look at, or drop, the RTP packets an aiortc receiver reads, whichever way it reads them:
through castapp's :class:`~castapp.rtc.rxpath.VideoPath` (a video receiver of castapp's) or
the stock ``_handle_rtp_packet``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from castapp.rtc.rxpath import VideoPath


def tap(receiver: Any, keep: Callable[[Any], bool]) -> None:
    """``keep(packet)`` is asked about each packet before the receiver handles it; False
    drops it as if it never arrived."""
    path = getattr(receiver, "castapp_path", None)
    if isinstance(path, VideoPath):
        handle = path.handle

        def handle_kept(packet: Any, arrival_time_ms: int) -> Any:
            return handle(packet, arrival_time_ms) if keep(packet) else None

        path.handle = handle_kept  # type: ignore[method-assign]
        return
    stock = receiver._handle_rtp_packet

    async def handle_rtp(packet: Any, arrival_time_ms: int) -> None:
        if keep(packet):
            await stock(packet, arrival_time_ms)

    receiver._handle_rtp_packet = handle_rtp
