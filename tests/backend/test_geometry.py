"""Masks to polygons, and seams: an object cut by tile borders comes back whole."""

import time

import numpy as np
import pytest
import rasterio.features
import shapely
from affine import Affine
from scipy import ndimage

from backend.geo import geometry
from backend.geo.geometry import finish_geometry, grid_neighbours, tile_pieces
from backend.geo.raster import PixelWindow
from backend.geo.seams import SeamMerger
from backend.geo.tiling import tile_grid


def _disc(h, w, cy, cx, r):
    yy, xx = np.mgrid[0:h, 0:w]
    return (yy + 0.5 - cy) ** 2 + (xx + 0.5 - cx) ** 2 <= r * r


def _run(truth, tiles, order=None):
    merger, nb, out = SeamMerger(), grid_neighbours(tiles), []
    for t in order or tiles:
        w = t.window
        m = truth[w.row_off : w.row_end, w.col_off : w.col_end]
        out += merger.add_tile(t.index, tile_pieces(t, [m], [0.8], None, nb[t.index]))
    return out + merger.flush()


def test_object_over_four_tiles_is_one_polygon_with_the_true_area():
    h = w = 600
    truth = _disc(h, w, 300, 300, 180)
    tiles = tile_grid(PixelWindow(0, 0, w, h), w, h, tile_size=340, overlap=80)
    assert len(tiles) == 4
    objects = _run(truth, tiles)
    assert len(objects) == 1
    obj = objects[0]
    assert obj.geometry.geom_type == "Polygon" and obj.geometry.is_valid
    assert obj.tiles == [0, 1, 2, 3]
    assert obj.geometry.area == truth.sum()  # exact before simplification
    done = finish_geometry(obj.geometry, Affine(0.5, 0, 1000, 0, -0.5, 2000), simplify_px=1.0)
    assert abs(done.area - truth.sum() * 0.25) / (truth.sum() * 0.25) < 0.01


def test_separate_objects_stay_separate_and_nothing_is_duplicated():
    h = w = 500
    truth = _disc(h, w, 100, 100, 40) | _disc(h, w, 250, 250, 60) | _disc(h, w, 400, 120, 30)
    tiles = tile_grid(PixelWindow(0, 0, w, h), w, h, tile_size=200, overlap=50)
    objects = _run(truth, tiles)
    assert len(objects) == 3
    assert sum(o.geometry.area for o in objects) == truth.sum()


def test_objects_stream_out_once_their_neighbours_are_done():
    h, w = 200, 600
    truth = _disc(h, w, 100, 60, 30) | _disc(h, w, 100, 400, 50)  # one inside tile 0, one across tiles 1-2
    tiles = tile_grid(PixelWindow(0, 0, w, h), w, h, tile_size=200, overlap=0)
    merger, nb = SeamMerger(), grid_neighbours(tiles)
    released = []
    for t in tiles:
        w = t.window
        m = truth[w.row_off : w.row_end, w.col_off : w.col_end]
        released.append(len(merger.add_tile(t.index, tile_pieces(t, [m], [1.0], None, nb[t.index]))))
    assert released == [1, 0, 1]  # the second object waits for tile 2
    assert merger.flush() == []


def test_corner_touching_objects_are_not_merged():
    truth = np.zeros((100, 100), bool)
    truth[40:50, 40:50] = True
    truth[50:60, 50:60] = True  # meets the first only at the corner (50, 50), on the seam
    tiles = tile_grid(PixelWindow(0, 0, 100, 100), 100, 100, tile_size=64, overlap=28)
    objects = _run(truth, tiles)
    assert len(objects) == 2


def test_specks_are_dropped_and_scores_kept():
    tile = tile_grid(PixelWindow(0, 0, 64, 64), 64, 64, 64, 0)[0]
    big, speck = np.zeros((64, 64), bool), np.zeros((64, 64), bool)
    big[10:30, 10:30] = True
    speck[50:52, 50:52] = True
    pieces = tile_pieces(tile, [big, speck], [0.7, 0.95], None, {})
    assert sorted(p.score for p in pieces) == [0.7, 0.95]
    kept = [finish_geometry(p.geometry, Affine.identity(), 1.0, min_area_px=16) for p in pieces]
    assert sum(g is not None for g in kept) == 1


