"""Every sentence the windows show about sessions, in the user's language.

The sentences live once, in English, in :mod:`castapp.app.words` (the command line prints
the same ones); this module renders them through Qt's translation system (context ``Texts``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication

from castapp.app import words

if TYPE_CHECKING:  # the receiver window shows before the media stack is imported
    from castapp.linkquality import LinkQuality
    from castapp.rtc.diagnose import Diagnosis
    from castapp.rtc.peer import PeerStats, Route
    from castapp.session.receiver_table import ReceiverStatus
    from castapp.session.sender import EndReason, SenderStatus


def tr(text: str) -> str:
    return QCoreApplication.translate("Texts", text)


def render(phrase: words.Phrase) -> str:
    """A phrase of :mod:`castapp.app.words` in the interface language."""
    return phrase.render(tr)


def failure_text(what: object) -> str:
    """Any failure (room-service error, diagnosis, typed failure) as one sentence."""
    return render(words.failure_phrase(what))


def error_text(error: object) -> str:
    return failure_text(error)


def service_trouble(retry_in_s: float | None) -> str:
    return render(words.service_trouble(retry_in_s))


def receiver_line(st: ReceiverStatus) -> str:
    """The receiver's status line (empty when all is well and nothing needs saying)."""
    return render(words.receiver_line(st))


def reconnecting() -> str:
    return render(words.reconnecting())


def route_text(route: Route | None) -> str:
    return render(words.route(route))


def diagnosis_text(diagnosis: Diagnosis) -> str:
    return failure_text(diagnosis)


def casting_banner(sender: str | None, quality: LinkQuality | None,
                   route: Route | None = None) -> str:
    return render(words.casting_banner(sender, quality, route))


def link_text(quality: LinkQuality) -> str:
    return render(words.link(quality))


def stats_lines(stats: PeerStats | None, latency_ms: float | None = None,
                *, sending: bool = False) -> list[str]:
    return [render(p) for p in words.stats_lines(stats, latency_ms, sending=sending)]


def sender_line(st: SenderStatus, code: str) -> str:
    return render(words.sender_line(st, code))


def ended_text(reason: EndReason | None) -> str:
    return render(words.ended(reason))


def tray_casting(code: str) -> str:
    return render(words.tray_casting(code))


def sound_stats_line(fields: dict[str, Any]) -> str | None:
    """The statistics box's line for a call's sound (``AudioPlayback.stats_fields``), or None
    when the call has no sound: codec, bitrate, playout buffer, jitter and A/V offset."""
    if not fields.get("audio_codec"):
        return None
    offset = fields.get("av_offset_ms")
    return QCoreApplication.translate(
        "QtAudioOut", "Sound: {codec} {kbps} kbit/s, buffer {buffer} ms, jitter {jitter} ms, "
        "A/V {offset} ms").format(
        codec=str(fields["audio_codec"]).capitalize(), kbps=fields.get("audio_kbps", "–"),
        buffer=f"{fields.get('audio_buffer_ms', 0):.0f}",
        jitter=f"{fields.get('audio_jitter_ms', 0):.0f}",
        offset="–" if offset is None else f"{offset:+.0f}")
