"""The headless TV's numbered presenter lines (``cli_cast.CallLines``), as a person reads them."""

from __future__ import annotations

import asyncio
import json

import pytest

from castapp.cli_cast import CallLines, Printer, _tv_stats_loop
from castapp.rtc.peer import PeerStats
from castapp.session.receive_link import LinkStats
from castapp.session.room import CallPhase, CallView
from castapp.tasks import cancel_and_wait


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


class CommandSession:
    """What the TV's typed commands ask of the receiver session."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []

    def allow(self, key: str) -> None:
        self.asked.append(("allow", key))

    def deny(self, key: str) -> None:
        self.asked.append(("deny", key))

    def stop_call(self, key: str) -> None:
        self.asked.append(("stop", key))


def test_a_presenter_keeps_its_number_when_one_before_it_leaves(
        capsys: pytest.CaptureFixture[str]) -> None:
    lines = CallLines(Printer(as_json=False))
    lines.session = session = CommandSession()
    lines.update([view("a", "Ada", CallPhase.SHOWING), view("b", "Bob", CallPhase.ASKING)])
    lines.update([view("b", "Bob", CallPhase.ASKING)])  # Ada stopped
    lines.update([view("b", "Bob", CallPhase.ASKING), view("c", "Cy", CallPhase.ASKING)])
    said = capsys.readouterr().out.splitlines()
    assert said[-1] == "castapp: [3] Cy wants to present"  # a number is not given again
    lines.command("deny 2")  # Bob, as his line said: it denied Cy, then number 2
    lines.command("allow 1")  # Ada's number, Ada gone: nobody
    assert session.asked == [("deny", "b")]
    assert capsys.readouterr().out.splitlines() == ["castapp: No presenter 1 is in the room."]
    assert [c["n"] for c in lines.fields()] == [2, 3]


def test_a_name_that_fits_several_presenters_asks_for_the_number(
        capsys: pytest.CaptureFixture[str]) -> None:
    lines = CallLines(Printer(as_json=False))
    lines.session = session = CommandSession()
    lines.update([view("a", "Ada Byron", CallPhase.ASKING),
                  view("b", "Ada Lovelace", CallPhase.ASKING)])
    capsys.readouterr()
    lines.command("allow ada")
    # it said "No presenter ada is in the room."
    assert capsys.readouterr().out.splitlines() == [
        "castapp: More than one presenter is called ada: [1] Ada Byron, [2] Ada Lovelace. "
        "Type the number."]
    lines.command("allow ada l")
    lines.command("deny Ada Byron")
    assert session.asked == [("allow", "b"), ("deny", "a")]


def test_stopping_one_who_still_asks_is_saying_no(capsys: pytest.CaptureFixture[str]) -> None:
    lines = CallLines(Printer(as_json=False))
    lines.session = session = CommandSession()
    lines.update([view("a", "Ada", CallPhase.SHOWING), view("b", "Bob", CallPhase.ASKING),
                  view("c", "Cy", CallPhase.PIN)])
    lines.command("stop 2")  # it said "Cannot stop Bob now."
    lines.command("stop cy")
    lines.command("stop 1")
    assert session.asked == [("deny", "b"), ("deny", "c"), ("stop", "a")]


class StatsSession:
    """A receiver session's figures as ``castapp receive --stats`` reads them."""

    def __init__(self, figures: dict[str, LinkStats], primary: str | None) -> None:
        self.figures, self.primary = figures, primary
        self.looked = 0

    async def call_stats(self) -> dict[str, LinkStats]:
        self.looked += 1
        return self.figures

    def primary_peer_id(self) -> str | None:
        return self.primary


def figures(width: int, height: int, fps: float, plis: int, catchups: int = 0) -> LinkStats:
    peer = PeerStats(at=0.0, codec="video/H264", bytes_sent=0, bytes_received=1000,
                     packets_sent=0, packets_received=10, packets_lost=0, rtt_ms=1.5, ice=None,
                     recv_kbps=250.0, fps=fps, width=width, height=height, loss_pct=0.0)
    return LinkStats(peer, fps, 100, plis, 3, 1.5, 0.0, catchups)


async def stats_once(session: StatsSession, lines: CallLines, printer: Printer) -> None:
    """One turn of the one-second loop: its figures looked at, and said."""
    task = asyncio.create_task(_tv_stats_loop(lambda: session, lines, printer, dict))
    looked = session.looked
    async with asyncio.timeout(10):
        while session.looked == looked:
            await asyncio.sleep(0.05)
    for _ in range(5):  # what it says of them, in the same task step or the next
        await asyncio.sleep(0)
    await cancel_and_wait(task)


async def test_a_tv_with_several_presenters_says_each_ones_figures_and_its_own_requests(
        capsys: pytest.CaptureFixture[str]) -> None:
    lines = CallLines(Printer(as_json=False))
    lines.update([view("a", "Ada", CallPhase.SHOWING), view("b", "Bob", CallPhase.SHOWING),
                  view("c", "Cy", CallPhase.ASKING)])
    capsys.readouterr()
    session = StatsSession({"peer-a": figures(640, 360, 26.0, 0),
                            "peer-b": figures(540, 960, 25.5, 2, catchups=1)},
                           primary="peer-a")
    await stats_once(session, lines, Printer(as_json=False))
    said = capsys.readouterr().out.splitlines()
    # before, one line of the first presenter's figures, unnamed, with the requests the TV
    # received (always none: a TV sends them)
    assert said == [
        "castapp: stats [1] Ada: fps=26.0 kbps=250 rtt=1.5 ms codec=video/H264 640x360 "
        "path=- route=- loss=0.0% pli_sent=0 nack_sent=3",
        "castapp: stats [2] Bob: fps=25.5 kbps=250 rtt=1.5 ms codec=video/H264 540x960 "
        "path=- route=- loss=0.0% pli_sent=2 nack_sent=3 catchups=1",
    ]

    await stats_once(session, lines, Printer(as_json=True))
    [event] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (event["width"], event["pli_sent"]) == (640, 0)  # the primary's at the top
    assert [(c["name"], c.get("width"), c.get("pli_sent")) for c in event["calls"]] == [
        ("Ada", 640, 0), ("Bob", 540, 2), ("Cy", 0, None)]
    assert [c.get("catchups") for c in event["calls"]] == [0, 1, None]


async def test_a_presenter_still_connecting_has_no_size_yet(
        capsys: pytest.CaptureFixture[str]) -> None:
    lines = CallLines(Printer(as_json=False))
    lines.update([view("a", "Ada", CallPhase.CONNECTING)])
    capsys.readouterr()
    session = StatsSession({"peer-a": figures(0, 0, 0.0, 0)}, primary="peer-a")
    await stats_once(session, lines, Printer(as_json=False))
    [line] = capsys.readouterr().out.splitlines()
    assert " size=- " in line and "None" not in line, line  # it said "NonexNone"
    await stats_once(StatsSession({}, primary=None), lines, Printer(as_json=False))
    assert capsys.readouterr().out == ""  # no link yet: nothing to measure
