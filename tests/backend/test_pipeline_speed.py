"""The pipeline's speed options (read-ahead thread, polygon threads, batching) change timings, never results."""

from __future__ import annotations

import numpy as np
import rasterio
from rasterio.transform import from_origin

from backend.pipeline import run
from backend.plan import RunStats, SegmentOptions, SegmentPlan
from tests.fakes import FakeOracle


def _raster(tmp_path):
    rng = np.random.default_rng(5)
    h, w = 900, 1300
    path = tmp_path / "r.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=w,
        height=h,
        count=1,
        dtype="uint16",
        crs="EPSG:32616",
        transform=from_origin(740000, 3740000, 0.5, 0.5),
    ) as ds:
        ds.write(rng.integers(0, 4000, (1, h, w), dtype=np.uint16))
    truth = np.zeros((h, w), bool)
    for i in range(12):  # squares, some across tile seams
        r, c = 60 + 70 * i, 90 * i + 20
        truth[r : r + 50, c : c + 120] = True
    return path, truth


def _features(path, truth, **opts):
    plan = SegmentPlan(str(path), "x", SegmentOptions(tile_size=400, overlap=64, **opts))
    stats = RunStats.for_plan(plan)
    oracle = FakeOracle(truth)
    seen = []
    feats = [(f.geometry.wkb, f.properties["tiles"]) for f in run(plan, oracle, oracle, stats, on_tile=seen.append)]
    assert [r.index for r in seen] == list(range(len(plan.tiles)))  # on_tile once per tile, in order
    return plan, stats, feats


def test_speed_options_give_identical_features(tmp_path):
    path, truth = _raster(tmp_path)
    plain_plan, _, plain = _features(path, truth, batch_size=1, prefetch=False, cpu_threads=0)
    assert len(plain_plan.tiles) == 12 and len(plain) >= 10
    for opts in ({"batch_size": 4}, {"batch_size": 3, "cpu_threads": 1}, {"batch_size": 1, "prefetch": True}):
        _, stats, feats = _features(path, truth, **opts)
        assert feats == plain, opts
        assert all(r.status in ("ok", "no_target") for r in stats.reports)


def test_stage_timings_and_first_feature(tmp_path):
    path, truth = _raster(tmp_path)
    _, stats, feats = _features(path, truth, batch_size=4)
    t = stats.timings
    assert t["read"] > 0 and t["prompt"] > 0 and t["decode_masks"] > 0 and t["polygons"] > 0 and t["merge"] > 0
    # FakeOracle has no batched encoder: set_image runs per tile with instances, timed as "encode".
    assert t["encode"] > 0 and t.get("encode_cached", 0) == 0
    assert stats.first_feature_s is not None and 0 < stats.first_feature_s


def test_cancel_with_read_ahead_still_stops_at_a_tile_boundary(tmp_path):
    path, truth = _raster(tmp_path)
    plan = SegmentPlan(str(path), "x", SegmentOptions(tile_size=400, overlap=64, batch_size=2, prefetch=True))
    stats = RunStats.for_plan(plan)
    oracle = FakeOracle(truth)
    done = []
    list(run(plan, oracle, oracle, stats, should_cancel=lambda: len(done) >= 4, on_tile=done.append))
    # A batch segmented while the earlier one was being merged is kept: at most one batch (2 tiles) more.
    assert stats.cancelled and len(done) in (4, 6)
    assert [r.status for r in stats.reports].count("cancelled") == len(plan.tiles) - len(done)


def test_first_batch_is_reported_before_the_next_batch_starts(tmp_path):
    """Later batches may be merged while the next one runs on the GPU; the first one never waits."""
    path, truth = _raster(tmp_path)
    plan = SegmentPlan(str(path), "x", SegmentOptions(tile_size=400, overlap=64, batch_size=4, cpu_threads=2))
    oracle = FakeOracle(truth)
    done, reported_at_prompt = [], []
    prompt = oracle.prompt

    def recording_prompt(images, query, tiles=None):
        reported_at_prompt.append(len(done))
        return prompt(images, query, tiles=tiles)

    oracle.prompt = recording_prompt
    features = list(run(plan, oracle, oracle, on_tile=done.append))
    assert reported_at_prompt[:2] == [0, 4] and len(reported_at_prompt) == 3
    assert len(done) == len(plan.tiles) == 12 and features
