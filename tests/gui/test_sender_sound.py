"""The sender window's sound: "Share sound" follows what the system can capture, the cast
carries sound to a real TV session, and "Mute sound" silences it while casting.

A private PulseAudio daemon (null sinks ``laptop`` and ``tv``) is the laptop's sound system;
the window's controller finds it through ``PULSE_SERVER``, as on a desktop.
"""

from __future__ import annotations

import asyncio

import pytest
from pulse_server import melody, pulse_server
from test_sender_window import make_window

from castapp.rtc.audio.pulse import PulseSink
from castapp.session.receiver import ReceiverSession, ReceiverState

pytestmark = pytest.mark.timeout(90)


def test_share_sound_is_off_and_says_why_without_a_sound_server(qtbot, tmp_path,
                                                                monkeypatch) -> None:
    monkeypatch.setenv("PULSE_SERVER", f"unix:{tmp_path}/no-such-socket")
    window, _, _ = make_window(qtbot, tmp_path)
    assert not window.sound.isChecked() and not window.sound.isEnabled()
    assert not window.share_sound()
    assert window.sound.toolTip().startswith("Sound is not available on this system: ")
    assert window.mute.isHidden()


def test_the_cast_carries_sound_and_mute_silences_it(qtbot, run, tmp_path, room_server,
                                                     loopback_ice, monkeypatch) -> None:
    with pulse_server(tmp_path / "pulse") as pulse:
        monkeypatch.setenv("PULSE_SERVER", pulse.server)
        window, controller, _ = make_window(qtbot, tmp_path, name="Ada")
        assert window.sound.isChecked() and window.sound.isEnabled() and window.share_sound()
        assert window.sound.text() == "Share sound"
        receiver = ReceiverSession(room_server.url, name="TV",
                                   audio_out=lambda: PulseSink(pulse.server, "tv"))
        player = pulse.play(melody(30), "laptop")

        async def scenario() -> tuple[dict[str, object], bool, bool]:
            status = await receiver.start()
            try:
                window.server.setText(room_server.url)
                await controller.cast(status.display_code)
                await receiver.wait_for(ReceiverState.RECEIVING, timeout=20)
                assert window.mute.isVisible() and window.mute.text() == "Mute sound"
                await asyncio.sleep(2.0)
                stats = receiver.audio_stats()
                window.mute.click()
                assert window.mute.text() == "Unmute sound"
                session = controller.session
                assert session is not None
                muted = session.audio_muted and session.peer.audio.muted  # type: ignore[union-attr]
                window.mute.click()
                unmuted = not session.peer.audio.muted  # type: ignore[union-attr]
                return stats, muted, unmuted
            finally:
                await controller.close()
                await receiver.stop()

        try:
            stats, muted, unmuted = run(scenario(), timeout=60)
        finally:
            player.kill()
            player.wait()
    assert stats.get("audio_codec") == "opus" and stats.get("audio_kbps", 0) > 8, stats
    assert muted and unmuted
    assert window.mute.isHidden() and not window.mute.isChecked()
