"""The REAL server on loopback, with the tiny models: auth, job lifecycle, live features, cancel, bad input,
concurrency and memory. One server is shared by the module; each test uses its own jobs."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
import rasterio
import shapely
from shapely.geometry import shape

from backend.cli import build_parser
from tests.backend.server_harness import rss_kb, start_server, tiny_model_args, wait_for
from tests.conftest import ROOT

pytestmark = pytest.mark.live  # the real server, started as a subprocess

RIVER = "gorinchem_river_0p25m_epsg28992.tif"  # 1000×1000, EPSG:28992
CARS = "colorado_cars_0p15m_epsg26913.tif"  # 383×232: one tile
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="module")
def server(tiny_models, tmp_path_factory):
    live = start_server([*tiny_model_args(tiny_models), "--batch-size", "2"], tmp_path_factory.mktemp("server"))
    yield live
    live.stop()


@pytest.fixture(scope="module")
def client(server):
    with server.client() as c:
        yield c


def submit(client, raster: Path, **body) -> dict:
    r = client.post("/jobs", json={"raster": str(raster), "query": "the river", **body})
    assert r.status_code == 201, r.text
    return r.json()


def test_announces_itself_on_loopback_by_default(server, client):
    assert server.line["event"] == "listening" and server.line["host"] == "127.0.0.1"
    assert isinstance(server.line["port"], int) and server.line["pid"] == server.proc.pid
    assert "token" not in server.line  # given in the environment, so not printed
    assert build_parser().parse_args(["serve"]).host == "127.0.0.1"
    health = client.get("/health").json()
    assert health["status"] == "ready" and health["device"] == "cpu" and health["gpu"] is None


@pytest.mark.parametrize(
    "method,path",
    [
        ("GET", "/health"),
        ("GET", "/openapi.json"),
        ("GET", "/jobs/x"),
        ("POST", "/jobs"),
        ("DELETE", "/jobs/x"),
        ("GET", "/models"),
        ("POST", "/models/sam2.1-t/pull"),
    ],
)
def test_every_endpoint_needs_the_token(server, method, path):
    wrong = [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Bearer {server.token}x"},
        {"Authorization": f"Basic {server.token}"},
        {"Authorization": server.token},
    ]
    with httpx.Client(base_url=server.url, timeout=30) as c:
        for headers in wrong:
            r = c.request(method, path, headers=headers, json={})
            assert r.status_code == 401, (headers, r.text)
            assert "token" in r.json()["detail"] and r.headers["www-authenticate"] == "Bearer"


def test_whole_job_with_features_fetched_as_they_come(client, shared_data):
    created = submit(client, shared_data / RIVER)
    assert created["state"] == "queued" and created["tiles_total"] == 4 and created["crs"] == "EPSG:28992"
    job = created["id"]
    collected, after, pages = [], 0, 0
    while True:
        page = client.get(f"/jobs/{job}/features", params={"after": after}).json()
        assert page["type"] == "FeatureCollection" and page["crs"]["properties"]["name"] == "EPSG:28992"
        assert page["next"] == after + len(page["features"])
        collected += page["features"]
        after, pages = page["next"], pages + 1
        if page["state"] in ("done", "failed", "cancelled"):
            break
        time.sleep(0.1)
    status = client.get(f"/jobs/{job}").json()
    assert status["state"] == "done", status
    assert status["tiles_done"] == 4 and status["errors"] == [] and status["error"] is None
    assert status["features"] == len(collected) > 0
    assert status["started"] and status["finished"] and status["models"]["prompter"].endswith("tiny-think2seg")
    assert [f["id"] for f in collected] == list(range(1, len(collected) + 1))  # no duplicates, none missing
    assert client.get(f"/jobs/{job}/features", params={"after": after}).json()["features"] == []
    with rasterio.open(shared_data / RIVER) as ds:
        footprint = shapely.box(*ds.bounds)
    for f in collected:
        geom = shape(f["geometry"])
        assert geom.is_valid and not geom.is_empty and footprint.buffer(1e-6).contains(geom)
        props = f["properties"]
        assert props["query"] == "the river" and props["area_unit"] == "m²" and props["area"] > 0
        assert props["segmenter"] == "tiny-sam2" and isinstance(props["score"], float)
    tiles = client.get(f"/jobs/{job}/tiles").json()
    assert tiles["next"] == 4 and sorted(t["index"] for t in tiles["tiles"]) == [0, 1, 2, 3]
    assert all(t["status"] == "ok" and t["raw_text"].startswith("<think>x</think>") for t in tiles["tiles"])
    assert client.get(f"/jobs/{job}/tiles", params={"after": 3}).json()["tiles"] == tiles["tiles"][3:]


def test_cancel_midway_stops_soon_and_keeps_the_features(client, shared_data):
    job = submit(client, shared_data / RIVER, tile_size=64, overlap=0)
    assert job["tiles_total"] == 256
    wait_for(client, job["id"], states=("running",), tiles_done=4)
    started = time.monotonic()
    r = client.delete(f"/jobs/{job['id']}")
    assert r.status_code == 200 and r.json()["id"] == job["id"]
    status = wait_for(client, job["id"], states=("cancelled",), timeout=10)
    latency = time.monotonic() - started
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "server_cancel.json").write_text(
        json.dumps(
            {"cancel_latency_s": round(latency, 3), "tiles_done": status["tiles_done"], "features": status["features"]}
        )
    )
    print(f"\ncancel latency {latency:.2f} s after {status['tiles_done']} of 256 tiles")
    assert latency < 2.0
    assert 4 <= status["tiles_done"] < 256
    page = client.get(f"/jobs/{job['id']}/features").json()
    assert page["state"] == "cancelled" and len(page["features"]) == status["features"] > 0
    # cancelling again, or a finished job, changes nothing
    assert client.delete(f"/jobs/{job['id']}").json()["state"] == "cancelled"


def test_a_queued_job_cancels_at_once(client, shared_data):
    running = submit(client, shared_data / RIVER, tile_size=64, overlap=0)
    queued = submit(client, shared_data / CARS)
    assert client.get("/health").json()["queue"] >= 1
    status = client.delete(f"/jobs/{queued['id']}").json()
    assert status["state"] == "cancelled" and status["tiles_done"] == 0 and status["finished"]
    client.delete(f"/jobs/{running['id']}")
    wait_for(client, running["id"], states=("cancelled", "done"))
    assert client.get(f"/jobs/{queued['id']}").json()["state"] == "cancelled"  # the worker skipped it


def test_status_and_health_answer_at_once_while_a_job_runs(server, client, shared_data):
    job = submit(client, shared_data / RIVER, tile_size=64, overlap=0)["id"]
    wait_for(client, job, states=("running",), tiles_done=1)

    def ask(i: int) -> tuple[int, float]:
        path = "/health" if i % 2 else f"/jobs/{job}"
        started = time.monotonic()
        with server.client() as c:
            r = c.get(path)
        return r.status_code, time.monotonic() - started

    with ThreadPoolExecutor(50) as pool:
        results = list(pool.map(ask, range(50)))
    assert [code for code, _ in results] == [200] * 50
    assert client.get(f"/jobs/{job}").json()["state"] == "running"  # they were answered during the job
    assert max(seconds for _, seconds in results) < 10
    client.delete(f"/jobs/{job}")
    wait_for(client, job, states=("cancelled", "done"))


@pytest.fixture(scope="module")
def no_crs_raster(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("nocrs") / "nocrs.tif"
    with rasterio.open(path, "w", driver="GTiff", width=100, height=80, count=3, dtype="uint8") as ds:
        ds.write(np.random.default_rng(0).integers(0, 255, (3, 80, 100), dtype=np.uint8))
    return path


BAD_REQUESTS = [  # (body changes, status, words the message must hold)
    ({"raster": "/no/such/raster.tif"}, 422, "Raster not found"),
    ({"raster": "{data}/atlanta_buildings.geojson"}, 422, "not a raster"),
    ({"raster": "{nocrs}"}, 422, "no coordinate reference system"),
    ({"bounds": [0, 0, 10, 10]}, 422, "lies outside the raster"),
    ({"bounds": [10, 0, 0, 10]}, 422, "minx < maxx"),
    ({"query": ""}, 422, "query is empty"),
    ({"query": "   "}, 422, "query is empty"),
    ({"prompter": "gpt-9"}, 422, "Unknown model 'gpt-9'"),
    ({"segmenter": "think2seg-rs-3b"}, 422, "is a prompter, not a segmenter"),
    ({"prompter": "think2seg-rs-7b"}, 409, "python -m backend models pull think2seg-rs-7b"),
    ({"tile_size": 10}, 422, "tile_size"),
    ({"tile_size": 256, "overlap": 200}, 422, "verlap must be between 0 and half the tile size"),
    ({"tile_size": 64, "overlap": 0, "max_tiles": 10}, 422, "256 tiles, more than the limit of 10"),
    ({"bands": [5]}, 422, "Band 5 does not exist"),
    ({"bands": [1, 2]}, 422, "not 2"),
    ({"tile_size": "big"}, 422, "tile_size"),
    ({"raster": None}, 422, "raster"),
]


@pytest.mark.parametrize("change,code,words", BAD_REQUESTS, ids=[w[:24] for _, _, w in BAD_REQUESTS])
def test_bad_requests_get_a_clear_4xx(client, shared_data, no_crs_raster, change, code, words):
    body = {"raster": str(shared_data / RIVER), "query": "the river", **change}
    if isinstance(body["raster"], str):
        body["raster"] = body["raster"].format(data=shared_data, nocrs=no_crs_raster)
    queued = client.get("/health").json()["queue"]
    r = client.post("/jobs", json=body)
    assert r.status_code == code, r.text
    detail = r.json()["detail"]
    assert isinstance(detail, str) and words in detail, detail
    assert client.get("/health").json()["queue"] == queued  # nothing was queued


def test_the_tile_limit_message_says_how_to_raise_it(client, shared_data):
    r = client.post(
        "/jobs",
        json={"raster": str(shared_data / RIVER), "query": "x", "tile_size": 64, "overlap": 0, "max_tiles": 100},
    )
    assert r.status_code == 422
    assert '"max_tiles"' in r.json()["detail"] and "--max-tiles" in r.json()["detail"]


def test_pixel_coordinates_on_request(client, no_crs_raster):
    r = client.post("/jobs", json={"raster": str(no_crs_raster), "query": "x", "pixel_coords": True})
    assert r.status_code == 201 and r.json()["crs"] is None
    status = wait_for(client, r.json()["id"])
    assert status["state"] == "done" and status["crs"] is None
    page = client.get(f"/jobs/{status['id']}/features").json()
    assert page["crs"] is None
    for f in page["features"]:
        # QGIS shows an image without georeference with x = column and y = -row: the polygons overlay it.
        minx, miny, maxx, maxy = shape(f["geometry"]).bounds
        assert 0 <= minx and -80 <= miny and maxx <= 100 and maxy <= 0
        assert f["properties"]["area_unit"] == "px²"


def test_malformed_bodies_are_422_not_500(client):
    for content in ("{not json", "[]", '{"raster": 5}', '{"query": "x"}'):
        r = client.post("/jobs", content=content, headers={"Content-Type": "application/json"})
        assert r.status_code == 422 and isinstance(r.json()["detail"], str), (content, r.text)
    assert client.get("/jobs/x/features", params={"after": -1}).status_code == 422


def test_unknown_jobs_and_models_are_404(client):
    for method, path in [
        ("GET", "/jobs/nope"),
        ("GET", "/jobs/nope/features"),
        ("GET", "/jobs/nope/tiles"),
        ("DELETE", "/jobs/nope"),
        ("GET", "/models/nope/pull"),
        ("POST", "/models/nope/pull"),
    ]:
        r = client.request(method, path)
        assert r.status_code == 404 and "nope" in r.json()["detail"], (method, path, r.text)


def test_a_model_that_fails_to_load_fails_the_job_not_the_server(client, shared_data, tmp_path):
    broken = tmp_path / "broken-prompter"
    broken.mkdir()
    (broken / "config.json").write_text('{"model_type": "qwen2_5_vl"}')
    job = submit(client, shared_data / CARS, prompter=str(broken))
    status = wait_for(client, job["id"])
    assert status["state"] == "failed" and "could not be loaded" in status["error"], status
    assert client.get("/health").status_code == 200
    good = wait_for(client, submit(client, shared_data / CARS)["id"])
    assert good["state"] == "done" and good["features"] > 0


def test_models_list_and_an_offline_pull_fail_cleanly(server, client):
    listing = client.get("/models").json()
    rows = {m["name"]: m for m in listing["models"]}
    assert rows["sam2.1-t"]["present"] is False and rows["think2seg-rs-3b"]["kind"] == "prompter"
    assert listing["models_dir"].endswith("models")
    assert client.get("/models/sam2.1-t/pull").json()["state"] == "idle"
    r = client.post("/models/sam2.1-t/pull")
    assert r.status_code == 202 and r.json()["state"] in ("running", "failed")
    deadline = time.monotonic() + 60
    while (status := client.get("/models/sam2.1-t/pull").json())["state"] == "running":
        assert time.monotonic() < deadline, status
        time.sleep(0.2)
    assert status["state"] == "failed" and "Could not download 'sam2.1-t'" in status["error"]
    assert client.get("/health").status_code == 200


def test_openapi_is_served_and_the_committed_copy_is_current(client):
    from backend.service.server import openapi_schema

    served = client.get("/openapi.json").json()
    committed = json.loads((ROOT / "docs" / "openapi.json").read_text())
    assert served == openapi_schema()
    assert committed == served, "docs/openapi.json is stale: run `make openapi`"
    assert {
        "/encode",
        "/health",
        "/jobs",
        "/jobs/{job_id}",
        "/jobs/{job_id}/features",
        "/jobs/{job_id}/tiles",
        "/models",
        "/models/{name}/pull",
        "/prompt",
        "/rasters",
        "/rasters/{upload_id}",
    } == set(served["paths"])


def test_memory_stays_flat_over_twenty_jobs(server, client, shared_data):
    values = []
    for _ in range(20):
        status = wait_for(client, submit(client, shared_data / CARS)["id"])
        assert status["state"] == "done"
        values.append(rss_kb(server.proc.pid))
    first, last = values[2], values[-1]
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "server_rss.json").write_text(
        json.dumps(
            {"rss_kb_after_job": values, "after_3rd_kb": first, "last_kb": last, "growth_kb": last - first}, indent=1
        )
    )
    print(f"\nserver RSS after job 3: {first / 1024:.1f} MB, after job 20: {last / 1024:.1f} MB")
    assert last <= first * 1.15 and last - first < 40 * 1024, values


def test_clients_that_hang_up_do_no_harm(server, client, shared_data):
    import socket

    job = submit(client, shared_data / CARS)["id"]
    host, port = server.line["host"], server.line["port"]
    for request in (
        b"GET /health HTTP/1.1\r\nHost: x\r\n",  # cut off inside the headers
        # gone before the answer is read
        f"GET /jobs/{job}/features HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {server.token}\r\n\r\n".encode(),
        b'POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{"raster":',
    ):  # body cut off
        with socket.create_connection((host, port)) as s:
            s.sendall(request)
    assert wait_for(client, job)["state"] == "done"
    assert client.get("/health").status_code == 200 and server.proc.poll() is None
