"""The tile grid: overlapping windows over an area, each owning the core of its window."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from plugin.core import contract

from ..errors import OptionError
from .raster import PixelWindow


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
    """Raise ``OptionError`` with a clear message for a tile size or overlap out of range (see the contract)."""
    problem = contract.tiling_problem(tile_size, overlap)
    if problem is None:
        return
    code, params = problem
    if code == "bad_tile_size":
        message = f"The tile size must be between {params['min']} and {params['max']} pixels, got {tile_size}."
    else:
        message = f"The overlap must be between 0 and half the tile size ({params['max']}), got {overlap}."
    raise OptionError(message, code, **params)


def tile_grid(
    area: PixelWindow,
    raster_width: int,
    raster_height: int,
    tile_size: int = contract.TILE_SIZE_DEFAULT,
    overlap: int = contract.OVERLAP_DEFAULT,
) -> list[Tile]:
    """Tiles over ``area``, row by row. Edge windows are shifted inward rather than padded."""
    check_tiling(tile_size, overlap)
    cols = _axis(area.col_off, area.width, raster_width, tile_size, overlap)
    rows = _axis(area.row_off, area.height, raster_height, tile_size, overlap)
    tiles: list[Tile] = []
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
