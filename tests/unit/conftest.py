"""Fixtures of the unit tests: the sender session's rig (:mod:`sender_rig`) and castapp's
aiortc adaptations."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # imported by the fixtures that need them, not by every unit test
    from sender_rig import MakeRig, Rig


@pytest.fixture
async def make_rig() -> AsyncIterator[MakeRig]:
    """Makes sender rigs with session options; closes each after the test."""
    from sender_rig import Rig

    made: list[Rig] = []

    def make(**kw: object) -> Rig:
        made.append(Rig(**kw))
        return made[-1]

    yield make
    for rig in made:
        await rig.close()


@pytest.fixture
def rig(make_rig: MakeRig) -> Rig:
    """A sender rig with the default options (a test module may define its own ``rig``)."""
    return make_rig()


@pytest.fixture
def installed() -> Iterator[None]:
    """castapp's aiortc adaptations installed for the test (removed after, unless they were
    installed before)."""
    from castapp.rtc import adapt

    was = adapt.installed()
    adapt.install()
    yield
    if not was:
        adapt.uninstall()
