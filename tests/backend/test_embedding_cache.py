"""The SAM embedding cache: LRU bookkeeping, and a second query on the same area skipping the encoder."""

from __future__ import annotations

import os

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from backend.geo.raster import raster_identity
from backend.models.build_segmenter import load_segmenter
from backend.models.embedding_cache import EmbeddingCache, embedding_key
from backend.models.forcing import forced_answer_kwargs
from backend.models.prompter import load_prompter
from backend.models.segmenter import Segmenter
from backend.pipeline import run
from backend.plan import RunStats, SegmentOptions, SegmentPlan

ANSWER = (
    '<think>forced</think><answer>```json[{"bbox_2d": [210, 210, 630, 630], '
    '"positive_points": [[420, 420], [400, 440]]}]```</answer>'
)


class Blob:
    def __init__(self, nbytes: int):
        self.nbytes = nbytes


def test_lru_is_bounded_by_bytes_and_counts_hits():
    cache = EmbeddingCache(100)
    cache.put("a", Blob(40))
    cache.put("b", Blob(40))
    assert cache.get("a").nbytes == 40  # "a" is now the most recently used
    cache.put("c", Blob(40))  # 120 > 100: the least recently used ("b") goes
    assert cache.get("b") is None and cache.get("a") is not None and cache.get("c") is not None
    assert (len(cache), cache.bytes, cache.hits, cache.misses) == (2, 80, 3, 1)
    cache.put("a", Blob(10))  # replacing a key frees its old size: 10 + 40
    assert cache.bytes == 50
    cache.put("huge", Blob(101))  # larger than the whole budget: not kept, nothing evicted
    assert cache.get("huge") is None and len(cache) == 2
    off = EmbeddingCache(0)
    off.put("x", Blob(1))
    assert off.get("x") is None


def test_key_changes_when_the_raster_is_rewritten(tmp_path):
    path = tmp_path / "r.tif"
    path.write_bytes(b"one")
    first = raster_identity(str(path))
    os.utime(path, ns=(1, 1))
    assert raster_identity(str(path)) != first
    seg = type("S", (), {"cache_id": "sam:1"})()
    k = embedding_key(first, (0, 0, 840, 840), (1, 1, 1), seg)
    assert k == embedding_key(first, (0, 0, 840, 840), (1, 1, 1), seg)
    assert k != embedding_key(first, (0, 0, 840, 841), (1, 1, 1), seg)
    assert k != embedding_key(first, (0, 0, 840, 840), (3, 2, 1), seg)
    assert k != embedding_key(first, (0, 0, 840, 840), (1, 1, 1), type("S", (), {"cache_id": "sam:2"})())


@pytest.fixture(scope="module")
def raster(tmp_path_factory):
    path = tmp_path_factory.mktemp("cache") / "r.tif"
    rng = np.random.default_rng(3)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=700,
        height=400,
        count=3,
        dtype="uint8",
        crs="EPSG:32631",
        transform=from_origin(600000, 5700000, 0.5, 0.5),
    ) as ds:
        ds.write(rng.integers(0, 255, (3, 400, 700), dtype=np.uint8))
    return path


@pytest.fixture(scope="module")
def prompter(tiny_models):
    p = load_prompter(tiny_models["prompter"], device="cpu", max_new_tokens=120, batch_size=2)
    p.generate_kwargs = forced_answer_kwargs(p.tokenizer, [ANSWER])
    return p


class CountingEncoder(Segmenter):
    """Counts the images that reach a real segmenter's encoder."""

    def __init__(self, inner, device: str = "cpu"):
        self.inner, self.encoded, self.batches = inner, 0, []
        self.name, self.cache_id = inner.name, inner.cache_id
        self.device = device  # "cuda" makes the pipeline batch the encoder (it batches on GPUs only)

    def encode(self, images):
        self.encoded += len(images)
        self.batches.append(len(images))
        return self.inner.encode(images)

    def set_embedding(self, embedding):
        self.inner.set_embedding(embedding)

    def set_image(self, image):
        self.encoded += 1
        self.inner.set_image(image)

    def predict(self, instance):
        return self.inner.predict(instance)


