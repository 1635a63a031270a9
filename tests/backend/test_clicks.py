"""Click prompts in the engine, without HTTP: the window chosen, the polygons made, the embedding shared with
queries. A FAKE segmenter returns the truth (or the box) as its mask, so the geometry can be checked for real."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

import contract
from backend.errors import UserError
from backend.geo.raster import PixelWindow, RasterSource
from backend.models.embedding_cache import EmbeddingCache
from backend.models.prompts import Instance
from backend.models.segmenter import Segmenter
from backend.pipeline import run
from backend.plan import RunStats, SegmentOptions, SegmentPlan
from backend.prompt import choose_window, segment_prompt
from tests.fakes import FakeOracle


def prompt_spec(points=(), box=None) -> contract.PromptSpec:
    """A click's request; the raster is the one the test opens."""
    return contract.PromptSpec(raster="-", points=tuple(points), box=box)


SIZE = 1600  # 3 x 3 tiles of 840 with 128 of overlap... along each axis: 840 + 2 * 712 > 1600 > 840 + 712
PX = 0.5


@pytest.fixture(scope="module")
def raster(tmp_path_factory):
    path = tmp_path_factory.mktemp("clicks") / "r.tif"
    rng = np.random.default_rng(0)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=SIZE,
        height=SIZE,
        count=3,
        dtype="uint8",
        crs="EPSG:32631",
        transform=from_origin(500000, 5000000, PX, PX),
    ) as ds:
        ds.write(rng.integers(0, 255, (3, SIZE, SIZE), dtype=np.uint8))
    return path


class FakeBoxSegmenter(Segmenter):
    """FAKE segmenter: the mask is the prompt's box, or a 40-pixel square around its first point."""

    name = "fake-box"
    device = "cpu"
    cache_id = "fake-box"

    def __init__(self):
        self.encodes = 0
        self.images = []

    def encode(self, images):
        self.encodes += len(images)
        return [type("E", (), {"hw": i.shape[:2], "nbytes": 1})() for i in images]

    def set_embedding(self, embedding):
        self.hw = embedding.hw

    def set_image(self, image):
        self.hw = image.shape[:2]

    def predict(self, instance: Instance):
        mask = np.zeros(self.hw, bool)
        if instance.box is not None:
            x0, y0, x1, y1 = (int(round(v)) for v in instance.box)
        else:
            x, y = instance.points[0]
            x0, y0, x1, y1 = int(x) - 20, int(y) - 20, int(x) + 20, int(y) + 20
        mask[max(0, y0) : y1, max(0, x0) : x1] = True
        return mask, 0.8


def map_xy(col, row):
    return 500000 + col * PX, 5000000 - row * PX


def test_a_click_uses_the_job_grids_tile_and_a_second_one_its_embedding(raster):
    seg, cache = FakeBoxSegmenter(), EmbeddingCache(2**30)
    with RasterSource(str(raster)) as src:
        first = segment_prompt(src, prompt_spec([(*map_xy(300, 300), 1)]), seg, cache)
        assert first.window == (0, 0, 840, 840) and not first.cached and seg.encodes == 1
        second = segment_prompt(src, prompt_spec([(*map_xy(310, 290), 1), (*map_xy(400, 400), 0)]), seg, cache)
        assert second.cached and seg.encodes == 1 and cache.encoded == 1
    (feature,) = first.features
    assert feature.properties["source"] == "click" and feature.properties["area_unit"] == "m²"
    expected = shapely.box(*map_xy(280, 320), *map_xy(320, 280))
    assert feature.geometry.symmetric_difference(expected).area < 1e-6


def test_prompts_across_a_tile_border_get_a_window_centred_on_them(raster):
    seg = FakeBoxSegmenter()
    with RasterSource(str(raster)) as src:
        # Tile 0's window ends at column 840 and tile 1's starts at 712: a box from 800 to 900 is in neither.
        answer = segment_prompt(src, prompt_spec(box=(*map_xy(800, 500), *map_xy(900, 400))), seg)
    c, r, w, h = answer.window
    assert w == h == 840 and c < 800 and c + w > 900 and r < 400 and r + h > 500
    assert len(answer.features) == 1
    assert answer.features[0].geometry.equals(shapely.box(*map_xy(800, 500), *map_xy(900, 400)))


