"""Objects cut by tile borders, merged back together and released as soon as they are complete.

Pieces are in raster pixel coordinates, where every mask edge lies on whole numbers, so pieces of one object
from two tiles share their border exactly and merge with no sliver. The work per tile stays bounded however
large an object grows: only the groups that the tile touches or completes are looked at, pieces facing a tile
not yet processed are the only ones kept apart, a group's outline is built up by unions of equal-sized parts
(a binary counter), and holes that lie inside a tile's core, which no other tile can change, stay out of the
unions and are put back when the object is released.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import shapely

from .geometry import Piece


@dataclass
class MergedObject:
    """An object whose every piece is known: its outline in pixel coordinates and the tiles it spans."""

    geometry: shapely.Geometry
    score: float
    tiles: list[int] = field(default_factory=list)
    prompts: list = field(default_factory=list)  # the prompts of the masks it holds, in raster pixels


@dataclass
class _Group:
    """Pieces found to belong together so far."""

    first: int  # the id of its earliest piece: objects are released in the order they began
    parts: dict[int, shapely.Geometry]  # level -> the union of 2**level of its pieces
    tiles: set[int]
    score: float
    missing: set[int]  # tiles across a border it touches that are not processed yet
    holes: list[shapely.LinearRing] = field(default_factory=list)  # holes inside a core, kept out of the unions
    prompts: list = field(default_factory=list)

    def add(self, geom: shapely.Geometry, level: int = 0) -> None:
        while level in self.parts:
            geom = shapely.union(self.parts.pop(level), geom)
            level += 1
        self.parts[level] = geom

    def absorb(self, other: _Group) -> None:
        self.first = min(self.first, other.first)
        self.tiles |= other.tiles
        self.score = max(self.score, other.score)
        self.missing |= other.missing
        self.holes += other.holes
        self.prompts += other.prompts
        for level, geom in other.parts.items():
            self.add(geom, level)

    def release(self) -> MergedObject:
        parts = list(self.parts.values())
        geom = parts[0] if len(parts) == 1 else shapely.union_all(parts)
        return MergedObject(_with_holes(geom, self.holes), self.score, sorted(self.tiles), self.prompts)


class SeamMerger:
    """Joins pieces that share a border across tiles, and releases each object once it is complete.

    An object is complete when every tile across a border it touches has been processed (or skipped).
    So finished objects stream out while the job runs, and none is ever emitted twice or in parts.
    """

    def __init__(self) -> None:
        self._done: set[int] = set()
        self._parent: dict[int, int] = {}  # union-find over piece ids
        self._groups: dict[int, _Group] = {}  # root piece id -> its group
        # tile not yet processed -> {processed neighbour: its pieces facing that tile, with their geometry}
        self._facing: dict[int, dict[int, list[tuple[int, shapely.Geometry]]]] = {}
        self._waiting: dict[int, list[int]] = {}  # tile not yet processed -> pieces whose group waits for it
        self._next = 0

    def _find(self, i: int) -> int:
        while self._parent[i] != i:
            self._parent[i] = self._parent[self._parent[i]]
            i = self._parent[i]
        return i

    def _union(self, a: int, b: int) -> None:
        ra, rb = self._find(a), self._find(b)
        if ra == rb:
            return
        if len(self._groups[ra].tiles) < len(self._groups[rb].tiles):
            ra, rb = rb, ra
        self._parent[rb] = ra
        self._groups[ra].absorb(self._groups.pop(rb))

    def add_tile(self, tile: int, pieces: Iterable[Piece]) -> list[MergedObject]:
        """Record a processed tile's pieces; return the objects that are now complete."""
        self._done.add(tile)
        facing = self._facing.pop(tile, {})
        candidates = []
        for piece in pieces:
            pid, self._next = self._next, self._next + 1
            self._parent[pid] = pid
            missing = set(piece.waits_for - self._done)
            outline, holes = _inner_holes_apart(piece)
            self._groups[pid] = _Group(pid, {0: outline}, {tile}, piece.score, missing, holes, list(piece.prompts))
            candidates.append(pid)
            for other in piece.waits_for:
                if other in missing:
                    self._facing.setdefault(other, {}).setdefault(tile, []).append((pid, piece.geometry))
                    self._waiting.setdefault(other, []).append(pid)
                else:
                    for oid, ogeom in facing.get(other, ()):
                        if _share_border(piece.geometry, ogeom):
                            self._union(oid, pid)
        for pid in self._waiting.pop(tile, ()):
            root = self._find(pid)
            self._groups[root].missing.discard(tile)
            candidates.append(root)
        roots = {self._find(pid) for pid in candidates}
        return self._release(r for r in roots if not self._groups[r].missing)

    def skip_tile(self, tile: int) -> list[MergedObject]:
        """A tile that will never bring pieces (no data, an error, or cancelled)."""
        return self.add_tile(tile, [])

    def flush(self) -> list[MergedObject]:
        """Release everything still pending, complete or not (end of job, or cancel)."""
        return self._release(list(self._groups))

    def _release(self, roots: Iterable[int]) -> list[MergedObject]:
        groups = sorted((self._groups.pop(r) for r in roots), key=lambda g: g.first)
        return [g.release() for g in groups]


def _inner_holes_apart(piece: Piece) -> tuple[shapely.Polygon, list[shapely.LinearRing]]:
    """The piece without the holes that do not reach its tile's core boundary, and those holes."""
    polygon = piece.geometry
    if not piece.waits_for or not polygon.interiors:
        return polygon, []
    holes = np.asarray(list(polygon.interiors), dtype=object)
    minx, miny, maxx, maxy = shapely.bounds(holes).T
    c0, r0, c1, r1 = piece.core
    inner = (minx > c0) & (maxx < c1) & (miny > r0) & (maxy < r1)
    if not inner.any():
        return polygon, []
    return shapely.Polygon(polygon.exterior, list(holes[~inner])), list(holes[inner])


def _with_holes(geom: shapely.Geometry, holes: list[shapely.LinearRing]) -> shapely.Geometry:
    """``geom`` with the holes put back, each in the part of ``geom`` that contains it."""
    if not holes:
        return geom
    parts = list(getattr(geom, "geoms", [geom]))
    if len(parts) == 1:
        return shapely.Polygon(parts[0].exterior, list(parts[0].interiors) + holes)
    hole_polygons = shapely.polygons(holes)
    owners = shapely.STRtree(parts).query(hole_polygons, predicate="within")
    extra: list[list[shapely.LinearRing]] = [[] for _ in parts]
    for hole, part in zip(*owners):
        extra[part].append(holes[hole])
    return shapely.MultiPolygon(
        [shapely.Polygon(p.exterior, list(p.interiors) + more) for p, more in zip(parts, extra)]
    )


def _share_border(a: shapely.Geometry, b: shapely.Geometry) -> bool:
    """True when two pieces meet along a line, not just at a corner."""
    return a.intersects(b) and a.intersection(b).length > 0
