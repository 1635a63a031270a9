"""``--engine ray`` on a real local Ray cluster (2 CPU workers) with the tiny models: the same polygons as the
local engine, a killed worker's tiles redone, and cancel stopping the cluster's work."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest

from backend.models.loading import EngineConfig, load_models
from backend.pipeline import run
from backend.plan import RunStats, SegmentOptions, SegmentPlan

ray = pytest.importorskip("ray")
psutil = pytest.importorskip("psutil")

pytestmark = pytest.mark.live  # a real local Ray cluster
ANSWER = (
    '<think>x</think><answer>[{"bbox_2d": [200, 200, 640, 640], "positive_points": [[420, 420], [400, 440]]}, '
    '{"bbox_2d": [0, 0, 300, 840], "positive_points": [[100, 400], [120, 500]]}]</answer>'
)


@pytest.fixture(scope="module")
def cluster():
    from backend.engines.ray_cluster import init_ray

    init_ray(num_cpus=2)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def raster(tmp_path_factory):
    import rasterio
    from rasterio.transform import from_origin

    path = tmp_path_factory.mktemp("ray") / "r.tif"
    rng = np.random.default_rng(1)
    with rasterio.open(path, "w", driver="GTiff", width=640, height=640, count=3, dtype="uint8",
                       crs="EPSG:28992", transform=from_origin(121000, 425000, 0.5, 0.5)) as dst:  # fmt: skip
        dst.write(rng.integers(0, 255, (3, 640, 640), dtype=np.uint8))
    return path


@pytest.fixture(scope="module")
def config(tiny_models):
    return EngineConfig(
        prompter=str(tiny_models["prompter"]),
        segmenter=str(tiny_models["sam2"]),
        device="cpu",
        batch_size=1,
        max_new_tokens=160,
        force_answer=ANSWER,
    )


def _plan(raster) -> SegmentPlan:
    return SegmentPlan(str(raster), "roofs", SegmentOptions(tile_size=256, overlap=64, min_area_px=0))


def _shapes(features) -> list:
    """The polygons, in a canonical order (merging in another tile order gives the same shapes, possibly with
    their vertices listed differently: they are compared topologically, with :func:`_same`)."""
    geoms = [f.geometry for f in features]
    return sorted(geoms, key=lambda g: (round(g.area, 2), round(g.centroid.x, 2), round(g.centroid.y, 2)))


def _same(a: list, b: list) -> bool:
    return len(a) == len(b) and all(x.equals(y) for x, y in zip(a, b))


@pytest.fixture(scope="module")
def local_shapes(raster, config):
    plan = _plan(raster)
    prompter, segmenter = load_models(config, *config.resolve())
    with plan:
        return _shapes(run(plan, prompter, segmenter, RunStats.for_plan(plan)))


def _workers() -> list:
    return [p for p in psutil.process_iter(["cmdline"]) if "TileWorker" in " ".join(p.info["cmdline"] or [])]


def test_the_cluster_gives_the_local_engines_polygons(cluster, raster, config, local_shapes):
    from backend.engines.ray_cluster import run_on_ray

    plan = _plan(raster)
    stats = RunStats.for_plan(plan)
    shapes = _shapes(run_on_ray(plan, config, config.resolve(), stats, workers=2))
    assert len(plan.tiles) == 9 and [r.status for r in stats.reports] == ["ok"] * 9
    assert all(r.raw_text.startswith("<think>x</think>") for r in stats.reports)
    assert local_shapes and _same(shapes, local_shapes)


def test_a_killed_worker_has_its_tiles_redone(cluster, raster, config, local_shapes):
    from backend.engines.ray_cluster import run_on_ray

    plan = _plan(raster)
    stats = RunStats.for_plan(plan)
    killed: list[int] = []

    def on_tile(report) -> None:
        if not killed:
            victim = _workers()[0]
            killed.append(victim.pid)
            os.kill(victim.pid, signal.SIGKILL)

    shapes = _shapes(run_on_ray(plan, config, config.resolve(), stats, workers=2, on_tile=on_tile))
    assert killed and [r.status for r in stats.reports] == ["ok"] * 9
    assert _same(shapes, local_shapes)


def test_cancel_stops_the_cluster(cluster, raster, config):
    from backend.engines.ray_cluster import run_on_ray

    plan = _plan(raster)
    stats = RunStats.for_plan(plan)
    seen: list[int] = []
    list(run_on_ray(plan, config, config.resolve(), stats, workers=2, should_cancel=lambda: bool(seen),
                    on_tile=lambda r: seen.append(r.index)))  # fmt: skip
    statuses = [r.status for r in stats.reports]
    assert stats.cancelled and "cancelled" in statuses and statuses.count("ok") < 9
    deadline = time.monotonic() + 20
    while _workers() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _workers()  # the actors are gone, and their memory with them


def test_segment_engine_ray_on_the_command_line(cluster, raster, tiny_models, local_shapes, tmp_path, capsys):
    import geopandas as gpd

    from backend.cli import main

    out = tmp_path / "ray.gpkg"
    rc = main(["segment", str(raster), "roofs", "-o", str(out), "--engine", "ray", "--workers", "2",
               "--prompter", str(tiny_models["prompter"]), "--segmenter", str(tiny_models["sam2"]), "--device", "cpu",
               "--force-answer", ANSWER, "--tile-size", "256", "--overlap", "64", "--min-area", "0", "-q"])  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    written = gpd.read_file(out)
    assert len(written) == len(local_shapes)
    assert abs(written.geometry.union_all().area - sum(g.area for g in local_shapes)) < 1e-6 * written.area.sum()
