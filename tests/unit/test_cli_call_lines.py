"""The headless TV's numbered presenter lines (``cli_cast.CallLines``), as a person reads them."""

from __future__ import annotations

import pytest

from castapp.cli_cast import CallLines, Printer
from castapp.session.room import CallPhase, CallView


def view(key: str, name: str, phase: CallPhase) -> CallView:
    return CallView(peer_id=f"peer-{key}", name=name, phase=phase, key=key)


def test_each_change_is_one_numbered_line_and_the_end_says_what_ended(
        capsys: pytest.CaptureFixture[str]) -> None:
    lines = CallLines(Printer(as_json=False))
    lines.update([view("a", "Ada", CallPhase.ASKING)])
    lines.update([view("a", "Ada", CallPhase.CONNECTING)])
    lines.update([view("a", "Ada", CallPhase.SHOWING), view("b", "Bob", CallPhase.ASKING)])
    lines.update([view("a", "Ada", CallPhase.SHOWING)])  # Bob denied, never on screen
    lines.update([])  # Ada stopped
    assert capsys.readouterr().out.splitlines() == [
        "castapp: [1] Ada wants to present",
        "castapp: [1] Ada is connecting…",
        "castapp: [1] Ada is on screen",
        "castapp: [2] Bob wants to present",
        "castapp: Bob no longer asks to present",  # it said "Bob stopped presenting"
        "castapp: Ada stopped presenting",
    ]
