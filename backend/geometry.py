"""Masks to polygons, and objects cut by tile borders merged back together.

All geometry is built in raster pixel coordinates, where every mask edge lies on whole numbers, so pieces
of one object from two tiles share their border exactly and merge with no sliver. Only finished objects
are simplified and moved to map coordinates.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import rasterio.features
import shapely
import shapely.affinity
from affine import Affine
from scipy import ndimage
from shapely.geometry import shape

from .tiling import Tile


@dataclass
class Piece:
    """A connected part of an object inside one tile's core, in raster pixel coordinates."""

    geometry: shapely.Polygon
    score: float
    tile: int
    waits_for: frozenset[int]  # neighbouring tiles whose cores this piece touches


@dataclass
class MergedObject:
    """An object whose every piece is known: its outline in pixel coordinates and the tiles it spans."""

    geometry: shapely.Geometry
    score: float
    tiles: list[int] = field(default_factory=list)


def tile_pieces(
    tile: Tile,
    masks: Sequence[np.ndarray],
    scores: Sequence[float],
    valid: np.ndarray | None,
    neighbours: dict[str, int],
    min_hole_px: float = 0.0,
) -> list[Piece]:
    """The pieces of the union of ``masks`` (window-sized bool arrays) inside the tile's core.

    Each piece's score is the best score of the instance masks it holds. ``neighbours`` maps "left", "right",
    "top" and "bottom" to the index of the tile across that side of the core, where there is one. Holes
    smaller than ``min_hole_px`` pixels are filled, like specks below the minimum area are dropped.
    """
    if not masks:
        return []
    w, c = tile.window, tile.core
    y0, x0 = c.row_off - w.row_off, c.col_off - w.col_off
    core_box = (slice(y0, y0 + c.height), slice(x0, x0 + c.width))
    union = np.zeros((w.height, w.width), dtype=bool)
    for m in masks:
        union[core_box] |= m[core_box]
    if valid is not None:
        union &= valid
    rows, cols = np.flatnonzero(union.any(axis=1)), np.flatnonzero(union.any(axis=0))
    if not len(rows):
        return []
    # Work on the objects' bounding box, one pixel wider where the core allows: labelling and polygonising
    # cost grows with the pixels scanned, and most tiles hold little.
    r0, r1 = max(y0, rows[0] - 1), min(y0 + c.height, rows[-1] + 2)
    c0, c1 = max(x0, cols[0] - 1), min(x0 + c.width, cols[-1] + 2)
    box = (slice(r0, r1), slice(c0, c1))
    union = union[box]
    if min_hole_px > 0:
        inside = np.ones_like(union) if valid is None else valid[box].copy()
        _fill_small_holes(union, inside, min_hole_px)
    labels, n = ndimage.label(union)
    best = np.zeros(n + 1, dtype=np.float64)
    for m, s in zip(masks, scores):
        hit = np.zeros(n + 1, dtype=bool)
        hit[labels[m[box]]] = True
        hit[0] = False
        best[hit] = np.maximum(best[hit], s)
    to_raster = Affine.translation(w.col_off + c0, w.row_off + r0)
    pieces = []
    for geom, value in rasterio.features.shapes(labels.astype(np.int32, copy=False), mask=union, transform=to_raster):
        poly = shape(geom)
        minx, miny, maxx, maxy = poly.bounds
        touching = {
            "left": minx <= c.col_off,
            "right": maxx >= c.col_end,
            "top": miny <= c.row_off,
            "bottom": maxy >= c.row_end,
        }
        waits = frozenset(neighbours[side] for side, hit in touching.items() if hit and side in neighbours)
        pieces.append(Piece(poly, float(best[int(value)]), tile.index, waits))
    return pieces


def _fill_small_holes(union: np.ndarray, inside: np.ndarray, min_px: float) -> None:
    """Fill, in place, background regions of ``union`` under ``min_px`` pixels that do not reach its edge.

    ``union`` is cut to the objects' box within the tile's core, so a region reaching its edge is either
    open ground around the objects or may continue in the next tile: it is left alone. ``inside`` marks
    the pixels that count as background (valid data). Noisy masks otherwise make outlines with thousands
    of one-pixel holes, which are slow to merge and simplify.
    """
    background, n = ndimage.label(inside & ~union, structure=np.ones((3, 3), dtype=bool))
    if n == 0:
        return
    sizes = np.bincount(background.ravel(), minlength=n + 1)
    edge = np.unique(np.concatenate([background[0], background[-1], background[:, 0], background[:, -1]]))
    fill = sizes < min_px
    fill[0] = False
    fill[edge] = False
    union |= fill[background]


