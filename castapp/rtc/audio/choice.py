"""What the command line and the windows use to decide about sound on each side."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from castapp.rtc.audio.playout import PcmSink
from castapp.rtc.audio.source import (
    NOT_AVAILABLE,
    AudioSource,
    AudioUnavailable,
    open_system_audio,
)
from castapp.rtc.audio.synthetic import ClickSource, Flashes


def sound_available() -> str | None:
    """None when this system can share its sound, else the reason in words."""
    try:
        open_system_audio().stop()
    except AudioUnavailable as exc:
        return str(exc)
    return None


def share_sound(wanted: bool, say: Callable[..., Any]) -> Callable[[], AudioSource] | None:
    """The sound opener for a cast: on by default when this system has a source."""
    if not wanted:
        return None
    reason = sound_available()
    if reason is not None:
        why = reason.removeprefix(f"{NOT_AVAILABLE}: ")
        say("sound", f"The picture is sent without sound: {why}.", audio=False, reason=reason)
        return None
    say("sound", "sharing this computer's sound", audio=True)
    return open_system_audio


def synthetic_sound(wanted: bool, flashes: Flashes,
                    say: Callable[..., Any]) -> Callable[[], AudioSource] | None:
    """The sound opener for a synthetic cast: a click at each white flash of the pattern."""
    if not wanted:
        return None
    say("sound", "sharing a click at each flash of the test pattern", audio=True,
        synthetic=True)
    return lambda: ClickSource(flashes)


def system_audio_out() -> Callable[[], PcmSink] | None:
    """Where a headless TV plays sound: the default PulseAudio/PipeWire output on Linux."""
    if not sys.platform.startswith("linux"):
        return None
    from castapp.rtc.audio.pulse import PulseSink

    return PulseSink
