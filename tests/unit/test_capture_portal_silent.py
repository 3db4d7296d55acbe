"""A screen-sharing portal that does not answer is said in words, within its time.

A private dbus-daemon carries a stand-in ``org.freedesktop.portal.Desktop`` (jeepney, in a
thread): it answers the ScreenCast properties, then either never replies to CreateSession
(a portal whose backend hangs) or replies but never sends the Response signal (a dialog
nobody answers). castapp's real :class:`PortalSession` talks to it over the bus.
"""

from __future__ import annotations

import threading
import time

import pytest
from jeepney import MessageType, new_method_return
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import Proxy, open_dbus_connection

from castapp.rtc import capture_portal
from castapp.rtc.capture_portal import SOURCE_MONITOR, PortalError, PortalSession

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def portal_bus(session_bus: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", session_bus)
    return session_bus


class SilentPortal:
    """Owns the portal's name and answers property reads; ``replies`` says whether
    CreateSession gets a reply (never a Response signal either way)."""

    def __init__(self, replies: bool) -> None:
        self.replies = replies
        self.calls: list[str] = []
        self.conn = open_dbus_connection(bus="SESSION")
        Proxy(message_bus, self.conn).RequestName(capture_portal.BUS_NAME)
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                msg = self.conn.receive(timeout=0.1)
            except TimeoutError:
                continue
            if msg.header.message_type is not MessageType.method_call:
                continue
            member = msg.header.fields.get(3)  # HeaderFields.member
            self.calls.append(str(member))
            if member == "Get":
                name = msg.body[1]
                value = {"version": 4, "AvailableCursorModes": 7,
                         "AvailableSourceTypes": 3}.get(name, 0)
                self.conn.send(new_method_return(msg, "v", (("u", value),)))
            elif member == "CreateSession" and self.replies:
                self.conn.send(new_method_return(msg, "o", ("/org/freedesktop/portal/"
                                                            "desktop/request/x/y",)))

    def close(self) -> None:
        self._stop.set()
        self.thread.join(5)
        self.conn.close()


@pytest.mark.parametrize("replies", [False, True], ids=["no reply", "no dialog answer"])
def test_a_portal_that_does_not_answer_is_said_in_words(
        portal_bus: str, monkeypatch: pytest.MonkeyPatch, replies: bool) -> None:
    monkeypatch.setattr(capture_portal, "CALL_TIMEOUT_S", 1.0)
    portal = SilentPortal(replies)
    session = PortalSession(timeout=2.0)
    try:
        started = time.monotonic()
        with pytest.raises(PortalError) as caught:
            session.start(SOURCE_MONITOR, pointer=True)
        took = time.monotonic() - started
    finally:
        session.close()
        portal.close()
    assert "CreateSession" in portal.calls
    if replies:
        assert str(caught.value) == "no answer from the screen-sharing dialog within 2 s"
        assert 1.9 < took < 6
    else:
        assert str(caught.value) == ("the screen-sharing portal did not answer "
                                     "(CreateSession) within 1 s")
        assert 0.9 < took < 5
