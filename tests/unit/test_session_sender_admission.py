"""The sender and the TV's admission: waiting, PIN, allowed, denied, stopped, full, views."""

from __future__ import annotations

import pytest
from fakes.signaling import RX_SDP
from sender_rig import MakeRig, Rig

from castapp import protocol as p
from castapp.session import sender_table as t
from castapp.session.sender import EndReason
from castapp.session.sender_table import Phase, SenderState

A = p.AdmissionState


def _say(rig: Rig, msg: p.PeerMessage) -> None:
    rig.client.push(rig.client.admit(msg))


async def _joined_held(rig: Rig, state: A = A.WAITING, **kw: object) -> None:
    rig.client.admission = p.Admission(state=state, **kw)  # type: ignore[arg-type]
    await rig.cast()


async def test_waiting_for_the_tv_sends_no_offer_and_pauses_the_deadline(make_rig: MakeRig) -> None:
    rig = make_rig(connect_timeout_s=5.0)
    await _joined_held(rig)
    assert rig.s.phase is Phase.ADMITTING
    assert rig.s.status.state is SenderState.ADMITTING
    assert rig.s.status.admission is A.WAITING
    for _ in range(40):  # 10 s: twice the connect deadline, the TV still deciding
        await rig.clock.advance(0.25)
        await rig.run()
    assert rig.s.phase is Phase.ADMITTING
    assert "offer" not in rig.client.kinds() and not rig.factory.made
    _say(rig, p.Admission(state=A.ALLOWED, resume="t" * 24))
    await rig.run()
    assert rig.s.phase is Phase.OFFERED and rig.client.kinds()[-1] == "offer"
    assert rig.s.status.admission is A.ALLOWED
    # the deadline goes on from where it stopped: it still ends an unanswered offer
    for _ in range(30):
        await rig.clock.advance(0.25)
        await rig.run()
    assert rig.s.status.ended is EndReason.MEDIA_FAILED


async def test_a_receiver_that_never_answers_the_join_is_a_deadline(make_rig: MakeRig) -> None:
    rig = make_rig(connect_timeout_s=2.0)
    rig.client.admission = None
    await rig.cast()
    assert rig.s.phase is Phase.ADMITTING
    for _ in range(12):
        await rig.clock.advance(0.25)
        await rig.run()
    assert rig.s.status.ended is EndReason.MEDIA_FAILED
    assert not rig.factory.made


async def test_a_pin_is_asked_typed_refused_and_accepted(rig: Rig) -> None:
    await _joined_held(rig, A.PIN, pin_digits=4)
    st = rig.s.status
    assert st.state is SenderState.ADMITTING and st.admission is A.PIN
    assert st.pin_digits == 4 and not st.wrong_pin
    rig.client.pair_pin = "4321"  # the TV shows 4321; the person types 1234
    await rig.s.answer_pin("1234")
    await rig.run()
    sent = [msg for kind, _, msg in rig.client.sent if kind == "signal"]
    assert any(isinstance(m, p.PakeMessage) for m in sent)
    assert not any(isinstance(m, p.PinAnswer) or "1234" in repr(m) for m in sent)
    assert "offer" not in rig.client.kinds()  # nothing before the TV allows
    _say(rig, p.Admission(state=A.WRONG_PIN, pin_digits=4, retry_after_s=30.0))
    await rig.run()
    st = rig.s.status
    assert st.state is SenderState.ADMITTING and st.wrong_pin
    assert st.pin_retry_after_s == 30.0
    await rig.s.answer_pin(" 4321 ")
    assert not rig.s.status.wrong_pin
    await rig.run()
    assert rig.s.phase is Phase.OFFERED  # a call and the pairing, no offer yet
    assert "offer" not in rig.client.kinds()
    _say(rig, p.Admission(state=A.ALLOWED, resume="t" * 24))
    await rig.run()
    assert rig.s.phase is Phase.OFFERED and rig.s.status.pin_digits == 0
    assert rig.client.kinds()[-2:] == ["signal", "offer"]  # confirmation, then offer
    await rig.answer()
    assert rig.s.phase is Phase.ANSWERED and rig.s.status.verified


async def test_a_pin_that_is_not_digits_is_refused_in_words(rig: Rig) -> None:
    await _joined_held(rig, A.PIN, pin_digits=4)
    with pytest.raises(ValueError, match="digits"):
        await rig.s.answer_pin("12a4")


@pytest.mark.parametrize(("state", "reason"), [
    (A.DENIED, EndReason.DENIED), (A.STOPPED, EndReason.STOPPED_BY_TV),
    (A.FULL, EndReason.ROOM_FULL)])
@pytest.mark.parametrize("where", ["admitting", "casting"])
async def test_the_tv_turns_a_sender_away(rig: Rig, state: A, reason: EndReason,
                                          where: str) -> None:
    if where == "admitting":
        await _joined_held(rig)
    else:
        await rig.to(Phase.CASTING)
    peer = rig.factory.made[-1] if rig.factory.made else None
    await rig.feed(t.TurnedAway(state=state))
    await rig.settle()
    st = rig.s.status
    assert st.state is SenderState.ENDED and st.ended is reason and st.admission is state
    assert not st.failed  # the TV's choice, not a failure
    assert peer is None or peer.closed
    # the bye that follows changes nothing
    await rig.feed(t.PeerLeft())
    assert rig.s.status.ended is reason


