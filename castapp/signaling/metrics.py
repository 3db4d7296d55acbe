"""Prometheus text exposition of the room service's counters and gauges."""

from __future__ import annotations

from typing import TYPE_CHECKING

from castapp.protocol import ErrorCode, Role

if TYPE_CHECKING:
    from castapp.signaling.server import RoomServer

_COUNTERS = {
    "registrations": "Receivers registered (new or reclaimed codes).",
    "joins": "Senders that joined a room.",
    "relayed": "Offers, answers, candidates and byes relayed between peers.",
    "rate_limited_joins": "Join attempts refused because the address failed too often.",
    "rate_limited_registrations": "Registrations refused because the address registered too often.",
    "flood_dropped": "Messages dropped because a connection sent too fast.",
    "connections": "WebSocket connections accepted.",
    "forwarded": "Messages handed to another instance for one of its peers.",
    "undeliverable": "Messages for a peer connected nowhere (it had just left).",
    "probes": "LAN discovery probes answered (each counted as a join attempt).",
    "guarded_joins": "Joins while the service was guarded (code and guard PIN needed).",
    "unproven_registrations": "Registrations refused: the key proof did not check out.",
    "replacements_refused": "Receivers refused their code: a copy of them kept taking it.",
    "store_resets": "Times the shared store had lost this instance's rooms (clients sent away).",
}


def render_metrics(server: RoomServer) -> str:
    rooms = server.rooms
    lines: list[str] = []

    def gauge(name: str, help_text: str, value: float) -> None:
        lines.extend(
            (f"# HELP castapp_{name} {help_text}", f"# TYPE castapp_{name} gauge",
             f"castapp_{name} {value}")
        )

    receivers = rooms.count(Role.RECEIVER)
    gauge("receivers", "Receivers connected and showing a code.", receivers)
    gauge("senders", "Senders connected and in a room.", rooms.count(Role.SENDER))
    gauge("rooms", "Rooms with a live receiver on this instance.", receivers)
    gauge("connections", "Open WebSocket connections.", len(server.connections))
    guard = server.guard
    gauge("tcp_connections", "Open TCP connections (any stage).", sum(guard.by_address.values()))
    gauge("tcp_refused", "TCP connections closed at once: their address held too many.",
          guard.refused)
    gauge("tcp_timed_out", "TCP connections closed before completing a first request.",
          guard.timed_out)
    gauge("accept_errors", "Connections the system could not accept (out of files).",
          guard.accept_errors)
    for key, help_text in _COUNTERS.items():
        name = f"castapp_{key}_total"
        lines.extend(
            (f"# HELP {name} {help_text}", f"# TYPE {name} counter",
             f"{name} {rooms.counters[key]}")
        )
    lines.append("# HELP castapp_errors_total Error messages sent to clients, by code.")
    lines.append("# TYPE castapp_errors_total counter")
    for code in ErrorCode:
        lines.append(f'castapp_errors_total{{code="{code.value}"}} {rooms.errors[code]}')
    if server.gc_pauses is not None:
        lines.extend(server.gc_pauses.prometheus())
    return "\n".join(lines) + "\n"
