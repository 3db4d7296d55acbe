"""Write castapp(1), the manual page, from the argparse definitions of the command line.

    python packaging/manpage.py [OUT]      # OUT defaults to build/castapp.1

The options, their help texts and the commands come from :func:`castapp.cli.build_parser`, so
the page never disagrees with ``castapp --help``.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DESCRIPTION = (
    "castapp casts a laptop's screen to a TV-side machine. The receiver, on the machine "
    "connected to the TV, shows a short cast code; the sender types it and its screen appears "
    "on the TV over WebRTC. A room service that pairs them is built into the receiver on a "
    "local network; castapp serve runs a standalone one for many screens."
)
ENVIRONMENT = [
    ("CASTAPP_ROOM_KEY", "the key that signs receivers' tokens; every instance of a shared "
     "room service needs the same one (at least 16 bytes)"),
    ("CASTAPP_REDIS_URL", "the Redis store of castapp serve (instead of --redis, which would "
     "show a password in the process list)"),
    ("CASTAPP_TURN_SECRET", "the TURN REST-API secret of castapp serve"),
    ("CASTAPP_TURN_PASS", "the password for your own TURN servers (receive, send)"),
]
FILES = [
    ("~/.local/state/castapp", "the receiver's code token and room key (--state-dir)"),
    ("~/.config/castapp", "settings such as the interface language (--config-dir)"),
]


def esc(text: str) -> str:
    """Text for a roff line: backslashes and hyphens escaped, no leading control character."""
    out = text.replace("\\", "\\e").replace("-", "\\-")
    return "\\&" + out if out[:1] in (".", "'") else out


def _help(action: argparse.Action, parser: argparse.ArgumentParser) -> str:
    if not action.help or action.help == argparse.SUPPRESS:
        return ""
    text = action.help
    if "%(" in text:
        params = {**vars(action), "prog": parser.prog}
        params = {k: v.__name__ if hasattr(v, "__name__") else v for k, v in params.items()}
        text = text % params
    return text


def _flags(action: argparse.Action) -> str:
    parts = []
    for opt in action.option_strings:
        part = f"\\fB{esc(opt)}\\fR"
        if action.nargs != 0:
            metavar = action.metavar or (
                "{" + ",".join(map(str, action.choices)) + "}" if action.choices else
                action.dest.upper())
            part += f" \\fI{esc(str(metavar))}\\fR"
        parts.append(part)
    if not parts:  # a positional argument
        parts.append(f"\\fI{esc(str(action.metavar or action.dest))}\\fR")
    return ", ".join(parts)


def _options(parser: argparse.ArgumentParser) -> list[str]:
    lines = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction | argparse._HelpAction):
            continue
        if action.help == argparse.SUPPRESS:
            continue
        lines += [".TP", _flags(action), esc(_help(action, parser))]
    return lines


def _commands(parser: argparse.ArgumentParser) -> list[tuple[str, str, argparse.ArgumentParser]]:
    out = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            for name, sub in action.choices.items():
                out.append((name, helps.get(name, ""), sub))
    return out


def render(version: str, date: str) -> str:
    from castapp.cli import build_parser

    parser = build_parser()
    commands = _commands(parser)
    lines = [
        f'.TH CASTAPP 1 "{date}" "castapp {esc(version)}" "User Commands"',
        ".SH NAME",
        "castapp \\- cast a laptop's screen to a TV by typing a short code",
        ".SH SYNOPSIS",
        ".B castapp",
        "[\\fIOPTIONS\\fR]",
    ]
    for name, _, _ in commands:
        lines += [".br", ".B castapp", f"[\\fIOPTIONS\\fR] \\fB{esc(name)}\\fR [\\fIOPTIONS\\fR]"]
    lines += [".SH DESCRIPTION", esc(DESCRIPTION), ".PP",
              "Without a command, castapp opens its window, where you choose to receive or "
              "to send.", ".SH OPTIONS", *_options(parser), ".SH COMMANDS"]
    for name, summary, sub in commands:
        lines += [".SS " + esc(f"castapp {name}"), esc(sub.description or summary or "")]
        lines += _options(sub)
    lines += [".SH ENVIRONMENT"]
    for var, text in ENVIRONMENT:
        lines += [".TP", f"\\fB{esc(var)}\\fR", esc(text)]
    lines += [".SH FILES"]
    for path, text in FILES:
        lines += [".TP", f"\\fI{esc(path)}\\fR", esc(text)]
    lines += [
        ".SH EXIT STATUS",
        "0 on success; 1 when castapp cannot do what was asked (for example, the room service "
        "cannot listen, or the self\\-test failed); 2 for a usage error.",
        ".SH EXAMPLES",
        ".TP", "castapp receive", "Show a cast code on this screen and wait for a sender.",
        ".TP", "castapp send 482913", "Cast this screen to the receiver showing code 482 913.",
        ".TP", "castapp \\-\\-self\\-test",
        "Cast a test pattern inside this machine and check what arrives.",
        ".TP", "castapp serve \\-\\-host 0.0.0.0 \\-\\-port 8765",
        "Run a standalone room service.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    from castapp import __version__

    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "build" / "castapp.1"
    # SOURCE_DATE_EPOCH keeps the page (and the package) reproducible
    stamp = int(os.environ.get("SOURCE_DATE_EPOCH", "0")) or None
    when = datetime.datetime.fromtimestamp(stamp, datetime.UTC) if stamp else \
        datetime.datetime.now(datetime.UTC)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(__version__, when.strftime("%Y-%m-%d")), encoding="utf-8")
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
