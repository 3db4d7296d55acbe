"""The wall's layout and view-size policy (pure: no Qt, no network)."""

from __future__ import annotations

import itertools

import pytest

from castapp.layout import (
    FULL_FPS,
    GRID_FPS,
    HIDDEN_FPS,
    TILE_FPS,
    Rect,
    Screen,
    arrange,
    divisor_for,
    effective,
    fit,
    hidden_view,
    neighbour,
    parse_screen,
    plan,
    view_for,
)
from castapp.session.room import MAX_PRESENTERS, CallPhase, CallView, Layout

PEERS = ["a", "b", "c", "d"]


def overlaps(r: Rect, s: Rect) -> bool:
    return r.x < s.x + s.w and s.x < r.x + r.w and r.y < s.y + s.h and s.y < r.y + r.h


def test_auto_follows_the_number_of_sources():
    assert effective(Layout.AUTO, 1, None) is Layout.FULL
    assert effective(Layout.AUTO, 2, None) is Layout.SIDE_BY_SIDE
    assert effective(Layout.AUTO, 3, None) is Layout.GRID
    assert effective(Layout.AUTO, 4, None) is Layout.GRID
    assert effective(Layout.AUTO, 3, "b") is Layout.SPOTLIGHT
    assert effective(Layout.GRID, 1, None) is Layout.FULL
    assert effective(Layout.SIDE_BY_SIDE, 4, None) is Layout.GRID
    assert effective(Layout.GRID, 2, None) is Layout.SIDE_BY_SIDE


@pytest.mark.parametrize("layout", list(Layout))
@pytest.mark.parametrize("count", [1, 2, 3, 4])
@pytest.mark.parametrize("size", [(1920, 1080), (1366, 768), (2880, 1800), (1080, 1920)])
def test_tiles_stay_inside_the_wall_and_never_overlap(layout, count, size):
    w, h = size
    for spot in (None, PEERS[count - 1]):
        tiles = arrange(layout, PEERS[:count], w, h, spotlight=spot, gap=6)
        assert tiles, (layout, count)
        for t in tiles:
            assert t.cell.w > 0 and t.cell.h > 0
            assert t.cell.x >= 0 and t.cell.y >= 0
            assert t.cell.x + t.cell.w <= w and t.cell.y + t.cell.h <= h
        for t, u in itertools.combinations(tiles, 2):
            assert not overlaps(t.cell, u.cell), (t, u)
        expected = 1 if effective(layout, count, spot) is Layout.FULL else count
        assert len(tiles) == expected
        assert [t.index for t in tiles] == sorted(t.index for t in tiles)


def test_grid_is_two_by_two_and_side_by_side_halves():
    tiles = arrange(Layout.GRID, PEERS, 1920, 1080)
    assert [t.cell for t in tiles] == [Rect(0, 0, 960, 540), Rect(960, 0, 960, 540),
                                       Rect(0, 540, 960, 540), Rect(960, 540, 960, 540)]
    two = arrange(Layout.AUTO, PEERS[:2], 1920, 1080)
    assert [t.cell for t in two] == [Rect(0, 0, 960, 1080), Rect(960, 0, 960, 1080)]


def test_spotlight_is_large_with_the_others_in_a_column():
    tiles = arrange(Layout.AUTO, PEERS, 1920, 1080, spotlight="c")
    main = [t for t in tiles if t.main]
    assert [t.peer_id for t in main] == ["c"]
    assert main[0].cell == Rect(0, 0, 1440, 1080)
    strip = [t for t in tiles if not t.main]
    assert [t.peer_id for t in strip] == ["a", "b", "d"]
    assert all(t.cell.x == 1440 and t.cell.w == 480 for t in strip)
    assert [t.cell.y for t in strip] == [0, 360, 720]


def test_full_with_several_shows_the_spotlit_one():
    tiles = arrange(Layout.FULL, PEERS[:3], 1280, 720, spotlight="b")
    assert [(t.peer_id, t.index, t.main) for t in tiles] == [("b", 1, True)]
    assert arrange(Layout.FULL, PEERS[:3], 1280, 720)[0].peer_id == "a"


def test_no_more_than_the_room_holds_and_nothing_for_an_empty_wall():
    assert len(arrange(Layout.GRID, [*PEERS, "e"], 1920, 1080)) == MAX_PRESENTERS
    assert arrange(Layout.AUTO, [], 1920, 1080) == []
    assert arrange(Layout.AUTO, PEERS, 0, 1080) == []


def test_fit_keeps_the_aspect_ratio():
    assert fit(1920, 1080, 960, 1080) == (960, 540)
    assert fit(1080, 1920, 960, 540) == (304, 540)
    assert fit(0, 0, 800, 600) == (800, 600)


