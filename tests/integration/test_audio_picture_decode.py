"""Once a call's sound runs dry, its pictures are decoded off the TV's event loop, which reads
the sound's packets.

Real aiortc peers over loopback: castapp's offering peer with a synthetic picture (and
synthetic sound, or none) and castapp's answering link playing into a null sink of a private
PulseAudio daemon. The TV decodes small pictures on its loop (fewer thread hand-overs); from
the sound's first underrun on, every picture goes to the decoder thread and the sound plays on.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from castapp.rtc.audio.pulse import PulseSink
from castapp.rtc.audio.synthetic import ClickSource, Flashes, FlashVideoSource
from castapp.rtc.ice import IceChooser, IcePlan
from castapp.rtc.offer import OfferRequest, aiortc_offer
from castapp.rtc.receive import ReceivedFrame
from castapp.session.receive_link import AiortcLink, LinkRequest, aiortc_link
from tests.pulse_server import pulse_server

pytestmark = pytest.mark.timeout(90)


def counts_of(link: AiortcLink) -> dict[str, int]:
    counts = {"inline": 0, "threaded": 0}
    for t in link.pc.getTransceivers():
        queue = getattr(t.receiver, "_RTCRtpReceiver__decoder_queue", None)
        for key in counts:
            counts[key] += getattr(queue, key, 0)
    return counts


def cast(tmp_path: Path, sound: bool) -> tuple[dict[str, int], int, int]:
    """(picture decodes on the loop and on the thread after the sound's first underrun, or
    in all without sound; pictures shown since; sound frames buffered)."""
    shown: list[ReceivedFrame] = []

    async def main() -> tuple[dict[str, int], int, int]:
        with pulse_server(tmp_path) as pulse:
            flashes = Flashes(period_s=1.0)
            video = FlashVideoSource(flashes)
            video.start()
            sender = await aiortc_offer(OfferRequest(
                servers=[], relay_only=False, source=video, codec="h264", encoder=None,
                on_state=lambda state: None,
                audio=(lambda: ClickSource(flashes)) if sound else None))
            link = await aiortc_link(LinkRequest(
                offer_sdp=sender.offer_sdp, chooser=IceChooser(IcePlan()),
                on_frame=shown.append, on_failed=lambda: None,
                audio_out=lambda: PulseSink(pulse.server, "tv")))
            await sender.apply_answer(link.answer_sdp)
            await asyncio.sleep(2.0)
            assert isinstance(link, AiortcLink)
            before, seen = {"inline": 0, "threaded": 0}, 0
            if link.audio is not None:
                hook = link.audio.buffer.on_underrun
                assert hook is not None, "the playout buffer has no underrun hook"
                hook()  # what the buffer calls when it runs dry
                before, seen = counts_of(link), len(shown)
            await asyncio.sleep(2.0)
            counts = {k: v - before[k] for k, v in counts_of(link).items()}
            frames = link.audio.buffer.frames if link.audio is not None else 0
            await link.close()
            await sender.close()
            video.stop()
            return counts, len(shown) - seen, frames

    return asyncio.run(main())


def test_once_the_sound_ran_dry_every_picture_is_decoded_off_the_loop(
        tmp_path: Path, loopback_only: None) -> None:
    counts, shown, frames = cast(tmp_path, sound=True)
    assert shown > 15, f"only {shown} pictures were shown"
    assert counts["inline"] == 0 and counts["threaded"] >= shown, counts
    assert frames > 100, f"only {frames} sound frames reached the playout buffer"


def test_without_sound_small_pictures_are_decoded_on_the_loop(tmp_path: Path,
                                                              loopback_only: None) -> None:
    counts, shown, frames = cast(tmp_path, sound=False)
    assert shown > 15, f"only {shown} pictures were shown"
    assert counts["inline"] > counts["threaded"], counts
    assert frames == 0
