"""Four real WebRTC calls (aiortc peers over loopback, H.264) drawn on the TV's wall.

Each call carries a synthetic pattern in its own colour; the frames the receiving peers
decode go to the window exactly as the receiver session hands them on. The screen is read
back from the X server for each layout and spotlight, a stalled call shows "Reconnecting…"
over its last picture while the others keep moving, and the TV's stop removes a tile.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from aiortc import RTCPeerConnection
from frames import COLOURS, coloured_base, rgb_of, visible_bits
from PySide6.QtCore import QPoint, QRect
from room_driver import RoomDriver

from castapp.gui.receiver_window import ReceiverWindow
from castapp.layout import GRID_FPS
from castapp.rtc import pattern, peer
from castapp.rtc.capture import SyntheticSource
from castapp.rtc.receive import FrameReceiver
from castapp.rtc.track import CaptureTrack
from castapp.session.room import CallPhase, CallView, Layout

pytestmark = pytest.mark.timeout(120)
SIZE = (640, 360)


class ColourSource(SyntheticSource):
    def __init__(self, yuv: tuple[int, int, int]) -> None:
        super().__init__(*SIZE, fps=15)
        self._base = coloured_base(*SIZE, yuv)


class Calls:
    def __init__(self) -> None:
        self.pcs: list[RTCPeerConnection] = []
        self.sources: list[ColourSource] = []
        self.receivers: list[FrameReceiver] = []

    async def open(self, window: ReceiverWindow, peer_id: str, yuv: tuple[int, int, int]) -> None:
        src = ColourSource(yuv)
        src.start()
        self.sources.append(src)
        tx, rx = peer.make_peer_connection([]), peer.make_peer_connection([])
        self.pcs += [tx, rx]
        peer.add_video_sender(tx, CaptureTrack(src), "h264")
        got: asyncio.Future[FrameReceiver] = asyncio.get_running_loop().create_future()

        @rx.on("track")
        def on_track(track: object) -> None:
            receiver = FrameReceiver(track, lambda f: window.frame_for(peer_id, f))  # type: ignore[arg-type]
            receiver.start()
            self.receivers.append(receiver)
            got.set_result(receiver)

        await tx.setLocalDescription(await tx.createOffer())
        await rx.setRemoteDescription(tx.localDescription)
        await rx.setLocalDescription(await rx.createAnswer())
        await tx.setRemoteDescription(rx.localDescription)
        receiver = await asyncio.wait_for(got, 15)
        await asyncio.wait_for(receiver.next_frame(), 15)

    async def close(self) -> None:
        for r in self.receivers:
            await r.stop()
        for pc in self.pcs:
            await pc.close()
        for s in self.sources:
            s.stop()


def screen(window: ReceiverWindow) -> np.ndarray:
    origin = window.mapToGlobal(QPoint(0, 0))
    image = window.screen().grabWindow(0, origin.x(), origin.y(), window.width(),
                                       window.height()).toImage()
    arr = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(),
                                                              image.bytesPerLine())
    return arr[:, : image.width() * 4].reshape(image.height(), image.width(), 4).copy()


def read_tile(window: ReceiverWindow, shot: np.ndarray, peer_id: str,
              yuv: tuple[int, int, int]) -> int | None:
    """The counter in ``peer_id``'s tile if its colour is right there, else None."""
    import cv2

    wall = window.wall
    rect = wall.picture_rect(peer_id)
    assert rect is not None
    top_left = wall.mapTo(window, rect.topLeft())
    x, y, w, h = top_left.x(), top_left.y(), rect.width(), rect.height()
    region = shot[y:y + h, x:x + w]
    body = region[int(h * 0.3):int(h * 0.7), int(w * 0.3):int(w * 0.9), :3]
    rgb = np.median(body.reshape(-1, 3), axis=0)[::-1]
    if not np.all(np.abs(rgb - rgb_of(yuv)) <= 28):
        return None
    gray = cv2.resize(cv2.cvtColor(region, cv2.COLOR_BGRA2GRAY), SIZE,
                      interpolation=cv2.INTER_AREA)
    hidden = None
    if wall.corner.isVisible():
        corner = QRect(wall.mapTo(window, wall.corner.pos()), wall.corner.size())
        scale = SIZE[0] / w
        hidden = QRect(round((corner.x() - x) * scale), round((corner.y() - y) * scale),
                       round(corner.width() * scale), round(corner.height() * scale))
    bits = visible_bits(gray, hidden)
    if bits is None or len(bits) < 10:
        return None
    return sum(v << (pattern.COUNTER_BITS - 1 - b) for b, v in bits.items())


