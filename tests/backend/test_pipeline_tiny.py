"""Every shared raster through the REAL model code: the tiny Qwen2.5-VL, whose answer is forced through
``generate()``, and the tiny SAM 2.1 / SAM. The weights are random, so only flow and placement are checked."""

import pytest
import rasterio
import shapely

from backend.models.build_segmenter import load_segmenter
from backend.models.forcing import forced_answer_kwargs
from backend.models.prompter import load_prompter
from backend.pipeline import run
from backend.plan import RunStats, SegmentOptions, SegmentPlan

ANSWER = (
    '<think>a forced answer</think><answer>```json[{"bbox_2d": [210, 210, 630, 630], '
    '"positive_points": [[420, 420], [400, 440]]}]```</answer>'
)
RASTERS = [
    ("gorinchem_river_0p25m_epsg28992.tif", 28992, 4),
    ("atlanta_pan_uint16_0p5m_epsg32616.tif", 32616, 4),
    ("colorado_cars_0p15m_epsg26913.tif", 26913, 1),
    ("landsat_rgb_nodata_epsg32618.tif", 32618, 1),
]


@pytest.fixture(scope="module")
def tiny_prompter(tiny_models):
    prompter = load_prompter(tiny_models["prompter"], device="cpu", max_new_tokens=200)
    prompter.generate_kwargs = forced_answer_kwargs(prompter.tokenizer, [ANSWER])
    return prompter


@pytest.mark.parametrize("name,epsg,n_tiles", RASTERS)
@pytest.mark.parametrize("family", ["sam2", "sam"])
def test_shared_rasters_through_tiny_models(shared_data, tiny_models, tiny_prompter, name, epsg, n_tiles, family):
    segmenter = load_segmenter(tiny_models[family], device="cpu")
    plan = SegmentPlan(str(shared_data / name), "the river", SegmentOptions(batch_size=2, min_area_px=0))
    stats = RunStats.for_plan(plan)
    features = list(run(plan, tiny_prompter, segmenter, stats))
    assert len(plan.tiles) == n_tiles
    assert [r.status for r in stats.reports] == ["ok"] * n_tiles, [r.error for r in stats.reports]
    assert all(r.instances == 1 and "a forced answer" in r.raw_text for r in stats.reports)
    assert plan.crs.to_epsg() == epsg
    with rasterio.open(shared_data / name) as ds:
        footprint = shapely.box(*ds.bounds)
    for f in features:
        assert f.geometry.is_valid and footprint.buffer(1e-6).contains(f.geometry)
        assert f.properties["prompter"] == "tiny-think2seg" and f.properties["segmenter"] == f"tiny-{family}"
        assert isinstance(f.properties["score"], float) and f.properties["area"] > 0
