"""Masks to polygons: each tile's pieces in raster pixel coordinates, and finished objects on the map.

All geometry is built in raster pixel coordinates, where every mask edge lies on whole numbers, so pieces
of one object from two tiles share their border exactly and merge with no sliver. Only finished objects
are simplified and moved to map coordinates.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import rasterio.features
import shapely
import shapely.affinity
from affine import Affine
from scipy import ndimage

from .tiling import Tile

Box = tuple[int, int, int, int]  # row start, row end, column start, column end, in window pixels

SPLIT_PX = 128 * 128  # a mask whose box is larger than this is looked at more closely...
CELL_PX = 16  # ...on a grid of cells this size


@dataclass
class Piece:
    """A connected part of an object inside one tile's core, in raster pixel coordinates."""

    geometry: shapely.Polygon
    score: float
    tile: int
    waits_for: frozenset[int]  # neighbouring tiles whose cores this piece touches
    core: tuple[int, int, int, int] = (0, 0, 0, 0)  # the tile's core: col start, row start, col end, row end
    instances: tuple[int, ...] = ()  # which of the tile's masks (by index) it holds
    prompts: tuple = ()  # those masks' prompts, in raster pixels (set by the pipeline)


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
    w, c = tile.window, tile.core
    core = (c.row_off - w.row_off, c.row_end - w.row_off, c.col_off - w.col_off, c.col_end - w.col_off)
    groups = _groups([(box, i) for i, m in enumerate(masks) for box in _pixel_boxes(m, core)], core)
    if not groups:
        return []
    # Labelling and polygonising cost grows with the pixels scanned, and most tiles hold a few small
    # objects: each group of nearby masks is cut to its box, and the boxes are packed side by side on one
    # canvas, so GDAL is called once per tile on a fraction of its pixels.
    places, shape_ = _pack([(b[1] - b[0], b[3] - b[2]) for b, _ in groups])
    union = np.zeros(shape_, dtype=bool)
    inside = np.ones(shape_, dtype=bool)
    cuts = []
    for (box, members), (py, px) in zip(groups, places):
        src = (slice(box[0], box[1]), slice(box[2], box[3]))
        dst = (slice(py, py + box[1] - box[0]), slice(px, px + box[3] - box[2]))
        for i in members:
            union[dst] |= masks[i][src]
        if valid is not None:
            inside[dst] = valid[src]
            union[dst] &= inside[dst]
        cuts.append((src, dst, members))
    if min_hole_px > 0:
        _fill_small_holes(union, inside, min_hole_px)
    labels, n = ndimage.label(union)
    best = np.zeros(n + 1, dtype=np.float64)
    group_of = np.zeros(n + 1, dtype=np.intp)
    owners: dict[int, list[int]] = {}
    for k, (src, dst, members) in enumerate(cuts):
        part = labels[dst]
        group_of[part] = k
        for i in members:
            hit = np.zeros(n + 1, dtype=bool)
            hit[part[masks[i][src]]] = True
            hit[0] = False
            best[hit] = np.maximum(best[hit], scores[i])
            for label in np.flatnonzero(hit):
                owners.setdefault(int(label), []).append(i)
    # rasterio warns about an identity transform, so the canvas is shifted by one pixel and shifted back here.
    offsets = [
        np.array([w.col_off + src[1].start - dst[1].start - 1, w.row_off + src[0].start - dst[0].start - 1])
        for src, dst, _ in cuts
    ]
    pieces = []
    for geom, value in rasterio.features.shapes(labels, mask=union, transform=Affine.translation(1, 1)):
        off = offsets[group_of[int(value)]]
        rings = [np.asarray(r, dtype=float) + off for r in geom["coordinates"]]
        minx, miny = rings[0].min(axis=0)
        maxx, maxy = rings[0].max(axis=0)
        touching = {
            "left": minx <= c.col_off,
            "right": maxx >= c.col_end,
            "top": miny <= c.row_off,
            "bottom": maxy >= c.row_end,
        }
        waits = frozenset(neighbours[side] for side, hit in touching.items() if hit and side in neighbours)
        core_box = (c.col_off, c.row_off, c.col_end, c.row_end)
        polygon = shapely.Polygon(rings[0], rings[1:])
        held = tuple(owners.get(int(value), ()))
        pieces.append(Piece(polygon, float(best[int(value)]), tile.index, waits, core_box, held))
    return pieces