async def until_moving(window: ReceiverWindow, peers: dict[str, tuple[int, int, int]],
                       timeout: float = 25.0) -> None:
    """Every tile shows its own colour and a counter that changes on the X screen."""
    seen: dict[str, set[int]] = {p: set() for p in peers}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while any(len(v) < 3 for v in seen.values()):
        shot = screen(window)
        for peer_id, yuv in peers.items():
            value = read_tile(window, shot, peer_id, yuv)
            if value is not None:
                seen[peer_id].add(value)
        if loop.time() > deadline:
            raise AssertionError(f"tiles not all moving: { {p: len(v) for p, v in seen.items()} }")
        await asyncio.sleep(0.1)


def test_four_live_calls_on_the_wall(qtbot, run, tmp_path, loopback_only):
    calls = Calls()
    window = ReceiverWindow("Meeting room", tmp_path / "shots")
    qtbot.addWidget(window)
    driver = RoomDriver(window)
    window.set_controls(driver)
    window.set_link("castapp://127.0.0.1:8765/482913")
    window.resize(1280, 720)
    window.move(0, 0)
    window.show()
    qtbot.waitExposed(window)
    colours = dict(zip([f"peer-{i}" for i in range(4)], COLOURS.values(), strict=True))
    names = dict(zip(colours, ["Ada", "Grace", "Linus", "Margaret"], strict=True))
    wall = window.wall

    async def scenario() -> None:
        for peer_id, yuv in colours.items():
            driver.add(CallView(peer_id, names[peer_id], CallPhase.CONNECTING, verified=True))
            await calls.open(window, peer_id, yuv)
            driver.set_phase(peer_id, CallPhase.SHOWING)
        assert wall.current_layout() is Layout.GRID
        await until_moving(window, colours)
        for spot in colours:
            wall.set_spotlight(spot)
            await until_moving(window, colours)
        wall.set_layout(Layout.GRID)
        # the senders were asked for at most their tile's size
        for peer_id, (w, h, fps, tile, tiles, _spotlit) in driver.views.items():
            placed = next(t for t in wall.tiles() if t.peer_id == peer_id)
            assert w <= placed.cell.w and h <= placed.cell.h
            assert (fps, tile, tiles) == (GRID_FPS, placed.index + 1, 4)  # a full grid
        # one call stalls: its last picture stays under words, the others keep moving
        calls.sources[0].stop()
        driver.set_phase("peer-0", CallPhase.RECONNECTING)
        others = {p: c for p, c in colours.items() if p != "peer-0"}
        await until_moving(window, others)
        assert window.pages.currentWidget() is wall
        shot = screen(window)
        rect = wall.picture_rect("peer-0")
        top_left = wall.mapTo(window, rect.topLeft())
        cy, cx = top_left.y() + rect.height() // 2, top_left.x() + rect.width() // 2
        middle = shot[cy - 12:cy + 12, cx - 80:cx + 80, :3]
        assert (middle.min(axis=2) > 200).sum() > 50, "Reconnecting… is drawn"
        dimmed = np.median(shot[top_left.y() + rect.height() // 4,
                                top_left.x() + rect.width() // 2:top_left.x() + rect.width() - 8,
                                :3][:, ::-1], axis=0)
        assert dimmed[0] > 60 and dimmed[0] < rgb_of(colours["peer-0"])[0] - 40, dimmed
        # the TV stops it; the three others fill the grid and keep going
        driver.stop_call("peer-0")
        assert wall.picture_rect("peer-0") is None
        await until_moving(window, others)

    try:
        run(scenario(), timeout=110)
    finally:
        run(calls.close())