def test_small_holes_are_filled_but_large_ones_and_holes_cut_by_a_seam_are_kept():
    truth = np.zeros((200, 100), bool)
    truth[10:90, 10:90] = True
    truth[20:23, 20:23] = False  # a 9-pixel hole: a speck of background, filled
    truth[40:60, 40:60] = False  # a 400-pixel hole: kept
    truth[97:190, 10:90] = True
    truth[98:102, 40:45] = False  # 20 pixels, but tile 0's core ends at row 100: 8 + 12 pixels on either side
    tiles = tile_grid(PixelWindow(0, 0, 100, 200), 100, 200, tile_size=100, overlap=0)
    nb = grid_neighbours(tiles)
    merger, objects = SeamMerger(), []
    for t in tiles:
        m = truth[t.window.row_off : t.window.row_end, t.window.col_off : t.window.col_end]
        objects += merger.add_tile(t.index, tile_pieces(t, [m], [0.9], None, nb[t.index], min_hole_px=16))
    objects += merger.flush()
    assert len(objects) == 2
    first, second = sorted(objects, key=lambda o: o.geometry.bounds[1])
    assert [round(r.area) for r in (shapely.Polygon(i) for i in first.geometry.interiors)] == [400]
    assert [round(shapely.Polygon(i).area) for i in second.geometry.interiors] == [20]


def _many_instances():
    """Instance masks on a 400x400 tile: overlapping, nested, two and one pixel apart, touching, at the
    tile's edge, and one with stray specks far from its object (as SAM sometimes returns)."""
    masks = []

    def add(*boxes):
        m = np.zeros((400, 400), bool)
        for r0, r1, c0, c1 in boxes:
            m[r0:r1, c0:c1] = True
        masks.append(m)

    add((10, 40, 10, 40))
    add((30, 60, 30, 50))  # overlaps the first: one piece
    add((100, 160, 100, 160))
    masks[-1][110:150, 110:150] = False  # a ring...
    add((120, 140, 120, 140))  # ...with an object inside its hole
    add((200, 220, 10, 30))
    add((200, 220, 32, 50))  # two pixels from the last: separate
    add((250, 270, 10, 30))
    add((250, 270, 31, 50))  # one pixel apart: separate pieces, same group
    add((300, 320, 10, 30))
    add((320, 340, 30, 50))  # meets the last at a corner only: separate
    add((0, 30, 370, 400))  # at the tile's edge
    add((350, 380, 200, 240), (5, 7, 300, 302), (390, 392, 10, 12))  # an object and two specks
    return masks


def test_many_instances_give_exactly_the_connected_parts_of_their_union():
    tile = tile_grid(PixelWindow(0, 0, 400, 400), 400, 400, 400, 0)[0]
    masks = _many_instances()
    scores = [0.1 * (i % 9 + 1) for i in range(len(masks))]
    pieces = tile_pieces(tile, masks, scores, None, {})
    union = np.logical_or.reduce(masks)
    parts, n = ndimage.label(union)
    assert len(pieces) == n == 13
    for piece in pieces:
        drawn = rasterio.features.rasterize([piece.geometry], out_shape=union.shape).astype(bool)
        label = parts[drawn][0]
        assert (drawn == (parts == label)).all()  # the piece is exactly one connected part, holes included
        assert piece.score == pytest.approx(max(s for m, s in zip(masks, scores) if (m & drawn).any()))


def test_polygonising_scans_the_objects_not_the_whole_tile(monkeypatch):
    """Small objects and stray specks are cut out before GDAL runs, so its cost follows what was found."""
    scanned = []
    real = rasterio.features.shapes

    def spy(source, *args, **kwargs):
        scanned.append(source.size)
        return real(source, *args, **kwargs)

    monkeypatch.setattr(geometry.rasterio.features, "shapes", spy)
    tile = tile_grid(PixelWindow(0, 0, 400, 400), 400, 400, 400, 0)[0]
    masks = _many_instances()
    tile_pieces(tile, masks, [0.5] * len(masks), None, {}, min_hole_px=16)
    object_px = sum(((m.any(axis=1).sum() + 2) * (m.any(axis=0).sum() + 2)) for m in masks[:-1]) + 46 * 46
    assert len(scanned) == 1
    assert scanned[0] < 2 * object_px < 0.25 * 400 * 400


