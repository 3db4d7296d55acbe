"""How good a cast's link is, in one of three words, from a stats sample."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from castapp.rtc.peer import PeerStats


class LinkQuality(enum.Enum):
    GOOD = "good"
    FAIR = "fair"
    POOR = "poor"


def link_quality(stats: PeerStats | None) -> LinkQuality | None:
    """None until there is enough to judge. Round trip and loss count; the frame rate does
    not: castapp's senders send a frame when the screen changes, so a still screen on a
    clean link sends a few frames a second."""
    if stats is None:
        return None
    packets = stats.packets_received or stats.packets_sent
    loss = stats.packets_lost / (packets + stats.packets_lost) if packets else 0.0
    rtt = stats.rtt_ms
    if loss > 0.05 or (rtt is not None and rtt > 250):
        return LinkQuality.POOR
    if loss > 0.01 or (rtt is not None and rtt > 80):
        return LinkQuality.FAIR
    return LinkQuality.GOOD
