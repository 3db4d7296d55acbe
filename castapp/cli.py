"""The ``castapp`` command line.

Nothing is imported here at module level that ``castapp --version`` does not need: the
parser, logging and every command import their parts when they run.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Coroutine, Sequence
    from pathlib import Path

    from castapp.sfu.token import SfuConfig
    from castapp.signaling.server import RoomServer, ServiceConfig
    from castapp.signaling.store_redis import RedisStore


def _add_serve(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    s = sub.add_parser(
        "serve",
        help="run a standalone room service",
        description="Run the room service that hands out cast codes and pairs senders "
        "with receivers.",
    )
    from pathlib import Path

    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default %(default)s)")
    s.add_argument("--port", type=int, default=8765, help="TCP port (default %(default)s; 0 = any)")
    s.add_argument("--tls-cert", type=Path, help="PEM certificate chain for wss://")
    s.add_argument("--tls-key", type=Path, help="PEM private key for --tls-cert")
    s.add_argument("--stun", action="append", default=[], metavar="URL",
                   help="STUN server handed to clients (repeatable)")
    s.add_argument("--turn", action="append", default=[], metavar="URL",
                   help="TURN server handed to clients with short-lived credentials (repeatable)")
    s.add_argument("--turn-secret", default=None,
                   help="TURN REST-API shared secret (or set CASTAPP_TURN_SECRET)")
    s.add_argument("--turn-ttl", type=int, default=3600,
                   help="lifetime of minted TURN credentials in seconds (default %(default)s)")
    s.add_argument("--sfu", metavar="URL",
                   help="Janus SFU WebSocket URL handed to clients for casts to many screens "
                   "(ws://host:8188/); see docs/deploy.md")
    s.add_argument("--sfu-secret", default=None,
                   help="the SFU's token_auth_secret (or set CASTAPP_SFU_SECRET)")
    s.add_argument("--sfu-ttl", type=int, default=3600,
                   help="lifetime of minted SFU tokens in seconds (default %(default)s)")
    s.add_argument("--code-length", type=int, default=6, help="cast code length (default 6)")
    s.add_argument("--code-alphabet", default="digits",
                   help="'digits', 'letters' (no look-alikes) or the symbols to use")
    s.add_argument("--max-senders", type=int, default=4, help="senders per room (default 4)")
    s.add_argument("--grace", type=float, default=300.0,
                   help="seconds a dropped receiver keeps its code (default %(default)s)")
    s.add_argument("--failed-joins", type=int, default=10, metavar="N",
                   help="failed joins allowed per client address per minute (default 10)")
    s.add_argument("--failed-joins-service", type=int, default=10, metavar="N",
                   help="failed joins allowed on the whole service per hour before a join "
                   "also needs the PIN the TV shows (default 10)")
    s.add_argument("--registrations", type=int, default=30, metavar="N",
                   help="registrations allowed per client address per minute (default 30)")
    s.add_argument("--message-rate", type=float, default=50.0, metavar="N",
                   help="messages per second one connection may send (default 50)")
    s.add_argument("--heartbeat", type=float, default=15.0,
                   help="client heartbeat interval in seconds (default %(default)s)")
    s.add_argument("--state-dir", type=Path, default=None,
                   help="where the room key lives (default: the user state directory); "
                   "CASTAPP_ROOM_KEY overrides the key for instances that share it")
    s.add_argument("--redis", metavar="URL", default=None,
                   help="share rooms with other instances through Redis, e.g. "
                   "redis://127.0.0.1:6379/0 (or set CASTAPP_REDIS_URL); default: in memory")
    s.add_argument("--instance-ttl", type=float, default=10.0, metavar="SECONDS",
                   help="with --redis: how long an instance that stops heartbeating keeps its "
                   "rooms before another instance takes them over (default %(default)s)")
    s.add_argument("--trust-proxy", action="store_true",
                   help="take the client address from X-Forwarded-For (behind a proxy only)")
    s.add_argument("--max-connections-per-address", type=int, default=64, metavar="N",
                   help="TCP connections one client address may hold at once (default 64; "
                   "0 = no cap; none with --trust-proxy)")
    s.add_argument("--metrics-token", default=None, metavar="SECRET",
                   help="require 'Authorization: Bearer SECRET' for /metrics "
                   "(or set CASTAPP_METRICS_TOKEN)")


def build_parser() -> argparse.ArgumentParser:
    import argparse

    from castapp.cli_args import Version, add_receive, add_send

    parser = argparse.ArgumentParser(
        prog="castapp",
        description="Cast a laptop's screen to a TV-side machine by typing a short code.",
    )
    parser.add_argument("--version", action=Version)
    parser.add_argument("--log-level", default=None,
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        help="logging detail (default WARNING; INFO for serve)")
    parser.add_argument("--self-test", action="store_true",
                        help="cast a test pattern to an in-process receiver on this machine "
                        "only, check what arrives and exit (0 = passed)")
    parser.add_argument("--json", action="store_true",
                        help="with --self-test: print the result as one JSON object")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_serve(sub)
    add_receive(sub)
    add_send(sub)
    from castapp.cli_gui import add_gui_options

    add_gui_options(sub)
    return parser


def _sfu_config(args: argparse.Namespace) -> SfuConfig | None:
    from castapp.sfu.token import SfuConfig

    secret = args.sfu_secret or os.environ.get("CASTAPP_SFU_SECRET")
    if args.sfu is None:
        if secret and args.sfu_secret:
            raise ValueError("--sfu-secret needs --sfu")
        return None
    return SfuConfig(url=args.sfu, secret=secret or "", ttl_s=args.sfu_ttl)


def _service_config(args: argparse.Namespace) -> ServiceConfig:
    """The service's settings from ``castapp serve``'s flags; ValueError says what is wrong."""
    from castapp.codes import DIGITS, LETTERS, CodeFormat
    from castapp.signaling.rooms import RoomConfig
    from castapp.signaling.server import ServiceConfig
    from castapp.signaling.turn import IceConfig

    alphabet = {"digits": DIGITS, "letters": LETTERS}.get(args.code_alphabet, args.code_alphabet)
    ice = IceConfig(
        stun=tuple(args.stun),
        turn=tuple(args.turn),
        turn_secret=args.turn_secret or os.environ.get("CASTAPP_TURN_SECRET"),
        ttl_s=args.turn_ttl,
    )
    rooms = RoomConfig(
        codes=CodeFormat(length=args.code_length, alphabet=alphabet.upper()),
        max_senders=args.max_senders,
        grace_s=args.grace,
        join_failures=args.failed_joins,
        join_failures_service=args.failed_joins_service,
        registrations=args.registrations,
        ice=ice,
        sfu=_sfu_config(args),
    )
    if (args.tls_cert is None) != (args.tls_key is None):
        raise ValueError("--tls-cert and --tls-key go together")
    return ServiceConfig(
        host=args.host,
        port=args.port,
        rooms=rooms,
        heartbeat_s=args.heartbeat,
        message_rate=args.message_rate,
        message_burst=max(10, int(args.message_rate * 4)),
        trust_proxy=args.trust_proxy,
        max_connections_per_address=max(0, args.max_connections_per_address),
        metrics_token=args.metrics_token or os.environ.get("CASTAPP_METRICS_TOKEN") or None,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        # CASTAPP_SERVE_GC=python keeps CPython's collector settings (for comparison)
        gc_metrics=True,
        gc_tuned=os.environ.get("CASTAPP_SERVE_GC") != "python",
    )


def _serve(args: argparse.Namespace) -> int:
    from castapp.signaling.server import RoomServer
    from castapp.signaling.tokens import TokenSigner, load_or_create_key

    try:
        config = _service_config(args)
    except ValueError as exc:
        print(f"castapp serve: {exc}", file=sys.stderr)
        return 2
    env_key = os.environ.get("CASTAPP_ROOM_KEY", "")
    state_dir = args.state_dir or default_state_dir()
    key = env_key.encode() if env_key else load_or_create_key(state_dir)
    from castapp.app.platform import raise_open_file_limit

    raise_open_file_limit()
    redis_url = args.redis or os.environ.get("CASTAPP_REDIS_URL") or None
    try:
        store = _redis_store(redis_url, args.instance_ttl) if redis_url else None
    except ValueError as exc:
        print(f"castapp serve: {exc}", file=sys.stderr)
        return 2
    try:
        serve_loop_runner()(_serve_until_stopped(RoomServer(config, TokenSigner(key), store)))
    except KeyboardInterrupt:  # a second Ctrl+C while stopping
        return 130
    except ConnectionError as exc:
        print(f"castapp serve: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"castapp serve: cannot listen on {args.host}:{args.port}: {exc.strerror}",
              file=sys.stderr)
        return 1
    except Exception as exc:  # broad: a bug, said in one sentence; --log-level DEBUG shows where
        import logging

        logging.getLogger("castapp").debug("the service failed", exc_info=True)
        print(f"castapp serve: stopped by an unexpected problem: {type(exc).__name__}: {exc}",
              file=sys.stderr)
        return 1
    return 0


def serve_loop_runner() -> Callable[[Coroutine[Any, Any, None]], None]:
    """How ``castapp serve`` runs its event loop: asyncio's own, or uvloop with
    CASTAPP_SERVE_LOOP=uvloop when it is installed (see docs/deploy.md; libuv deals with a
    full file table itself, so the service's "cannot accept connections" warning does not
    come on uvloop)."""
    import asyncio

    if os.environ.get("CASTAPP_SERVE_LOOP") == "uvloop":
        try:
            import uvloop
        except ImportError:
            pass
        else:
            return uvloop.run
    return asyncio.run


def _redis_store(url: str, ttl: float) -> RedisStore:
    from castapp.signaling.store_redis import RedisStore

    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError("--redis takes a redis://, rediss:// or unix:// URL")
    return RedisStore(url, instance_ttl_s=ttl)


async def _serve_until_stopped(server: RoomServer) -> None:
    """Serve until Ctrl+C or SIGTERM (on every platform), then tell clients and stop."""
    import asyncio

    from castapp.app.platform import stop_on_signals

    stop = asyncio.Event()
    restore = stop_on_signals(stop)
    try:
        await server.start()
    except BaseException:
        restore()
        raise
    print(f"castapp room service on {server.url}", flush=True)
    try:
        await stop.wait()
        print("castapp room service stopping", flush=True)
    finally:
        restore()
        await server.stop()


def default_state_dir() -> Path:
    from pathlib import Path

    import platformdirs

    return Path(platformdirs.user_state_dir("castapp", appauthor=False))


def main(argv: Sequence[str] | None = None) -> int:
    if list(sys.argv[1:] if argv is None else argv) == ["--version"]:
        # what the parser would print, without building it (the most common scripted call)
        from castapp import __version__

        print(f"castapp {__version__}")
        return 0
    parser = build_parser()
    args = parser.parse_args(argv)
    # a service keeps a log; a person at a receiver or sender reads castapp's own lines,
    # and the log only where something went wrong (--log-level INFO shows the rest)
    level = args.log_level or ("INFO" if args.command == "serve" and not args.self_test
                               else "WARNING")
    from castapp.cli_log import log_to_stderr

    log_to_stderr(level)
    if args.self_test or args.command in ("receive", "send"):
        from castapp.install import app_problem

        problem = app_problem("--self-test" if args.self_test else args.command)
        if problem is not None:
            print(f"castapp: {problem}", file=sys.stderr)
            return 2
    if args.self_test:
        from castapp import selftest

        return selftest.main(as_json=args.json)
    if args.command == "serve":
        return _serve(args)
    if args.command in ("receive", "send"):
        from castapp import cli_cast
        from castapp.cli_gui import unused_options

        unused = unused_options(parser, args)
        if unused is not None:
            print(f"castapp {args.command}: {unused}", file=sys.stderr)
            return 2

        state_dir = args.state_dir or default_state_dir()
        if not args.headless:
            from castapp.cli_gui import run_gui

            return run_gui(args, state_dir)
        if args.command == "send":
            return cli_cast.run(lambda: cli_cast.run_send(args))
        return cli_cast.run(lambda: cli_cast.run_receive(args, state_dir))
    if args.command is None:
        from castapp.cli_gui import display_problem, run_gui

        if display_problem() is None:
            return run_gui(args, default_state_dir())
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
