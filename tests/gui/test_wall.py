"""The TV's video wall: four presenters' real decoded frames, found again in their tiles.

Each presenter sends a different colour with the test pattern's frame counter; after every
layout and spotlight change the window is read back and each tile must hold its own
presenter's colour and counter, with the aspect ratio kept.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from frames import COLOURS, Decoded, rgb_of, visible_bits
from PySide6.QtCore import QEvent, QPoint, QRect, Qt
from PySide6.QtGui import QImage, QKeyEvent
from qr_read import read_qr
from room_driver import RoomDriver

from castapp.gui.receiver_window import ReceiverWindow
from castapp.layout import FULL_FPS, GRID_FPS, TILE_FPS
from castapp.rtc import pattern
from castapp.session.receiver import ReceiverState, ReceiverStatus
from castapp.session.room import CallPhase, CallView, Layout

pytestmark = pytest.mark.timeout(120)

NAMES = ["Ada", "Grace", "Linus", "Margaret"]
SOURCES = [(1280, 720), (1920, 1080), (1366, 768), (720, 1280)]
LINK = "castapp://127.0.0.1:8765/482913"
SHOTS = Path("/tmp/castapp-wall")


def image_array(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB32)
    arr = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(),
                                                              image.bytesPerLine())
    return arr[:, : image.width() * 4].reshape(image.height(), image.width(), 4).copy()


class Room:
    """A window, its driver and four presenters with their encoders."""

    def __init__(self, qtbot, tmp_path: Path, size=(1600, 900), count: int = 4) -> None:
        self.window = ReceiverWindow("Meeting room", tmp_path / "shots")
        qtbot.addWidget(self.window)
        self.driver = RoomDriver(self.window)
        self.window.set_controls(self.driver)
        self.window.set_link(LINK, "127.0.0.1:8765")
        self.window.show_status(ReceiverStatus(ReceiverState.WAITING, code="482913",
                                               display_code="482 913"))
        self.window.resize(*size)
        self.window.move(0, 0)
        self.window.show()
        qtbot.waitExposed(self.window)
        qtbot.waitUntil(lambda: self.window.size().width() == size[0])
        self.encoders = [Decoded(*SOURCES[i]) for i in range(4)]
        self.colours = list(COLOURS.values())
        self.counters: dict[str, int] = {}
        for i in range(count):
            self.join(i)

    def peer(self, i: int) -> str:
        return f"peer-{i}"

    def join(self, i: int, phase: CallPhase = CallPhase.SHOWING) -> None:
        self.driver.add(CallView(self.peer(i), NAMES[i], phase, verified=True,
                                 width=SOURCES[i][0], height=SOURCES[i][1]))
        self.send(i)

    def send(self, i: int) -> None:
        counter = 100 + i * 37 + self.counters.get(self.peer(i), 0) % 7
        self.counters[self.peer(i)] = counter
        self.window.frame_for(self.peer(i), self.encoders[i].frame(self.colours[i], counter))

    def send_all(self) -> None:
        for c in self.driver.calls:
            self.send(int(c.peer_id.rsplit("-", 1)[1]))

    def grab(self, name: str) -> np.ndarray:
        SHOTS.mkdir(exist_ok=True)
        image = self.window.grab().toImage()
        image.save(str(SHOTS / f"{name}.png"))
        return image_array(image)

    def key(self, qtbot, key: Qt.Key) -> None:
        qtbot.keyClick(self.window, key)

    def picture(self, peer: str) -> QRect:
        rect = self.window.wall.picture_rect(peer)
        assert rect is not None, f"{peer} has no tile"
        top_left = self.window.wall.mapTo(self.window, rect.topLeft())
        return QRect(top_left, rect.size())


def assert_pattern_in(shot: np.ndarray, rect: QRect, colour: tuple[int, int, int],
                      counter: int, source: tuple[int, int],
                      covered: QRect | None = None) -> None:
    """The presenter's colour fills the tile's picture and its counter reads back."""
    x, y, w, h = rect.x(), rect.y(), rect.width(), rect.height()
    region = shot[y:y + h, x:x + w]
    body = region[int(h * 0.3):int(h * 0.7), int(w * 0.3):int(w * 0.9), :3]
    rgb = np.median(body.reshape(-1, 3), axis=0)[::-1]
    assert np.all(np.abs(rgb - rgb_of(colour)) <= 24), (rgb, rgb_of(colour))
    gray = cv2.resize(cv2.cvtColor(region, cv2.COLOR_BGRA2GRAY), source,
                      interpolation=cv2.INTER_AREA)  # the band's geometry is the sender's
    scale = source[0] / w
    hidden = None if covered is None else QRect(
        round((covered.x() - x) * scale), round((covered.y() - y) * scale),
        round(covered.width() * scale), round(covered.height() * scale))
    bits = visible_bits(gray, hidden)
    assert bits is not None, "the counter band reads cleanly"
    assert len(bits) >= 10, "the counter band is visible"
    for bit, value in bits.items():
        assert value == (counter >> (pattern.COUNTER_BITS - 1 - bit)) & 1, (bit, counter)


def check_all(room: Room, shot: np.ndarray) -> None:
    wall = room.window.wall
    shown = {t.peer_id for t in wall.tiles()}
    corner = None
    if wall.corner.isVisible():
        corner = QRect(wall.mapTo(room.window, wall.corner.pos()), wall.corner.size())
    for call in room.driver.calls:
        if call.peer_id not in shown:
            continue
        i = int(call.peer_id.rsplit("-", 1)[1])
        rect = room.picture(call.peer_id)
        sw, sh = SOURCES[i]
        assert abs(rect.width() / rect.height() - sw / sh) < 0.02, "aspect ratio kept"
        assert_pattern_in(shot, rect, room.colours[i], room.counters[call.peer_id], SOURCES[i],
                          corner)


CASES = [
    (1, Layout.AUTO, None, Layout.FULL),
    (2, Layout.AUTO, None, Layout.SIDE_BY_SIDE),
    (3, Layout.AUTO, None, Layout.GRID),
    (4, Layout.AUTO, None, Layout.GRID),
    (2, Layout.GRID, None, Layout.SIDE_BY_SIDE),
    (4, Layout.FULL, 2, Layout.FULL),
    (3, Layout.SPOTLIGHT, 1, Layout.SPOTLIGHT),
] + [(4, Layout.SPOTLIGHT, i, Layout.SPOTLIGHT) for i in range(4)]


@pytest.mark.parametrize(("count", "layout", "spot", "drawn"), CASES)
def test_every_presenter_is_found_in_its_tile(qtbot, tmp_path, count, layout, spot, drawn):
    room = Room(qtbot, tmp_path, count=count)
    wall = room.window.wall
    assert room.window.pages.currentWidget() is wall
    wall.set_layout(layout)
    if spot is not None:
        wall.set_spotlight(room.peer(spot))
    room.send_all()
    qtbot.waitUntil(lambda: all(wall.up_to_date(c.peer_id) for c in room.driver.calls
                                if wall.picture_rect(c.peer_id) is not None))
    assert wall.current_layout() is drawn
    shot = room.grab(f"{count}-{layout.value}-{spot}")
    check_all(room, shot)
    tiles = wall.tiles()
    assert len(tiles) == (1 if drawn is Layout.FULL else count)
    if spot is not None:
        main = [t for t in tiles if t.main]
        assert [t.peer_id for t in main] == [room.peer(spot)]
        others = [t for t in tiles if not t.main]
        assert all(t.cell.w * t.cell.h < main[0].cell.w * main[0].cell.h / 4 for t in others)


@pytest.mark.parametrize("size", [(1366, 768), (720, 1280), (2880, 1800)])
def test_odd_and_portrait_screens(qtbot, tmp_path, size):
    room = Room(qtbot, tmp_path, size=size)
    room.window.resize(*size)
    qtbot.waitUntil(lambda: room.window.wall.width() == size[0])
    room.send_all()
    wall = room.window.wall
    qtbot.waitUntil(lambda: all(wall.up_to_date(c.peer_id) for c in room.driver.calls))
    check_all(room, room.grab(f"size-{size[0]}x{size[1]}"))


def test_the_wall_is_on_the_x_screen(qtbot, tmp_path):
    """What the X server shows, not only what the widget paints when asked."""
    room = Room(qtbot, tmp_path)
    room.send_all()
    window = room.window
    qtbot.waitUntil(lambda: all(window.wall.up_to_date(c.peer_id) for c in room.driver.calls))
    qtbot.wait(200)
    origin = window.mapToGlobal(QPoint(0, 0))
    screen = window.screen().grabWindow(0, origin.x(), origin.y(), window.width(),
                                        window.height())
    shot = image_array(screen.toImage())
    check_all(room, shot)


def test_keys_move_focus_spotlight_and_go_back_to_the_grid(qtbot, tmp_path):
    room = Room(qtbot, tmp_path)
    wall = room.window.wall
    assert wall.focus == room.peer(0)
    room.key(qtbot, Qt.Key.Key_Right)
    assert wall.focus == room.peer(1) and wall.focus_visible()
    room.key(qtbot, Qt.Key.Key_Down)
    assert wall.focus == room.peer(3)
    room.key(qtbot, Qt.Key.Key_Left)
    assert wall.focus == room.peer(2)
    room.key(qtbot, Qt.Key.Key_Return)
    assert wall.spotlight == room.peer(2) and wall.current_layout() is Layout.SPOTLIGHT
    room.send_all()
    qtbot.waitUntil(lambda: wall.up_to_date(room.peer(2)))
    shot = room.grab("keys-enter")
    check_all(room, shot)
    # The focus ring is drawn around the focused (spotlit) tile.
    cell = next(t.cell for t in wall.tiles() if t.peer_id == room.peer(2))
    ring = shot[cell.y + 1, cell.x + cell.w // 2, :3][::-1]
    assert abs(int(ring[2]) - 255) < 30 and ring[0] < 120, ring
    room.key(qtbot, Qt.Key.Key_Return)
    assert wall.spotlight is None and wall.current_layout() is Layout.GRID
    for digit, i in ((Qt.Key.Key_4, 3), (Qt.Key.Key_1, 0), (Qt.Key.Key_2, 1)):
        room.key(qtbot, digit)
        assert wall.spotlight == room.peer(i)
        assert [t.peer_id for t in wall.tiles() if t.main] == [room.peer(i)]
    room.key(qtbot, Qt.Key.Key_0)
    assert wall.spotlight is None and wall.current_layout() is Layout.GRID
    room.key(qtbot, Qt.Key.Key_3)
    room.send_all()
    qtbot.waitUntil(lambda: wall.up_to_date(room.peer(3)))
    check_all(room, room.grab("keys-3"))


def test_the_senders_are_asked_for_their_tile_size(qtbot, tmp_path):
    room = Room(qtbot, tmp_path)
    wall = room.window.wall
    views = room.driver.views
    qtbot.waitUntil(lambda: len(views) == 4)
    ratio = room.window.devicePixelRatioF()
    for t in wall.tiles():
        w, h, fps, tile, tiles, spotlit = views[t.peer_id]
        assert w <= t.cell.w * ratio and h <= t.cell.h * ratio
        assert (fps, tile, tiles, spotlit) == (GRID_FPS, t.index + 1, 4, False)  # equal tiles
    assert sum(v[0] * v[1] for v in views.values()) <= 1600 * 900 * ratio * ratio
    wall.set_spotlight(room.peer(1))
    assert views[room.peer(1)][2] == FULL_FPS and views[room.peer(1)][5]
    assert views[room.peer(1)][0] > 1000
    assert all(views[room.peer(i)][2] == TILE_FPS for i in (0, 2, 3))
    # A presenter who leaves gives the others more room; the one left gets the full rate.
    for i in (0, 2, 3):
        room.driver.stop_call(room.peer(i))
    assert views[room.peer(1)][:3] == (1600 * ratio, 900 * ratio, FULL_FPS)


def test_delete_stops_the_focused_presenter_and_its_tile_goes(qtbot, tmp_path):
    room = Room(qtbot, tmp_path, count=3)
    wall = room.window.wall
    stopped = []
    room.window.stop_requested.connect(stopped.append)
    room.key(qtbot, Qt.Key.Key_Right)
    assert wall.focus == room.peer(1)
    room.key(qtbot, Qt.Key.Key_Delete)
    assert stopped == [room.peer(1)]
    assert room.driver.asked[-1] == ("stop", room.peer(1))
    assert [c.peer_id for c in wall.calls()] == [room.peer(0), room.peer(2)]
    assert wall.picture_rect(room.peer(1)) is None
    room.send_all()
    qtbot.waitUntil(lambda: wall.up_to_date(room.peer(2)))
    shot = room.grab("after-stop")
    check_all(room, shot)
    # the stopped presenter's colour is nowhere on the wall any more
    green = rgb_of(room.colours[1])
    diff = np.abs(shot[:, :, :3][:, :, ::-1].astype(int) - green).max(axis=2)
    assert (diff < 20).sum() < 50
    # Stop the others from the menu: back to the code screen.
    menu = room.window.build_menu()
    stops = [a for a in menu.actions() if a.text().startswith("Stop ")]
    assert [a.text() for a in stops] == ["Stop Ada", "Stop Linus"]
    for act in stops:
        act.trigger()
    assert room.window.pages.currentWidget() is room.window.code_page


def test_a_reconnecting_tile_keeps_its_last_picture_under_words(qtbot, tmp_path):
    room = Room(qtbot, tmp_path, count=2)
    wall = room.window.wall
    qtbot.waitUntil(lambda: wall.painted(room.peer(0)) and wall.painted(room.peer(1)))
    room.driver.set_phase(room.peer(0), CallPhase.RECONNECTING)
    assert room.window.pages.currentWidget() is wall, "never the code screen"
    shot = room.grab("reconnecting")
    rect = room.picture(room.peer(0))
    region = shot[rect.y():rect.bottom(), rect.x():rect.right(), :3][:, :, ::-1].astype(int)
    # the last picture stays, dimmed: still red, darker
    red = rgb_of(room.colours[0])
    corner = np.median(region[int(rect.height() * 0.2):int(rect.height() * 0.3),
                              int(rect.width() * 0.7):int(rect.width() * 0.9)].reshape(-1, 3),
                       axis=0)
    assert corner[0] > 80 and corner[1] < 40 and corner[0] < red[0] - 40, corner
    # white words on a dark box in the middle of the tile
    cy, cx = rect.height() // 2, rect.width() // 2
    middle = region[cy - 20:cy + 20, cx - 150:cx + 150]
    assert (middle.min(axis=2) > 200).sum() > 100, "text drawn"
    assert wall.reconnecting_text == "Reconnecting…"
    # the other presenter keeps going
    room.send(1)
    qtbot.waitUntil(lambda: wall.up_to_date(room.peer(1)))
    assert_pattern_in(room.grab("reconnecting-other"), room.picture(room.peer(1)),
                      room.colours[1], room.counters[room.peer(1)], SOURCES[1])
    # frames again: the words go
    room.driver.set_phase(room.peer(0), CallPhase.SHOWING)
    room.send(0)
    qtbot.waitUntil(lambda: wall.up_to_date(room.peer(0)))
    check_all(room, room.grab("reconnected"))


def test_the_corner_keeps_the_code_and_a_qr_that_decodes(qtbot, tmp_path):
    room = Room(qtbot, tmp_path, count=2)
    corner = room.window.wall.corner
    assert corner.isVisible()
    assert corner.code.text() == "482 913"
    shot = image_array(corner.qr.grab().toImage())
    text = read_qr(shot)
    assert text == LINK
    # in the corner of the wall, not over the middle of a tile
    wall = room.window.wall
    assert corner.geometry().right() > wall.width() * 0.8
    assert corner.geometry().bottom() > wall.height() * 0.8
    # a full room hides it: nobody else can join
    room.join(2)
    room.join(3)
    assert not corner.isVisible()
    room.driver.stop_call(room.peer(3))
    assert corner.isVisible()


def test_names_and_badges(qtbot, tmp_path):
    room = Room(qtbot, tmp_path, count=0)
    room.driver.add(CallView("web", "Guest", CallPhase.SHOWING, browser=True, verified=False))
    room.driver.add(CallView("app", "Ada", CallPhase.SHOWING, verified=True))
    wall = room.window.wall
    assert wall.name_visible("web") and wall.name_visible("app")
    shot = room.grab("badges")
    # the badges are drawn in colour at the top right of the unverified browser tile
    rect = wall.picture_rect("web")
    top_right = shot[rect.y():rect.y() + rect.height() // 5,
                     rect.x() + rect.width() // 2:rect.right(), :3]
    orange = (np.abs(top_right[:, :, ::-1].astype(int) - (170, 90, 20)).max(axis=2) < 40).sum()
    blue = (np.abs(top_right[:, :, ::-1].astype(int) - (40, 90, 170)).max(axis=2) < 40).sum()
    assert orange > 200 and blue > 200
    rect = wall.picture_rect("app")
    top_right = shot[rect.y():rect.y() + rect.height() // 5,
                     rect.x() + rect.width() // 2:rect.right(), :3]
    orange = (np.abs(top_right[:, :, ::-1].astype(int) - (170, 90, 20)).max(axis=2) < 40).sum()
    assert orange == 0, "a verified app has no badge"


def test_key_events_reach_the_wall_only_while_it_shows(qtbot, tmp_path):
    room = Room(qtbot, tmp_path, count=0)
    event = QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_Delete, Qt.KeyboardModifier.NoModifier)
    room.window.keyPressEvent(event)
    assert room.driver.asked == []


def test_a_click_focuses_a_tile(qtbot, tmp_path):
    room = Room(qtbot, tmp_path)
    wall = room.window.wall
    cell = next(t.cell for t in wall.tiles() if t.peer_id == room.peer(3))
    qtbot.mouseClick(wall, Qt.MouseButton.LeftButton, pos=QPoint(cell.x + 20, cell.y + 20))
    assert wall.focus == room.peer(3) and wall.focus_visible()
    room.key(qtbot, Qt.Key.Key_Backspace)
    assert room.driver.asked == [("stop", room.peer(3))]


def test_a_long_name_stays_inside_its_own_tile(qtbot, tmp_path):
    room = Room(qtbot, tmp_path, size=(1366, 768), count=2)
    long_name = "Zhang Wei 的笔记本电脑 — a very long presenter name that goes on and on"
    room.driver.add(CallView(room.peer(2), long_name, CallPhase.SHOWING, verified=True,
                             width=SOURCES[2][0], height=SOURCES[2][1]))
    room.send(2)
    qtbot.waitUntil(lambda: room.window.wall.picture_rect(room.peer(2)) is not None)
    cell = next(t.cell for t in room.window.wall.tiles() if t.peer_id == room.peer(2))
    shot = room.grab("long-name")
    # the bottom-right cell is empty: its strip level with tile 3's name row is untouched
    top_left = room.window.wall.mapTo(room.window, QPoint(cell.x + cell.w, cell.y))
    strip = shot[top_left.y() + 4: top_left.y() + 60, top_left.x() + 4: room.window.width() - 4]
    assert strip.size and int(strip[..., :3].max()) - int(strip[..., :3].min()) < 8, \
        "the name ran into the next cell"
