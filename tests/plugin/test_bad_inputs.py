"""The dock and Processing meet the same bad inputs as the CLI and the server (pytest-qgis, the REAL backend with
tiny models): each gives one clear message, the good ones run, and QGIS keeps working."""

from __future__ import annotations

import numpy as np
import pytest
from qgis.core import QgsApplication, QgsProcessingException, QgsProject, QgsRasterLayer
from qgis.PyQt.QtTest import QTest
from think2map.plugin.core.process import BackendManager
from think2map.plugin.core.requests import RunOptions
from think2map.plugin.gui.controller import DockController
from think2map.plugin.processing.provider import Think2MapProvider

from .conftest import FORCED_ANSWER
from .conftest import write_raster as write

pytestmark = pytest.mark.live  # a real or FAKE backend process, or a server on loopback

JOB_TIMEOUT_MS = 240_000


@pytest.fixture(scope="module")
def rasters(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bad")
    rng = np.random.default_rng(0)
    return {
        "crs without geotransform": write(
            tmp / "crs_only.tif", np.full((3, 300, 300), 90, np.uint8), geotransform=None
        ),
        "nodata everywhere": write(tmp / "empty.tif", np.zeros((3, 300, 300), np.uint8), nodata=0),
        "16-bit single band": write(tmp / "pan16.tif", rng.integers(100, 4000, (1, 300, 300), dtype=np.uint16)),
        "4 bands": write(tmp / "rgbn.tif", rng.integers(0, 255, (4, 300, 300), dtype=np.uint8)),
    }


@pytest.fixture(scope="module")
def manager(backend_python, tiny_models):
    from think2map.plugin.core.settings import Settings

    settings = Settings(
        python_path=str(backend_python),
        prompter=str(tiny_models["prompter"]),
        segmenter=str(tiny_models["sam2"]),
        device="cpu",
        storage="memory",
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


def run_in_dock(qgis_iface, manager, qtbot, path, tile_size=256, overlap=0):
    layer = QgsRasterLayer(str(path), path.stem)
    QgsProject.instance().addMapLayer(layer)
    controller = DockController(qgis_iface, manager)
    messages = []
    controller.message.connect(lambda level, text, details: messages.append((level, text)))
    try:
        started = controller.run(layer, "roofs", options=RunOptions(tile_size=tile_size, overlap=overlap))
        if started:
            qtbot.waitUntil(lambda: not controller.is_running, timeout=JOB_TIMEOUT_MS)
        return controller.records[0] if controller.records else None, messages
    finally:
        controller.shutdown()


@pytest.mark.parametrize(
    "name, words",
    [
        ("crs without geotransform", "is not georeferenced: nothing says where its pixels lie"),
        ("nodata everywhere", "in this area is nodata: there is nothing to search"),
    ],
)
def test_the_dock_says_what_is_wrong_in_one_message(qgis_iface, qgis_new_project, manager, rasters, qtbot, name, words):
    record, messages = run_in_dock(qgis_iface, manager, qtbot, rasters[name])
    errors = [text for level, text in messages if level == "error"]
    assert len(errors) == 1 and words in errors[0], messages
    assert record is None or record.job_state == "failed"
    assert "Pixel coordinates in Advanced options" in errors[0] or "Pixel" not in errors[0]  # the dock's words
    assert "--" not in errors[0] and "HTTP" not in errors[0]  # not the command line's, nor the API's
    assert [lyr.name() for lyr in QgsProject.instance().mapLayers().values() if lyr.type() == 0] == []
    assert manager.state == "ready" and manager.client().health()["status"] == "ready"


@pytest.mark.parametrize("name", ["16-bit single band", "4 bands"])
def test_unusual_but_valid_rasters_run_from_the_dock(qgis_iface, qgis_new_project, manager, rasters, qtbot, name):
    record, messages = run_in_dock(qgis_iface, manager, qtbot, rasters[name])
    assert record is not None and record.job_state == "done", messages
    assert record.features >= 1


def test_too_many_tiles_from_the_dock(qgis_iface, qgis_new_project, manager, gorinchem, qtbot):
    record, messages = run_in_dock(qgis_iface, manager, qtbot, gorinchem, tile_size=64, overlap=32)
    errors = [text for level, text in messages if level == "error"]
    assert len(errors) == 1 and "more than the limit of 400" in errors[0], messages
    assert "raise the tile limit in Advanced options" in errors[0] and "max_tiles" not in errors[0]
    # raising the limit in Advanced options is what the message says to do, and it lets the job through
    controller = DockController(qgis_iface, manager)
    try:
        layer = QgsProject.instance().mapLayersByName(gorinchem.stem)[0]
        options = RunOptions(tile_size=64, overlap=32, max_tiles=100_000)
        assert controller.build_request(layer, "roofs", None, options).to_json()["max_tiles"] == 100_000
    finally:
        controller.shutdown()


@pytest.mark.parametrize(
    "name, words",
    [
        ("crs without geotransform", "set the Pixel coordinates parameter"),
        ("nodata everywhere", "is nodata: there is nothing to search"),
    ],
)
def test_processing_says_what_is_wrong(qgis_processing, manager, rasters, tiny_models, name, words):
    from qgis import processing

    models = {"PROMPTER": str(tiny_models["prompter"]), "SEGMENTER": str(tiny_models["sam2"])}
    provider = Think2MapProvider(lambda: manager)
    QgsApplication.processingRegistry().addProvider(provider)
    try:
        with pytest.raises(QgsProcessingException, match=words):
            processing.run(
                "think2map:segmentbytext",
                {"INPUT": str(rasters[name]), "QUERY": "roofs", "TILE_SIZE": 256, "OUTPUT": "memory:", **models},
            )
        result = processing.run(
            "think2map:segmentbytext",
            {"INPUT": str(rasters["4 bands"]), "QUERY": "roofs", "TILE_SIZE": 256, "OUTPUT": "memory:", **models},
        )
        assert result["OUTPUT"].featureCount() >= 1  # and the next run works
    finally:
        QgsApplication.processingRegistry().removeProvider(provider)


def test_an_image_without_georeference_is_searched_in_pixel_coordinates(
    qgis_iface, qgis_new_project, manager, tmp_path, qtbot
):
    rng = np.random.default_rng(1)
    png = write(tmp_path / "photo.png", rng.integers(0, 255, (3, 300, 400), dtype=np.uint8), None, None, driver="PNG")
    raster = QgsRasterLayer(str(png), "photo")
    QgsProject.instance().addMapLayer(raster)
    assert not raster.crs().isValid()
    controller = DockController(qgis_iface, manager)
    try:
        assert not controller.run(raster, "roofs", options=RunOptions(tile_size=256, overlap=0))  # not by default
        assert controller.run(raster, "roofs", options=RunOptions(tile_size=256, overlap=0, pixel_coords=True))
        qtbot.waitUntil(lambda: not controller.is_running, timeout=JOB_TIMEOUT_MS)
        record = controller.records[0]
        assert record.job_state == "done" and record.features >= 1, record.message
        layer = controller.layer_for(record)
        image = raster.extent()  # QGIS shows such an image from (0, -height) to (width, 0)
        assert (image.xMinimum(), image.yMinimum(), image.xMaximum(), image.yMaximum()) == (0, -300, 400, 0)
        assert image.contains(layer.extent()) and not layer.crs().isValid()  # the polygons overlay the image
    finally:
        controller.shutdown()
