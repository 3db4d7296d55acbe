"""A TV without a window still tells each presenter its tile, so four cost about one.

A real ``castapp receive --headless --screen WxH`` process (its own room service) and four
real ``castapp send`` processes in a private network namespace: the receiver lays them out
as its window would (a 2 x 2 grid) and each sender is told its tile and sends no more than
that size.
"""

from __future__ import annotations

import sys
from pathlib import Path

import av
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from castproc import CastProc
from netns import in_namespace, private_namespace

from castapp.layout import GAP, GRID_FPS

pytestmark = pytest.mark.timeout(180)

SCREEN = (640, 360)
SOURCE = (640, 360)
# A grid cell of the screen: what no presenter may exceed with four on it.
CELL = ((SCREEN[0] - GAP) // 2, (SCREEN[1] - GAP) // 2)


def test_four_senders_to_a_headless_tv_each_get_their_tile_and_send_no_more(tmp_path):
    with private_namespace() as ns:
        rx = CastProc(in_namespace(ns, []), "receive", "--headless", "--admission", "open",
                      "--listen", "127.0.0.1:0", "--no-advertise",
                      "--screen", "x".join(map(str, SCREEN)),
                      "--stats", "--state-dir", str(tmp_path / "tv"),
                      "--record", str(tmp_path / "shown.mkv"))
        senders: list[CastProc] = []
        try:
            port = rx.expect("service", timeout=30)["port"]
            code = rx.expect("code", timeout=30)["code"]
            for i in range(4):
                senders.append(CastProc(
                    in_namespace(ns, []), "send", "--headless", "--server",
                    f"ws://127.0.0.1:{port}/ws", "--code", code, "--synthetic",
                    "x".join(map(str, SOURCE)), "--fps", "10", "--name", f"Laptop {i + 1}",
                    "--stats"))
            showing: set[str] = set()
            while len(showing) < 4:  # in whatever order they get there
                showing.add(rx.expect("call", phase="showing", timeout=90)["name"])
            tiles = set()
            for tx in senders:
                placed = tx.expect("placement", tiles=4, timeout=60)
                tiles.add(placed["tile"])
                w, h, fps = placed["view"]
                assert w <= CELL[0] and h <= CELL[1], placed  # at most its tile
                assert fps == GRID_FPS  # a full grid of equal tiles: each at the grid rate
            assert tiles == {1, 2, 3, 4}
            # what arrives once the hints are applied: each screen divided by the smallest
            # whole divisor that fits its tile (640x360 in a 317x177 cell: a third)
            for _ in range(15):
                calls = rx.expect("stats", timeout=30)["calls"]
                sizes = {(c["width"], c["height"]) for c in calls}
                if len(calls) == 4 and sizes == {(212, 120)}:
                    break
            assert sizes == {(212, 120)}, calls
            assert all(w <= CELL[0] and h <= CELL[1] for w, h in sizes)
            # the TV's figures for each presenter, with the requests it sent them (a second
            # on: the first figures of a call have no rate yet)
            calls = rx.expect("stats", timeout=30)["calls"]
            assert all(c["fps"] > 0 and c["kbps"] > 0 and c["pli_sent"] >= 0
                       and (c["width"], c["height"]) == (212, 120) for c in calls), calls
            # each sender's own figures give the size it sends, not its screen's (640x360)
            for tx in senders:
                tx.expect("stats", width=212, height=120, timeout=30)
        finally:
            for tx in senders:
                tx.stop()
            rx.finish()
    # the recording of what the TV shows has all four, one in each quarter (it held the
    # first presenter only); the pattern's bars are bright, the wall around them black
    def quarters_shown(picture: np.ndarray) -> int:
        h, w = picture.shape
        return sum((q > 100).mean() > 0.2 for q in (
            picture[:h // 2, :w // 2], picture[:h // 2, w // 2:], picture[h // 2:, :w // 2],
            picture[h // 2:, w // 2:]))

    with av.open(str(tmp_path / "shown.mkv")) as box:
        shown = [quarters_shown(f.to_ndarray(format="gray")) for f in box.decode(video=0)]
    assert max(shown) == 4, shown
