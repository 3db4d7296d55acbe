"""Pieces both sessions share: reaching the room service, applying remote candidates."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

from castapp import protocol as p
from castapp.signaling.client import (
    ServiceUnreachableError,
    SignalingClient,
    UnsupportedVersionError,
)

if TYPE_CHECKING:  # aiortc is imported with the first call
    from aiortc import RTCIceCandidate, RTCPeerConnection

log = logging.getLogger(__name__)

StatusFn = Callable[[dict[str, object]], None]


class Connectable(Protocol):
    async def connect(self) -> p.Welcome: ...


async def connect_with_retry(
    client: Connectable | SignalingClient,
    report: StatusFn,
    backoff: tuple[float, float] = (0.5, 10.0),
    give_up_after: int | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> p.Welcome:
    """Connect, retrying with backoff while the service is unreachable; reports each wait."""
    delay, attempt = backoff[0], 0
    while True:
        try:
            welcome = await client.connect()
        except UnsupportedVersionError as exc:
            report({"error": exc, "service_ok": False, "retry_in_s": None})
            raise
        except ServiceUnreachableError as exc:
            attempt += 1
            if give_up_after is not None and attempt >= give_up_after:
                report({"error": exc, "service_ok": False, "retry_in_s": None})
                raise
            report({"error": exc, "service_ok": False, "retry_in_s": round(delay, 1)})
            await sleep(delay)
            delay = min(delay * 2, backoff[1])
            continue
        report({"error": None, "service_ok": True, "retry_in_s": None})
        return welcome


class BadCandidateError(ValueError):
    """A trickled candidate from the other end that cannot be read."""


def parse_candidate(cand: p.IceCandidate) -> RTCIceCandidate | None:
    """An aiortc candidate from a relayed one; None for an empty one (end of a generation).

    Raises :class:`BadCandidateError` for a malformed candidate.
    """
    from aiortc.sdp import candidate_from_sdp

    text = cand.candidate.removeprefix("candidate:")
    if not text:
        return None
    try:
        candidate = candidate_from_sdp(text)
    except (ValueError, IndexError):
        raise BadCandidateError("a malformed ICE candidate") from None
    candidate.sdpMid = cand.sdpMid
    candidate.sdpMLineIndex = cand.sdpMLineIndex
    return candidate


async def add_remote_candidate(pc: RTCPeerConnection, cand: p.IceCandidate | None) -> None:
    """Apply a trickled candidate from the other end (``None``: end of candidates)."""
    if cand is None:
        await pc.addIceCandidate(None)
        return
    try:
        candidate = parse_candidate(cand)
    except BadCandidateError:
        log.warning("ignoring a malformed ICE candidate from the other end")
        return
    if candidate is not None:
        await pc.addIceCandidate(candidate)