def test_whole_divisors_bring_the_source_within_the_tile():
    assert divisor_for(1920, 1080, 1920, 1080) == 1
    assert divisor_for(1920, 1080, 960, 540) == 2
    assert divisor_for(1920, 1080, 800, 450) == 3  # at most the tile: 640x360
    assert divisor_for(2880, 1800, 480, 360) == 6
    assert divisor_for(1920, 1080, 0, 0) == 1
    for sw, sh, bw, bh in [(1920, 1080, 700, 500), (3840, 2160, 960, 540), (1366, 768, 455, 256)]:
        d = divisor_for(sw, sh, bw, bh)
        assert sw / d <= bw and sh / d <= bh
        assert d == 1 or sw / (d - 1) > bw or sh / (d - 1) > bh


def test_view_hints_full_rate_for_the_spotlit_half_for_the_strip_beside_it():
    hints = plan(Layout.AUTO, PEERS, 1920, 1080, spotlight="a",
                 sources={p: (1920, 1080) for p in PEERS})
    assert hints["a"].fps == FULL_FPS and hints["a"].spotlit
    assert (hints["a"].width, hints["a"].height) == (1440, 810)
    assert (hints["a"].tile, hints["a"].tiles) == (1, 4)
    for p in "bcd":
        assert hints[p].fps == TILE_FPS and not hints[p].spotlit
        assert hints[p].width <= 480 and hints[p].height <= 360
    alone = view_for(arrange(Layout.AUTO, ["a"], 1920, 1080)[0], 1)
    assert (alone.width, alone.height, alone.fps, alone.spotlit) == (1920, 1080, FULL_FPS, False)
    grid = list(plan(Layout.GRID, PEERS, 1920, 1080).values())
    # equal tiles: nobody is spotlit; a full grid of four is asked for a little less
    assert {(g.width, g.height, g.fps) for g in grid} == {(957, 537, GRID_FPS)}
    three = plan(Layout.GRID, PEERS[:3], 1920, 1080).values()
    assert {t.fps for t in three} == {FULL_FPS}
    assert not any(g.spotlit for g in grid)
    # four grid tiles cost the TV about the pixels of one full screen
    assert sum(g.width * g.height for g in grid) <= 1920 * 1080
    assert hidden_view(3).tile == 0 and hidden_view(3).fps == HIDDEN_FPS


def test_plan_gives_hidden_sources_a_small_picture_and_scales_for_hidpi():
    full = plan(Layout.FULL, PEERS[:3], 1280, 720, spotlight="b")
    assert full["b"].tile == 2 and (full["b"].width, full["b"].height) == (1280, 720)
    assert full["a"] == hidden_view(3) and full["c"] == hidden_view(3)
    hidpi = plan(Layout.AUTO, ["a"], 960, 540, ratio=2.0)
    assert (hidpi["a"].width, hidpi["a"].height) == (1920, 1080)


def call(key: str, phase: CallPhase = CallPhase.SHOWING, size: tuple[int, int] = (0, 0)):
    return CallView(peer_id=f"peer-{key}", name=key, phase=phase, width=size[0],
                    height=size[1], key=key)


def test_a_screen_without_a_window_sends_what_the_wall_would():
    screen = Screen(1920, 1080)
    calls = [call(k, size=(1280, 720)) for k in "abcd"]
    changed = dict(screen.changes(calls))
    assert changed == plan(Layout.AUTO, list("abcd"), 1920, 1080,
                           sources={k: (1280, 720) for k in "abcd"})
    for hint in changed.values():  # a 2 x 2 grid, each asked for at most its tile
        assert hint.width <= 957 and hint.height <= 537 and hint.tiles == 4
        assert divisor_for(1280, 720, hint.width, hint.height) == 2
    assert screen.changes(calls) == []  # nothing new: nothing sent again
    # one leaves: the other three get new tiles; prompts (asking, PIN) get no tile
    fewer = [calls[0], call("b", CallPhase.ASKING), *calls[2:]]
    again = dict(screen.changes(fewer))
    assert set(again) == {"a", "c", "d"} and all(h.tiles == 3 for h in again.values())
    alone = dict(screen.changes([calls[3]]))
    assert alone["d"].width == 1920 and alone["d"].fps == FULL_FPS and alone["d"].tile == 1


def test_a_screen_spotlights_a_presenter_by_name_as_the_window_would():
    screen = Screen(1920, 1080)
    calls = [call(k, size=(1920, 1080)) for k in "abcd"]
    changed = dict(screen.changes(calls, spotlight="c"))
    assert changed == plan(Layout.SPOTLIGHT, list("abcd"), 1920, 1080, spotlight="c",
                           sources={k: (1920, 1080) for k in "abcd"})
    assert changed["c"].spotlit and changed["c"].fps == FULL_FPS and changed["c"].width > 957
    assert all(not changed[k].spotlit and changed[k].fps < FULL_FPS for k in "abd")
    # the named presenter leaves: the others go back to the automatic layout
    rest = dict(screen.changes([c for c in calls if c.name != "c"], spotlight="c"))
    assert all(h.tiles == 3 and not h.spotlit for h in rest.values())


