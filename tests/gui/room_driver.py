"""A stand-in for the receiver session's room half: it keeps the calls and answers the TV.

It implements the window's ``RoomControls`` the way the session does (allow moves a call on
screen, deny and stop remove it) and records what the TV asked, so tests drive real windows
without a network.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from castapp.session.room import CallPhase, CallView


class RoomDriver:
    def __init__(self, window: Any) -> None:
        self.window = window
        self.calls: list[CallView] = []
        self.asked: list[tuple[str, ...]] = []
        self.views: dict[str, tuple[int, int, int, int, int, bool]] = {}

    def publish(self) -> None:
        self.window.show_calls(tuple(self.calls))

    def add(self, call: CallView) -> None:
        self.calls.append(call)
        self.publish()

    def set_phase(self, peer_id: str, phase: CallPhase) -> None:
        self.calls = [replace(c, phase=phase) if c.peer_id == peer_id else c for c in self.calls]
        self.publish()

    def _remove(self, peer_id: str) -> None:
        self.calls = [c for c in self.calls if c.peer_id != peer_id]
        self.publish()

    # RoomControls
    def allow(self, peer_id: str) -> None:
        self.asked.append(("allow", peer_id))
        self.set_phase(peer_id, CallPhase.CONNECTING)

    def deny(self, peer_id: str) -> None:
        self.asked.append(("deny", peer_id))
        self._remove(peer_id)

    def stop_call(self, peer_id: str) -> None:
        self.asked.append(("stop", peer_id))
        self._remove(peer_id)

    def set_view(self, peer_id: str, width: int, height: int, fps: int, tile: int, tiles: int,
                 spotlit: bool) -> None:
        self.views[peer_id] = (width, height, fps, tile, tiles, spotlit)
