"""The sender and the TV's admission: waiting, PIN, allowed, denied, stopped, full, views."""

from __future__ import annotations

import pytest
from test_session_sender import Rig

from castapp import protocol as p
from castapp.session import sender_table as t
from castapp.session.sender import EndReason
from castapp.session.sender_table import Phase, SenderState

A = p.AdmissionState


def _say(rig: Rig, msg: p.PeerMessage) -> None:
    rig.client.push(rig.client.admit(msg))


async def _joined_held(rig: Rig, state: A = A.WAITING, **kw: object) -> None:
    rig.client.admission = p.Admission(state=state, **kw)  # type: ignore[arg-type]
    await rig.s.cast("123456")
    await rig.run()


async def test_waiting_for_the_tv_sends_no_offer_and_pauses_the_deadline() -> None:
    rig = Rig(connect_timeout_s=5.0)
    try:
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
    finally:
        await rig.s.close()


async def test_a_receiver_that_never_answers_the_join_is_a_deadline() -> None:
    rig = Rig(connect_timeout_s=2.0)
    rig.client.admission = None
    try:
        await rig.s.cast("123456")
        await rig.run()
        assert rig.s.phase is Phase.ADMITTING
        for _ in range(12):
            await rig.clock.advance(0.25)
            await rig.run()
        assert rig.s.status.ended is EndReason.MEDIA_FAILED
        assert not rig.factory.made
    finally:
        await rig.s.close()


async def test_a_pin_is_asked_typed_refused_and_accepted() -> None:
    rig = Rig()
    try:
        await _joined_held(rig, A.PIN, pin_digits=4)
        st = rig.s.status
        assert st.state is SenderState.ADMITTING and st.admission is A.PIN
        assert st.pin_digits == 4 and not st.wrong_pin
        await rig.s.answer_pin("1234")
        assert rig.client.sent[-1][0] == "signal"
        assert isinstance(rig.client.sent[-1][2], p.PinAnswer)
        _say(rig, p.Admission(state=A.WRONG_PIN, pin_digits=4, retry_after_s=30.0))
        await rig.run()
        st = rig.s.status
        assert st.state is SenderState.ADMITTING and st.wrong_pin
        assert st.pin_retry_after_s == 30.0
        await rig.s.answer_pin(" 4321 ")
        assert not rig.s.status.wrong_pin
        _say(rig, p.Admission(state=A.ALLOWED, resume="t" * 24))
        await rig.run()
        assert rig.s.phase is Phase.OFFERED and rig.s.status.pin_digits == 0
    finally:
        await rig.s.close()


async def test_a_pin_that_is_not_digits_is_refused_in_words() -> None:
    rig = Rig()
    try:
        await _joined_held(rig, A.PIN, pin_digits=4)
        with pytest.raises(ValueError, match="digits"):
            await rig.s.answer_pin("12a4")
    finally:
        await rig.s.close()


@pytest.mark.parametrize(("state", "reason"), [
    (A.DENIED, EndReason.DENIED), (A.STOPPED, EndReason.STOPPED_BY_TV),
    (A.FULL, EndReason.ROOM_FULL)])
@pytest.mark.parametrize("where", ["admitting", "casting"])
async def test_the_tv_turns_a_sender_away(state: A, reason: EndReason, where: str) -> None:
    rig = Rig()
    try:
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
    finally:
        await rig.s.close()


async def test_a_rejoin_claims_the_place_with_the_resume_token_first() -> None:
    rig = Rig()
    try:
        await rig.s.cast("123456")
        await rig.run()
        rig.client.push(p.RelayedAnswer(from_="rx-1", sdp="v=0\r\n"))
        await rig.run()
        rig.factory.last.connect()
        await rig.run()
        assert rig.s.phase is Phase.CASTING
        before = len(rig.client.sent)
        await rig.feed(t.Joined(receiver="rx-1", name="TV"))  # the service came back
        first = rig.client.sent[before]
        assert first[0] == "signal" and isinstance(first[2], p.Resume)
        assert first[2].token == "r" * 24
        # asked again under the new peer id before the token is read: the call goes on
        await rig.feed(t.HeldBack(state=A.WAITING))
        assert rig.s.phase is Phase.CASTING
    finally:
        await rig.s.close()


async def test_a_view_hint_is_published() -> None:
    rig = Rig()
    try:
        await rig.to(Phase.CASTING)
        hint = p.ViewHint(width=960, height=540, fps=15, tile=2, tiles=4, spotlit=False)
        await rig.feed(t.ViewHinted(hint=hint))
        st = rig.s.status
        assert (st.tile, st.tiles, st.spotlit, st.view) == (2, 4, False, (960, 540, 15))
    finally:
        await rig.s.close()


async def test_a_bad_signal_body_is_ignored_not_a_crash() -> None:
    rig = Rig()
    try:
        await _joined_held(rig)
        rig.client.push(p.RelayedSignal(from_="rx-1", body={"kind": "admission",
                                                            "state": "owned"}))
        rig.client.push(p.RelayedSignal(from_="stranger", body=p.peer_body(
            p.Admission(state=A.ALLOWED))))
        await rig.run()
        assert rig.s.phase is Phase.ADMITTING and rig.s.status.fault is None
    finally:
        await rig.s.close()