@pytest.mark.parametrize("text", ["1920", "x1080", "1920x", "axb", "1920x1080x2", "-5x100",
                                  "100x100", "20000x1080", ""])
def test_a_bad_screen_size_is_refused_in_words(text):
    with pytest.raises(ValueError, match="screen"):
        parse_screen(text)


def test_screen_sizes_parse():
    assert parse_screen("1920x1080") == (1920, 1080)
    assert parse_screen(" 3840X2160 ") == (3840, 2160)


def test_arrow_keys_move_between_neighbours():
    tiles = arrange(Layout.GRID, PEERS, 1920, 1080)
    assert neighbour(tiles, "a", 1, 0) == "b"
    assert neighbour(tiles, "a", 0, 1) == "c"
    assert neighbour(tiles, "d", -1, 0) == "c"
    assert neighbour(tiles, "d", 0, -1) == "b"
    assert neighbour(tiles, "a", -1, 0) == "a"  # at the edge: stay
    assert neighbour(tiles, None, 1, 0) == "a"
    spot = arrange(Layout.SPOTLIGHT, PEERS, 1920, 1080, spotlight="a")
    assert neighbour(spot, "a", 1, 0) in {"b", "c", "d"}
    assert neighbour(spot, "b", 0, 1) == "c"
    assert neighbour(spot, "c", -1, 0) == "a"
    assert neighbour([], None, 1, 0) is None


def shown(tile, source=(1920, 1080)):
    return fit(*source, tile.cell.w, tile.cell.h)


def test_a_portrait_tv_stacks_landscape_laptops():
    # two, three, four 16:9 laptops on a 1080x1920 screen: one above the other, full width
    for count in (2, 3, 4):
        tiles = arrange(Layout.AUTO, PEERS[:count], 1080, 1920, gap=6)
        assert {t.cell.x for t in tiles} == {0} and {t.cell.w for t in tiles} == {1080}
        ys = [t.cell.y for t in tiles]
        assert ys == sorted(ys) and len(set(ys)) == count
        # each picture is as wide as the screen: 1080 pixels, against 537 in two columns
        assert all(shown(t)[0] >= 1080 * 0.78 for t in tiles), [shown(t) for t in tiles]
    three = arrange(Layout.GRID, PEERS[:3], 1080, 1920, gap=6)
    assert shown(three[0]) == (1080, 608)


def test_a_landscape_tv_keeps_columns_and_the_two_by_two_grid():
    two = arrange(Layout.AUTO, PEERS[:2], 1920, 1080, gap=6)
    assert [t.cell.y for t in two] == [0, 0] and two[0].cell.x < two[1].cell.x
    four = arrange(Layout.GRID, PEERS, 1366, 768, gap=6)
    assert len({t.cell.x for t in four}) == 2 and len({t.cell.y for t in four}) == 2
    # a laptop and a phone held upright (1080x2340) on a landscape TV: still side by side
    mixed = arrange(Layout.AUTO, PEERS[:2], 1920, 1080, gap=6,
                    sources={"a": (1920, 1080), "b": (1080, 2340)})
    assert [t.cell.y for t in mixed] == [0, 0]
    # two phones held upright on a portrait TV: side by side too (each gets the full height)
    phones = arrange(Layout.AUTO, PEERS[:2], 1080, 1920, gap=6,
                     sources={"a": (1080, 2340), "b": (1080, 2340)})
    assert [t.cell.y for t in phones] == [0, 0]


def test_spotlight_strip_goes_where_the_spotlit_picture_is_larger():
    landscape = arrange(Layout.SPOTLIGHT, PEERS, 1920, 1080, spotlight="b", gap=6)
    main = next(t for t in landscape if t.main)
    assert main.cell.h == 1080 and all(t.cell.x > main.cell.w for t in landscape if not t.main)
    portrait = arrange(Layout.SPOTLIGHT, PEERS, 1080, 1920, spotlight="b", gap=6)
    main = next(t for t in portrait if t.main)
    assert main.cell.w == 1080 and all(t.cell.y > main.cell.h for t in portrait if not t.main)
    assert shown(main) == (1080, 608)  # a column on the right would leave it 810 wide
    # on the portrait TV the arrow keys follow the row: left and right along it, up to the main
    strip = sorted((t for t in portrait if not t.main), key=lambda t: t.cell.x)
    assert neighbour(portrait, strip[0].peer_id, 1, 0) == strip[1].peer_id
    assert neighbour(portrait, strip[1].peer_id, 0, -1) == "b"
    hints = plan(Layout.SPOTLIGHT, PEERS, 1080, 1920, spotlight="b",
                 sources={p: (1920, 1080) for p in PEERS})
    assert hints["b"].spotlit and (hints["b"].width, hints["b"].height) == (1080, 608)
