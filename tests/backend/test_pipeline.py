"""The whole pipeline over real rasters, with the FAKE oracle standing in for trained weights."""

import numpy as np
import pytest
import rasterio
import shapely
from rasterio.features import rasterize
from rasterio.transform import from_origin

from backend.errors import RasterError, UserError
from backend.models.prompter import Prompter
from backend.pipeline import run
from backend.plan import RunStats, SegmentOptions, SegmentPlan
from tests.fakes import FakeBoxSegmenter, FakeFailingPrompter, FakeOracle

RASTERS = [
    "gorinchem_river_0p25m_epsg28992.tif",
    "atlanta_pan_uint16_0p5m_epsg32616.tif",
    "colorado_cars_0p15m_epsg26913.tif",
    "landsat_rgb_nodata_epsg32618.tif",
]


def _run(path, truth, **opts):
    plan = SegmentPlan(str(path), "buildings", SegmentOptions(**opts))
    stats = RunStats.for_plan(plan)
    oracle = FakeOracle(truth)
    return plan, stats, list(run(plan, oracle, oracle, stats)), oracle


def test_atlanta_footprints_come_back_on_the_footprints(shared_data):
    import geopandas as gpd

    path = shared_data / "atlanta_pan_uint16_0p5m_epsg32616.tif"
    truth_gdf = gpd.read_file(shared_data / "atlanta_buildings.geojson")
    with rasterio.open(path) as ds:
        assert truth_gdf.crs.to_epsg() == 32616 == ds.crs.to_epsg()
        truth = rasterize(truth_gdf.geometry, out_shape=ds.shape, transform=ds.transform).astype(bool)
        footprint = shapely.box(*ds.bounds)
    plan, _, features, _ = _run(path, truth, tile_size=400, overlap=64)
    assert len(plan.tiles) == 9 and features
    assert plan.crs.to_epsg() == 32616
    found = shapely.union_all([f.geometry for f in features])
    expected = shapely.union_all(list(truth_gdf.geometry)).intersection(footprint)
    iou = found.intersection(expected).area / found.union(expected).area
    assert iou > 0.85, iou
    for f in features:
        assert footprint.contains(f.geometry)
        assert f.properties["area_unit"] == "m²"
        assert f.properties["area"] == pytest.approx(f.geometry.area, rel=1e-6)
    # every footprint that lies in the raster is found
    inside = [g for g in truth_gdf.geometry if footprint.contains(g) and g.area > 10]
    assert all(found.intersection(g).area / g.area > 0.7 for g in inside)


@pytest.mark.parametrize("name", RASTERS)
def test_every_shared_raster_goes_through(shared_data, name):
    path = shared_data / name
    with rasterio.open(path) as ds:
        h, w = ds.shape
        truth = np.zeros((h, w), bool)
        truth[h // 3 : h // 2, w // 4 : w // 2] = True
        footprint = shapely.box(*ds.bounds)
    _, stats, features, _ = _run(path, truth, tile_size=512, overlap=64)
    assert all(r.status in ("ok", "no_target", "skipped") for r in stats.reports), [r.error for r in stats.reports]
    assert all(footprint.buffer(1e-6).contains(f.geometry) for f in features)
    if "landsat" not in name:  # there the box may fall on nodata
        assert len(features) == 1


def test_object_spanning_four_tiles_is_one_polygon_with_the_true_area(tmp_path):
    rng = np.random.default_rng(1)
    h = w = 1100
    path = tmp_path / "synthetic.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=w,
        height=h,
        count=3,
        dtype="uint8",
        crs="EPSG:32631",
        transform=from_origin(600000, 5700000, 0.5, 0.5),
    ) as ds:
        ds.write(rng.integers(0, 255, (3, h, w), dtype=np.uint8))
    yy, xx = np.mgrid[0:h, 0:w]
    truth = (yy + 0.5 - 550) ** 2 + (xx + 0.5 - 550) ** 2 <= 300**2
    plan, _, features, oracle = _run(path, truth, tile_size=640, overlap=128)
    assert len(plan.tiles) == 4
    assert len(features) == 1
    true_area = truth.sum() * 0.25
    assert abs(features[0].geometry.area - true_area) / true_area < 0.01
    assert features[0].properties["tiles"] == "0,1,2,3"
    assert oracle.encodes == 4


