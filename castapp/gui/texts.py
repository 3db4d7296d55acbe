"""Every sentence the windows show about sessions, in the user's language.

Sessions report typed states and errors; this module words them. Each string goes through
Qt's translation system (context ``Texts``) so ``pyside6-lupdate`` finds it.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication

from castapp.linkquality import LinkQuality
from castapp.rtc.diagnose import Diagnosis
from castapp.rtc.peer import PeerStats, Route
from castapp.session.receiver import ReceiverState, ReceiverStatus
from castapp.session.sender import EndReason, SenderState, SenderStatus
from castapp.signaling.client import SignalingError


def _a_sender() -> str:
    return QCoreApplication.translate("Texts", "A sender")


def error_text(error: SignalingError) -> str:
    code = str(error.code)
    words = {
        "unreachable": QCoreApplication.translate(
            "Texts", "The room service cannot be reached."),
        "unknown_code": QCoreApplication.translate(
            "Texts", "No receiver is showing this code. Check the code on the TV."),
        "room_full": QCoreApplication.translate(
            "Texts", "This receiver already has as many senders as it accepts."),
        "rate_limited": QCoreApplication.translate(
            "Texts", "Too many attempts. Wait a moment and try again."),
        "unsupported_version": QCoreApplication.translate(
            "Texts", "The room service runs a different version of castapp. Update both sides."),
        "service_full": QCoreApplication.translate(
            "Texts", "The room service is busy. Try again in a minute."),
        "internal_error": QCoreApplication.translate(
            "Texts", "The room service had a problem. Try again."),
    }
    text = words.get(code)
    if text is None:
        text = QCoreApplication.translate("Texts", "The room service refused: {reason}").format(
            reason=error.message)
    if error.retry_after_s:
        text += " " + QCoreApplication.translate("Texts", "(retry in {s} s)").format(
            s=round(error.retry_after_s))
    return text


def service_trouble(retry_in_s: float | None) -> str:
    if retry_in_s is None:
        return QCoreApplication.translate("Texts", "Room service unreachable")
    return QCoreApplication.translate(
        "Texts", "Room service unreachable — retrying in {s} s").format(s=round(retry_in_s))


def receiver_line(st: ReceiverStatus) -> str:
    """The receiver's status line (empty when all is well and nothing needs saying)."""
    if not st.service_ok:
        return service_trouble(st.retry_in_s)
    if st.error is not None:
        return error_text(st.error)
    if st.state is ReceiverState.STARTING:
        return QCoreApplication.translate("Texts", "Starting…")
    if st.state is ReceiverState.CONNECTING:
        return QCoreApplication.translate("Texts", "{name} is connecting…").format(
            name=st.sender or _a_sender())
    if st.state is ReceiverState.RECONNECTING:
        return reconnecting()
    return ""


def reconnecting() -> str:
    return QCoreApplication.translate("Texts", "Reconnecting…")


def route_text(route: Route | None) -> str:
    return {
        Route.DIRECT: QCoreApplication.translate("Texts", "direct"),
        Route.NAT: QCoreApplication.translate("Texts", "through NAT"),
        Route.RELAY: QCoreApplication.translate("Texts", "relayed"),
    }.get(route, "") if route else ""


def diagnosis_text(diagnosis: Diagnosis) -> str:
    return {
        Diagnosis.NO_ANSWER: QCoreApplication.translate(
            "Texts", "The receiver did not answer the connection request."),
        Diagnosis.NO_PATH_NO_TURN: QCoreApplication.translate(
            "Texts", "No direct path between the two networks and no TURN server configured."),
        Diagnosis.RELAY_ONLY_NO_TURN: QCoreApplication.translate(
            "Texts", "Relay only was asked for, but no TURN server is configured."),
        Diagnosis.TURN_REFUSED: QCoreApplication.translate(
            "Texts", "The TURN server refused the credentials."),
        Diagnosis.TURN_UNREACHABLE: QCoreApplication.translate(
            "Texts", "The TURN server could not be reached."),
        Diagnosis.TURN_UNTRUSTED: QCoreApplication.translate(
            "Texts", "The TURN server's TLS certificate is not trusted."),
        Diagnosis.NO_PATH: QCoreApplication.translate(
            "Texts", "No network path to the receiver, not even through the relay."),
    }[diagnosis]


