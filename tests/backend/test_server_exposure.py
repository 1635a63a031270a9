"""A server others can reach lets a token holder segment, and no more: rasters only under its data folders,
models by name only, no downloads; the same answer for "not found" and "not allowed"; a bounded queue, bounded
request bodies, no open files for queued jobs, and memory back near where it was after a full queue is
cancelled. The REAL server on loopback with ``--shared``, and the tiny models."""

from __future__ import annotations

import json
import os
import statistics
import time

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from tests.backend.server_harness import rss_kb, start_server, tiny_model_args, wait_for
from tests.conftest import ROOT

from .test_cli import cli

pytestmark = pytest.mark.live  # the real server in shared mode, started as a subprocess

RIVER = "gorinchem_river_0p25m_epsg28992.tif"
CARS = "colorado_cars_0p15m_epsg26913.tif"
ARTIFACTS = ROOT / "test-artifacts"


def small_tif(path):
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=64,
        height=64,
        count=3,
        dtype="uint8",
        crs="EPSG:32631",
        transform=from_origin(500000, 5000000, 1, 1),
    ) as ds:
        ds.write(np.full((3, 64, 64), 90, np.uint8))
    return path


@pytest.fixture(scope="module")
def places(tmp_path_factory, shared_data):
    """A data root of our own beside ../shared/data, and files outside both."""
    root, outside = tmp_path_factory.mktemp("root"), tmp_path_factory.mktemp("outside")
    inside = small_tif(root / "inside.tif")
    secret = small_tif(outside / "secret.tif")
    (root / "link.tif").symlink_to(secret)
    vrt = '<VRTDataset rasterXSize="64" rasterYSize="64"><SRS>EPSG:32631</SRS>'
    vrt += "<GeoTransform>500000, 1, 0, 5000000, 0, -1</GeoTransform>"
    vrt += '<VRTRasterBand dataType="Byte" band="1"><SimpleSource>'
    vrt += "<SourceFilename>{}</SourceFilename><SourceBand>1</SourceBand></SimpleSource></VRTRasterBand></VRTDataset>"
    (root / "escape.vrt").write_text(vrt.format(secret))
    (root / "fine.vrt").write_text(vrt.format(inside))
    return {"root": root, "inside": inside, "secret": secret, "inline": vrt.format(secret), "vrt": vrt}


@pytest.fixture(scope="module")
def shared_server(tiny_models, places, shared_data, tmp_path_factory):
    args = [
        *tiny_model_args(tiny_models),
        "--shared",
        "--data-root",
        str(shared_data),
        "--data-root",
        str(places["root"]),
        "--max-queue",
        "8",
    ]
    live = start_server(args, tmp_path_factory.mktemp("shared"))
    yield live
    live.stop()


@pytest.fixture(scope="module")
def client(shared_server):
    with shared_server.client() as c:
        yield c


def post(client, raster, **body):
    return client.post("/jobs", json={"raster": str(raster), "query": "roofs", **body})


def test_rasters_are_read_only_under_the_data_roots(client, places, shared_data, tmp_path):
    assert post(client, places["inside"]).status_code == 201
    assert post(client, places["root"] / "fine.vrt").status_code == 201
    assert post(client, shared_data / CARS).status_code == 201
    refused = {
        "missing inside a root": places["root"] / "nope.tif",
        "a file outside the roots": places["secret"],
        "a link out of a root": places["root"] / "link.tif",
        "a VRT in a root reading a file outside": places["root"] / "escape.vrt",
        "an inline VRT": places["inline"],
        "a network path": "/vsicurl/http://127.0.0.1:9/x.tif",
        "a URL": "http://127.0.0.1:9/x.tif",
        "a driver connection string": f"GTIFF_RAW:{places['secret']}",
        "an in-memory file": "/vsimem/x.tif",
        "a folder": places["root"],
    }
    answers = {}
    for what, raster in refused.items():
        r = post(client, raster)
        body = r.json()
        answers[what] = (r.status_code, body["code"], body["detail"].replace(str(raster), "<raster>"))
    assert len(set(answers.values())) == 1, answers  # nothing tells which paths exist
    status, code, detail = next(iter(answers.values()))
    assert status == 422 and code == "raster_not_found" and "not in its shared data folders" in detail


