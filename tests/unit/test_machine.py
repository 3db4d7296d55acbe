"""The table-driven machine: legal moves, actions in order, illegal and stale events."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import pytest

from castapp.session.machine import (
    Event,
    IllegalEventError,
    Machine,
    events_of,
    render_mermaid,
    step,
)


class S(enum.Enum):
    IDLE = "idle"
    BUSY = "busy"


@dataclass(frozen=True)
class Go(Event):
    pass


@dataclass(frozen=True)
class Done(Event):
    pass


TABLE = {
    (S.IDLE, Go): step(S.BUSY, "start", "announce"),
    (S.BUSY, Done): step(S.IDLE, "finish"),
    (S.BUSY, Go): step(S.BUSY),
}


def make() -> tuple[Machine[S], list[str], list[tuple[S, S]]]:
    done: list[str] = []
    moves: list[tuple[S, S]] = []
    m = Machine("t", TABLE, S.IDLE, lambda a, e: done.append(a),
                lambda old, new: moves.append((old, new)))
    return m, done, moves


def test_actions_run_in_order_and_moves_are_reported():
    m, done, moves = make()
    assert m.handle(Go())
    assert m.state is S.BUSY and done == ["start", "announce"] and moves == [(S.IDLE, S.BUSY)]
    m.handle(Go())  # a declared self-loop: no move, no action
    assert done == ["start", "announce"] and moves == [(S.IDLE, S.BUSY)]


def test_an_illegal_event_raises_and_changes_nothing():
    m, done, _ = make()
    with pytest.raises(IllegalEventError, match="Done is not expected in idle"):
        m.handle(Done())
    assert m.state is S.IDLE and done == []


def test_stale_generations_are_dropped_without_a_transition():
    m, done, _ = make()
    m.handle(Go(gen=0))
    assert m.next_generation() == 1
    assert m.handle(Done(gen=0)) is False
    assert m.state is S.BUSY
    assert m.handle(Done(gen=1)) and m.state is S.IDLE and done[-1] == "finish"


def test_diagram_names_every_move_with_its_actions():
    text = render_mermaid("t", TABLE, S.IDLE)
    assert "IDLE --> BUSY: Go / start, announce" in text
    assert "BUSY --> IDLE: Done / finish" in text
    assert "BUSY --> BUSY" not in text
    assert events_of(TABLE) == [Done, Go]
