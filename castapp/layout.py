"""Where each presenter goes on the TV and how much picture each should send (no Qt).

:func:`arrange` splits the wall into tiles for a :class:`~castapp.session.room.Layout`;
:func:`view_for` turns a tile into the size and frame rate its sender is asked for, so four
laptops cost the TV about what one full-screen laptop does; :func:`plan` does both for every
presenter at once, and is what the window's wall and a receiver without a window
(:class:`Screen`) both send; :func:`divisor_for` is the sender's half of the rule (downscale
by a whole divisor until the picture fits).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from castapp.session.room import MAX_PRESENTERS, ON_WALL, CallView, Layout

#: Frame rate asked of a source that fills the screen or is spotlit, and of the others.
FULL_FPS = 30
TILE_FPS = 15
#: Frame rate asked of each tile of a full grid (four equal tiles): four streams at 30 fps
#: cost the TV about twice one full-screen sender (the cost is mostly per frame).
GRID_FPS = 26
#: What a source not shown at all (FULL with several sources) is asked for: a small picture
#: kept ready for when it is brought back.
HIDDEN_SIZE = (320, 180)
HIDDEN_FPS = 5
#: Share of the width the spotlit tile takes; the others share a column beside it.
SPOTLIGHT_SHARE = 0.75
#: Pixels between tiles when there are several.
GAP = 6
#: The shape assumed for a source whose frame size is not known yet (a laptop's screen).
DEFAULT_ASPECT = (16, 9)
#: The screen a receiver without a window lays its presenters out on, unless told otherwise.
DEFAULT_SCREEN = (1920, 1080)


class RoomControls(Protocol):
    """What the TV's window asks of the receiver session (the real one or a test driver).

    Methods may also be coroutines: the window then runs them as tasks on the event loop.
    """

    def allow(self, peer_id: str) -> None: ...

    def deny(self, peer_id: str) -> None: ...

    def stop_call(self, peer_id: str) -> None: ...

    def set_view(self, peer_id: str, width: int, height: int, fps: int, tile: int, tiles: int,
                 spotlit: bool) -> None: ...


@dataclass(frozen=True)
class Rect:
    x: int
    y: int
    w: int
    h: int

    def center(self) -> tuple[float, float]:
        return self.x + self.w / 2, self.y + self.h / 2


@dataclass(frozen=True)
class Tile:
    peer_id: str
    #: Position among the sources, from 0 (what number key ``index + 1`` spotlights).
    index: int
    #: The cell the tile may use; the picture is fitted inside it, aspect ratio kept.
    cell: Rect
    #: The large tile of a spotlight, or the only tile shown.
    main: bool


@dataclass(frozen=True)
class ViewHint:
    """What a sender is asked to send: at most ``width`` x ``height`` at ``fps``."""

    width: int
    height: int
    fps: int
    #: 1-based tile number and tile count, for the sender's "tile N of M".
    tile: int
    tiles: int
    spotlit: bool


def effective(layout: Layout, count: int, spotlight: str | None) -> Layout:
    """The layout actually drawn for ``count`` sources."""
    if count <= 1:
        return Layout.FULL
    if layout is Layout.AUTO:
        return Layout.SPOTLIGHT if spotlight is not None else (
            Layout.SIDE_BY_SIDE if count == 2 else Layout.GRID)
    if layout is Layout.SIDE_BY_SIDE and count > 2:
        return Layout.GRID
    if layout is Layout.GRID and count == 2:  # two equal tiles are side by side
        return Layout.SIDE_BY_SIDE
    return layout


def _split(total: int, parts: int, gap: int) -> list[tuple[int, int]]:
    """``parts`` (offset, length) runs covering ``total`` with ``gap`` between them."""
    usable = max(parts, total - gap * (parts - 1))
    runs, start = [], 0
    for i in range(parts):
        length = usable * (i + 1) // parts - usable * i // parts
        runs.append((start, length))
        start += length + gap
    return runs


def _fitted_area(source: tuple[int, int], cell: tuple[int, int]) -> int:
    w, h = fit(*(source if min(source) > 0 else DEFAULT_ASPECT), *cell)
    return w * h if min(cell) > 0 else 0


def _grid_shape(peers: Sequence[str], width: int, height: int, gap: int,
                sources: Mapping[str, tuple[int, int]]) -> tuple[int, int]:
    """Columns and rows of equal cells that show the sources largest: the smallest picture
    as large as it can be, then the most picture in all (ties: more columns). Two landscape
    laptops are side by side on a landscape TV and one above the other on a portrait one."""
    best: tuple[tuple[int, int, int], tuple[int, int]] | None = None
    for cols in range(1, len(peers) + 1):
        rows = math.ceil(len(peers) / cols)
        if cols * rows - len(peers) >= cols:  # a whole row left empty
            continue
        cell = (_split(width, cols, gap)[-1][1], _split(height, rows, gap)[-1][1])
        areas = [_fitted_area(sources.get(p, (0, 0)), cell) for p in peers]
        score = (min(areas), sum(areas), cols)
        if best is None or score > best[0]:
            best = (score, (cols, rows))
    assert best is not None
    return best[1]


def arrange(layout: Layout, peers: Sequence[str], width: int, height: int, *,
            spotlight: str | None = None, gap: int = 0,
            sources: Mapping[str, tuple[int, int]] | None = None) -> list[Tile]:
    """The tiles of ``peers`` (in their order) on a ``width`` x ``height`` wall.

    FULL shows one source (the spotlit one, else the first); the others get no tile.
    SIDE_BY_SIDE and GRID cut the wall into equal cells, as many columns and rows as show
    the sources largest (:func:`_grid_shape`; ``sources`` gives each one's frame size when
    known, else 16:9 is assumed). SPOTLIGHT puts one large and the others in a strip beside
    it: a column on the right, or a row along the bottom where that shows it larger (a
    portrait screen).
    """
    peers = list(peers)[:MAX_PRESENTERS]
    if not peers or width <= 0 or height <= 0:
        return []
    sources = sources or {}
    kind = effective(layout, len(peers), spotlight)
    main = spotlight if spotlight in peers else peers[0]
    if kind is Layout.FULL:
        return [Tile(main, peers.index(main), Rect(0, 0, width, height), True)]
    if kind in (Layout.SIDE_BY_SIDE, Layout.GRID):
        cols_n, rows_n = _grid_shape(peers, width, height, gap, sources)
        cols, rows = _split(width, cols_n, gap), _split(height, rows_n, gap)
        tiles = []
        for i, p in enumerate(peers):
            (x, w), (y, h) = cols[i % cols_n], rows[i // cols_n]
            tiles.append(Tile(p, i, Rect(x, y, w, h), False))
        return tiles
    # SPOTLIGHT: the main tile and a strip of the rest, one slot per possible presenter.
    others = [p for p in peers if p != main]
    main_source = sources.get(main, (0, 0))
    beside = _fitted_area(main_source, (round(width * SPOTLIGHT_SHARE), height))
    below = _fitted_area(main_source, (width, round(height * SPOTLIGHT_SHARE)))
    slots = MAX_PRESENTERS - 1
    if beside >= below:  # a column on the right
        big = round(width * SPOTLIGHT_SHARE)
        main_cell = Rect(0, 0, big, height)
        strip = [Rect(big + gap, y, max(1, width - big - gap), h)
                 for y, h in _split(height, slots, gap)]
    else:  # a row along the bottom
        big = round(height * SPOTLIGHT_SHARE)
        main_cell = Rect(0, 0, width, big)
        strip = [Rect(x, big + gap, w, max(1, height - big - gap))
                 for x, w in _split(width, slots, gap)]
    tiles = [Tile(main, peers.index(main), main_cell, True)]
    tiles += [Tile(p, peers.index(p), strip[slot], False) for slot, p in enumerate(others)]
    return sorted(tiles, key=lambda t: t.index)


def fit(src_w: int, src_h: int, box_w: int, box_h: int) -> tuple[int, int]:
    """The largest ``src``-shaped size inside the box (the box itself if ``src`` is unknown)."""
    if src_w <= 0 or src_h <= 0:
        return max(0, box_w), max(0, box_h)
    scale = min(box_w / src_w, box_h / src_h)
    return max(1, round(src_w * scale)), max(1, round(src_h * scale))


def divisor_for(src_w: int, src_h: int, max_w: int, max_h: int) -> int:
    """The smallest whole divisor that brings ``src`` within ``max_w`` x ``max_h``."""
    if src_w <= 0 or src_h <= 0 or max_w <= 0 or max_h <= 0:
        return 1
    return max(1, math.ceil(src_w / max_w), math.ceil(src_h / max_h))


def gap_for(count: int) -> int:
    """The gap between tiles of ``count`` presenters (none around a single one)."""
    return GAP if count > 1 else 0


def view_for(tile: Tile, tiles: int, src_w: int = 0, src_h: int = 0, *,
             beside_spotlight: bool = False) -> ViewHint:
    """The hint for ``tile``: its shown size (aspect of the source when known) and a rate.

    Equal tiles (one source, side by side, up to three in the grid) and the spotlit tile
    keep the full rate; the four tiles of a full grid are asked for :data:`GRID_FPS`, and a
    small tile beside a spotlit one (``beside_spotlight``) for half the full rate.
    """
    w, h = fit(src_w, src_h, tile.cell.w, tile.cell.h)
    lowered = beside_spotlight and not tile.main and tiles > 1
    fps = TILE_FPS if lowered else GRID_FPS if tiles >= MAX_PRESENTERS and not tile.main \
        else FULL_FPS
    return ViewHint(max(1, w), max(1, h), fps, tile.index + 1, tiles, tile.main and tiles > 1)


def hidden_view(tiles: int) -> ViewHint:
    """The hint for a source that has no tile in the current layout (``tile`` 0)."""
    return ViewHint(HIDDEN_SIZE[0], HIDDEN_SIZE[1], HIDDEN_FPS, 0, tiles, False)


def plan(layout: Layout, peers: Sequence[str], width: int, height: int, *,
         spotlight: str | None = None,
         sources: Mapping[str, tuple[int, int]] | None = None,
         ratio: float = 1.0) -> dict[str, ViewHint]:
    """What every one of ``peers`` is asked to send on a ``width`` x ``height`` wall.

    ``sources``: the size of each peer's frames, when known (the hint keeps its aspect);
    ``ratio``: device pixels per wall pixel (a tile on a HiDPI screen asks for its device
    size). Peers without a tile in the layout get :func:`hidden_view`.
    """
    peers = list(peers)[:MAX_PRESENTERS]
    sources = sources or {}
    count = len(peers)
    tiles = arrange(layout, peers, width, height, spotlight=spotlight, gap=gap_for(count),
                    sources=sources)
    spotlit = count > 1 and any(t.main for t in tiles)
    hints: dict[str, ViewHint] = {}
    for tile in tiles:
        sw, sh = sources.get(tile.peer_id, (0, 0))
        device = Tile(tile.peer_id, tile.index, Rect(
            tile.cell.x, tile.cell.y, round(tile.cell.w * ratio), round(tile.cell.h * ratio)),
            tile.main)
        hints[tile.peer_id] = view_for(device, count, sw, sh, beside_spotlight=spotlit)
    for peer in peers:
        hints.setdefault(peer, hidden_view(count))
    return hints


class Screen:
    """The wall of a receiver without a window: the same layout and hints as the window's.

    It follows the number of presenters (automatic layout, no spotlight: a headless TV has
    no keys) on a ``width`` x ``height`` screen. :meth:`changes` takes the calls the
    receiver session publishes and returns the hints that differ from those last returned,
    keyed by ``CallView.key`` (or the peer id), ready for ``ReceiverSession.set_view``.
    """

    def __init__(self, width: int, height: int) -> None:
        if width < 16 or height < 16:
            raise ValueError(f"a screen of {width}x{height} is too small")
        self.width, self.height = width, height
        self.hints: dict[str, ViewHint] = {}

    def changes(self, calls: Sequence[CallView], spotlight: str | None = None
                ) -> list[tuple[str, ViewHint]]:
        """``spotlight``: the name of a presenter to show large, the others beside it (as
        the window does on its number key); None: automatic layout."""
        shown = [c for c in calls if c.phase in ON_WALL][:MAX_PRESENTERS]
        order = [c.key or c.peer_id for c in shown]
        sources = {c.key or c.peer_id: (c.width, c.height) for c in shown}
        main = next((c.key or c.peer_id for c in shown if c.name == spotlight), None)
        hints = plan(Layout.SPOTLIGHT if main else Layout.AUTO, order, self.width,
                     self.height, spotlight=main, sources=sources)
        changed = [(k, h) for k, h in hints.items() if self.hints.get(k) != h]
        self.hints = hints
        return changed


def parse_screen(text: str) -> tuple[int, int]:
    """``WIDTHxHEIGHT`` of a screen; raises ValueError with a sentence saying what is wrong."""
    w, sep, h = text.strip().lower().partition("x")
    if not sep or not w.strip().isdigit() or not h.strip().isdigit():
        raise ValueError(f"a screen size is WIDTHxHEIGHT in pixels, e.g. 1920x1080 "
                         f"(got {text!r})")
    size = int(w), int(h)
    if min(size) < 160:
        raise ValueError(f"a screen of {size[0]}x{size[1]} is too small (at least 160 a side)")
    if max(size) > 16384:
        raise ValueError(f"a screen of {size[0]}x{size[1]} is too large (at most 16384 a side)")
    return size


def neighbour(tiles: Sequence[Tile], current: str | None, dx: int, dy: int) -> str | None:
    """The tile an arrow key moves the focus to from ``current`` (None: stay)."""
    by_id = {t.peer_id: t for t in tiles}
    if not tiles:
        return None
    if current not in by_id:
        return tiles[0].peer_id
    cx, cy = by_id[current].cell.center()
    best: tuple[float, str] | None = None
    for t in tiles:
        if t.peer_id == current:
            continue
        tx, ty = t.cell.center()
        along = (tx - cx) * dx + (ty - cy) * dy
        if along <= 0:
            continue
        across = abs((tx - cx) * dy) + abs((ty - cy) * dx)
        score = along + 2 * across
        if best is None or score < best[0]:
            best = (score, t.peer_id)
    return best[1] if best else current
