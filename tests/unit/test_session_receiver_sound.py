"""Whose sound the TV plays: the spotlit presenter (or the only one), the TV's own choices."""

from __future__ import annotations

from typing import Any

from test_session_receiver import Rig, RigFn, rig  # noqa: F401 - the fixture


class Sound:
    """Stands in for a call's ``AudioPlayback`` (the real one is tested with real peers)."""

    def __init__(self) -> None:
        self.muted = False
        self.volume = 1.0

    def set_muted(self, muted: bool) -> None:
        self.muted = muted

    def set_volume(self, volume: float) -> None:
        self.volume = volume


def with_sound(r: Rig, *peers: str) -> dict[str, Any]:
    sounds = {}
    for peer in peers:
        sounds[peer] = r.link_of(peer).audio = Sound()
    r.session.apply_sound()
    return sounds


async def test_a_single_presenter_is_heard(rig: RigFn) -> None:  # noqa: F811
    r = await rig()
    await r.on_screen("s1")
    sound = with_sound(r, "s1")["s1"]
    assert not sound.muted
    r.session.set_muted(True)
    assert sound.muted
    r.session.set_muted(False)
    assert not sound.muted


async def test_only_the_spotlit_presenter_is_heard_and_the_tv_can_change_that(
        rig: RigFn) -> None:  # noqa: F811
    r = await rig()
    await r.on_screen("s1")
    await r.on_screen("s2")
    sounds = with_sound(r, "s1", "s2")
    assert not sounds["s1"].muted and sounds["s2"].muted  # the first on screen by default
    r.session.set_view("s1", 960, 540, 15, tile=1, tiles=2, spotlit=False)
    r.session.set_view("s2", 1920, 1080, 30, tile=2, tiles=2, spotlit=True)
    assert sounds["s1"].muted and not sounds["s2"].muted  # the spotlight moved, so did sound
    r.session.set_presenter_sound("s1", muted=False, volume=0.3)
    assert not sounds["s1"].muted and sounds["s1"].volume == 0.3
    r.session.set_presenter_sound("s2", muted=True)
    assert sounds["s2"].muted
    r.session.set_presenter_sound("s2", muted=None)  # back to the rule
    assert not sounds["s2"].muted
