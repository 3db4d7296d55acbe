"""Fixtures of the unit tests: the sender session's rig (:mod:`sender_rig`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sender_rig import MakeRig, Rig


@pytest.fixture
async def make_rig() -> AsyncIterator[MakeRig]:
    """Makes sender rigs with session options; closes each after the test."""
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
