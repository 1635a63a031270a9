"""Device-dependent defaults, and what unloading the server's models frees."""

import numpy as np

from backend.devices import default_batch_size
from backend.models.embedding_cache import shared_cache
from backend.service.models import ModelCache


def test_batch_size_defaults_to_one_on_the_cpu_and_four_on_cuda():
    assert default_batch_size("cpu") == 1
    assert default_batch_size("cuda:0") == 16
    assert default_batch_size("cpu", 3) == 3
    assert default_batch_size("cuda", 0) == 1


def test_unloading_the_models_empties_the_embedding_cache():
    models = ModelCache(lambda prompter, segmenter: ("fake prompter", "fake segmenter"))
    models.get(("p", "s"))
    cache = shared_cache()
    cache.put(("raster", (0, 0, 8, 8)), np.zeros(16, np.float32))
    assert len(cache) >= 1
    assert models.unload() is True
    assert len(cache) == 0 and models.loaded() == {}
