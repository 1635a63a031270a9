"""The job queue in-process, with FAKE models: warm model cache, idle unload, load failures, GPU out-of-memory
retries, cancel and shutdown. No HTTP here; see test_server.py for the real server."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from backend.models.loading import EngineConfig
from backend.models.prompter import Prompter
from backend.plan import SegmentOptions, SegmentPlan
from backend.service.jobs import CANCELLED, DONE, FAILED, Job, JobQueue
from tests.fakes import FakeFailingPrompter, FakeOracle

SIZE = 256


@pytest.fixture(scope="module")
def raster(tmp_path_factory):
    """A 256×256 RGB GeoTIFF in UTM with two bright squares, and the truth mask of those squares."""
    truth = np.zeros((SIZE, SIZE), bool)
    truth[20:60, 30:90] = True
    truth[150:230, 140:200] = True
    path = tmp_path_factory.mktemp("jobs") / "squares.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=SIZE,
        height=SIZE,
        count=3,
        dtype="uint8",
        crs="EPSG:32631",
        transform=from_origin(500000, 5000000, 0.5, 0.5),
    ) as ds:
        ds.write(np.stack([truth.astype(np.uint8) * 200 + 20] * 3))
    return path, truth


class FakeLoader:
    """FAKE model loader: hands out a given prompter and segmenter, counting loads; can be told to fail."""

    def __init__(self, prompter, segmenter, fail: Exception | None = None):
        self.prompter, self.segmenter, self.fail, self.loads = prompter, segmenter, fail, 0

    def __call__(self, prompter_path, segmenter_path):
        self.loads += 1
        if self.fail is not None:
            raise self.fail
        return self.prompter, self.segmenter


class FakeSlowPrompter(Prompter):
    """FAKE prompter that takes ``seconds`` per call, as a real model on a slow device would."""

    name = "fake-slow"

    def __init__(self, inner, seconds: float):
        self.inner, self.seconds = inner, seconds

    def prompt(self, images, query, tiles=None):
        time.sleep(self.seconds)
        return self.inner.prompt(images, query, tiles=tiles)


def make_job(path, tile_size=128, overlap=0, batch_size=2, key=("p", "s")) -> Job:
    plan = SegmentPlan(
        str(path), "squares", SegmentOptions(tile_size=tile_size, overlap=overlap, batch_size=batch_size, min_area_px=0)
    )
    return Job(plan, {"prompter": key[0], "segmenter": key[1]}, key)


def wait(job: Job, states=(DONE, FAILED, CANCELLED), timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while (status := job.status())["state"] not in states:
        assert time.monotonic() < deadline, status
        time.sleep(0.01)
    return status


@pytest.fixture
def queue_factory():
    queues = []

    def make(loader, idle_unload=None, **config) -> JobQueue:
        q = JobQueue(EngineConfig(**config), loader, idle_unload=idle_unload)
        q.start()
        queues.append(q)
        return q

    yield make
    for q in queues:
        q.stop()


def test_models_load_once_stay_warm_and_unload_when_idle(raster, queue_factory):
    path, truth = raster
    oracle = FakeOracle(truth)
    loader = FakeLoader(oracle, oracle)
    q = queue_factory(loader, idle_unload=0.3)
    first, second = make_job(path), make_job(path)
    q.submit(first)
    q.submit(second)
    assert wait(first)["state"] == DONE and wait(second)["state"] == DONE
    assert loader.loads == 1  # the second job reused the warm models
    features, nxt, state = second.features()
    assert state == DONE and nxt == len(features) == 2 and second.status()["features"] == 2
    assert second.features(after=1)[0] == features[1:] and second.features(after=5) == ([], 5, DONE)
    assert second.plan is None  # a finished job holds no reference to its raster or models
    deadline = time.monotonic() + 5
    while q.models.loaded():
        assert time.monotonic() < deadline, "models were not unloaded when idle"
        time.sleep(0.02)
    third = make_job(path)
    q.submit(third)
    assert wait(third)["state"] == DONE and loader.loads == 2


def test_other_models_replace_the_loaded_ones(raster, queue_factory):
    path, truth = raster
    oracle = FakeOracle(truth)
    loader = FakeLoader(oracle, oracle)
    q = queue_factory(loader)
    for key in [("a", "s"), ("b", "s"), ("b", "s")]:
        job = make_job(path, key=key)
        q.submit(job)
        assert wait(job)["state"] == DONE
    assert loader.loads == 2


def test_a_failed_model_load_fails_the_job_and_the_queue_goes_on(raster, queue_factory):
    path, truth = raster
    oracle = FakeOracle(truth)
    loader = FakeLoader(oracle, oracle, fail=RuntimeError("CUDA error: no kernel image is available"))
    q = queue_factory(loader)
    bad = make_job(path)
    q.submit(bad)
    status = wait(bad)
    assert status["state"] == FAILED and "could not be loaded" in status["error"]
    assert "no kernel image" in status["error"]
    loader.fail = None
    good = make_job(path)
    q.submit(good)
    assert wait(good)["state"] == DONE


def test_out_of_memory_retries_with_smaller_batches_then_reports(raster, queue_factory):
    path, truth = raster
    oracle = FakeOracle(truth)
    oom = RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
    once = FakeFailingPrompter(oom, fail_on={1}, inner=oracle)
    q = queue_factory(FakeLoader(once, oracle))
    job = make_job(path, batch_size=4)
    q.submit(job)
    status = wait(job)
    assert status["state"] == DONE and status["errors"] == [] and status["features"] == 2
    always = FakeFailingPrompter(oom)
    q2 = queue_factory(FakeLoader(always, oracle))
    job = make_job(path, batch_size=4)
    q2.submit(job)
    status = wait(job)
    assert status["state"] == DONE and status["features"] == 0
    assert [e["tile"] for e in status["errors"]] == [0, 1, 2, 3]
    assert all("out of memory" in e["message"] for e in status["errors"])
    tiles, _ = job.tiles()
    assert {t["status"] for t in tiles} == {"error"}


def test_cancel_queued_at_once_running_at_a_tile_boundary(raster, queue_factory):
    path, truth = raster
    oracle = FakeOracle(truth)
    q = queue_factory(FakeLoader(FakeSlowPrompter(oracle, 0.15), oracle))
    running = make_job(path, tile_size=64, batch_size=1)  # 16 tiles, 0.15 s each
    queued = make_job(path)
    q.submit(running)
    q.submit(queued)
    wait(running, states=("running",))
    assert q.info() == {"queue": 1, "running": running.id}
    assert q.cancel(queued.id).status()["state"] == CANCELLED
    started = time.monotonic()
    q.cancel(running.id)
    status = wait(running, states=(CANCELLED,))
    assert time.monotonic() - started < 1.0
    assert status["tiles_done"] < 16 and queued.status()["tiles_done"] == 0
    assert q.cancel("no-such-job") is None


def test_stop_cancels_the_running_job_and_joins_the_worker(raster):
    path, truth = raster
    oracle = FakeOracle(truth)
    q = JobQueue(EngineConfig(), FakeLoader(FakeSlowPrompter(oracle, 0.15), oracle))
    q.start()
    running, queued = make_job(path, tile_size=64, batch_size=1), make_job(path)
    q.submit(running)
    q.submit(queued)
    wait(running, states=("running",))
    started = time.monotonic()
    q.stop(timeout=5)
    assert time.monotonic() - started < 2.0
    assert running.status()["state"] == CANCELLED and queued.status()["state"] == CANCELLED
    assert not any(t.name == "think2map-worker" and t.is_alive() for t in threading.enumerate())
    assert q.models.loaded() == {}


def test_old_finished_jobs_are_forgotten(raster, queue_factory, monkeypatch):
    import backend.service.jobs

    monkeypatch.setattr(backend.service.jobs, "MAX_KEPT_JOBS", 2)
    path, truth = raster
    oracle = FakeOracle(truth)
    q = queue_factory(FakeLoader(oracle, oracle))
    jobs = [make_job(path) for _ in range(4)]
    for job in jobs:
        q.submit(job)
        wait(job)
    q.submit(last := make_job(path))
    wait(last)
    kept = [job.id for job in jobs if q.get(job.id) is not None]
    assert kept == [jobs[-1].id] and q.get(last.id) is last
    assert json.loads(last.features()[0][0])["geometry"]["type"] == "Polygon"
