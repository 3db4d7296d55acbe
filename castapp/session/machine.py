"""Event-driven state machines: one table of (state, event) -> (next state, actions).

A session feeds typed events into its :class:`Machine`. The table says, for each state and
each event type, which state comes next and which named actions run; a pair missing from the
table is an illegal event and raises :class:`IllegalEventError`, which the session reports
rather than ignores. Every move is logged.

Events that belong to one call carry that call's generation number. When a newer call (a
newer offer from the same sender, a rebuilt connection) has superseded it, the machine's
:attr:`Machine.generation` is higher and the stale event is dropped without a transition.

:func:`render_mermaid` draws a table as a Mermaid state diagram for ``docs/``, so the
documentation is generated from the table and cannot drift from it.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import ClassVar, Generic, TypeVar

S = TypeVar("S", bound=enum.Enum)

log = logging.getLogger(__name__)


class IllegalEventError(RuntimeError):
    """An event arrived in a state whose table row does not name it."""

    def __init__(self, machine: str, state: enum.Enum, event: Event) -> None:
        super().__init__(f"{machine}: {type(event).__name__} is not expected in {state.value}")
        self.machine = machine
        self.state = state
        self.event = event


@dataclass(frozen=True)
class Event:
    """Base of every typed event. ``gen`` is the call generation it belongs to, if any."""

    gen: int | None = None

    #: Events that are routine (ticks) are logged at debug level, not info.
    quiet: ClassVar[bool] = False


@dataclass(frozen=True)
class Step(Generic[S]):
    """One table cell: the next state and the actions to run, in order."""

    target: S
    actions: tuple[str, ...] = ()


Table = Mapping[tuple[S, type[Event]], Step[S]]


def step(target: S, *actions: str) -> Step[S]:
    return Step(target, tuple(actions))


class Machine(Generic[S]):
    """Runs one table. ``perform(action, event)`` carries out each named action."""

    def __init__(
        self,
        name: str,
        table: Table[S],
        initial: S,
        perform: Callable[[str, Event], None],
        on_change: Callable[[S, S], None] | None = None,
    ) -> None:
        self.name = name
        self.table = table
        self.state = initial
        self.generation = 0
        self._perform = perform
        self._on_change = on_change

    def accepts(self, event_type: type[Event]) -> bool:
        """Whether the table names this event in the current state (for presenters only)."""
        return (self.state, event_type) in self.table

    def next_generation(self) -> int:
        self.generation += 1
        return self.generation

    def handle(self, event: Event) -> bool:
        """Apply ``event``; False when it was stale and dropped. Raises on an illegal event."""
        if event.gen is not None and event.gen < self.generation:
            log.debug("%s: stale %s (generation %d < %d) dropped", self.name,
                      type(event).__name__, event.gen, self.generation)
            return False
        cell = self.table.get((self.state, type(event)))
        if cell is None:
            raise IllegalEventError(self.name, self.state, event)
        old = self.state
        self.state = cell.target
        if old is not cell.target:
            log.info("%s: %s -> %s on %s", self.name, old.value, cell.target.value,
                     type(event).__name__)
        elif not event.quiet:
            log.debug("%s: %s on %s", self.name, old.value, type(event).__name__)
        for action in cell.actions:
            self._perform(action, event)
        if old is not cell.target and self._on_change is not None:
            self._on_change(old, cell.target)
        return True


def render_mermaid(title: str, table: Table[S], initial: S,
                   final: Iterable[S] = (), *, moves_only: bool = False) -> str:
    """A Mermaid ``stateDiagram-v2`` of ``table``; self-loops without actions are left out
    (``moves_only``: every self-loop is, for a large table whose rows are listed apart)."""
    lines = [f"### {title}", "", "```mermaid", "stateDiagram-v2"]
    lines.append(f"    [*] --> {initial.name}")
    for (state, event), cell in sorted(
        table.items(), key=lambda kv: (kv[0][0].name, kv[0][1].__name__)
    ):
        if cell.target is state and (moves_only or not cell.actions):
            continue
        label = event.__name__
        if cell.actions:
            label += " / " + ", ".join(cell.actions)
        lines.append(f"    {state.name} --> {cell.target.name}: {label}")
    for state in final:
        lines.append(f"    {state.name} --> [*]")
    lines.append("```")
    return "\n".join(lines) + "\n"


def render_rows(table: Table[S]) -> str:
    """Every row of ``table`` as a Markdown table, in the order of the states' enum."""
    order = {state: i for i, state in enumerate(type(next(iter(table))[0]))} if table else {}
    lines = ["| state | event | next | actions |", "|---|---|---|---|"]
    for (state, event), cell in sorted(
        table.items(), key=lambda kv: (order[kv[0][0]], kv[0][1].__name__)
    ):
        target = "=" if cell.target is state else cell.target.name
        lines.append(f"| {state.name} | {event.__name__} | {target} | "
                     f"{', '.join(cell.actions) or '-'} |")
    return "\n".join(lines) + "\n"


def events_of(table: Table[S]) -> list[type[Event]]:
    """Every event type the table names, in a stable order (for exhaustive tests)."""
    return sorted({e for (_, e) in table}, key=lambda e: e.__name__)


# Kept until every session runs on :class:`Machine`.
class IllegalTransitionError(RuntimeError):
    pass


class StateMachine(Generic[S]):
    """Declared moves only (the older form); new code uses :class:`Machine`."""

    def __init__(
        self,
        name: str,
        initial: S,
        moves: Mapping[S, frozenset[S]],
        on_change: Callable[[S, S], None] | None = None,
    ) -> None:
        self.name = name
        self.state = initial
        self._moves = moves
        self._on_change = on_change

    def can(self, new: S) -> bool:
        return new in self._moves.get(self.state, frozenset())

    def move(self, new: S) -> None:
        old = self.state
        if new is old:
            return
        if not self.can(new):
            raise IllegalTransitionError(f"{self.name}: {old.value} -> {new.value} is not allowed")
        log.info("%s: %s -> %s", self.name, old.value, new.value)
        self.state = new
        if self._on_change is not None:
            self._on_change(old, new)
