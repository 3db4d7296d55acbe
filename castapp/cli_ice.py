"""Command-line flags for the user's own STUN/TURN servers, relay-only and the deadline."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

#: The ``dest`` names of :func:`add_ice_flags`' flags (the window takes them too).
ICE_DESTS = frozenset({"ice_server", "turn_user", "turn_pass", "relay_only", "connect_timeout"})


def add_ice_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ice-server", action="append", default=[], metavar="URL",
                        help="your own STUN or TURN server (stun:, turn:, turns:), tried before "
                        "the room service's (repeatable)")
    parser.add_argument("--turn-user", help="user name for your own TURN servers")
    parser.add_argument("--turn-pass", help="password for your own TURN servers "
                        "(or set CASTAPP_TURN_PASS)")
    parser.add_argument("--relay-only", action="store_true",
                        help="send media only through a TURN relay (hides your addresses)")
    parser.add_argument("--connect-timeout", type=float, default=20.0, metavar="SECONDS",
                        help="give up setting up media after this long (default %(default)s)")


def own_ice_servers(args: argparse.Namespace) -> list[Any]:
    """The ``--ice-server`` flags as ICE servers; raises ValueError with a reason."""
    if not args.ice_server:
        return []  # without importing the protocol: the receiver window shows sooner
    from castapp.protocol import IceServer
    from castapp.signaling.turn import check_url

    password = args.turn_pass or os.environ.get("CASTAPP_TURN_PASS")
    out: list[IceServer] = []
    for url in args.ice_server:
        check_url(url)
        if url.lower().startswith("turn"):
            if not (args.turn_user and password):
                raise ValueError("TURN servers need --turn-user and --turn-pass")
            out.append(IceServer(urls=[url], username=args.turn_user, credential=password))
        else:
            out.append(IceServer(urls=[url]))
    return out


def ice_kwargs(args: argparse.Namespace, out: Callable[..., None]) -> dict[str, Any] | None:
    try:
        servers = own_ice_servers(args)
    except ValueError as exc:
        out("error", str(exc), code="bad_ice_server")
        return None
    if args.connect_timeout <= 0:
        out("error", "--connect-timeout must be positive", code="bad_timeout")
        return None
    return {"ice_servers": servers, "relay_only": args.relay_only,
            "connect_timeout_s": args.connect_timeout}