def test_models_are_loaded_by_name_only_and_not_downloaded(client, places, tiny_models):
    r = post(client, places["inside"], prompter=str(tiny_models["prompter"]))
    assert r.status_code == 404 and r.json()["code"] == "model_not_found"
    r = post(client, places["inside"], segmenter="/etc/passwd")
    assert r.status_code == 404 and r.json()["code"] == "model_not_found"
    r = post(client, places["inside"], segmenter="sam2.1-l")  # a known name whose weights are not here
    assert r.status_code == 409 and r.json()["code"] == "missing_weights"
    r = client.post("/models/sam2.1-t/pull")
    assert r.status_code == 403 and r.json()["code"] == "pulls_not_allowed"


def test_request_bodies_are_bounded(client, places):
    r = client.post(
        "/jobs", content=b'{"raster": "' + b"x" * (2 << 20) + b'"}', headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 413 and r.json()["code"] == "request_too_large"

    def chunks():  # a streamed body, with no length announced
        yield b'{"raster": "'
        for _ in range(40):
            yield b"y" * 65536
        yield b'"}'

    r = client.post("/jobs", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert client.get("/health").status_code == 200


def open_files(pid: int, path) -> int:
    target = os.path.realpath(path)
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            count += os.readlink(f"/proc/{pid}/fd/{fd}") == target
        except OSError:
            pass
    return count


def test_a_full_queue_says_429_holds_no_files_and_gives_its_memory_back(shared_server, client, shared_data):
    pid = shared_server.proc.pid
    for _ in range(3):  # the small job of the queue below, run first so that what it loads is loaded
        wait_for(client, post(client, shared_data / CARS).json()["id"])
    long_job = post(client, shared_data / RIVER, tile_size=64, overlap=32, max_tiles=1000).json()["id"]
    wait_for(client, long_job, states=("running",), timeout=120, tiles_done=2)

    def rss() -> float:
        samples = []
        for _ in range(5):
            samples.append(rss_kb(pid))
            time.sleep(0.2)
        return statistics.median(samples)

    before = rss()
    codes, latencies, retry_after, accepted = [], [], set(), []
    for _ in range(200):
        t0 = time.perf_counter()
        r = post(client, shared_data / CARS)
        latencies.append(time.perf_counter() - t0)
        codes.append(r.status_code)
        if r.status_code == 201:
            accepted.append(r.json()["id"])
        elif r.status_code == 429:
            retry_after.add(r.headers.get("retry-after"))
            assert r.json()["code"] == "queue_full"
    assert len(accepted) <= 8 and codes.count(429) >= 192 and set(codes) <= {201, 429}
    assert retry_after == {"10"}
    assert open_files(pid, shared_data / CARS) == 0  # queued jobs hold no open file
    peak = rss()
    for job in accepted:
        client.delete(f"/jobs/{job}")
    client.delete(f"/jobs/{long_job}")
    wait_for(client, long_job)
    time.sleep(1)
    after = rss()
    ARTIFACTS.mkdir(exist_ok=True)
    figures = {
        "rss_mb_before": before / 1024,
        "rss_mb_with_full_queue": peak / 1024,
        "rss_mb_after_cancelling_all": after / 1024,
        "accepted": len(accepted),
        "refused_429": codes.count(429),
        "post_ms_median": 1000 * statistics.median(latencies),
        "post_ms_max": 1000 * max(latencies),
    }
    (ARTIFACTS / "server_queue.json").write_text(json.dumps(figures, indent=1))
    print("\nqueue:", figures)
    assert after <= before * 1.10, figures
    assert client.get("/health").json()["queue"] == 0


def test_a_server_others_can_reach_needs_its_data_folders(tmp_path):
    r = cli("serve", "--host", "0.0.0.0", "--port", "0", env={"THINK2MAP_TOKEN": "t"})
    assert r.returncode == 2 and "--data-root" in r.stderr and "Traceback" not in r.stderr
