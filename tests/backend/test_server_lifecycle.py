"""The server process's life: a generated token, models loaded lazily and unloaded when idle, and a clean exit
on SIGTERM in the middle of a job. The tests share one server and run in order: the last one stops it."""

from __future__ import annotations

import signal
import subprocess
import time

import pytest

from tests.backend.server_harness import start_server, tiny_model_args, wait_for

pytestmark = pytest.mark.live  # the real server, started as a subprocess

RIVER = "gorinchem_river_0p25m_epsg28992.tif"


@pytest.fixture(scope="module")
def server(tiny_models, tmp_path_factory):
    live = start_server(
        [*tiny_model_args(tiny_models), "--idle-unload", "2"], tmp_path_factory.mktemp("life"), token=None
    )
    yield live
    live.stop()


def test_generated_token_and_models_unloaded_when_idle(server, shared_data):
    assert len(server.line["token"]) >= 32  # printed because it was generated
    with server.client() as c:
        assert c.get("/health").json()["models_loaded"] == {}  # nothing loads at start-up
        job = c.post(
            "/jobs", json={"raster": str(shared_data / "colorado_cars_0p15m_epsg26913.tif"), "query": "cars"}
        ).json()
        assert wait_for(c, job["id"])["state"] == "done"
        assert c.get("/health").json()["models_loaded"] == {"prompter": "tiny-think2seg", "segmenter": "tiny-sam2"}
        deadline = time.monotonic() + 15
        while c.get("/health").json()["models_loaded"]:
            assert time.monotonic() < deadline, "the models were not unloaded after 2 s idle"
            time.sleep(0.2)


def test_sigterm_cancels_the_running_job_and_exits_cleanly(server, shared_data):
    with server.client() as c:
        job = c.post(
            "/jobs", json={"raster": str(shared_data / RIVER), "query": "x", "tile_size": 64, "overlap": 0}
        ).json()
        wait_for(c, job["id"], states=("running",), tiles_done=2)
    started = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    try:
        code = server.proc.wait(10)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the server did not exit within 10 s of SIGTERM: {server.stderr()}")
    seconds = time.monotonic() - started
    print(f"\nexit {code} {seconds:.2f} s after SIGTERM")
    assert code == 0, server.stderr()
    assert seconds < 5, seconds
    assert "Traceback" not in server.stderr()
