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


def test_the_lane_segmenter_is_made_by_one_thread_at_a_time():
    """A warm-up's handler and the click lane ask at once: one builds it (TorchScript breaks on two), both get it."""
    import threading
    import time
    from pathlib import Path

    inside, most, made = [0], [0], []
    lock = threading.Lock()

    def build(path):
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        time.sleep(0.2)
        with lock:
            inside[0] -= 1
        made.append(path)
        return object()

    cache = ModelCache(lambda p, s: (None, None), segmenter_loader=build)
    got = []
    threads = [threading.Thread(target=lambda: got.append(cache.segmenter_for(Path("/m/sam2")))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most[0] == 1 and len(made) == 1 and len(got) == 3 and got[0] is got[1] is got[2]