def test_no_target_gives_no_features_but_a_report(shared_data):
    path = shared_data / "colorado_cars_0p15m_epsg26913.tif"
    with rasterio.open(path) as ds:
        truth = np.zeros(ds.shape, bool)
    _, stats, features, _ = _run(path, truth)
    assert features == [] and [r.status for r in stats.reports] == ["no_target"]
    assert "fake oracle" in stats.reports[0].raw_text


def test_area_bounds_limit_the_search(shared_data):
    path = shared_data / "gorinchem_river_0p25m_epsg28992.tif"
    with rasterio.open(path) as ds:
        truth = np.zeros(ds.shape, bool)
        truth[100:200, 100:200] = True
        truth[700:800, 700:800] = True
        left, bottom, right, top = ds.bounds
    area = (left, bottom, left + 125, bottom + 125)  # the lower-left 500x500 pixels
    _, _, features, _ = _run(path, truth, bounds=area, tile_size=512, overlap=64)
    assert len(features) == 0 or all(shapely.box(*area).buffer(1e-6).contains(f.geometry) for f in features)
    area = (left, top - 125, left + 125, top)  # the upper-left corner holds the first square
    _, _, features, _ = _run(path, truth, bounds=area, tile_size=512, overlap=64)
    assert len(features) == 1
    with pytest.raises(RasterError, match="outside the raster"):
        SegmentPlan(str(path), "x", SegmentOptions(bounds=(0, 0, 10, 10)))


def test_bad_requests_fail_before_any_model_work(shared_data):
    path = str(shared_data / "gorinchem_river_0p25m_epsg28992.tif")
    with pytest.raises(UserError, match="query is empty"):
        SegmentPlan(path, "  ", SegmentOptions())
    with pytest.raises(UserError, match="(?i)tile size"):
        SegmentPlan(path, "x", SegmentOptions(tile_size=8))
    with pytest.raises(RasterError, match="limit of 1"):
        SegmentPlan(path, "x", SegmentOptions(tile_size=256, max_tiles=1))


def _grid_truth(path):
    with rasterio.open(path) as ds:
        truth = np.zeros(ds.shape, bool)
    truth[50:100, ::200] = True
    return truth


def test_cancel_stops_at_a_tile_boundary_and_keeps_what_was_found(shared_data):
    path = shared_data / "gorinchem_river_0p25m_epsg28992.tif"
    truth = np.zeros((1000, 1000), bool)
    truth[20:60, 20:60] = True
    plan = SegmentPlan(str(path), "x", SegmentOptions(tile_size=128, overlap=0, batch_size=1))
    stats = RunStats.for_plan(plan)
    oracle = FakeOracle(truth)
    done = []
    features = list(run(plan, oracle, oracle, stats, should_cancel=lambda: len(done) >= 3, on_tile=done.append))
    # A batch already segmented while the cancel came is kept: at most one batch (one tile) more.
    assert stats.cancelled and len(done) in (3, 4)
    assert len(features) == 1
    statuses = [r.status for r in stats.reports]
    assert statuses.count("cancelled") == len(plan.tiles) - len(done)
    assert all(r.status in ("ok", "no_target") for r in done)


def test_a_failing_tile_is_recorded_and_the_job_goes_on(shared_data):
    path = shared_data / "gorinchem_river_0p25m_epsg28992.tif"
    truth = np.zeros((1000, 1000), bool)
    truth[600:650, 600:650] = True  # in the last tile
    oracle = FakeOracle(truth)
    prompter = FakeFailingPrompter(RuntimeError("model exploded"), fail_on={1}, inner=oracle)
    plan = SegmentPlan(str(path), "x", SegmentOptions(tile_size=512, overlap=0, batch_size=1))
    stats = RunStats.for_plan(plan)
    features = list(run(plan, prompter, oracle, stats))
    assert stats.reports[0].status == "error" and "model exploded" in stats.reports[0].error
    assert [r.status for r in stats.reports[1:]] == ["no_target", "no_target", "ok"]
    assert len(features) == 1


