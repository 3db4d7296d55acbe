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


def link_quality(stats: PeerStats | None, target_fps: float | None = None) -> LinkQuality | None:
    """None until there is enough to judge. Round trip, loss and frame rate each count."""
    if stats is None:
        return None
    packets = stats.packets_received or stats.packets_sent
    loss = stats.packets_lost / (packets + stats.packets_lost) if packets else 0.0
    rtt = stats.rtt_ms
    fps_ratio = (stats.fps / target_fps) if stats.fps is not None and target_fps else 1.0
    if loss > 0.05 or (rtt is not None and rtt > 250) or fps_ratio < 0.5:
        return LinkQuality.POOR
    if loss > 0.01 or (rtt is not None and rtt > 80) or fps_ratio < 0.85:
        return LinkQuality.FAIR
    return LinkQuality.GOOD
