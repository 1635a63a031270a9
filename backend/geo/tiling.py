"""The tile grid: overlapping windows over an area, each owning the core of its window."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import contract

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


def _axis_count(length: int, tile: int, overlap: int) -> int:
    """How many windows :func:`_axis` lays along ``length`` pixels, by arithmetic."""
    return 1 if length <= tile else -(-(length - tile) // (tile - overlap)) + 1


def tile_count(area: PixelWindow, tile_size: int, overlap: int) -> int:
    """How many tiles :func:`tile_grid` lays over ``area``, computed without building them (a limit is checked
    before anything is allocated, whatever the raster's size)."""
    check_tiling(tile_size, overlap)
    return _axis_count(area.width, tile_size, overlap) * _axis_count(area.height, tile_size, overlap)


def _axis_near(length: int, tile: int, overlap: int, lo: float, hi: float) -> list[tuple[int, int]]:
    """(start, size) of the windows of a whole-raster axis (:func:`_axis` from 0) that meet [lo, hi)."""
    if length <= tile:
        return [(0, length)]
    stride, last = tile - overlap, length - tile
    first_k = max(0, int((lo - tile) // stride))
    regular = [k * stride for k in range(first_k, int(hi // stride) + 1) if k * stride < last]
    return [(s, tile) for s in regular + [last] if s < hi and s + tile > lo]


def grid_windows_near(
    width: int, height: int, tile_size: int, overlap: int, box: tuple[float, float, float, float]
) -> list[PixelWindow]:
    """The windows of the whole raster's tile grid that meet ``box`` (col0, row0, col1, row1), row by row, as
    :func:`tile_grid` would order them; computed near the box only, so a huge raster costs nothing."""
    check_tiling(tile_size, overlap)
    cols = _axis_near(width, tile_size, overlap, box[0], box[2])
    rows = _axis_near(height, tile_size, overlap, box[1], box[3])
    return [PixelWindow(c, r, cw, rh) for r, rh in rows for c, cw in cols]


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


def tiles_with_data(
    tiles: list[Tile], valid_overview: np.ndarray, scale: float, origin: tuple[int, int] = (0, 0)
) -> list[bool]:
    """Whether each tile's core may hold valid pixels, judged on a coarse validity mask (erring to keep) whose
    first pixel is at raster pixel ``origin`` (column, row)."""
    h, w = valid_overview.shape
    keep = []
    for t in tiles:
        c = t.core
        col, row, col_end, row_end = (
            c.col_off - origin[0],
            c.row_off - origin[1],
            c.col_end - origin[0],
            c.row_end - origin[1],
        )
        x0, y0 = max(0, int(col / scale) - 1), max(0, int(row / scale) - 1)
        x1, y1 = min(w, int(np.ceil(col_end / scale)) + 1), min(h, int(np.ceil(row_end / scale)) + 1)
        keep.append(bool(valid_overview[y0:y1, x0:x1].any()))
    return keep
