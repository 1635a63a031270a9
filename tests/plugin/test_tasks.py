"""SegmentTask against the stand-in server: features arrive while the job runs, cancel keeps them."""

from __future__ import annotations

import pytest
from qgis.core import QgsApplication
from think2map.contract import JobSpec
from think2map.plugin.core.client import BackendClient
from think2map.plugin.core.tasks import SegmentTask, geojson_crs, outcome_message

from .fake_backend import FakeServer


@pytest.fixture
def fake():
    server = FakeServer("tok", tiles_per_job=5).start_in_thread()
    yield server
    server.shutdown()
    server.server_close()


def run_task(qtbot, task: SegmentTask, cancel_after_features: int | None = None):
    got = {"features": [], "crs": set(), "tiles": [], "progress": []}

    def on_features(features, crs):
        got["features"] += features
        got["crs"].add(crs)
        if cancel_after_features is not None and len(got["features"]) >= cancel_after_features:
            task.cancel()

    task.featuresArrived.connect(on_features)
    task.tilesArrived.connect(lambda tiles: got["tiles"].extend(tiles))
    task.progressChanged.connect(got["progress"].append)
    with qtbot.waitSignal(task.jobFinished, timeout=30_000) as finished:
        QgsApplication.taskManager().addTask(task)
    got["finished"] = finished.args
    return got


def test_job_request_body():
    body = JobSpec(raster="/r.tif", query="the river", bounds=(1, 2, 3, 4), prompter="p", tile_size=512, overlap=64)
    assert body.to_json() == {
        "raster": "/r.tif",
        "query": "the river",
        "bounds": [1, 2, 3, 4],
        "prompter": "p",
        "tile_size": 512,
        "overlap": 64,
        "pixel_coords": False,
        "mode": "reason",
        "min_area_px": 16.0,
        "strategy": "tiles",
        "refine": "sam",
        "overview_zoom": 8.0,
    }
    assert geojson_crs({"crs": {"type": "name", "properties": {"name": "EPSG:3857"}}}) == "EPSG:3857"
    assert geojson_crs({}) == ""
    assert "Nothing" in outcome_message("done", {}, 0)
    failed = {"error": "RuntimeError: boom", "error_code": "out_of_memory", "errors": [{"tile": 3, "message": "x"}]}
    assert outcome_message("failed", failed, 2).startswith("The GPU ran out of memory")
    assert "The 2 polygon(s) found before were kept." in outcome_message("failed", failed, 2)
    assert "boom" not in outcome_message("failed", failed, 0)  # the backend's English goes to Details
    assert "Tile size" in outcome_message("failed", failed, 0, "processing")


@pytest.mark.live
def test_segment_task_streams_features_to_the_end(fake, qtbot):
    task = SegmentTask(BackendClient(fake.url, "tok"), JobSpec(raster="/r.tif", query="roofs"), "Think2Map: roofs")
    got = run_task(qtbot, task)
    assert got["finished"] == ["done", "5 polygon(s) found.", ""]
    assert [f.properties["instance_id"] for f in got["features"]] == [0, 1, 2, 3, 4]
    assert all(f.geometry.isGeosValid() for f in got["features"])  # parsed once, in the task
    assert got["crs"] == {"EPSG:28992"}
    assert [t["index"] for t in got["tiles"]] == [0, 1, 2, 3, 4] and got["tiles"][0]["raw_text"].startswith("<think>")
    assert got["progress"] and got["progress"][-1] == pytest.approx(100) and min(got["progress"]) < 100
    assert fake.bodies[0]["query"] == "roofs"


@pytest.mark.live
def test_cancel_stops_the_job_and_keeps_features(fake, qtbot):
    fake.tiles_per_job = 40
    task = SegmentTask(BackendClient(fake.url, "tok"), JobSpec(raster="/r.tif", query="trees"), "Think2Map: trees")
    got = run_task(qtbot, task, cancel_after_features=1)
    state, message, _ = got["finished"]
    assert state == "cancelled" and "kept" in message
    assert ("DELETE", "/jobs/job1") in [(r[0], r[1]) for r in fake.requests]
    n = len(got["features"])
    assert 1 <= n < 40 and f"{n} polygon" in message
    assert fake.jobs["job1"].state() == "cancelled"


@pytest.mark.live
def test_backend_errors_end_the_task_with_the_message(fake, qtbot):
    task = SegmentTask(BackendClient(fake.url, "tok"), JobSpec(raster="/r.tif", query="   "), "Think2Map: empty")
    got = run_task(qtbot, task)
    state, message, details = got["finished"]
    assert state == "failed" and message == "Type what to look for, for example: the river."  # the dock's words
    assert details == "The query is empty: say what to look for."  # the backend's, for Details
