"""A small explicit state machine: legal moves are declared, every move is logged."""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Mapping
from typing import Generic, TypeVar

S = TypeVar("S", bound=enum.Enum)

log = logging.getLogger(__name__)


class IllegalTransitionError(RuntimeError):
    pass


class StateMachine(Generic[S]):
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
