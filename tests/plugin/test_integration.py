"""The plugin against the REAL backend (``.venv``, tiny random models, a forced prompter answer) on a real raster.

Slow tier: each backend start loads torch; the tiny models run on the CPU with one thread.
"""

from __future__ import annotations

import os
import signal

import pytest
from qgis.core import (
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsProcessingFeedback,
    QgsProject,
    QgsRectangle,
    QgsVectorLayer,
)
from qgis.PyQt.QtTest import QTest
from think2map.contract import JobSpec
from think2map.plugin.core import layers
from think2map.plugin.core.blocking import stop_shared_blocking_backend
from think2map.plugin.core.client import BackendError
from think2map.plugin.core.extent import bounds_in_raster_crs, raster_source
from think2map.plugin.core.process import BackendManager
from think2map.plugin.core.tasks import SegmentTask

from .conftest import FORCED_ANSWER

pytestmark = pytest.mark.live  # a real or FAKE backend process, or a server on loopback


@pytest.fixture(scope="module")
def shared_backend(backend_python, tiny_models):
    """One real backend for the job tests of this module (settings given directly, not through QgsSettings)."""
    from think2map.plugin.core.settings import Settings

    settings = Settings(
        python_path=str(backend_python),
        prompter=str(tiny_models["prompter"]),
        segmenter=str(tiny_models["sam2"]),
        device="cpu",
        extra_args=["--force-answer", FORCED_ANSWER],
    )
    manager = BackendManager(settings_loader=lambda: settings)
    manager.start()
    for _ in range(1800):
        if manager.state != "starting":
            break
        QTest.qWait(100)
    assert manager.state == "ready", manager.detail
    yield manager
    manager.stop(wait_ms=10_000)


def run_segment_task(qtbot, manager, request, layer, cancel_after_first_tile=False):
    task = SegmentTask(manager.client(), request, "Think2Map test")
    seen = {"delivered": 0, "crs": set(), "tiles": []}

    def on_features(features, crs):
        seen["crs"].add(crs)
        seen["delivered"] += layers.add_features(layer, features)

    def on_tiles(tiles):
        seen["tiles"].extend(tiles)
        if cancel_after_first_tile:
            task.cancel()

    task.featuresArrived.connect(on_features)
    task.tilesArrived.connect(on_tiles)
    with qtbot.waitSignal(task.jobFinished, timeout=300_000) as finished:
        QgsApplication.taskManager().addTask(task)
    seen["finished"] = finished.args
    seen["job_id"] = task.job_id
    return seen


def test_query_from_a_web_mercator_canvas_adds_a_layer_in_the_raster_crs(
    shared_backend, raster_layer, qtbot, qgis_new_project
):
    full = raster_layer.extent()
    rd_area = QgsRectangle(full.xMinimum() + 20, full.yMinimum() + 20, full.xMinimum() + 120, full.yMinimum() + 120)
    mercator = QgsCoordinateReferenceSystem("EPSG:3857")
    canvas_extent = QgsCoordinateTransform(raster_layer.crs(), mercator, QgsProject.instance()).transformBoundingBox(
        rd_area
    )
    bounds = bounds_in_raster_crs(canvas_extent, mercator, raster_layer, QgsProject.instance().transformContext())
    layer = layers.create_result_layer("the river", raster_layer.crs(), "memory")
    request = JobSpec(
        raster=raster_source(raster_layer), query="the river", bounds=tuple(bounds), tile_size=512, overlap=64
    )
    seen = run_segment_task(qtbot, shared_backend, request, layer)
    state, message, _ = seen["finished"]
    assert state == "done", message
    assert seen["crs"] == {"EPSG:28992"}
    assert seen["delivered"] >= 1 and layer.featureCount() == seen["delivered"]
    assert seen["tiles"] and "<answer>" in seen["tiles"][0]["raw_text"]
    assert layer.crs() == raster_layer.crs()
    # Features are in raster (RD New) coordinates, on the requested area (give or take one tile's context).
    ext = layer.extent()
    assert full.contains(ext), (ext.toString(), full.toString())
    assert ext.intersects(QgsRectangle(*bounds))
    feature = next(layer.getFeatures())
    assert feature["query"] == "the river" and feature["area"] > 0
    layers.style_result_layer(layer)
    group = layers.add_to_results_group(QgsProject.instance(), layer)
    assert group.findLayer(layer.id()) is not None


def test_cancel_ends_the_job_and_keeps_its_features(shared_backend, raster_layer, qtbot):
    layer = layers.create_result_layer("the river", raster_layer.crs(), "memory")
    request = JobSpec(raster=raster_source(raster_layer), query="the river", tile_size=256, overlap=0)  # 16 tiles
    seen = run_segment_task(qtbot, shared_backend, request, layer, cancel_after_first_tile=True)
    state, message, _ = seen["finished"]
    assert state == "cancelled", message
    assert "kept" in message
    client = shared_backend.client()
    status = client.status(seen["job_id"])
    assert status["state"] == "cancelled" and status["tiles_done"] < status["tiles_total"]
    # Everything the backend found before it stopped is in the layer, and stays readable there.
    assert layer.featureCount() == seen["delivered"] == status["features"]
    assert len(client.features(seen["job_id"], 0)["features"]) == status["features"]


