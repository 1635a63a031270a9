"""Whole-scene strategies on a large synthetic raster, with the FAKE oracle standing in for trained weights.

The oracle sees an overview as it looks downsampled: objects under a few of its pixels are not seen. So what the
overview finds and misses follows from the scene, not from the test.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin
from scipy import ndimage

from backend.errors import OptionError
from backend.geo.raster import PixelWindow
from backend.geo.tiling import tile_grid
from backend.models.prompter import Prompter
from backend.models.prompts import Instance, PromptResult
from backend.overview import (
    BOX_MARGIN_PX,
    NOT_VISITED,
    choose_strategy,
    focus_order,
    overview_cells,
    overview_zoom,
    sample_tiles,
    tiles_meeting,
    widened,
    window_prompts,
)
from backend.pipeline import run
from backend.plan import RunStats, SegmentOptions, SegmentPlan
from tests.fakes import FakeOracle

SIZE, GSD = 8000, 0.5
ORIGIN = (500000.0, 5800000.0)
# Large objects (fields, lots): (row, col, height, width); two cross tile seams, one crosses the overview's cells.
LARGE = [(600, 700, 900, 1400), (3000, 3700, 1300, 900), (5200, 1200, 700, 700), (6100, 5600, 1200, 1600)]
SMALL_IN_TILE_0 = (200, 150, 9, 9)  # in the first tile, which auto's sample reads


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    rng = np.random.default_rng(7)
    truth = np.zeros((SIZE, SIZE), bool)
    for r, c, h, w in LARGE:
        truth[r : r + h, c : c + w] = True
    truth[1650:1900, 2000:2300] = True  # a notch: not every large object is a box
    for _ in range(120):  # many small objects (cars, sheds), too small for the overview
        r, c = rng.integers(0, SIZE - 12, size=2)
        truth[r : r + rng.integers(5, 12), c : c + rng.integers(5, 12)] = True
    r, c, h, w = SMALL_IN_TILE_0
    truth[r : r + h, c : c + w] = True
    path = tmp_path_factory.mktemp("overview") / "scene_8000.tif"
    image = np.where(truth, 220, 40).astype(np.uint8)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=SIZE,
        height=SIZE,
        count=1,
        dtype="uint8",
        crs="EPSG:32633",
        transform=from_origin(*ORIGIN, GSD, GSD),
        tiled=True,
        blockxsize=512,
        blockysize=512,
        compress="deflate",
    ) as ds:
        ds.write(image, 1)
    return path, truth


def _run(path, truth, **options):
    plan = SegmentPlan(str(path), "the large fields", SegmentOptions(min_area_px=0, **options))
    oracle = FakeOracle(truth)
    oracle.watch(plan.source)
    stats = RunStats.for_plan(plan)
    started = time.perf_counter()
    features = list(run(plan, oracle, oracle, stats))
    return plan, stats, features, time.perf_counter() - started


def _to_pixels(geom):
    """A result polygon (map coordinates) in raster pixels."""
    return shapely.affinity.affine_transform(geom, [1 / GSD, 0, 0, -1 / GSD, -ORIGIN[0] / GSD, ORIGIN[1] / GSD])


def _large_objects(truth):
    labels, _ = ndimage.label(truth)
    objects = []
    for sl in ndimage.find_objects(labels):
        if (sl[0].stop - sl[0].start) * (sl[1].stop - sl[1].start) > 100_000:
            objects.append(shapely.box(sl[1].start, sl[0].start, sl[1].stop, sl[0].stop))
    return objects


@pytest.fixture(scope="module")
def tiles_run(scene):
    return _run(*scene, strategy="tiles")


# -- the pieces ----------------------------------------------------------------------------------------------
def test_a_large_area_is_seen_in_a_grid_of_cells_none_coarser_than_the_setting():
    area = PixelWindow(0, 0, 8000, 8000)
    cells = overview_cells(area, zoom=8)
    assert len(cells) == 4
    assert all(max(c.window.width, c.window.height) <= 840 * 8 for c in cells)
    union = shapely.union_all(
        [shapely.box(c.window.col_off, c.window.row_off, c.window.col_end, c.window.row_end) for c in cells]
    )
    assert union.equals(shapely.box(0, 0, 8000, 8000))
    assert cells[0].window.col_end > cells[1].window.col_off  # neighbours overlap: an edge object is seen whole once
    assert len(overview_cells(area, zoom=16)) == 1
    assert overview_zoom(overview_cells(PixelWindow(0, 0, 500, 300), 8)) == 1.0  # small: read at native size


def test_auto_reads_every_tile_of_a_small_area_or_for_objects_the_overview_cannot_see():
    assert choose_strategy("auto", 6, 5.0).strategy == "tiles"
    small = choose_strategy("auto", 144, 5.0, object_size_px=40)
    assert small.strategy == "tiles" and "8 px" in small.reason
    big = choose_strategy("auto", 144, 5.0, object_size_px=400)
    assert (big.strategy, big.sample_step, big.label) == ("overview", 3, "auto:overview")
    assert choose_strategy("overview", 144, 5.0).sample_step == 0
    assert choose_strategy("auto", 144, 5.0, sample_step=0).sample_step == 0


@pytest.mark.parametrize(
    ("options", "word"),
    [({"strategy": "everything"}, "strategy"), ({"refine": "magic"}, "refinement"), ({"overview_zoom": 0.5}, "zoom")],
)
def test_a_bad_strategy_setting_is_refused_before_any_model(shared_data, options, word):
    with pytest.raises(OptionError, match=word) as caught:
        SegmentPlan(str(shared_data / "gorinchem_river_0p25m_epsg28992.tif"), "x", SegmentOptions(**options))
    assert caught.value.code == "bad_strategy"


def test_the_overviews_prompts_are_clipped_to_each_window_in_its_pixels():
    tiles = tile_grid(PixelWindow(0, 0, 2000, 2000), 2000, 2000)
    inst = Instance((600.0, 100.0, 900.0, 300.0), ((650.0, 200.0), (880.0, 250.0)))
    second = next(t for t in tiles if t.grid_row == 0 and t.grid_col == 1)
    (inside,) = window_prompts(second, [inst])
    off = second.window.col_off
    assert inside.box == (600.0 - off if 600 > off else 0.0, 100.0, 900.0 - off, 300.0)
    assert all(0 <= x < second.window.width for x, _ in inside.points)
    far = next(t for t in tiles if t.grid_row == 2)
    assert window_prompts(far, [inst]) == []
    assert widened(Instance(None, ((10.0, 10.0), (20.0, 30.0))), 2).box == (8.0, 8.0, 22.0, 32.0)


def test_tiles_in_view_go_first_from_its_centre_out():
    tiles = tile_grid(PixelWindow(0, 0, 5000, 5000), 5000, 5000)
    view = PixelWindow(3000, 3000, 1200, 900)
    order = focus_order(tiles, view)
    in_view = tiles_meeting(tiles, [(3000, 3000, 4200, 3900)])
    assert set(order[: len(in_view)]) == in_view and len(order) == len(tiles)
    first = tiles[order[0]].core
    assert first.col_off <= 3600 < first.col_end and first.row_off <= 3450 < first.row_end
    assert focus_order(tiles, None) == list(range(len(tiles)))
    assert sample_tiles(tiles, 3) == {t.index for t in tiles if t.grid_row in (0, 3, 6) and t.grid_col in (0, 3, 6)}


# -- the pipeline on 8,000 × 8,000 pixels -----------------------------------------------------------------------
@pytest.mark.parametrize("refine", ["sam", "prompter"])
def test_overview_reads_only_the_tiles_that_meet_its_boxes(scene, refine):
    plan, stats, features, _ = _run(*scene, strategy="overview", refine=refine)
    assert len(plan.tiles) == 144 and len(plan.cells) == 4
    assert [r.kind for r in stats.overview] == ["overview"] * 4
    boxes = [
        widened(Instance(b), BOX_MARGIN_PX * overview_zoom(plan.cells)).box for r in stats.overview for b in r.boxes
    ]
    expected = tiles_meeting(plan.tiles, boxes)
    visited = {r.index for r in stats.reports if r.status != "skipped"}
    assert visited == expected
    assert 8 <= len(visited) <= 40, len(visited)  # the large objects' tiles, not the 144
    assert all(NOT_VISITED in r.warnings for r in stats.reports if r.index not in visited)
    for box in _large_objects(scene[1]):  # every tile an object lies on is read
        assert tiles_meeting(plan.tiles, [box.bounds]) <= visited
    calls = len(plan.cells) + (len(visited) if refine == "prompter" else 0)
    assert stats.prompter_calls == calls
    assert {f.properties["strategy"] for f in features} == {"overview"}


@pytest.mark.parametrize("refine", ["sam", "prompter"])
def test_overview_polygons_match_the_tiles_for_objects_it_can_see(scene, tiles_run, refine):
    _, tile_stats, tile_features, tiles_s = tiles_run
    _, stats, features, overview_s = _run(*scene, strategy="overview", refine=refine)
    ious = []
    for obj in _large_objects(scene[1]):
        by_tiles = [_to_pixels(f.geometry) for f in tile_features if _to_pixels(f.geometry).intersects(obj)]
        by_overview = [_to_pixels(f.geometry) for f in features if _to_pixels(f.geometry).intersects(obj)]
        assert len(by_tiles) == 1 and len(by_overview) == 1, (len(by_tiles), len(by_overview))  # no duplicates
        a, b = by_tiles[0], by_overview[0]
        iou = a.intersection(b).area / a.union(b).area
        assert iou >= 0.9, (obj.bounds, iou)
        ious.append(iou)
    assert len(features) < len(tile_features)  # the small objects are the tiles' alone
    assert stats.prompter_calls < tile_stats.prompter_calls == 144
    print(
        f"\nrefine={refine}: {len(ious)} large objects, IoU with the tiles' polygons min {min(ious):.3f}; "
        f"{stats.prompter_calls} prompter calls against {tile_stats.prompter_calls}"
    )


def test_auto_with_a_sparse_sample_finds_a_small_object_the_overview_misses(scene):
    r, c, h, w = SMALL_IN_TILE_0
    small = shapely.box(c, r, c + w, r + h)
    _, _, overview_only, _ = _run(*scene, strategy="overview")
    plan, stats, auto, _ = _run(*scene, strategy="auto")
    assert plan.choice.strategy == "overview" and plan.choice.sample_step == 3
    assert not any(_to_pixels(f.geometry).intersects(small) for f in overview_only)
    found = [f for f in auto if _to_pixels(f.geometry).intersects(small)]
    assert len(found) == 1 and found[0].properties["strategy"] == "auto:overview"
    assert stats.reports[0].status == "ok" and stats.reports[0].raw_text.startswith("<think>")


class _Silent(Prompter):
    """FAKE prompter that sees nothing anywhere: ``[]`` for every image."""

    name = "fake-silent"

    def __init__(self):
        self.calls = 0

    def prompt(self, images, query, tiles=None):
        self.calls += len(images)
        return [PromptResult([], "<think>no large field here</think><answer>[]</answer>", "no_target") for _ in images]


def test_an_empty_overview_ends_at_once_with_no_target_and_its_reasoning(scene):
    plan = SegmentPlan(str(scene[0]), "the airport", SegmentOptions(strategy="overview"))
    prompter = _Silent()
    stats = RunStats.for_plan(plan)
    started = time.perf_counter()
    assert list(run(plan, prompter, FakeOracle(scene[1]), stats)) == []
    assert time.perf_counter() - started < 30
    assert prompter.calls == stats.prompter_calls == 4
    assert [r.status for r in stats.overview] == ["no_target"] * 4
    assert "no large field here" in stats.overview[0].raw_text
    assert stats.counts() == {"skipped": 144} and not stats.cancelled


class _GarbledOverview(FakeOracle):
    """FAKE oracle whose overview answer is garbage for the first cell."""

    def prompt(self, images, query, tiles=None):
        results = super().prompt(images, query, tiles)
        return [
            PromptResult([], "<answer>}{", "unparseable") if t.window == t.core and t.index == 0 else r
            for r, t in zip(results, tiles)
        ]


def test_a_garbled_overview_cell_has_all_its_tiles_read(scene):
    path, truth = scene
    plan = SegmentPlan(str(path), "fields", SegmentOptions(strategy="overview", min_area_px=0))
    oracle = _GarbledOverview(truth)
    oracle.watch(plan.source)
    stats = RunStats.for_plan(plan)
    list(run(plan, oracle, oracle, stats))
    assert stats.overview[0].status == "unparseable"
    cell = plan.cells[0].window
    under = tiles_meeting(plan.tiles, [(cell.col_off, cell.row_off, cell.col_end, cell.row_end)])
    visited = {r.index for r in stats.reports if r.status != "skipped"}
    assert under <= visited
    assert all(stats.reports[i].raw_text.startswith("<think>") for i in under)  # the prompter read them


def _first_feature_tiles(path, truth, focus):
    plan = SegmentPlan(str(path), "fields", SegmentOptions(focus=focus, min_area_px=0))
    oracle = FakeOracle(truth)
    features = run(plan, oracle, oracle, RunStats.for_plan(plan))
    first = next(iter(features))
    features.close()  # the analyst has seen it; the rest of the run is not needed here
    return plan, {int(t) for t in first.properties["tiles"].split(",")}


def test_a_tiles_job_over_a_view_brings_its_first_polygon_from_the_view(scene):
    path, truth = scene
    r, c, h, w = LARGE[2]  # the view: around the third large object, far from the raster's first tiles
    box = (c - 300, r - 300, c + w + 300, r + h + 300)
    view = [ORIGIN[0] + box[0] * GSD, ORIGIN[1] - box[3] * GSD, ORIGIN[0] + box[2] * GSD, ORIGIN[1] - box[1] * GSD]
    plan, first = _first_feature_tiles(path, truth, view)
    in_view = tiles_meeting(plan.tiles, [box])
    assert first & in_view, (first, in_view)
    _, unfocused = _first_feature_tiles(path, truth, None)  # the control: without a view, the grid's order
    assert not unfocused & in_view


def test_a_cancel_during_the_overview_is_heard_within_two_seconds(shared_data, tiny_models):
    """The real tiny prompter, left to write up to 100,000 tokens on a cell: the cancel stops it mid-answer."""
    import torch

    from backend.models.build_segmenter import load_segmenter
    from backend.models.prompter import load_prompter

    torch.set_num_threads(1)
    prompter = load_prompter(tiny_models["prompter"], device="cpu", max_new_tokens=100_000)
    segmenter = load_segmenter(tiny_models["sam2"], device="cpu")
    options = SegmentOptions(strategy="overview", tile_size=512, overlap=0)
    plan = SegmentPlan(str(shared_data / "gorinchem_river_0p25m_epsg28992.tif"), "roofs", options)
    stats = RunStats.for_plan(plan)
    cancel_at = time.monotonic() + 3.0
    features = list(run(plan, prompter, segmenter, stats, should_cancel=lambda: time.monotonic() > cancel_at))
    heard = time.monotonic() - cancel_at
    assert 0 < heard < 2.0, f"the run ended {heard:.1f} s after the cancel"
    assert stats.cancelled and features == []
    assert stats.overview and {c.status for c in stats.overview} == {"cancelled"}
    assert {r.status for r in stats.reports} == {"cancelled"}  # no tile was read after the cancel
