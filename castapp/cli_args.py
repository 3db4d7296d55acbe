"""The arguments of ``castapp receive`` and ``castapp send``.

Apart from the rest of the command line so that ``castapp --help`` and ``--version`` import
nothing of the media or network stack (see tests/unit/test_cli_imports.py).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from castapp.cli_ice import add_ice_flags
from castapp.layout import DEFAULT_SCREEN, parse_screen
from castapp.quality import PRESETS


class Version(argparse.Action):
    """``--version``: the version is looked up only when asked for (importing the package
    metadata reader costs more than the rest of ``castapp --help``)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS,
                 default: str = argparse.SUPPRESS, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=default,
                         help=help or "show the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        from castapp import __version__

        print(f"castapp {__version__}")
        parser.exit()


def _listen(text: str) -> tuple[str, int]:
    from castapp.app.host import parse_listen

    try:
        return parse_listen(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _screen(text: str) -> tuple[int, int]:
    try:
        return parse_screen(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_receive(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    r = sub.add_parser("receive", help="show a cast code and the screen cast to it")
    r.add_argument("--server", help="room service URL (default: run one in this process)")
    r.add_argument("--listen", default="0.0.0.0:8765", type=_listen, metavar="HOST:PORT",
                   help="where the built-in room service listens (default %(default)s; "
                   "port 0 = any)")
    r.add_argument("--interface", action="append", default=[], metavar="NAME|ADDRESS",
                   help="advertise only on this interface or address (repeatable; default: "
                   "the LAN ones, not container bridges, VPN tunnels or loopback)")
    r.add_argument("--no-advertise", action="store_true",
                   help="host the room service but do not advertise it on the network")
    r.add_argument("--headless", action="store_true", help="no window: print status lines")
    r.add_argument("--screen", type=_screen, default=DEFAULT_SCREEN, metavar="WxH",
                   help="with --headless: the screen presenters are laid out on, as the "
                   "window would, and each sender is asked for no more than its tile's size "
                   "(default 1920x1080)")
    r.add_argument("--name", help="name shown to senders (default: this computer's name)")
    r.add_argument("--stats", action="store_true", help="print stats every second")
    r.add_argument("--mute", action="store_true", help="play no presenter's sound")
    r.add_argument("--json", action="store_true", help="print JSON lines")
    r.add_argument("--record", type=Path, metavar="FILE", help="record what is shown (.mkv/.mp4)")
    r.add_argument("--duration", type=_seconds, help="stop after this many seconds")
    r.add_argument("--state-dir", type=Path, help="where the code token and room key live")
    r.add_argument("--admission", choices=("open", "approve", "pin"),
                   help="how a new sender gets on screen: open (anyone with the code), approve "
                   "(the TV allows each one) or pin (each types a one-time PIN the TV shows); "
                   "default: the saved setting, approve at first. With --headless, type "
                   "'allow N', 'deny N' or 'stop N' on stdin (N: the presenter's number or "
                   "name, as printed)")
    r.add_argument("--https", action=argparse.BooleanOptionalAction, default=None,
                   help="the built-in room service also serves the sender page over HTTPS "
                   "(a self-signed certificate kept in --state-dir), so guests' browsers can "
                   "share a screen; default: the saved setting, on at first")
    add_ice_flags(r)


def _size(text: str) -> tuple[int, int]:
    w, _, h = text.lower().partition("x")
    try:
        size = int(w), int(h)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, got {text!r}") from None
    if min(size) < 16:
        raise argparse.ArgumentTypeError("the size is too small")
    if max(size) > 16384:
        raise argparse.ArgumentTypeError("the size is too large (at most 16384 a side)")
    return size


#: The highest ``--fps`` taken (screens refresh at up to 120 Hz).
MAX_FPS = 120


def _pin(text: str) -> str:
    from castapp.codes import pin_of

    if pin_of(text) is None:
        raise argparse.ArgumentTypeError("that is not a PIN: give the digits shown on the TV")
    return text


def _positive(unit: str, most: float = 1e9) -> Callable[[str], float]:
    """An argument type: a number of ``unit`` more than 0 and at most ``most``."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {unit}, got {text!r}") from None
        if not 0 < value <= most:
            raise argparse.ArgumentTypeError(
                "must be more than 0" + (f" and at most {most:g}" if most < 1e9 else ""))
        return value
    return parse


_seconds = _positive("a number of seconds")
_fps = _positive("frames per second", MAX_FPS)


def add_send(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    s = sub.add_parser("send", help="cast this screen to the receiver showing a code")
    s.add_argument("target", nargs="?", metavar="CODE|LINK",
                   help="the cast code the receiver shows, or its link "
                        "(http://HOST:PORT/#CODE from its QR code, or castapp://HOST:PORT/CODE)")
    s.add_argument("more", nargs="*", metavar="CODE|LINK",
                   help="more codes: cast to several receivers at once (one encode)")
    s.add_argument("--code", help="the cast code (the same as CODE)")
    s.add_argument("--via-sfu", action="store_true",
                   help="send once to the room service's SFU, which forwards to every "
                   "receiver (for many screens; see docs/fanout.md)")
    s.add_argument("--server", help="room service URL (ws://host:port/ws); default: the one in "
                   "the link, or find the receiver on this network by its code")
    s.add_argument("--headless", action="store_true", help="no window: print status lines")
    s.add_argument("--find-timeout", type=_positive("a number of seconds", 60), default=3.0,
                   metavar="S",
                   help="how long to look for the receiver on the network (default 3)")
    s.add_argument("--interface", action="append", default=[], metavar="NAME|ADDRESS",
                   help="look for receivers only on this interface or address (repeatable)")
    s.add_argument("--state-dir", type=Path, help="where settings and secrets live")
    s.add_argument("--monitor", type=int, default=1,
                   help="monitor to cast (1 = first, 0 = all together)")
    s.add_argument("--window", metavar="TITLE|ID",
                   help="cast one window (X11), found by title or id; it is followed as it moves")
    s.add_argument("--region", metavar="X,Y,W,H",
                   help="cast this rectangle of the monitor (pixels from its top-left corner)")
    s.add_argument("--no-pointer", action="store_true", help="do not draw the mouse pointer")
    s.add_argument("--display", help="X display to capture (default: $DISPLAY)")
    s.add_argument("--quality", choices=tuple(PRESETS),
                   help="a quality preset, as in the window (default: 30 fps at native size)")
    s.add_argument("--fps", type=_fps, help="frames per second (default 30, or the quality's)")
    s.add_argument("--codec", choices=["h264", "vp8"], default="h264")
    s.add_argument("--max-size", type=_size, metavar="WxH", help="downscale to fit this size")
    s.add_argument("--synthetic", type=_size, metavar="WxH",
                   help="send a test pattern of this size instead of the screen")
    s.add_argument("--synthetic-sound", action="store_true",
                   help="send a test pattern (--synthetic, 1280x720 unless given) that "
                   "flashes white once a second and a click at each flash as the sound "
                   "(checks lip sync without a desktop)")
    s.add_argument("--name", help="name shown on the receiver (default: this computer's name)")
    s.add_argument("--audio", action=argparse.BooleanOptionalAction, default=True,
                   help="share what this computer plays (default: on when it can)")
    s.add_argument("--stats", action="store_true", help="print stats every second")
    s.add_argument("--json", action="store_true", help="print JSON lines")
    s.add_argument("--duration", type=_seconds, help="stop after this many seconds")
    s.add_argument("--pin", type=_pin, help="the PIN the TV shows, when it asks for one "
                   "(without it, the PIN is asked for on the terminal, or read as a line "
                   "from a pipe)")
    add_ice_flags(s)
