"""``castapp serve`` configured from the environment, as containers and process managers do it.

Every option of ``castapp serve`` can be given as ``CASTAPP_<OPTION>``: ``--host`` as
``CASTAPP_HOST``, ``--max-senders`` as ``CASTAPP_MAX_SENDERS``; switches such as
``--trust-proxy`` take ``1``/``true``/``yes`` or ``0``/``false``/``no``; repeatable ones
(``--stun``, ``--turn``) take several values separated by spaces. Secrets stay in the
environment the service already reads (``CASTAPP_ROOM_KEY``, ``CASTAPP_REDIS_URL``,
``CASTAPP_TURN_SECRET``, ``CASTAPP_SFU_SECRET``) and never appear on a command line.
Arguments after the program name come last, so they win over the environment.

``python -m castapp.serve_env`` runs the service; ``python -m castapp.serve_env --health`` asks
the service on ``CASTAPP_PORT`` for ``/healthz`` and exits 0 when it can take clients (a
container's health check).
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence

#: Options whose value is a secret: read by the service itself from the environment.
_SECRET_OPTIONS = {"--turn-secret", "--sfu-secret", "--redis"}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _serve_parser() -> argparse.ArgumentParser:
    from castapp.cli import build_parser

    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            serve = action.choices["serve"]
            if isinstance(serve, argparse.ArgumentParser):
                return serve
    raise RuntimeError("castapp has no serve command")


def env_name(option: str) -> str:
    return "CASTAPP_" + option.lstrip("-").replace("-", "_").upper()


def argv_from_env(environ: Mapping[str, str]) -> list[str]:
    """``castapp serve`` arguments for the ``CASTAPP_*`` variables in ``environ``.

    Raises ValueError, naming the variable, when a value cannot be used."""
    argv: list[str] = []
    for action in _serve_parser()._actions:
        long = [o for o in action.option_strings if o.startswith("--")]
        if not long or long[0] in ("--help", *_SECRET_OPTIONS):
            continue
        option = long[0]
        name = env_name(option)
        if name not in environ:
            continue
        value = environ[name].strip()
        if isinstance(action, argparse._StoreTrueAction):
            if value.lower() not in _TRUE | _FALSE:
                raise ValueError(f"{name} must be 1 or 0 (true or false), not {value!r}")
            if value.lower() in _TRUE:
                argv.append(option)
        elif isinstance(action, argparse._AppendAction):
            for item in value.split():
                argv += [option, item]
        elif value:
            argv += [option, value]
    return argv


def health(environ: Mapping[str, str], timeout: float = 3.0) -> int:
    """0 when the local service answers /healthz with 200, 1 otherwise."""
    port = environ.get("CASTAPP_PORT", "8765")
    scheme = "https" if environ.get("CASTAPP_TLS_CERT") else "http"
    url = f"{scheme}://127.0.0.1:{port}/healthz"
    try:
        import ssl

        ctx = ssl._create_unverified_context() if scheme == "https" else None  # own loopback
        with urllib.request.urlopen(url, timeout=timeout, context=ctx) as resp:
            return 0 if resp.status == 200 else 1
    except (OSError, urllib.error.URLError) as exc:
        print(f"castapp health check: {url}: {exc}", file=sys.stderr)
        return 1


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--health"]:
        return health(os.environ)
    from castapp.cli import main as cli_main

    try:
        from_env = argv_from_env(os.environ)
    except ValueError as exc:
        print(f"castapp serve: {exc}", file=sys.stderr)
        return 2
    level = os.environ.get("CASTAPP_LOG_LEVEL")
    return cli_main([*(["--log-level", level] if level else []), "serve", *from_env, *args])


if __name__ == "__main__":
    sys.exit(main())
