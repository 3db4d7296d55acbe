"""docs/sessions.md is drawn from the machines' tables and must match them."""

from __future__ import annotations

from pathlib import Path

from castapp.session.diagrams import machine_tables, render
from castapp.session.sender_table import TABLE

DOC = Path(__file__).parents[2] / "docs" / "sessions.md"


def test_docs_match_the_tables():
    assert DOC.read_text() == render(), "docs/sessions.md is stale: run scripts/render_machines.py"


def test_every_machine_is_drawn_with_its_moves():
    titles = [title for title, *_ in machine_tables()]
    assert "Sender" in titles
    text = render()
    assert "CASTING --> LOST: StallDetected / drop_call, count_reconnect, wait_network" in text
    assert text.count("| ") >= len(TABLE)
