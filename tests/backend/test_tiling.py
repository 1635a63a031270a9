"""Tile grid arithmetic."""

import pytest

from backend.geo.raster import PixelWindow
from backend.geo.tiling import tile_grid


def _cover(tiles, area):
    cells = set()
    for t in tiles:
        c = t.core
        for y in range(c.row_off, c.row_end):
            for x in range(c.col_off, c.col_end):
                assert (x, y) not in cells, "cores overlap"
                cells.add((x, y))
    return len(cells) == area.width * area.height


def test_grid_with_overlap_shifts_edges_inward_and_cores_partition_the_area():
    area = PixelWindow(0, 0, 200, 130)
    tiles = tile_grid(area, 200, 130, tile_size=64, overlap=16)
    for t in tiles:
        w = t.window
        assert (w.width, w.height) == (64, 64)
        assert 0 <= w.col_off and w.col_end <= 200 and 0 <= w.row_off and w.row_end <= 130
        assert w.col_off <= t.core.col_off and t.core.col_end <= w.col_end
    assert max(t.window.col_end for t in tiles) == 200  # last column shifted inward, not padded
    assert _cover(tiles, area)
    cols = sorted({t.window.col_off for t in tiles})
    assert cols[:3] == [0, 48, 96]


def test_raster_smaller_than_a_tile_is_one_window():
    tiles = tile_grid(PixelWindow(0, 0, 383, 232), 383, 232, tile_size=840, overlap=128)
    assert len(tiles) == 1
    assert tiles[0].window == PixelWindow(0, 0, 383, 232) == tiles[0].core


def test_small_area_in_a_large_raster_gets_context_but_keeps_its_core():
    area = PixelWindow(500, 500, 100, 100)
    [t] = tile_grid(area, 2000, 2000, tile_size=400, overlap=0)
    assert t.core == area
    assert (t.window.width, t.window.height) == (400, 400)
    assert t.window.col_off <= 500 and t.window.col_end >= 600


def test_sub_area_grid_stays_inside_the_area_cores():
    area = PixelWindow(100, 50, 300, 300)
    tiles = tile_grid(area, 1000, 1000, tile_size=128, overlap=32)
    assert _cover(tiles, area)
    assert min(t.core.col_off for t in tiles) == 100 and max(t.core.row_end for t in tiles) == 350


@pytest.mark.parametrize("size,overlap", [(10, 0), (100000, 0), (256, 200), (256, -1)])
def test_out_of_range_settings_are_refused(size, overlap):
    with pytest.raises(ValueError):
        tile_grid(PixelWindow(0, 0, 1000, 1000), 1000, 1000, size, overlap)
