"""``castapp``, ``castapp receive`` and ``castapp send`` with windows."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from castapp.settings import LANGUAGES

if TYPE_CHECKING:
    from castapp.gui.app import AppOptions


def add_gui_options(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for command in ("receive", "send"):
        p = sub.choices[command]
        p.add_argument("--language", choices=LANGUAGES,
                       help="interface language (default: the saved setting)")
        p.add_argument("--config-dir", type=Path, help="where settings are kept")
    receive = sub.choices["receive"]
    receive.add_argument("--fullscreen", action="store_true",
                         help="start full screen (F11 toggles; the default unless the window "
                         "was last left windowed)")
    receive.add_argument("--kiosk", action="store_true",
                         help="a TV: full screen without window chrome, the screen kept awake "
                         "while casting")


#: What each window takes from the command line (argparse ``dest`` names); everything else
#: is for ``--headless`` only.
WINDOW_TAKES = {
    "receive": frozenset({"server", "listen", "interface", "no_advertise", "name", "state_dir",
                          "admission", "https", "language", "config_dir", "fullscreen",
                          "kiosk"}),
    "send": frozenset({"target", "more", "code", "server", "find_timeout", "interface",
                       "state_dir", "name", "display", "language", "config_dir"}),
}
#: What only a window takes.
WINDOW_ONLY = frozenset({"language", "config_dir", "fullscreen", "kiosk"})


def unused_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> str | None:
    """Why options given to ``castapp receive|send`` would go unused (the window does not
    take this one, or the terminal that one), or None."""
    command = str(getattr(args, "command", None))
    takes = WINDOW_TAKES.get(command)
    if takes is None:
        return None
    sub = next((a.choices[command] for a in parser._actions
                if isinstance(a, argparse._SubParsersAction)), None)
    if sub is None:
        return None
    from castapp.cli_ice import ICE_DESTS

    given = [a for a in sub._actions if a.option_strings and a.dest not in ("help", "headless")
             and getattr(args, a.dest, a.default) != a.default]
    if args.headless:
        unused = [a for a in given if a.dest in WINDOW_ONLY]
        where = "in the window (without --headless)"
    else:
        unused = [a for a in given if a.dest not in takes and a.dest not in ICE_DESTS]
        where = "with --headless"
    if not unused:
        return None
    names = [next((o for o in a.option_strings if o.startswith("--")), a.option_strings[0])
             for a in unused]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    verb = "works" if len(names) == 1 else "work"
    return f"{listed} {verb} only {where}"


def display_problem() -> str | None:
    """Why no window can open here, or None."""
    if os.environ.get("QT_QPA_PLATFORM") or sys.platform in ("win32", "darwin"):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return "no display to open a window on (DISPLAY is not set)"


def window_codes(args: argparse.Namespace) -> str:
    """The codes or links of ``castapp send`` as the sender window's code field takes them."""
    codes = [args.target or args.code, *(getattr(args, "more", None) or [])]
    return ", ".join(c for c in codes if c)


def run_gui(args: argparse.Namespace, state_dir: Path) -> int:
    command = getattr(args, "command", None)
    ice: dict[str, object] = {}
    if command is not None:
        from castapp.cli_ice import ice_kwargs

        def refuse(_event: str, text: str, **_fields: object) -> None:
            print(f"castapp {command}: {text}", file=sys.stderr)

        checked = ice_kwargs(args, refuse)
        if checked is None:
            return 2
        ice = checked
    problem = display_problem()
    if problem is not None:
        hint = f"castapp {command} --headless" if command else "castapp serve"
        print(f"castapp: {problem}; try {hint}", file=sys.stderr)
        return 2
    # QtMultimedia reports every optional library it looks for; users need none of that.
    os.environ.setdefault("QT_LOGGING_RULES", "qt.multimedia.*=false")
    try:
        from castapp.gui.app import run_app
    except ImportError as exc:
        print(f"castapp: the windows need PySide6 and qasync ({exc})", file=sys.stderr)
        return 2
    opts = app_options(args, state_dir, ice)
    return run_app(opts)


def app_options(args: argparse.Namespace, state_dir: Path, ice: dict[str, object]
                ) -> AppOptions:
    """The windows' options from ``castapp [receive|send]``'s (those in :data:`WINDOW_TAKES`)."""
    from castapp.gui.app import AppOptions

    command = getattr(args, "command", None)
    opts = AppOptions(mode=command, state_dir=state_dir, ice=ice)
    if command is None:
        return opts
    opts.server = args.server
    opts.interfaces = tuple(args.interface)
    opts.name = args.name or None
    opts.language = args.language
    opts.config_dir = args.config_dir
    opts.display = getattr(args, "display", None)
    if command == "receive":
        opts.fullscreen = args.fullscreen
        opts.kiosk = args.kiosk
        opts.admission = args.admission
        opts.listen = args.listen
        opts.lan = not args.no_advertise
        opts.https = args.https
    else:
        opts.code = window_codes(args)
        opts.find_timeout = args.find_timeout
    return opts