def _run(raster, prompter, segmenter, cache, **kw):
    opts = SegmentOptions(tile_size=256, overlap=32, batch_size=2, min_area_px=0, embedding_cache=cache, **kw)
    plan = SegmentPlan(str(raster), "x", opts)
    stats = RunStats.for_plan(plan)
    features = list(run(plan, prompter, segmenter, stats))
    return plan, stats, [(f.geometry.wkb, f.properties["score"], f.properties["tiles"]) for f in features]


@pytest.mark.parametrize("family,device", [("sam2", "cpu"), ("sam", "cpu"), ("sam2", "cuda")])
def test_second_query_skips_the_encoder_with_identical_results(tiny_models, prompter, raster, family, device):
    segmenter = CountingEncoder(load_segmenter(tiny_models[family], device="cpu"), device)
    cache = EmbeddingCache(2**30)
    plan, _, first = _run(raster, prompter, segmenter, cache)
    tiles = len(plan.tiles)
    assert tiles == 6 and segmenter.encoded == tiles and len(cache) == tiles and cache.hits == 0
    assert segmenter.batches == ([2, 2, 2] if device == "cuda" else [1] * 6)
    assert first, "the forced box should give polygons"
    _, stats2, second = _run(raster, prompter, segmenter, cache)
    assert segmenter.encoded == tiles  # nothing more was encoded
    assert cache.hits == tiles and stats2.timings["encode_cached"] == tiles
    assert second == first
    # Without the cache, the same features again (so the cache changes nothing but the time).
    _, _, third = _run(raster, prompter, segmenter, None, cache_embeddings=False)
    assert segmenter.encoded == 2 * tiles and third == first


def test_a_small_budget_keeps_only_the_latest_tiles(tiny_models, prompter, raster):
    segmenter = CountingEncoder(load_segmenter(tiny_models["sam2"], device="cpu"))
    probe = segmenter.inner.encode([np.zeros((256, 256, 3), np.uint8)])[0]
    cache = EmbeddingCache(2 * probe.nbytes)
    plan, _, _ = _run(raster, prompter, segmenter, cache)
    assert len(cache) == 2 and cache.bytes <= cache.max_bytes
    # LRU: the last batch (tiles 4 and 5) is kept, the first ones were evicted.
    keys = [embedding_key(plan.raster_id, _window(t), plan.source.bands, segmenter) for t in plan.tiles]
    assert [cache.get(key) is not None for key in keys] == [False] * 4 + [True] * 2
    # A second pass evicts tiles 4 and 5 (while encoding 0 and 1) before reaching them: all six are encoded again.
    _run(raster, prompter, segmenter, cache)
    assert segmenter.encoded == 2 * len(plan.tiles)


def _window(tile):
    w = tile.window
    return (w.col_off, w.row_off, w.width, w.height)


@pytest.mark.parametrize("family", ["sam2", "sam"])
def test_batched_encoding_matches_one_image_at_a_time(tiny_models, family):
    from backend.models.prompts import Instance

    segmenter = load_segmenter(tiny_models[family], device="cpu")
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (300, 260, 3), dtype=np.uint8) for _ in range(3)]
    instance = Instance((40.0, 50.0, 200.0, 220.0), ((100.0, 120.0),))
    embeddings = segmenter.encode(images)
    assert [e.hw for e in embeddings] == [(300, 260)] * 3 and all(e.nbytes > 0 for e in embeddings)
    for image, emb in zip(images, embeddings):
        segmenter.set_image(image)
        single, s1 = segmenter.predict(instance)
        segmenter.set_embedding(emb)
        batched, s2 = segmenter.predict(instance)
        assert single.shape == batched.shape == (300, 260)
        assert (single == batched).mean() > 0.99 and s1 == pytest.approx(s2, abs=1e-3)
