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


def heard_marks(r: Rig) -> dict[str, tuple[bool, bool]]:
    """What the session tells the TV window: (sends sound, is heard) per presenter."""
    return {v.peer_id: (v.sound, v.heard) for v in r.session.status.calls or ()}


async def test_a_presenter_without_sound_does_not_silence_the_room(
        rig: RigFn) -> None:  # noqa: F811
    r = await rig()
    await r.on_screen("s1")  # slides, no sound
    await r.on_screen("s2")
    await r.on_screen("s3")
    sounds = with_sound(r, "s2", "s3")
    r.session.set_view("s3", 480, 270, 15, tile=3, tiles=3, spotlit=False)  # publishes
    # the first on screen that sends sound is heard, and the views say so
    assert not sounds["s2"].muted and sounds["s3"].muted
    assert heard_marks(r) == {"s1": (False, False), "s2": (True, True), "s3": (True, False)}
    # spotlighting a presenter without sound keeps the sound where it was
    r.session.set_view("s1", 1920, 1080, 30, tile=1, tiles=3, spotlit=True)
    assert not sounds["s2"].muted and sounds["s3"].muted
    assert heard_marks(r)["s2"] == (True, True)
    # spotlighting one with sound moves the sound to it
    r.session.set_view("s1", 480, 270, 15, tile=1, tiles=3, spotlit=False)
    r.session.set_view("s3", 1920, 1080, 30, tile=3, tiles=3, spotlit=True)
    assert sounds["s2"].muted and not sounds["s3"].muted
    assert heard_marks(r) == {"s1": (False, False), "s2": (True, False), "s3": (True, True)}
    # the TV's own choice for one presenter shows in the views at once
    r.session.set_presenter_sound("s2", muted=False)
    assert heard_marks(r)["s2"] == (True, True) and not sounds["s2"].muted
    # the TV's mute of everyone silences every call but leaves who is heard as it was
    r.session.set_muted(True)
    assert all(s.muted for s in sounds.values())
    assert heard_marks(r)["s3"] == (True, True)