def grid_neighbours(tiles: Sequence[Tile]) -> dict[int, dict[str, int]]:
    """For each tile index, the indices of the tiles across each side of its core."""
    at = {(t.grid_row, t.grid_col): t.index for t in tiles}
    sides = {"left": (0, -1), "right": (0, 1), "top": (-1, 0), "bottom": (1, 0)}
    return {
        t.index: {s: at[(t.grid_row + dr, t.grid_col + dc)] for s, (dr, dc) in sides.items()
                  if (t.grid_row + dr, t.grid_col + dc) in at}
        for t in tiles
    }


class SeamMerger:
    """Joins pieces that share a border across tiles, and releases each object once it is complete.

    An object is complete when every tile across a border it touches has been processed (or skipped).
    So finished objects stream out while the job runs, and none is ever emitted twice or in parts.
    """

    def __init__(self) -> None:
        self._done: set[int] = set()
        self._pending: dict[int, list[int]] = {}  # tile -> ids of its pending pieces
        self._pieces: dict[int, Piece] = {}
        self._parent: dict[int, int] = {}
        self._next = 0

    def _find(self, i: int) -> int:
        while self._parent[i] != i:
            self._parent[i] = self._parent[self._parent[i]]
            i = self._parent[i]
        return i

    def add_tile(self, tile: int, pieces: Iterable[Piece]) -> list[MergedObject]:
        """Record a processed tile's pieces; return the objects that are now complete."""
        new = []
        for piece in pieces:
            pid, self._next = self._next, self._next + 1
            self._pieces[pid], self._parent[pid] = piece, pid
            new.append(pid)
            for other_tile in piece.waits_for & self._done:
                for oid in self._pending.get(other_tile, ()):
                    other = self._pieces[oid]
                    if tile in other.waits_for and _share_border(piece.geometry, other.geometry):
                        self._parent[self._find(oid)] = self._find(pid)
        self._pending[tile] = new
        self._done.add(tile)
        return self._release(final=False)

    def skip_tile(self, tile: int) -> list[MergedObject]:
        """A tile that will never bring pieces (no data, an error, or cancelled)."""
        return self.add_tile(tile, [])

    def flush(self) -> list[MergedObject]:
        """Release everything still pending, complete or not (end of job, or cancel)."""
        return self._release(final=True)

    def _release(self, final: bool) -> list[MergedObject]:
        groups: dict[int, list[int]] = {}
        for ids in self._pending.values():
            for pid in ids:
                groups.setdefault(self._find(pid), []).append(pid)
        out = []
        for members in groups.values():
            if not final and any(not self._pieces[m].waits_for <= self._done for m in members):
                continue
            parts = [self._pieces[m] for m in members]
            geom = parts[0].geometry if len(parts) == 1 else shapely.union_all([p.geometry for p in parts])
            out.append(MergedObject(geom, max(p.score for p in parts), sorted({p.tile for p in parts})))
            for m in members:
                self._pending[self._pieces[m].tile].remove(m)
                del self._pieces[m]
        return out


def _share_border(a: shapely.Geometry, b: shapely.Geometry) -> bool:
    """True when two pieces meet along a line, not just at a corner."""
    return a.intersects(b) and a.intersection(b).length > 0


def finish_geometry(
    geom: shapely.Geometry, transform: Affine, simplify_px: float = 1.0, min_area_px: float = 0.0
) -> shapely.Geometry | None:
    """Simplify by ``simplify_px`` pixels, drop specks below ``min_area_px``, and move to map coordinates."""
    if geom.area < min_area_px:
        return None
    if simplify_px > 0:
        geom = geom.simplify(simplify_px, preserve_topology=True)
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
        geom = shapely.union_all([g for g in getattr(geom, "geoms", [geom]) if g.area > 0])
    if geom.is_empty or geom.area < min_area_px:
        return None
    t = transform
    return shapely.affinity.affine_transform(geom, [t.a, t.b, t.d, t.e, t.c, t.f])
