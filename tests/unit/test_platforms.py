"""The command line starts on Windows and macOS: no POSIX-only call on their paths.

Those systems cannot run here, so each check runs in its own Python process that removes the
POSIX-only APIs (``os.uname``, ``os.getuid``, ``resource``, ``fcntl``, ``signal.SIGHUP``, the
event loop's signal handlers...) and sets ``sys.platform`` before castapp is imported: a mock
at the operating-system boundary, in a subprocess so nothing leaks into other tests.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from castapp import __version__

ROOT = Path(__file__).resolve().parents[2]

# Runs in the child: make this Linux look like ``PLATFORM`` without its POSIX-only parts.
SIMULATE = r'''
# the standard library's own platform branches load as on this machine
import asyncio, asyncio.unix_events, contextlib, io, json, os, signal, socket, ssl, subprocess
import sys, urllib.request

PLATFORM = sys.argv[1]
# macOS has user ids (its platformdirs reads them); the rest goes on both, so castapp's own
# code may rely on none of it
USER_IDS = ("getuid", "geteuid", "getgid", "getegid") if PLATFORM == "win32" else ()
for name in ("uname", *USER_IDS, "getpgid", "setsid", "killpg", "fork", "forkpty",
             "getloadavg", "nice", "sync", "getpwuid"):
    if hasattr(os, name):
        delattr(os, name)
for name in ("SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM", "SIGCHLD", "SIGPIPE",
             "SIGTSTP", "SIGCONT", "SIGWINCH", "SIGKILL"):
    if hasattr(signal, name):
        delattr(signal, name)
for module in ("resource", "fcntl", "termios", "pwd", "grp", "pty", "tty"):
    sys.modules[module] = None  # importing it raises ImportError


def no_loop_signals(self, *args, **kwargs):  # what Windows' event loops do
    raise NotImplementedError


asyncio.unix_events._UnixSelectorEventLoop.add_signal_handler = no_loop_signals
sys.platform = PLATFORM
if PLATFORM == "win32":  # the shell's known-folder API: read the folders from the environment
    import platformdirs.windows

    platformdirs.windows._RESOLVE_WIN_FOLDER = platformdirs.windows.get_win_folder_from_env_vars
    # the Windows certificate store: none here
    ssl.SSLContext._load_windows_store_certs = lambda self, store, purpose: None

from castapp.cli import build_parser, main  # noqa: E402  (after the platform is in place)


def run(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code
    return {"argv": argv, "code": code, "out": out.getvalue(), "err": err.getvalue()}


mode = sys.argv[2]
if mode == "serve":
    sys.exit(main(["serve", "--port", "0", "--host", "127.0.0.1", "--state-dir", sys.argv[3]]))
results = [run(a) for a in (["--help"], ["--version"], ["serve", "--help"], ["send", "--help"],
                            ["receive", "--help"])]
parser = build_parser()
send = parser.parse_args(["send", "482 913", "--synthetic", "1680x1050", "--headless"])
receive = parser.parse_args(["receive", "--headless", "--listen", "127.0.0.1:0"])
from castapp import settings  # noqa: E402
from castapp.app.platform import machine_name  # noqa: E402
from castapp.cli import default_state_dir  # noqa: E402

# every module of the core loads (a POSIX-only import at the top of one ends a connection
# on Windows the first time that module is needed, long after the command started)
import importlib  # noqa: E402
import pkgutil  # noqa: E402

import castapp  # noqa: E402

unloadable = {}
for info in pkgutil.walk_packages(castapp.__path__, "castapp."):
    if info.name.startswith(("castapp.gui", "castapp.__main__")):
        continue
    try:
        importlib.import_module(info.name)
    except ImportError as exc:
        unloadable[info.name] = str(exc)
    except AttributeError:  # a library's os.name == "posix" branch met the removed calls
        pass
where = settings.config_dir()
settings.save(settings.Settings(display_name="Ada", language="zh_CN", quality="sharp_text"))
loaded = settings.load()
settings.write_secret(default_state_dir() / "receiver-token", "secret")
print(json.dumps({
    "results": results,
    "send": [send.target, send.synthetic, send.name],
    "receive": [receive.listen, receive.name],
    "machine": machine_name(),
    "config_dir": str(where),
    "state_dir": str(default_state_dir()),
    "loaded": [loaded.display_name, loaded.language, loaded.quality],
    "token": (default_state_dir() / "receiver-token").read_text(),
    "unloadable": unloadable,
}))
'''


def simulated(platform: str, *args: str, home: Path) -> list[str]:
    return [sys.executable, "-c", SIMULATE, platform, *args]


def env_for(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASTAPP_")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    # where Windows and macOS keep per-user folders
    env.update(HOME=str(home), USERPROFILE=str(home), APPDATA=str(home / "AppData" / "Roaming"),
               LOCALAPPDATA=str(home / "AppData" / "Local"))
    env.pop("XDG_CONFIG_HOME", None)
    env.pop("XDG_STATE_HOME", None)
    return env


@pytest.mark.parametrize("platform", ["win32", "darwin"])
def test_commands_parse_and_settings_persist_without_posix_apis(platform, tmp_path):
    out = subprocess.run(simulated(platform, "cli", home=tmp_path), capture_output=True,
                         text=True, timeout=60, env=env_for(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    by_argv = {" ".join(r["argv"]): r for r in report["results"]}
    assert by_argv["--version"]["out"].strip() == f"castapp {__version__}"
    assert "serve" in by_argv["--help"]["out"] and "receive" in by_argv["--help"]["out"]
    assert "--turn-secret" in by_argv["serve --help"]["out"]
    assert "--synthetic" in by_argv["send --help"]["out"]
    assert "--listen" in by_argv["receive --help"]["out"]
    assert all(r["code"] == 0 and not r["err"] for r in report["results"]), report["results"]
    assert report["send"][:2] == ["482 913", [1680, 1050]]
    assert report["send"][2] is None and report["receive"] == [["127.0.0.1", 0], None]
    assert report["machine"]  # from socket.gethostname(), not os.uname()
    assert report["unloadable"] == {}
    # settings and secrets live in the platform's own folders
    if platform == "win32":
        assert report["config_dir"].startswith(str(tmp_path / "AppData"))
        assert report["state_dir"].startswith(str(tmp_path / "AppData"))
    else:
        assert report["config_dir"].startswith(str(tmp_path / "Library"))
        assert report["state_dir"].startswith(str(tmp_path / "Library"))
    assert report["loaded"] == ["Ada", "zh_CN", "sharp_text"]
    assert report["token"] == "secret"


@pytest.mark.parametrize("platform", ["win32", "darwin"])
def test_ctrl_c_stops_serve_cleanly_without_loop_signal_handlers(platform, tmp_path):
    proc = subprocess.Popen(simulated(platform, "serve", str(tmp_path / "state"), home=tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env_for(tmp_path))
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 30
        line = ""
        while "room service on" not in line:
            assert time.monotonic() < deadline and proc.poll() is None, proc.stderr
            line = proc.stdout.readline()
        proc.send_signal(signal.SIGINT)  # what Ctrl+C delivers
        rest, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "stopping" in rest
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
