"""The words castapp says (castapp.app.words): one table, every failure and state worded."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from castapp.app import words
from castapp.app.words import FAILURES, Failure, Phrase, failure, failure_phrase, say
from castapp.protocol import AdmissionState, ErrorCode
from castapp.rtc.diagnose import Diagnosis
from castapp.rtc.peer import Route
from castapp.session.receiver import ReceiverState, ReceiverStatus
from castapp.session.sender import EndReason, SenderState, SenderStatus
from castapp.signaling.client import (
    RateLimitedError,
    ServiceUnreachableError,
    SignalingError,
    UnknownCodeError,
    UntrustedCertificateError,
)

PLACEHOLDER = re.compile(r"\{(\w+)\}")


@pytest.mark.parametrize("code", sorted(FAILURES))
def test_every_failure_renders_with_its_facts_and_without_them(code):
    names = PLACEHOLDER.findall(FAILURES[code])
    full = failure_phrase(Failure(code, {n: f"<{n}>" for n in names})).render()
    assert all(f"<{n}>" in full for n in names)
    assert not PLACEHOLDER.search(full)
    bare = failure_phrase(Failure(code)).render()  # a producer that forgot a fact
    assert bare and not PLACEHOLDER.search(bare)


def test_every_diagnosis_and_end_reason_is_worded():
    for kind in (*Diagnosis, *EndReason):
        assert kind.value in FAILURES, f"{kind!r} needs an entry in words.FAILURES"
        line = failure_phrase(kind).render()
        assert line.startswith(FAILURES[kind.value].split("{")[0].rstrip())
        assert not PLACEHOLDER.search(line)


def test_room_service_errors_by_code_and_unknown_ones_with_the_service_reason():
    assert failure_phrase(UnknownCodeError("x")).render() == \
        "No receiver is showing this code. Check the code on the TV."
    assert failure_phrase(ServiceUnreachableError("x")).render() == \
        "The room service cannot be reached."
    assert failure_phrase(UntrustedCertificateError("x")).render() == \
        "The room service's TLS certificate is not trusted by this computer."
    assert failure_phrase(RateLimitedError("x", retry_after_s=12.4)).render() == \
        "Too many attempts. Wait a moment and try again. (retry in 12 s)"
    for code in ErrorCode:  # a new protocol error is at least said with the service's words
        err = SignalingError("the reason the service gave")
        err.code = code.value
        line = failure_phrase(err).render()
        assert line == FAILURES.get(code.value, "").format() or \
            line == "The room service refused: the reason the service gave"


def test_a_new_typed_failure_needs_one_entry():
    @dataclass(frozen=True)
    class SourceFailed:  # as a session may publish it
        reason: str

    f = failure(SourceFailed("the display went away"))
    assert f.code == "source_failed"
    assert failure_phrase(SourceFailed("the display went away")).render() == \
        "Cannot capture the screen: the display went away"

    @dataclass(frozen=True)
    class TurnQuotaExceeded:  # not in the table yet: said generically, never a crash
        reason: str = "quota"

    assert failure_phrase(TurnQuotaExceeded()).render() == "The room service refused: quota"


def test_phrases_translate_their_parts():
    table = {"Casting to {name}": "正在投屏到 {name}", "the receiver": "接收端",
             "relayed": "中继"}
    st = SenderStatus(SenderState.CASTING, route=Route.RELAY)
    phrase = words.sender_line(st, "482 913")
    assert phrase.render() == "Casting to the receiver (relayed)"
    assert phrase.render(lambda s: table.get(s, s)) == "正在投屏到 接收端 (中继)"


def test_every_state_has_a_line():
    for state in SenderState:
        assert words.sender_line(SenderStatus(state), "482 913").render()
    for state in ReceiverState:
        assert words.receiver_state(ReceiverStatus(state, sender="Ada")).render()
    assert words.receiver_state(ReceiverStatus(ReceiverState.RECEIVING, sender="Ada")).render() \
        == "Ada is casting"
    assert isinstance(say("x"), Phrase)


def test_an_ended_cast_is_a_failure_only_when_the_session_says_so():
    import enum
    from dataclasses import dataclass as frozen_dataclass

    class End(enum.Enum):  # end reasons a session may add, as it words them
        SOURCE_FAILED = "source_failed"
        SERVICE_FAILED = "service_failed"
        FAULT = "fault"
        RECEIVER_STOPPED = "receiver_stopped"

    @frozen_dataclass(frozen=True)
    class Status(SenderStatus):
        source_error: str | None = None
        fault: str | None = None

        @property
        def failed(self) -> bool:
            return self.ended is not End.RECEIVER_STOPPED

    def line(**kw):
        st = Status(SenderState.ENDED, **kw)
        return words.sender_line(st, "482 913").render(), words.sender_failure(st)

    text, failed = line(ended=End.SOURCE_FAILED, source_error="the display went away")
    assert text == "Cannot capture the screen: the display went away"
    assert failure(failed).code == "source_failed"
    text, _ = line(ended=End.SERVICE_FAILED, error=RateLimitedError("x"))
    assert text == "Too many attempts. Wait a moment and try again."
    text, _ = line(ended=End.FAULT, fault="watchdog")
    assert text == "castapp ran into a problem and stopped: watchdog"
    text, failed = line(ended=End.RECEIVER_STOPPED)
    assert text == "The receiver ended the cast." and failed is None
    text, failed = line(ended=EndReason.MEDIA_FAILED, diagnosis=Diagnosis.TURN_REFUSED)
    assert text == "The TURN server refused the credentials."
    assert failure(failed).code == "turn_refused"


def test_an_immediate_retry_is_said_as_now_not_in_0_s():
    assert words.service_trouble(0.0).render() == "Room service unreachable — trying again now"
    assert words.service_trouble(0.4).render() == "Room service unreachable — trying again now"
    assert words.service_trouble(2.2).render() == "Room service unreachable — retrying in 2 s"
    assert words.service_trouble(None).render() == "Room service unreachable"


def test_the_service_back_names_a_code_only_where_there_is_one():
    assert words.service_back("482 913").render() == \
        "Room service reachable again; cast code 482 913"
    assert words.service_back(None).render() == "Room service reachable again"  # a sender
    assert words.service_back("").render() == "Room service reachable again"


def test_before_the_tv_answers_the_sender_is_asking_not_yet_waiting_for_allow():
    """Every sender passes through "admitting" after joining; only a TV that asks its
    people (approve) makes it wait for Allow. An open room lets it on at once, and saying
    "Waiting for the TV to allow you…" there was untrue."""
    asking = SenderStatus(SenderState.ADMITTING)
    assert words.sender_line(asking, "482 913").render() == "Asking the TV…"
    waiting = SenderStatus(SenderState.ADMITTING, admission=AdmissionState.WAITING)
    assert words.sender_line(waiting, "482 913").render() == "Waiting for the TV to allow you…"
    pin = SenderStatus(SenderState.ADMITTING, admission=AdmissionState.PIN, pin_digits=4)
    assert words.sender_line(pin, "482 913").render() == "Type the PIN shown on the TV"
