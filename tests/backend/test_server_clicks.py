"""``POST /prompt`` and ``/encode`` on the REAL server with the tiny models: the counters say when the encoder
ran, a query warms the clicks on its area, a click answers while a long job runs, embeddings survive a
restart on disk (and not a changed raster), and bad prompts get one clear message."""

from __future__ import annotations

import os
import shutil
import time

import pytest
import rasterio

from tests.backend.server_harness import start_server, tiny_model_args, wait_for

pytestmark = pytest.mark.live  # the real server, started as a subprocess

RIVER = "gorinchem_river_0p25m_epsg28992.tif"


@pytest.fixture(scope="module")
def river(shared_data, tmp_path_factory):
    """A copy of the river raster that the tests may rewrite, and its bounds."""
    path = tmp_path_factory.mktemp("click-raster") / RIVER
    shutil.copy(shared_data / RIVER, path)
    with rasterio.open(path) as ds:
        return path, ds.bounds


@pytest.fixture(scope="module")
def server(tiny_models, tmp_path_factory):
    cache = tmp_path_factory.mktemp("embeddings")
    live = start_server(
        tiny_model_args(tiny_models),
        tmp_path_factory.mktemp("clicks"),
        env={"THINK2MAP_EMBEDDING_CACHE_DIR": str(cache)},
    )
    yield live
    live.stop()


@pytest.fixture(scope="module")
def client(server):
    with server.client() as c:
        yield c


def counters(client) -> dict:
    return client.get("/health").json()["embedding_cache"]


def click(client, raster, *points, **body):
    r = client.post("/prompt", json={"raster": str(raster), "points": [list(p) for p in points], **body})
    assert r.status_code == 200, r.text
    return r.json()


def test_the_first_click_on_a_tile_encodes_and_the_next_does_not(client, river):
    path, b = river
    before = counters(client)
    first = click(client, path, (b.left + 40, b.top - 40, 1))
    assert not first["cached"] and first["window"] == [0, 0, 840, 840]
    assert counters(client)["encoded"] == before["encoded"] + 1
    second = click(client, path, (b.left + 40, b.top - 40, 1), (b.left + 60, b.top - 30, 0), session="s")
    assert second["cached"] and counters(client)["encoded"] == before["encoded"] + 1
    (feature,) = second["features"]
    assert feature["properties"]["source"] == "click" and second["crs"]["properties"]["name"] == "EPSG:28992"
    assert feature["properties"]["prompt_points"].count("[") == 3  # two points, as they were sent


def test_a_query_over_an_area_makes_the_next_click_there_a_hit(client, river):
    path, b = river
    area = [b.right - 120, b.bottom + 20, b.right - 20, b.bottom + 120]
    job = client.post("/jobs", json={"raster": str(path), "query": "roofs", "bounds": area}).json()
    assert wait_for(client, job["id"])["state"] == "done"
    encoded = counters(client)["encoded"]
    answer = click(client, path, (b.right - 70, b.bottom + 70, 1))
    assert answer["cached"] and counters(client)["encoded"] == encoded


def test_a_click_answers_while_a_long_job_runs(client, river):
    path, b = river
    job = client.post("/jobs", json={"raster": str(path), "query": "roofs", "tile_size": 128, "overlap": 0}).json()
    assert job["tiles_total"] == 64
    wait_for(client, job["id"], states=("running",), tiles_done=1)
    t0 = time.monotonic()
    answer = click(client, path, (b.left + 200, b.top - 200, 1))
    seconds = time.monotonic() - t0
    status = client.get(f"/jobs/{job['id']}").json()
    assert status["state"] == "running" and status["tiles_done"] < 64, status
    print(f"\na click answered in {seconds:.2f} s while a 64-tile job ran ({status['tiles_done']} tiles done)")
    assert answer["features"] is not None
    client.delete(f"/jobs/{job['id']}")
    wait_for(client, job["id"])


def test_encode_warms_the_view(client, river):
    path, b = river
    bounds = [b.right - 100, b.top - 100, b.right - 10, b.top - 10]
    queued = client.post("/encode", json={"raster": str(path), "bounds": bounds, "session": "view"})
    assert queued.status_code == 202 and queued.json()["windows"] >= 1
    deadline = time.monotonic() + 60
    while True:
        answer = click(client, path, (b.right - 50, b.top - 50, 1), only_cached=True)
        if answer["cached"] or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert answer["cached"] and answer["features"]
    # The click's window is encoded; another window under the view may still wait its turn on a loaded machine.
    while client.get("/health").json()["clicks"]["warm_ups_waiting"] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert client.delete("/encode", params={"session": "view"}).json() == {"dropped": 0}


def test_embeddings_outlive_the_server_on_disk_and_not_a_changed_raster(tiny_models, river, tmp_path):
    path, b = river
    cache = tmp_path / "embeddings"
    env = {"THINK2MAP_EMBEDDING_CACHE_DIR": str(cache)}
    first = start_server(tiny_model_args(tiny_models), tmp_path / "one", env=env)
    try:
        with first.client() as c:
            assert not click(c, path, (b.left + 125, b.top - 125, 1))["cached"]
    finally:
        first.stop()
    assert len(list(cache.glob("*.pt"))) == 1
    second = start_server(tiny_model_args(tiny_models), tmp_path / "two", env=env)
    try:
        with second.client() as c:
            assert click(c, path, (b.left + 125, b.top - 125, 1))["cached"]
            assert counters(c)["disk_hits"] == 1
            os.utime(path, ns=(time.time_ns(), time.time_ns()))  # the raster is rewritten: its embeddings are stale
            assert not click(c, path, (b.left + 125, b.top - 125, 1))["cached"]
    finally:
        second.stop()


@pytest.mark.parametrize(
    "body, code",
    [
        ({"points": [[0, 0, 1]]}, "prompt_outside"),
        ({"box": [127400, 428100, 127400, 428150]}, "empty_box"),
        ({"points": [[127400, 428100, 1]] * 1000}, "invalid_request"),
        ({"points": []}, "no_prompt"),
    ],
)
def test_bad_prompts_get_a_clear_4xx(client, river, body, code):
    path, _ = river
    r = client.post("/prompt", json={"raster": str(path), **body})
    assert r.status_code == 422 and r.json()["code"] == code, r.text


def test_a_raster_without_crs_is_refused_for_clicks(client, tmp_path):
    import numpy as np

    nocrs = tmp_path / "nocrs.tif"
    with rasterio.open(nocrs, "w", driver="GTiff", width=64, height=64, count=3, dtype="uint8") as ds:
        ds.write(np.full((3, 64, 64), 50, np.uint8))
    r = client.post("/prompt", json={"raster": str(nocrs), "points": [[10, -10, 1]]})
    assert r.status_code == 422 and r.json()["code"] == "no_crs"
    assert (
        client.post("/prompt", json={"raster": str(nocrs), "points": [[10, -10, 1]], "pixel_coords": True}).status_code
        == 200
    )
