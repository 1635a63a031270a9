"""The tile grid: overlapping windows over an area, each owning the core of its window."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .raster import PixelWindow

MIN_TILE = 64
MAX_TILE = 4096


@dataclass(frozen=True)
class Tile:
    """One window of the grid.

    ``window`` is what the models see; ``core`` (half-open, raster pixels) is the part whose results this
    tile owns. Cores partition the area, so nothing is found twice and seams fall on pixel edges.
    """

    index: int
    grid_row: int
    grid_col: int
    window: PixelWindow
    core: PixelWindow


def _axis(offset: int, length: int, raster_length: int, tile: int, overlap: int) -> list[tuple[int, int, int, int]]:
    """(window start, window size, core start, core end) along one axis."""
    if length <= tile:
        size = min(tile, raster_length)  # widen a small area for context where the raster allows
        start = min(max(0, offset + length // 2 - size // 2), raster_length - size)
        return [(start, size, offset, offset + length)]
    stride = tile - overlap
    starts = list(range(offset, offset + length - tile, stride)) + [offset + length - tile]
    cuts = [offset] + [(a + tile + b) // 2 for a, b in zip(starts, starts[1:])] + [offset + length]
    return [(s, tile, cuts[i], cuts[i + 1]) for i, s in enumerate(starts)]


def check_tiling(tile_size: int, overlap: int) -> None:
    """Raise ValueError with a clear message for a tile size or overlap out of range."""
    if not MIN_TILE <= tile_size <= MAX_TILE:
        raise ValueError(f"tile size must be between {MIN_TILE} and {MAX_TILE} pixels, got {tile_size}")
    if not 0 <= overlap <= tile_size // 2:
        raise ValueError(f"overlap must be between 0 and half the tile size ({tile_size // 2}), got {overlap}")


def tile_grid(
    area: PixelWindow, raster_width: int, raster_height: int, tile_size: int = 840, overlap: int = 128
) -> list[Tile]:
    """Tiles over ``area``, row by row. Edge windows are shifted inward rather than padded."""
    check_tiling(tile_size, overlap)
    cols = _axis(area.col_off, area.width, raster_width, tile_size, overlap)
    rows = _axis(area.row_off, area.height, raster_height, tile_size, overlap)
    tiles = []
    for gr, (r0, rh, cr0, cr1) in enumerate(rows):
        for gc, (c0, cw, cc0, cc1) in enumerate(cols):
            tiles.append(
                Tile(len(tiles), gr, gc, PixelWindow(c0, r0, cw, rh), PixelWindow(cc0, cr0, cc1 - cc0, cr1 - cr0))
            )
    return tiles


def tiles_with_data(tiles: list[Tile], valid_overview: np.ndarray, scale: float) -> list[bool]:
    """Whether each tile's core may hold valid pixels, judged on a coarse validity mask (erring to keep)."""
    h, w = valid_overview.shape
    keep = []
    for t in tiles:
        c = t.core
        x0, y0 = max(0, int(c.col_off / scale) - 1), max(0, int(c.row_off / scale) - 1)
        x1, y1 = min(w, int(np.ceil(c.col_end / scale)) + 1), min(h, int(np.ceil(c.row_end / scale)) + 1)
        keep.append(bool(valid_overview[y0:y1, x0:x1].any()))
    return keep
