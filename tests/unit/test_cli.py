"""The command line: help, version, and clear refusals of bad options."""

from __future__ import annotations

import subprocess
import sys

from castapp import __version__


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "castapp", *args], capture_output=True,
                          text=True, timeout=30)


def test_version_and_help():
    out = run("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"castapp {__version__}"
    out = run("--help")
    assert out.returncode == 0 and "serve" in out.stdout
    out = run("serve", "--help")
    assert out.returncode == 0 and "--turn-secret" in out.stdout


def test_bad_options_are_explained():
    out = run("serve", "--turn", "turn:127.0.0.1:3478", "--port", "0")
    assert out.returncode == 2 and "shared secret" in out.stderr
    out = run("serve", "--stun", "http://example", "--port", "0")
    assert out.returncode == 2 and "not a STUN or TURN URL" in out.stderr
    out = run("serve", "--code-length", "2")
    assert out.returncode == 2 and "4 to 16" in out.stderr
    out = run("serve", "--tls-cert", "x.pem")
    assert out.returncode == 2 and "go together" in out.stderr


def test_port_in_use_is_a_clear_error(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        out = run("serve", "--port", str(port), "--state-dir", str(tmp_path))
    assert out.returncode == 1 and "cannot listen" in out.stderr


def test_windows_need_a_display_and_say_so(monkeypatch, capsys):
    from castapp.cli import main

    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    assert main(["receive"]) == 2
    assert "castapp receive --headless" in capsys.readouterr().err
    assert main(["send", "482913"]) == 2
    assert "castapp send --headless" in capsys.readouterr().err


def test_window_commands_check_ice_servers_first(capsys):
    from castapp.cli import main

    assert main(["receive", "--ice-server", "ftp://x"]) == 2
    assert "not a STUN or TURN URL" in capsys.readouterr().err


def test_a_headless_tv_screen_size_is_checked_before_anything_starts():
    out = run("receive", "--headless", "--screen", "1920by1080")
    assert out.returncode == 2 and "WIDTHxHEIGHT" in out.stderr
    assert "Traceback" not in out.stderr
    out = run("receive", "--headless", "--screen", "100x100")
    assert out.returncode == 2 and "too small" in out.stderr
    out = run("receive", "--help")
    assert "--screen WxH" in out.stdout and "1920x1080" in out.stdout


def test_send_numbers_and_pins_are_checked_before_anything_starts():
    for args, said in ((("--fps", "0"), "argument --fps: must be more than 0"),
                       (("--fps", "-5"), "argument --fps: must be more than 0"),
                       (("--fps", "1000"), "at most 120"),
                       (("--fps", "fast"), "expected frames per second"),
                       (("--duration", "-1"), "argument --duration: must be more than 0"),
                       (("--find-timeout", "-1"),
                        "argument --find-timeout: must be more than 0 and at most 60"),
                       (("--pin", "abc"), "argument --pin: that is not a PIN")):
        out = run("send", "--headless", "--server", "ws://127.0.0.1:1/ws", *args, "482913")
        assert out.returncode == 2 and said in out.stderr, (args, out.stderr)
        # it said "This is not a cast code or castapp link: --fps must be positive"
        assert "cast code" not in out.stderr and "Traceback" not in out.stderr
    out = run("receive", "--headless", "--duration", "0")
    assert out.returncode == 2 and "argument --duration: must be more than 0" in out.stderr