def test_killed_backend_is_reported_and_restart_recovers(live_backend, qtbot):
    manager = live_backend
    old_client = manager.client()
    with qtbot.waitSignal(manager.stateChanged, timeout=30_000, check_params_cb=lambda s, d: s != "ready") as sig:
        os.kill(manager.pid, signal.SIGKILL)
    assert sig.args[0] in ("starting", "error") and "killed" in sig.args[1]
    with pytest.raises(BackendError):
        old_client.health()
    with qtbot.waitSignal(manager.ready, timeout=180_000):  # automatic restart
        pass
    assert manager.client().health()["status"] == "ready"
    with qtbot.waitSignal(manager.ready, timeout=180_000):  # and an explicit one
        manager.restart()
    assert manager.client().health()["device"] == "cpu"


def test_processing_algorithm_writes_features(backend_settings, raster_layer, qgis_processing, tmp_path):
    from qgis import processing
    from think2map.plugin.processing.provider import Think2MapProvider

    provider = Think2MapProvider()
    assert QgsApplication.processingRegistry().addProvider(provider)
    try:
        full = raster_layer.extent()
        x0, y0 = full.xMinimum(), full.yMinimum()
        extent = f"{x0 + 10},{x0 + 110},{y0 + 10},{y0 + 110} [EPSG:28992]"
        out = str(tmp_path / "river.gpkg")
        result = processing.run(
            "think2map:segmentbytext",
            {
                "INPUT": raster_layer.source(),
                "QUERY": "the river",
                "EXTENT": extent,
                "PROMPTER": backend_settings.prompter,
                "SEGMENTER": backend_settings.segmenter,
                "TILE_SIZE": 512,
                "OVERLAP": 0,
                "OUTPUT": out,
            },
        )
        layer = QgsVectorLayer(result["OUTPUT"], "out", "ogr")
        assert layer.isValid() and layer.featureCount() >= 1
        assert layer.crs().authid() == "EPSG:28992"
        assert full.contains(layer.extent())
        assert next(layer.getFeatures())["query"] == "the river"

        class Feedback(QgsProcessingFeedback):
            infos: list[str] = []

            def pushInfo(self, info: str) -> None:  # noqa: N802 - QGIS's name
                self.infos.append(info)

        feedback = Feedback()
        result = processing.run(  # the same, overview first
            "think2map:segmentbytext",
            {
                "INPUT": raster_layer.source(),
                "QUERY": "the river",
                "PROMPTER": backend_settings.prompter,
                "SEGMENTER": backend_settings.segmenter,
                "STRATEGY": 1,
                "OUTPUT": str(tmp_path / "overview.gpkg"),
            },
            feedback=feedback,
        )
        layer = QgsVectorLayer(result["OUTPUT"], "out", "ogr")
        assert layer.featureCount() >= 1 and {f["strategy"] for f in layer.getFeatures()} == {"overview"}
        assert any(i.startswith("Overview cell 0: ok, 1 box(es). <think>x</think>") for i in feedback.infos)
        assert any("1 prompter call(s) for 4 tiles" in i for i in feedback.infos), feedback.infos
    finally:
        stop_shared_blocking_backend()
        QgsApplication.processingRegistry().removeProvider(provider)


def backend_processes() -> list[int]:
    """Pids of this test process's children that run ``python -m backend serve``."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = open(f"/proc/{entry}/cmdline", "rb").read().split(b"\0")
            stat = open(f"/proc/{entry}/stat").read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == os.getpid() and b"backend" in cmdline and b"serve" in cmdline:
            pids.append(int(entry))
    return sorted(pids)


def _run_processing(raster_layer, backend_settings, tmp_path, name):
    from qgis import processing

    full = raster_layer.extent()
    x0, y0 = full.xMinimum(), full.yMinimum()
    return processing.run(
        "think2map:segmentbytext",
        {
            "INPUT": raster_layer.source(),
            "QUERY": "the river",
            "EXTENT": f"{x0 + 10},{x0 + 110},{y0 + 10},{y0 + 110} [EPSG:28992]",
            "PROMPTER": backend_settings.prompter,
            "SEGMENTER": backend_settings.segmenter,
            "TILE_SIZE": 512,
            "OVERLAP": 0,
            "OUTPUT": str(tmp_path / f"{name}.gpkg"),
        },
    )


def test_processing_in_a_gui_session_starts_no_second_backend(
    live_backend, backend_settings, raster_layer, qgis_processing, tmp_path, qtbot
):
    from think2map.plugin.core.blocking import shared_blocking_backend
    from think2map.plugin.processing.provider import Think2MapProvider

    provider = Think2MapProvider(lambda: live_backend)
    assert QgsApplication.processingRegistry().addProvider(provider)
    try:
        running = set(backend_processes())  # this module's shared backend may be running too
        assert live_backend.pid in running
        result = _run_processing(raster_layer, backend_settings, tmp_path, "ready")
        assert QgsVectorLayer(result["OUTPUT"], "out", "ogr").featureCount() >= 1
        assert set(backend_processes()) == running  # the dock's backend did the work
        assert shared_blocking_backend()._proc is None

        # The dock's backend stopped: Processing starts that one (and waits for it), not one of its own.
        old_pid = live_backend.pid
        live_backend.stop(wait_ms=10_000)
        qtbot.waitUntil(lambda: old_pid not in backend_processes(), timeout=15_000)
        others = set(backend_processes())
        result = _run_processing(raster_layer, backend_settings, tmp_path, "stopped")
        assert QgsVectorLayer(result["OUTPUT"], "out", "ogr").featureCount() >= 1
        assert live_backend.state == "ready" and set(backend_processes()) == others | {live_backend.pid}
        assert shared_blocking_backend()._proc is None
    finally:
        QgsApplication.processingRegistry().removeProvider(provider)