def _whole_core_pieces(tile, masks, scores, valid, min_hole_px):
    """The straightforward way: the union over the whole core, holes filled, labelled and polygonised."""
    c, w = tile.core, tile.window
    box = (slice(c.row_off - w.row_off, c.row_end - w.row_off), slice(c.col_off - w.col_off, c.col_end - w.col_off))
    union = np.logical_or.reduce([m[box] for m in masks])
    inside = np.ones_like(union) if valid is None else valid[box].copy()
    union &= inside
    if min_hole_px:
        geometry._fill_small_holes(union, inside, min_hole_px)
    labels, _ = ndimage.label(union)
    out = []
    for geom, value in rasterio.features.shapes(labels, mask=union, transform=Affine.translation(c.col_off, c.row_off)):
        poly = shapely.geometry.shape(geom)
        best = max(s for m, s in zip(masks, scores) if (labels[m[box]] == value).any())
        out.append((shapely.normalize(poly).wkb, best))
    return sorted(out)


@pytest.mark.parametrize("split_px, cell_px", [(128 * 128, 16), (64, 4), (16, 2)])
def test_pieces_equal_the_whole_core_polygonised(monkeypatch, split_px, cell_px):
    """Random overlapping, nested, ringed and speckled masks, with and without nodata and hole filling: the
    pieces, cut to boxes and packed, are the same polygons, vertex for vertex, as polygonising the whole core."""
    monkeypatch.setattr(geometry, "SPLIT_PX", split_px)
    monkeypatch.setattr(geometry, "CELL_PX", cell_px)
    rng = np.random.default_rng(split_px)
    tiles = tile_grid(PixelWindow(0, 0, 300, 300), 300, 300, 160, 20)
    nb = grid_neighbours(tiles)
    for case in range(60):
        t = tiles[case % len(tiles)]
        shape_ = (t.window.height, t.window.width)
        masks = []
        for _ in range(rng.integers(1, 10)):
            m = np.zeros(shape_, bool)
            for _ in range(rng.integers(1, 4)):
                y, x, h, w = rng.integers(0, shape_[0]), rng.integers(0, shape_[1]), *rng.integers(1, 50, 2)
                m[y : y + h, x : x + w] = True
                m[y + 3 : y + h - 3, x + 3 : x + w - 3] = rng.random() < 0.5  # some are rings
            if rng.random() < 0.3:
                m &= rng.random(shape_) > 0.1  # pinholes
            masks.append(m)
        scores = [float(v) for v in rng.random(len(masks))]
        valid = rng.random(shape_) > 0.03 if case % 3 == 0 else None
        hole = (0, 16, 40)[case % 3]
        pieces = tile_pieces(t, masks, scores, valid, nb[t.index], min_hole_px=hole)
        got = sorted((shapely.normalize(p.geometry).wkb, p.score) for p in pieces)
        assert got == _whole_core_pieces(t, masks, scores, valid, hole), f"case {case}"


def test_packed_boxes_keep_a_gap_of_background_around_each():
    rng = np.random.default_rng(3)
    sizes = [tuple(int(v) for v in rng.integers(1, 90, 2)) for _ in range(40)]
    places, (height, width) = geometry._pack(sizes)
    canvas = np.zeros((height, width), int)
    for (h, w), (y, x) in zip(sizes, places):
        assert y >= 1 and x >= 1 and y + h < height and x + w < width
        canvas[y - 1 : y + h + 1, x - 1 : x + w + 1] += 1  # each box with its ring of background
    inner = np.zeros_like(canvas)
    for (h, w), (y, x) in zip(sizes, places):
        inner[y : y + h, x : x + w] += 1
    assert inner.max() == 1 and (canvas[inner == 1] == 1).all()  # no box's ring reaches into another box
    assert height * width < 3 * sum((h + 1) * (w + 1) for h, w in sizes)


def test_geometry_path_speed_on_a_realistic_mask(record_property):
    """CPU time for mask -> polygons -> merge on an 840x840 tile with many irregular objects."""
    rng = np.random.default_rng(0)
    masks = []
    for _ in range(25):
        cy, cx, r = rng.integers(40, 800), rng.integers(40, 800), rng.integers(8, 60)
        m = _disc(840, 840, cy, cx, r) & (rng.random((840, 840)) > 0.02)  # ragged edges, pinholes
        masks.append(m)
    tiles = tile_grid(PixelWindow(0, 0, 1600, 840), 1600, 840, 840, 80)
    nb = grid_neighbours(tiles)
    start = time.process_time()
    merger = SeamMerger()
    for t in tiles:
        pieces = tile_pieces(t, masks, [0.9] * len(masks), None, nb[t.index])
        for obj in merger.add_tile(t.index, pieces):
            finish_geometry(obj.geometry, Affine.identity(), 1.0, 16)
    per_tile = (time.process_time() - start) / len(tiles)
    record_property("geometry_cpu_s_per_tile", per_tile)
    assert per_tile < 2.0