async def test_a_rejoin_claims_the_place_with_the_resume_token_first(rig: Rig) -> None:
    await rig.casting()
    assert rig.s.phase is Phase.CASTING
    before = len(rig.client.sent)
    await rig.feed(t.Joined(receiver="rx-1", name="TV"))  # the service came back
    first = rig.client.sent[before]
    assert first[0] == "signal" and isinstance(first[2], p.Resume)
    assert first[2].token == "r" * 24
    # asked again under the new peer id before the token is read: the call goes on
    await rig.feed(t.HeldBack(state=A.WAITING))
    assert rig.s.phase is Phase.CASTING


async def test_a_view_hint_is_published(rig: Rig) -> None:
    await rig.to(Phase.CASTING)
    hint = p.ViewHint(width=960, height=540, fps=15, tile=2, tiles=4, spotlit=False)
    await rig.feed(t.ViewHinted(hint=hint))
    st = rig.s.status
    assert (st.tile, st.tiles, st.spotlit, st.view) == (2, 4, False, (960, 540, 15))


async def test_the_tv_moves_the_capture_clock_at_most_once_a_second(rig: Rig) -> None:
    await _joined_held(rig)
    _say(rig, p.Phase(shift_ms=-12.5))
    _say(rig, p.Phase(shift_ms=7.0))  # a flood (a hostile peer) is not followed
    await rig.run()
    assert rig.source.moved == [-0.0125]
    await rig.clock.advance(1.0)
    _say(rig, p.Phase(shift_ms=4.0))
    await rig.run()
    assert rig.source.moved == [-0.0125, 0.004]
    await rig.clock.advance(1.0)
    rig.client.push(p.RelayedSignal(from_="rx-1", body={"kind": "phase", "shift_ms": 5000}))
    await rig.run()
    assert rig.source.moved == [-0.0125, 0.004] and rig.s.status.fault is None


async def test_a_casting_sender_moves_its_capture_clock(rig: Rig) -> None:
    await rig.to(Phase.CASTING)
    await rig.feed(t.PhaseAsked(shift_s=0.006))
    assert rig.source.moved == [0.006] and rig.s.phase is Phase.CASTING


async def test_a_bad_signal_body_is_ignored_not_a_crash(rig: Rig) -> None:
    await _joined_held(rig)
    rig.client.push(p.RelayedSignal(from_="rx-1", body={"kind": "admission",
                                                        "state": "owned"}))
    rig.client.push(p.RelayedSignal(from_="stranger", body=p.peer_body(
        p.Admission(state=A.ALLOWED))))
    await rig.run()
    assert rig.s.phase is Phase.ADMITTING and rig.s.status.fault is None


async def test_an_answer_with_another_fingerprint_is_refused_as_tampered(
        rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    await rig.cast()
    assert rig.s.phase is Phase.OFFERED and rig.s.status.verified
    forged = RX_SDP.replace("AB:AB", "CD:CD")
    await rig.answer(forged)
    st = rig.s.status
    assert st.state is SenderState.ENDED and st.ended is EndReason.TAMPERED and st.failed
    assert rig.factory.last.remote_sdp is None  # never applied
    notices = [m for k, _, m in rig.client.sent if k == "signal"
               and isinstance(m, p.KeyConfirm) and m.tampered]
    assert len(notices) == 1 and ("bye", "rx-1", "tampered") in rig.client.sent
    assert any(r.message.startswith("security:") for r in caplog.records)
    assert "123456" not in caplog.text


async def test_a_receiver_that_says_it_was_tampered_ends_the_cast(rig: Rig) -> None:
    await rig.cast()
    rx = rig.client.pairings[-1]
    with pytest.raises(Exception, match="tampered"):
        rx.check_remote_sdp(RX_SDP)  # as if the offer it got carried another fingerprint
    rig.client.push(rig.client.admit(rx.tamper_notice()))
    await rig.run()
    assert rig.s.status.ended is EndReason.TAMPERED


async def test_a_rebuilt_call_after_a_pin_pairs_over_the_code_alone(rig: Rig) -> None:
    await _joined_held(rig, A.PIN, pin_digits=4)
    rig.client.pair_pin = "4321"
    await rig.s.answer_pin("4321")
    await rig.run()
    _say(rig, p.Admission(state=A.ALLOWED, resume="t" * 24))
    await rig.run()
    await rig.connect()
    assert rig.s.phase is Phase.CASTING
    rig.client.pair_pin = None  # the TV pairs later calls over the code alone
    await rig.feed(t.StallDetected(gen=rig.gen()))
    await rig.run()
    assert rig.s.phase is Phase.REOFFERED
    assert rig.client.pairings[-1].confirmed  # the new call's confirmation checked
    assert rig.client.kinds()[-1] == "offer"
