"""The meeting room end to end: the receiver window as the app opens it, a real room service,
real receiver and sender sessions over loopback WebRTC, and what the X server shows.

Each sender casts a synthetic pattern in its own colour; the screen is read back and each
pattern found in its own tile, for the grid and for a spotlight. A fifth sender is told the
room is full. In ``approve`` no frame arrives before the Allow key is pressed on the window
and a denied sender is told; in ``pin`` the PIN the TV shows is typed into the sender.
The TV stops one presenter while the others keep going.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from frames import COLOURS
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from test_wall_live import ColourSource, until_moving

from castapp.app import words
from castapp.gui.app import AppOptions, open_receiver, open_sender
from castapp.gui.common import SettingsHolder
from castapp.session.receiver import ReceiverState
from castapp.session.room import AdmissionMode, CallPhase, Layout
from castapp.session.sender import EndReason, SenderSession, SenderState
from castapp.settings import Settings
from castapp.signaling.client import SignalingError

pytestmark = pytest.mark.timeout(150)
NAMES = ["Ada", "Grace", "Linus", "Margaret"]


async def until(check: Callable[[], bool], timeout: float = 20.0, what: str = "") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"not in time: {what}")
        await asyncio.sleep(0.05)


class Room:
    """The receiver window (opened as the app opens it) and the senders cast to it."""

    def __init__(self, qtbot, state_dir: Path, url: str, admission: str) -> None:
        self.window, self.controller = open_receiver(
            AppOptions(mode="receive", state_dir=state_dir, server=url, lan=False,
                       name="Meeting room", admission=admission),
            SettingsHolder(Settings()))
        qtbot.addWidget(self.window)
        self.window.resize(1280, 720)
        self.window.move(0, 0)
        self.window.show()
        qtbot.waitExposed(self.window)
        self.url = url
        self.sources: list[ColourSource] = []
        self.senders: list[SenderSession] = []
        self.closers: list[Callable[[], Awaitable[None]]] = []

    async def start(self) -> str:
        await self.controller.start()
        st = await self.controller.session.wait_for(ReceiverState.WAITING, 15)
        assert st.code is not None
        return st.code

    def sender(self, name: str, colour: tuple[int, int, int]) -> SenderSession:
        src = ColourSource(colour)
        src.start()
        self.sources.append(src)
        session = SenderSession(self.url, src, name=name)
        self.senders.append(session)
        return session

    def key_of(self, name: str) -> str:
        """The tile of ``name`` (the window names tiles by the call's stable key)."""
        return next(c.peer_id for c in self.window.calls if c.name == name)

    def phase_of(self, name: str) -> CallPhase | None:
        return next((c.phase for c in self.window.calls if c.name == name), None)

    async def close(self) -> None:
        for close in self.closers:
            await close()
        for s in self.senders:
            await s.close()
        for src in self.sources:
            src.stop()
        await self.controller.stop()


def test_four_presenters_grid_spotlight_room_full_and_the_tv_stops_one(
        qtbot, run, state_dir, room_server, loopback_ice):
    room = Room(qtbot, state_dir, room_server.url, "open")
    window = room.window
    colours = dict(zip(NAMES, COLOURS.values(), strict=True))

    async def scenario() -> None:
        code = await room.start()
        assert window.controls is room.controller.session  # the TV's keys reach the session
        for name, colour in colours.items():
            await room.sender(name, colour).cast(code)
        await until(lambda: all(room.phase_of(n) is CallPhase.SHOWING for n in NAMES), 40,
                    "four presenters on screen")
        assert window.wall.current_layout() is Layout.GRID
        tiles = {room.key_of(n): colours[n] for n in NAMES}
        await until_moving(window, tiles)
        # the senders are told where they are: tile N of 4
        await until(lambda: all(s.status.tiles == 4 for s in room.senders), 15, "tile hints")
        assert sorted(s.status.tile for s in room.senders) == [1, 2, 3, 4]
        assert words.placement(room.senders[0].status).render().startswith("on screen: tile")
        # spotlight by the number key, as on a remote
        QTest.keyClick(window, Qt.Key.Key_2)
        assert window.wall.current_layout() is Layout.SPOTLIGHT
        spot = window.wall.spotlight
        assert spot is not None
        await until_moving(window, tiles)
        spot_name = next(c.name for c in window.calls if c.peer_id == spot)
        spot_sender = room.senders[NAMES.index(spot_name)]
        await until(lambda: spot_sender.status.spotlit, 15, "the spotlit sender is told")
        assert words.placement(spot_sender.status).render() == "on screen: spotlit"
        QTest.keyClick(window, Qt.Key.Key_0)
        assert window.wall.current_layout() is Layout.GRID
        # a fifth is told the room is full, in words
        fifth = room.sender("Edsger", COLOURS["red"])
        with pytest.raises(SignalingError) as refused:
            await fifth.cast(code)
        assert words.failure_phrase(refused.value).render() == \
            "The room is full: no one else can present on this TV right now."
        # the TV stops Ada; she is told, the three others keep going
        others = {room.key_of(n): colours[n] for n in NAMES[1:]}
        window.stop_call(room.key_of("Ada"))
        ada = room.senders[0]
        await until(lambda: ada.status.state is SenderState.ENDED, 15, "Ada is stopped")
        assert ada.status.ended is EndReason.STOPPED_BY_TV
        assert words.sender_line(ada.status, code).render() == "The TV stopped your cast."
        await until(lambda: room.phase_of("Ada") is None, 10, "Ada's tile goes")
        await until_moving(window, others)
        assert all(s.status.state is SenderState.CASTING for s in room.senders[1:4])

    try:
        run(scenario(), timeout=120)
    finally:
        run(room.close())


def test_approve_nothing_before_allow_deny_is_told_and_pin_is_typed(
        qtbot, run, state_dir, room_server, loopback_ice):
    room = Room(qtbot, state_dir, room_server.url, "approve")
    window = room.window
    frames: dict[str, int] = {}
    shown = window.frame_for

    def counting(peer_id: str, frame) -> None:
        frames[peer_id] = frames.get(peer_id, 0) + 1
        shown(peer_id, frame)

    room.controller.host.on_call_frame = counting

    async def scenario() -> None:
        code = await room.start()
        ada = room.sender("Ada", COLOURS["green"])
        await ada.cast(code)
        await until(lambda: room.phase_of("Ada") is CallPhase.ASKING, 20, "Ada asks")
        assert ada.status.state.value == "admitting"
        await until(lambda: words.sender_line(ada.status, code).render()
                    == "Waiting for the TV to allow you…", 10, "Ada told to wait")
        await asyncio.sleep(1.0)  # time enough for media, had any been let through
        assert not frames, "no frame before Allow"
        assert window.prompts.isVisible()
        QTest.keyClick(window, Qt.Key.Key_A)  # Allow, from the keyboard or a remote
        await until(lambda: room.phase_of("Ada") is CallPhase.SHOWING, 30, "Ada on screen")
        await until_moving(window, {room.key_of("Ada"): COLOURS["green"]})
        # Grace is denied with the key and told so
        grace = room.sender("Grace", COLOURS["blue"])
        await grace.cast(code)
        await until(lambda: room.phase_of("Grace") is CallPhase.ASKING, 20, "Grace asks")
        QTest.keyClick(window, Qt.Key.Key_D)
        await until(lambda: grace.status.state is SenderState.ENDED, 15, "Grace is told")
        assert grace.status.ended is EndReason.DENIED
        assert words.sender_line(grace.status, code).render() == "The TV said no."
        # PIN: the TV shows it, the person types it into the sender
        window.set_admission(AdmissionMode.PIN)  # the menu's choice reaches the session
        assert room.controller.session.admission is AdmissionMode.PIN
        # Linus casts from the sender window and types the PIN into its PIN field
        swindow, scontroller = open_sender(
            AppOptions(mode="send", state_dir=state_dir / "laptop", server=room.url, lan=False,
                       name="Linus"),
            SettingsHolder(Settings(display_name="Linus")),
            source_factory=lambda _preset, _spec: ColourSource(COLOURS["yellow"]))
        qtbot.addWidget(swindow)  # not shown: the TV's window must stay uncovered on screen
        room.closers.append(scontroller.close)
        await scontroller.cast(code)
        await until(lambda: room.phase_of("Linus") is CallPhase.PIN, 20, "Linus gets a PIN")
        await until(lambda: not swindow.pin_box.isHidden(), 10, "the window asks for the PIN")
        assert swindow.status_line.text() == "Type the PIN shown on the TV"
        pin = next(c.pin for c in room.controller.session.status.calls if c.name == "Linus")
        assert pin is not None and len(pin) == 4
        assert any(pin in t.replace(" ", "") for t in window.prompts.pins.pin_texts())
        QTest.keyClicks(swindow.pin, "abcd")  # not digits: said, nothing tried
        QTest.keyClick(swindow.pin, Qt.Key.Key_Return)
        assert swindow.status_line.text() == "That is not a PIN: type the digits shown on the TV."
        await asyncio.sleep(0.5)
        assert not swindow.status.wrong_pin and room.phase_of("Linus") is CallPhase.PIN
        assert pin == next(c.pin for c in room.controller.session.status.calls
                           if c.name == "Linus")  # no attempt counted: the same PIN
        wrong = "0000" if pin != "0000" else "1111"
        QTest.keyClicks(swindow.pin, wrong)
        QTest.keyClick(swindow.pin, Qt.Key.Key_Return)
        await until(lambda: swindow.status.wrong_pin, 10, "a wrong PIN is said")
        assert swindow.status_line.text().startswith("That PIN is not the one on the TV.")
        assert room.phase_of("Linus") is CallPhase.PIN
        QTest.keyClicks(swindow.pin, pin)
        QTest.keyClick(swindow.pin, Qt.Key.Key_Return)
        await until(lambda: room.phase_of("Linus") is CallPhase.SHOWING, 30, "Linus on screen")
        await until_moving(window, {room.key_of("Ada"): COLOURS["green"],
                                    room.key_of("Linus"): COLOURS["yellow"]})
        await until(lambda: swindow.pin_box.isHidden(), 10, "the PIN field goes")
        await until(lambda: "on screen: tile" in swindow.status_line.text(), 15,
                    "the window says where it is on the TV")

    try:
        run(scenario(), timeout=120)
    finally:
        run(room.close())
