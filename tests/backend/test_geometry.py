"""Masks to polygons, and seams: an object cut by tile borders comes back whole."""

import time

import numpy as np
import shapely
from affine import Affine

from backend.geometry import SeamMerger, finish_geometry, grid_neighbours, tile_pieces
from backend.raster import PixelWindow
from backend.tiling import tile_grid


def _disc(h, w, cy, cx, r):
    yy, xx = np.mgrid[0:h, 0:w]
    return (yy + 0.5 - cy) ** 2 + (xx + 0.5 - cx) ** 2 <= r * r


def _run(truth, tiles, order=None):
    merger, nb, out = SeamMerger(), grid_neighbours(tiles), []
    for t in (order or tiles):
        w = t.window
        m = truth[w.row_off:w.row_end, w.col_off:w.col_end]
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
        m = truth[w.row_off:w.row_end, w.col_off:w.col_end]
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
        m = truth[t.window.row_off:t.window.row_end, t.window.col_off:t.window.col_end]
        objects += merger.add_tile(t.index, tile_pieces(t, [m], [0.9], None, nb[t.index], min_hole_px=16))
    objects += merger.flush()
    assert len(objects) == 2
    first, second = sorted(objects, key=lambda o: o.geometry.bounds[1])
    assert [round(r.area) for r in (shapely.Polygon(i) for i in first.geometry.interiors)] == [400]
    assert [round(shapely.Polygon(i).area) for i in second.geometry.interiors] == [20]


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
