"""The sender shares sound on each call it builds and mutes it while casting."""

from __future__ import annotations

from sender_rig import MakeRig, Rig

from castapp.session import sender_table as t


def opener() -> object:
    raise AssertionError("the fake peer never opens the sound")


async def test_each_call_asks_for_sound_and_mute_reaches_the_live_call(make_rig: MakeRig) -> None:
    rig = make_rig(audio=opener)
    peer = await rig.casting()
    assert peer.request.audio is opener and peer.request.audio_muted is False
    assert rig.s.status.state is t.SenderState.CASTING
    told: list[bool] = []
    peer.set_audio_muted = told.append
    rig.s.set_audio_muted(True)
    assert told == [True]
    # a call built later (after a stall, say) starts muted too
    assert rig.s._request(rig.s.machine.generation).audio_muted is True
    rig.s.set_audio_muted(False)
    assert told == [True, False]


async def test_no_audio_means_no_sound_on_the_call(rig: Rig) -> None:
    await rig.cast()
    assert rig.factory.last.request.audio is None
    rig.s.set_audio_muted(True)  # harmless without sound