def test_out_of_memory_halves_the_batch_then_reports(shared_data):
    class OutOfMemoryError(RuntimeError):
        pass

    path = shared_data / "gorinchem_river_0p25m_epsg28992.tif"
    truth = np.zeros((1000, 1000), bool)
    oracle = FakeOracle(truth)

    class OomForBigBatches(Prompter):
        name = "fake-oom"
        sizes = []

        def prompt(self, images, query, tiles=None):
            self.sizes.append(len(images))
            if len(images) > 1:
                raise OutOfMemoryError("CUDA out of memory")
            return oracle.prompt(images, query, tiles=tiles)

    p = OomForBigBatches()
    plan = SegmentPlan(str(path), "x", SegmentOptions(tile_size=400, overlap=0, batch_size=4))
    stats = RunStats.for_plan(plan)
    list(run(plan, p, oracle, stats))
    assert p.sizes[:3] == [4, 2, 1] and all(r.status == "no_target" for r in stats.reports)
    plan = SegmentPlan(str(path), "x", SegmentOptions(tile_size=400, overlap=0, batch_size=1))
    stats = RunStats.for_plan(plan)
    list(run(plan, FakeFailingPrompter(OutOfMemoryError("CUDA out of memory")), oracle, stats))
    assert all("out of memory" in r.error for r in stats.reports)


class FakeWholeImagePrompter(Prompter):
    """FAKE prompter: one instance, the whole image's box, on every image it is shown."""

    name = "fake-whole-image"

    def __init__(self) -> None:
        self.shown = 0

    def prompt(self, images, query, tiles=None):
        from backend.models.prompts import Instance, PromptResult

        self.shown += len(images)
        return [PromptResult([Instance((0, 0, i.shape[1], i.shape[0]))], "whole image", "ok") for i in images]


def _sparse_raster(path, width: int, height: int, col: int, row: int, cols: int, rows: int):
    """A tiled GeoTIFF of nodata (its empty blocks never written) but for one block of valid pixels."""
    from rasterio.windows import Window

    profile = dict(driver="GTiff", width=width, height=height, count=3, dtype="uint8", nodata=0, crs="EPSG:28992",
                   transform=from_origin(120_000, 430_000, 0.25, 0.25), tiled=True, blockxsize=512, blockysize=512,
                   compress="deflate", SPARSE_OK=True)  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.full((3, rows, cols), 200, np.uint8), window=Window(col, row, cols, rows))
    return path


def test_a_small_valid_patch_in_a_huge_nodata_raster_is_read(tmp_path):
    """30,000² px of nodata but for 10×10 px: the coarse overview misses it; a read finds it, and its polygon comes."""
    path = _sparse_raster(tmp_path / "sparse.tif", 30_000, 30_000, 17_003, 21_007, 10, 10)
    plan = SegmentPlan(str(path), "the patch", SegmentOptions(tile_size=512, overlap=0, max_tiles=4000))
    assert plan.tiles_with_data == 1
    stats, prompter = RunStats.for_plan(plan), FakeWholeImagePrompter()
    features = list(run(plan, prompter, FakeBoxSegmenter(), stats))
    assert prompter.shown == 1 and len(features) == 1
    x0, y0 = 120_000 + 17_003 * 0.25, 430_000 - 21_007 * 0.25
    assert features[0].geometry.bounds == pytest.approx((x0, y0 - 2.5, x0 + 2.5, y0))
    assert sum(r.status == "skipped" for r in stats.reports) == len(plan.tiles) - 1


def test_a_strip_of_valid_pixels_narrower_than_the_overview_sees_is_read(tmp_path):
    """A 12 px wide strip down a 30,000 px wide raster: every tile it crosses is read, none skipped as empty."""
    path = _sparse_raster(tmp_path / "strip.tif", 30_000, 2_048, 20_001, 0, 12, 2_048)
    plan = SegmentPlan(str(path), "the strip", SegmentOptions(tile_size=512, overlap=0))
    crossed = [t.index for t in plan.tiles if t.core.col_off <= 20_001 < t.core.col_off + t.core.width]
    assert len(crossed) == 4 and [plan.has_data[i] for i in crossed] == [True] * 4
    stats = RunStats.for_plan(plan)
    list(run(plan, FakeWholeImagePrompter(), FakeBoxSegmenter(), stats))
    assert [stats.reports[i].status for i in crossed] == ["ok"] * 4