def test_a_box_larger_than_a_tile_gives_one_polygon_covering_it(raster):
    seg = FakeBoxSegmenter()
    box = (*map_xy(100, 1500), *map_xy(1500, 100))  # 1400 px: larger than a tile, read at 1024 px
    with RasterSource(str(raster)) as src:
        answer = segment_prompt(src, prompt_spec(box=box), seg)
    c, r, w, h = answer.window
    assert w > 840 and c <= 100 and c + w >= 1500 and answer.scale > 1
    (feature,) = answer.features
    expected = shapely.box(*box)
    assert feature.geometry.intersection(expected).area / expected.area > 0.99
    assert feature.geometry.area / expected.area < 1.01


def test_a_query_warms_the_clicks_on_its_tiles_even_on_another_grid(raster):
    """The job lays its grid over its area; a click there finds the job's window in the cache."""
    truth = np.zeros((SIZE, SIZE), bool)
    truth[450:600, 450:700] = True
    oracle = FakeOracle(truth)
    oracle.cache_id = "oracle"
    oracle.device = "cpu"
    oracle.encode = lambda images: [type("E", (), {"hw": i.shape[:2], "nbytes": 1})() for i in images]
    oracle.set_embedding = lambda e: None
    cache = EmbeddingCache(2**30)
    area = (*map_xy(400, 1000), *map_xy(1000, 400))
    plan = SegmentPlan(str(raster), "x", SegmentOptions(bounds=area, embedding_cache=cache, min_area_px=0))
    list(run(plan, oracle, oracle, RunStats.for_plan(plan)))
    windows = [k[1] for k in cache.keys()]
    assert windows and all(w[:2] != (0, 0) for w in windows)  # not the whole raster's grid
    with RasterSource(str(raster)) as src:
        answer = segment_prompt(src, prompt_spec([(*map_xy(500, 500), 1)]), FakeBoxSegmenterNamed("oracle"), cache)
    assert answer.cached and answer.window in windows


class FakeBoxSegmenterNamed(FakeBoxSegmenter):
    def __init__(self, cache_id):
        super().__init__()
        self.cache_id = cache_id


def test_a_click_and_a_query_give_the_same_outline_for_the_same_mask(raster):
    truth = np.zeros((SIZE, SIZE), bool)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    truth[(yy - 300) ** 2 + (xx - 350) ** 2 < 70**2] = True  # a disc inside tile 0's core
    truth[280:300, 300:420] = False  # with a bite out of it
    oracle = FakeOracle(truth, margin=200)
    plan = SegmentPlan(str(raster), "x", SegmentOptions())
    (query,) = list(run(plan, oracle, oracle, RunStats.for_plan(plan)))

    class TruthSegmenter(FakeBoxSegmenter):
        def predict(self, instance):
            return truth[: self.hw[0], : self.hw[1]].copy(), 0.9

    with RasterSource(str(raster)) as src:
        (click,) = segment_prompt(src, prompt_spec([(*map_xy(350, 300), 1)]), TruthSegmenter()).features
    assert click.geometry.equals_exact(query.geometry, 1e-9)
    assert query.properties["source"] == "query" and query.properties["prompt_points"] != "[]"


@pytest.mark.parametrize(
    "request_, code",
    [
        (prompt_spec([(0.0, 0.0, 1)]), "prompt_outside"),
        (prompt_spec(box=(500010.0, 4999990.0, 500010.0, 4999995.0)), "empty_box"),
        (prompt_spec([(500010.0, 4999990.0, 1)] * 1000), "too_many_points"),
        (prompt_spec([(500010.0, 4999990.0, 0)]), "no_positive_point"),
        (prompt_spec(), "no_prompt"),
        (prompt_spec([(float("nan"), 4999990.0, 1)]), "bad_prompt"),
    ],
)
def test_bad_prompts_get_one_clear_message(raster, request_, code):
    with RasterSource(str(raster)) as src, pytest.raises(UserError) as err:
        segment_prompt(src, request_, FakeBoxSegmenter())
    assert err.value.code == code


def test_window_choice_prefers_a_cached_window_then_the_grid():
    cached = [PixelWindow(300, 300, 840, 840)]
    assert choose_window(3000, 3000, (400, 400, 420, 420), 840, 128, cached)[0] == cached[0]
    assert choose_window(3000, 3000, (100, 100, 120, 120), 840, 128, cached)[0] == PixelWindow(0, 0, 840, 840)
    window, shape = choose_window(3000, 3000, (100, 100, 2900, 2900), 840, 128)
    assert window.width > 2800 and shape is not None and max(shape) == 1024