def casting_banner(sender: str | None, quality: LinkQuality | None,
                   route: Route | None = None) -> str:
    who = sender or _a_sender()
    line = QCoreApplication.translate("Texts", "{name} is casting").format(name=who)
    if route is not None:
        line += " · " + route_text(route)
    if quality is not None:
        line += " · " + link_text(quality)
    return line


def link_text(quality: LinkQuality) -> str:
    return {
        LinkQuality.GOOD: QCoreApplication.translate("Texts", "link: good"),
        LinkQuality.FAIR: QCoreApplication.translate("Texts", "link: fair"),
        LinkQuality.POOR: QCoreApplication.translate("Texts", "link: poor"),
    }[quality]


def stats_lines(stats: PeerStats | None, latency_ms: float | None = None,
                *, sending: bool = False) -> list[str]:
    if stats is None:
        return [QCoreApplication.translate("Texts", "No statistics yet")]
    kbps = stats.send_kbps if sending else stats.recv_kbps
    codec = (stats.codec or "–").removeprefix("video/")
    size = f"{stats.width}×{stats.height}" if stats.width and stats.height else "–"
    lines = [
        QCoreApplication.translate("Texts", "Frame rate: {fps} fps").format(
            fps=f"{stats.fps:.0f}" if stats.fps is not None else "–"),
        QCoreApplication.translate("Texts", "Bitrate: {kbps} kbit/s").format(
            kbps=f"{kbps:.0f}" if kbps is not None else "–"),
        QCoreApplication.translate("Texts", "Resolution: {size}").format(size=size),
        QCoreApplication.translate("Texts", "Codec: {codec}").format(codec=codec),
        QCoreApplication.translate("Texts", "Path: {path}").format(
            path=route_text(stats.ice.route) if stats.ice else
            QCoreApplication.translate("Texts", "unknown")),
    ]
    delay = latency_ms if latency_ms is not None else stats.rtt_ms
    if delay is not None:
        lines.insert(2, QCoreApplication.translate("Texts", "Latency: {ms} ms").format(
            ms=f"{delay:.0f}"))
    return lines


def sender_line(st: SenderStatus, code: str) -> str:
    if st.error is not None and st.state is SenderState.IDLE:
        return error_text(st.error)
    if not st.service_ok and st.state is not SenderState.IDLE:
        return service_trouble(st.retry_in_s)
    who = st.receiver or QCoreApplication.translate("Texts", "the receiver")
    if st.state is SenderState.JOINING:
        return QCoreApplication.translate("Texts", "Looking for {code}…").format(code=code)
    if st.state is SenderState.CONNECTING:
        return QCoreApplication.translate("Texts", "Connecting to {name}…").format(name=who)
    if st.state is SenderState.CASTING:
        line = QCoreApplication.translate("Texts", "Casting to {name}").format(name=who)
        return line + (f" ({route_text(st.route)})" if st.route else "")
    if st.state is SenderState.RECONNECTING:
        return QCoreApplication.translate(
            "Texts", "Connection lost — reconnecting to {name}…").format(name=who)
    if st.state is SenderState.WAITING:
        return QCoreApplication.translate(
            "Texts", "The receiver dropped out — waiting for it to come back…")
    if st.state is SenderState.ENDED:
        if st.diagnosis is not None:
            return diagnosis_text(st.diagnosis)
        return ended_text(st.ended)
    return QCoreApplication.translate("Texts", "Type the code shown on the TV.")


def ended_text(reason: EndReason | None) -> str:
    return {
        EndReason.RECEIVER_STOPPED: QCoreApplication.translate(
            "Texts", "The receiver ended the cast."),
        EndReason.RECEIVER_BUSY: QCoreApplication.translate(
            "Texts", "The receiver is showing someone else's screen."),
        EndReason.ROOM_CLOSED: QCoreApplication.translate(
            "Texts", "The receiver closed. Check the code and cast again."),
        EndReason.MEDIA_FAILED: QCoreApplication.translate(
            "Texts", "The connection to the receiver was lost."),
    }.get(reason, QCoreApplication.translate("Texts", "The cast ended.")) if reason else \
        QCoreApplication.translate("Texts", "The cast ended.")


def tray_casting(code: str) -> str:
    return QCoreApplication.translate("Texts", "Casting to {code}").format(code=code)
