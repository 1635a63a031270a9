"""The server process's life: a generated token, idle unloading, and a clean exit on SIGTERM mid-job."""

from __future__ import annotations

import signal
import subprocess
import time

from tests.backend.server_harness import start_server, tiny_model_args, wait_for

RIVER = "gorinchem_river_0p25m_epsg28992.tif"


def test_generated_token_and_models_unloaded_when_idle(tiny_models, shared_data, tmp_path):
    server = start_server([*tiny_model_args(tiny_models), "--idle-unload", "2"], tmp_path, token=None)
    try:
        assert len(server.line["token"]) >= 32  # printed because it was generated
        with server.client() as c:
            assert c.get("/health").json()["models_loaded"] == {}  # nothing loads at start-up
            job = c.post("/jobs", json={"raster": str(shared_data / "colorado_cars_0p15m_epsg26913.tif"),
                                        "query": "cars"}).json()
            assert wait_for(c, job["id"])["state"] == "done"
            assert c.get("/health").json()["models_loaded"] == {"prompter": "tiny-think2seg",
                                                                 "segmenter": "tiny-sam2"}
            deadline = time.monotonic() + 15
            while c.get("/health").json()["models_loaded"]:
                assert time.monotonic() < deadline, "the models were not unloaded after 2 s idle"
                time.sleep(0.2)
    finally:
        assert server.stop() == 0


def test_sigterm_cancels_the_running_job_and_exits_cleanly(tiny_models, shared_data, tmp_path):
    server = start_server(tiny_model_args(tiny_models), tmp_path)
    try:
        with server.client() as c:
            job = c.post("/jobs", json={"raster": str(shared_data / RIVER), "query": "x", "tile_size": 64,
                                        "overlap": 0}).json()
            wait_for(c, job["id"], states=("running",), tiles_done=2)
        started = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        code = server.proc.wait(10)
        seconds = time.monotonic() - started
    except subprocess.TimeoutExpired:
        server.proc.kill()
        raise
    finally:
        server.stop()
    assert code == 0, server.stderr()
    assert seconds < 5, seconds
    assert "Traceback" not in server.stderr()