def _pixel_boxes(mask: np.ndarray, core: Box) -> list[Box]:
    """Boxes around ``mask``'s pixels inside ``core``: one, or one per cluster when the mask is spread out.

    A mask whose box holds over ``SPLIT_PX`` pixels is cut on a grid of ``CELL_PX`` cells, and each group of
    occupied cells (with their diagonals) gets a box, so a stray speck does not make the whole tile scanned.
    """
    block = CELL_PX
    r0, r1, c0, c1 = core
    part = mask[r0:r1, c0:c1]
    rows = np.flatnonzero(part.any(axis=1))
    if not len(rows):
        return []
    cols = np.flatnonzero(part[rows[0] : rows[-1] + 1].any(axis=0))
    top, bottom, left, right = r0 + rows[0], r0 + rows[-1] + 1, c0 + cols[0], c0 + cols[-1] + 1
    h, w = bottom - top, right - left
    if h * w <= SPLIT_PX:
        return [(top, bottom, left, right)]
    cells = np.zeros((-(-h // block) * block, -(-w // block) * block), dtype=bool)
    cells[:h, :w] = mask[top:bottom, left:right]
    occupied = cells.reshape(cells.shape[0] // block, block, cells.shape[1] // block, block).any(axis=(1, 3))
    clusters, _ = ndimage.label(occupied, structure=np.ones((3, 3), dtype=bool))
    return [
        (
            top + ys.start * block,
            min(bottom, top + ys.stop * block),
            left + xs.start * block,
            min(right, left + xs.stop * block),
        )
        for ys, xs in ndimage.find_objects(clusters)
    ]


def _groups(boxes: Sequence[tuple[Box, int]], core: Box) -> list[tuple[Box, list[int]]]:
    """(box, mask index) pairs, each box one pixel wider within the core, merged until no two overlap.

    Returns each merged box with the masks it holds. Masks in different groups are then at least two pixels
    apart, so they cannot join, a hole of one cannot hold the other, and each group's box has a ring of
    background where the core allows.
    """
    groups: list[tuple[Box, list[int]]] = [
        ((max(core[0], b[0] - 1), min(core[1], b[1] + 1), max(core[2], b[2] - 1), min(core[3], b[3] + 1)), [i])
        for b, i in boxes
    ]
    merged = True
    while merged:
        merged = False
        out: list[tuple[Box, list[int]]] = []
        for box, members in groups:
            for j, (other, more) in enumerate(out):
                if box[0] < other[1] and other[0] < box[1] and box[2] < other[3] and other[2] < box[3]:
                    out[j] = (
                        (min(box[0], other[0]), max(box[1], other[1]), min(box[2], other[2]), max(box[3], other[3])),
                        more + members,
                    )
                    merged = True
                    break
            else:
                out.append((box, members))
        groups = out
    return [(box, sorted(set(members))) for box, members in groups]


def _pack(sizes: Sequence[tuple[int, int]]) -> tuple[list[tuple[int, int]], tuple[int, int]]:
    """Shelf-pack (height, width) boxes with a one-pixel gap around each: their (row, col), and the canvas shape."""
    width = max(max(w for _, w in sizes), int(np.sqrt(sum((h + 1) * (w + 1) for h, w in sizes)))) + 2
    places: list[tuple[int, int]] = [(0, 0)] * len(sizes)
    y = x = 1
    shelf = 0
    for k in sorted(range(len(sizes)), key=lambda k: -sizes[k][0]):
        h, w = sizes[k]
        if x + w + 1 > width:
            y, x, shelf = y + shelf + 1, 1, 0
        places[k] = (y, x)
        x, shelf = x + w + 1, max(shelf, h)
    return places, (y + shelf + 1, width)


def _fill_small_holes(union: np.ndarray, inside: np.ndarray, min_px: float) -> None:
    """Fill, in place, background regions of ``union`` under ``min_px`` pixels that do not reach its edge.

    ``union`` is the packed canvas of ``tile_pieces``: a region that reaches a group's box joins the gaps
    around it, which reach the canvas edge. Such a region is either open ground around the objects or may
    continue in the next tile, and it is left alone. ``inside`` marks
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
        t.index: {
            s: at[(t.grid_row + dr, t.grid_col + dc)]
            for s, (dr, dc) in sides.items()
            if (t.grid_row + dr, t.grid_col + dc) in at
        }
        for t in tiles
    }


def finish_geometry(
    geom: shapely.Geometry,
    to_map: Affine | Callable[[shapely.Geometry], shapely.Geometry],
    simplify_px: float = 1.0,
    min_area_px: float = 0.0,
) -> shapely.Geometry | None:
    """Simplify by ``simplify_px`` pixels, drop specks below ``min_area_px``, and move to map coordinates.

    ``to_map`` is the raster's affine geotransform, or a function placing pixel geometry on the map
    (``Georef.to_map``).
    """
    if geom.area < min_area_px:
        return None
    if simplify_px > 0:
        geom = _simplify_rings(geom, simplify_px)
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
        geom = shapely.union_all([g for g in getattr(geom, "geoms", [geom]) if g.area > 0])
    if geom.is_empty or geom.area < min_area_px:
        return None
    if isinstance(to_map, Affine):
        t = to_map
        return shapely.affinity.affine_transform(geom, [t.a, t.b, t.d, t.e, t.c, t.f])
    return to_map(geom)


def _simplify_rings(geom: shapely.Geometry, tolerance: float) -> shapely.Geometry:
    """Each ring simplified on its own (topology-preserving), in one vectorised call per polygon.

    Simplifying the polygon as a whole keeps rings from crossing each other too, but its cost grows faster than
    the number of rings: an object with a hundred thousand holes took minutes. Rings that come to cross (they
    were within ``tolerance`` of each other) are mended by the validity check that follows.
    """
    polygons = []
    for polygon in getattr(geom, "geoms", [geom]):
        rings = shapely.simplify(
            shapely.polygons([polygon.exterior, *polygon.interiors]), tolerance, preserve_topology=True
        )
        holes = [r.exterior for r in rings[1:] if not r.is_empty]
        polygons.append(shapely.Polygon(rings[0].exterior, holes))
    return polygons[0] if len(polygons) == 1 else shapely.MultiPolygon(polygons)
