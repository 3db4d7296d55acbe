"""An option the chosen mode would not use is refused in words, before anything starts:
``castapp receive --record x.mkv`` (a window) used to open the window and record nothing."""

from __future__ import annotations

import pytest

from castapp.cli import main


@pytest.mark.parametrize(("argv", "said"), [
    (["receive", "--record", "shown.mkv"], "castapp receive: --record works only with --headless"),
    (["receive", "--stats", "--duration", "5", "--screen", "1366x768"],
     "castapp receive: --screen, --stats and --duration work only with --headless"),
    (["send", "482 913", "--monitor", "2", "--no-audio"],
     "castapp send: --monitor and --audio work only with --headless"),
    (["receive", "--headless", "--kiosk"],
     "castapp receive: --kiosk works only in the window (without --headless)"),
    (["send", "482 913", "--headless", "--language", "zh_CN"],
     "castapp send: --language works only in the window (without --headless)"),
])
def test_an_option_the_mode_does_not_use_is_refused(argv: list[str], said: str,
                                                    capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")  # a window could open: not the reason
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.strip() == said
    assert "Traceback" not in err


@pytest.mark.parametrize("argv", [
    ["receive", "--name", "TV", "--admission", "pin", "--no-advertise", "--kiosk",
     "--relay-only", "--language", "zh_CN", "--no-https", "--interface", "lo"],
    ["send", "482 913", "--name", "Ada", "--server", "ws://127.0.0.1:1/ws",
     "--connect-timeout", "5", "--config-dir", "conf", "--interface", "lo",
     "--find-timeout", "1"],
])
def test_what_the_window_takes_passes_the_check(argv: list[str]) -> None:
    from castapp.cli import build_parser
    from castapp.cli_gui import unused_options

    parser = build_parser()
    assert unused_options(parser, parser.parse_args(argv)) is None
    # the terminal takes all of them but the window's own
    common = [a for a in argv if a not in ("--kiosk", "--language", "zh_CN", "--config-dir",
                                           "conf")]
    assert unused_options(parser, parser.parse_args([*common, "--headless"])) is None
