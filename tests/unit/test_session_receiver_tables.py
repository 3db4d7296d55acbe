"""Every (state, event) pair of the receiver's two tables, the illegal ones included."""

from __future__ import annotations

import inspect
from collections.abc import Coroutine
from typing import Any

import pytest

from castapp import protocol as p
from castapp.session import call as c
from castapp.session import receiver as r
from castapp.session import receiver_table as rt
from castapp.session.admission import PinCheck, PinVerdict
from castapp.session.call import CALL_TABLE, Call, CallState, Timing
from castapp.session.diagrams import machine_tables, render
from castapp.session.machine import Event, IllegalEventError, Machine, render_mermaid


def _events_of(module: object) -> list[type[Event]]:
    return [obj for _, obj in inspect.getmembers(module, inspect.isclass)
            if issubclass(obj, Event) and obj is not Event and obj.__module__ == module.__name__]


CALL_EVENTS = _events_of(c)
RECEIVER_EVENTS = _events_of(rt)


class Stub:
    answer_sdp = "answer"

    async def close(self) -> None: ...

    async def add_candidate(self, cand: object) -> None: ...

    def route(self) -> None:
        return None


HINT = p.ViewHint(width=960, height=540, fps=15, tile=2, tiles=4, spotlit=False)
SAMPLES: dict[type[Event], Event] = {
    c.OfferArrived: c.OfferArrived(gen=0, sdp="offer"),
    c.LinkUp: c.LinkUp(gen=0, link=Stub()),
    c.PinRefused: c.PinRefused(check=PinCheck(PinVerdict.BURNT, 30.0)),
    c.Rebound: c.Rebound(peer_id="back"),
    c.ViewChanged: c.ViewChanged(hint=HINT),
    c.Paired: c.Paired(gen=0),
}


class Host:
    """A :class:`castapp.session.call.CallHost` that records what the call asked for."""

    def __init__(self) -> None:
        self.t = 5.0
        self.log: list[tuple[str, Any]] = []

    def now(self) -> float:
        return self.t

    def send(self, peer_id: str, msg: p.PeerMessage) -> None:
        self.log.append(("send", (peer_id, msg)))

    def bye(self, peer_id: str, reason: str) -> None:
        self.log.append(("bye", (peer_id, reason)))

    def send_answer(self, peer_id: str, sdp: str) -> None:
        self.log.append(("answer", (peer_id, sdp)))

    def spawn(self, call: Call, coro: Coroutine[Any, Any, None], what: str) -> None:
        coro.close()
        self.log.append(("spawn", what))

    def issue_pin(self, call: Call) -> str:
        return "4711"

    def pin_digits(self) -> int:
        return 4

    def resume_token(self, call: Call) -> str:
        return "r" * 24

    def pair(self, call: Call) -> None:
        self.log.append(("pair", call.peer_id))

    def build_link(self, call: Call, offer: c.OfferArrived) -> None:
        self.log.append(("build", offer.sdp))

    def call_changed(self, call: Call, old: CallState, new: CallState) -> None:
        self.log.append(("changed", (old, new)))

    def call_ended(self, call: Call) -> None:
        self.log.append(("ended", call.peer_id))


def _call_in(state: CallState) -> tuple[Call, Host]:
    host = Host()
    call = Call("k", "s1", "Ada", host, Timing())
    call.machine.state = state
    call.link = Stub()  # type: ignore[assignment]
    call.offer = c.OfferArrived(gen=0, sdp="held")
    return call, host


@pytest.mark.parametrize("state", list(CallState))
@pytest.mark.parametrize("event_type", CALL_EVENTS, ids=lambda e: e.__name__)
def test_every_call_pair(state: CallState, event_type: type[Event]) -> None:
    call, host = _call_in(state)
    event = SAMPLES.get(event_type) or event_type()
    cell = CALL_TABLE.get((state, event_type))
    if cell is None:
        with pytest.raises(IllegalEventError):
            call.handle(event)
        assert call.state is state and host.log == []
        return
    assert call.handle(event)
    assert call.state is cell.target
    if cell.target is CallState.ENDED:
        assert ("ended", call.peer_id) in host.log
        assert call.link is None and call.machine.generation == 1  # in-flight events stale
    if cell.target is not state:
        assert ("changed", (state, cell.target)) in host.log


@pytest.mark.parametrize("state", list(r.ReceiverState))
@pytest.mark.parametrize("event_type", RECEIVER_EVENTS, ids=lambda e: e.__name__)
def test_every_receiver_pair(state: r.ReceiverState, event_type: type[Event]) -> None:
    done: list[str] = []
    m = Machine("receiver", r.RECEIVER_TABLE, state, lambda a, e: done.append(a))
    cell = r.RECEIVER_TABLE.get((state, event_type))
    if cell is None:
        with pytest.raises(IllegalEventError):
            m.handle(event_type())
        assert m.state is state and done == []
    else:
        assert m.handle(event_type())
        assert m.state is cell.target and done == list(cell.actions)


def test_every_action_is_carried_out_somewhere() -> None:
    for cell in CALL_TABLE.values():
        for action in cell.actions:
            assert hasattr(Call, f"_do_{action}"), action
    for cell in r.RECEIVER_TABLE.values():
        for action in cell.actions:
            assert hasattr(r.ReceiverSession, f"_do_{action}"), action


def test_the_tables_promise_what_the_issue_asks() -> None:
    C = CallState
    # a stall holds the picture; only the window's end frees the tile
    assert CALL_TABLE[(C.SHOWING, c.StallDetected)].target is C.RECONNECTING
    assert CALL_TABLE[(C.RECONNECTING, c.WindowExpired)].target is C.ENDED
    # a sender that left the service keeps its tile for the rejoin window
    assert CALL_TABLE[(C.RECONNECTING, c.PeerDropped)].target is C.RECONNECTING_DETACHED
    assert CALL_TABLE[(C.SHOWING, c.PeerDropped)].target is C.SHOWING_DETACHED
    assert CALL_TABLE[(C.RECONNECTING_DETACHED, c.Rebound)].target is C.RECONNECTING
    assert CALL_TABLE[(C.RECONNECTING_DETACHED, c.WindowExpired)].target is C.ENDED
    # no media before admission: offers are only held while asking or waiting for a PIN
    for state in (C.ASKING, C.PIN, C.PAIRING):
        assert CALL_TABLE[(state, c.OfferArrived)].actions == ("hold_offer",)
    # a stop during start-up never passes through WAITING
    assert r.RECEIVER_TABLE[(r.ReceiverState.STARTING, rt.Stop)].target is r.ReceiverState.STOPPED
    assert (r.ReceiverState.STOPPED, rt.Registered) not in r.RECEIVER_TABLE


def test_tables_render_for_the_docs() -> None:
    for title, table, initial, finals in [*rt.TABLES, *c.TABLES]:
        text = render_mermaid(title, table, initial, finals)
        assert text.startswith(f"### {title}") and "stateDiagram-v2" in text
    titles = [t[0] for t in machine_tables()]
    assert "Receiver" in titles and titles.count("Receiver: one call per sender") == 1
    doc = render()
    assert "SHOWING --> RECONNECTING: StallDetected / mark_lost" in doc
    assert "STARTING --> STOPPED: Stop / close_service" in doc
