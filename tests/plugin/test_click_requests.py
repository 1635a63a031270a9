"""A click reads the raster as the dock's query did: the same bands, tile grid and coordinates, through the dock's
click tool and the REAL backend (tiny models, forced answers) on rasters made from a real one."""

from __future__ import annotations

import pytest
from osgeo import gdal
from qgis.core import QgsPointXY, QgsProject, QgsRasterLayer
from think2map.plugin.core.client import BackendClient

from .test_dock_overview import _run

pytestmark = pytest.mark.live  # a real or FAKE backend process, or a server on loopback

ANSWER_MS = 60_000


def _four_bands(gorinchem, tmp_path) -> QgsRasterLayer:
    """The Gorinchem orthophoto with a fourth band (its red again), so that bands 4,3,2 is a real choice."""
    path = tmp_path / "gorinchem-4band.tif"
    gdal.Translate(str(path), str(gorinchem), bandList=[1, 2, 3, 1])
    layer = QgsRasterLayer(str(path), "four bands")
    assert layer.isValid() and layer.bandCount() == 4
    return layer


def _no_crs(gorinchem, tmp_path) -> QgsRasterLayer:
    """The orthophoto as a PNG without georeferencing: QGIS and the backend place it in pixel coordinates."""
    path = tmp_path / "photo.png"
    gdal.Translate(str(path), str(gorinchem), format="PNG")
    layer = QgsRasterLayer(str(path), "photo")
    assert layer.isValid() and not layer.crs().isValid()
    return layer


def _query(dock, layer, qtbot, canvas, query: str) -> None:
    """Run ``query`` from the dock on ``layer``, shown whole, to its end."""
    QgsProject.instance().addMapLayer(layer)
    dock.set_layer(layer)
    dock.set_query(query)
    canvas.setDestinationCrs(layer.crs())
    canvas.setExtent(layer.extent())
    _run(dock, qtbot)
    assert dock.controller.records[0].job_state == "done", dock.controller.records[0].message


@pytest.fixture
def warm_ups(monkeypatch) -> list[int]:
    """The HTTP status of every warm-up (``POST /encode``) the click tool sends, once answered."""
    from think2map.plugin.core.async_call import AsyncCall
    from think2map.plugin.gui import click_box

    statuses: list[int] = []

    class Recorded(AsyncCall):
        def __init__(self, url, token, method, path, body=None, parent=None):
            super().__init__(url, token, method, path, body, parent)
            if path == "/encode":
                self.answered.connect(lambda status, payload: statuses.append(status))

    monkeypatch.setattr(click_box, "AsyncCall", Recorded)
    return statuses


def _click(dock, qtbot, at: QgsPointXY, warm_ups: list[int]) -> dict:
    """Switch the dock's click tool on (it warms the view up), then click ``at`` (the raster's coordinates); the
    click's answer."""
    box = dock.click_box
    box.tool_button.setChecked(True)
    box.set_active(True)
    qtbot.waitUntil(lambda: bool(warm_ups), timeout=ANSWER_MS)
    session = box.session
    session.hover_enabled = False
    answers: list[dict] = []
    session.add_point(at)
    assert session._call is not None, "the click sent nothing"
    session._call.answered.connect(lambda status, payload: answers.append({"status": status, **(payload or {})}))
    qtbot.waitUntil(lambda: bool(answers), timeout=ANSWER_MS)
    return answers[0]


def _quiet(client: BackendClient, qtbot) -> dict:
    """The embedding cache's counters once the click lane has no warm-up waiting."""
    qtbot.waitUntil(lambda: client.health()["clicks"]["warm_ups_waiting"] == 0, timeout=ANSWER_MS)
    qtbot.wait(300)  # a warm-up taken off the queue finishes its encoder call
    return client.health()["embedding_cache"]


def test_a_click_after_a_query_with_other_bands_and_tiles_reuses_its_embeddings(
    make_dock, live_backend, gorinchem, qgis_canvas, qtbot, tmp_path, warm_ups
):
    layer = _four_bands(gorinchem, tmp_path)
    dock = make_dock(live_backend)
    dock.bands_edit.setText("4,3,2")
    dock.tile_spin.setValue(512)
    client = BackendClient(live_backend.url, live_backend.token)
    extent = layer.extent()
    at = QgsPointXY(extent.xMinimum() + extent.width() * 0.3, extent.yMaximum() - extent.height() * 0.3)
    before = _quiet(client, qtbot)
    _query(dock, layer, qtbot, qgis_canvas, "the river")
    after_query = _quiet(client, qtbot)
    assert after_query["encoded"] > before["encoded"]  # the query encoded its tiles
    answer = _click(dock, qtbot, at, warm_ups)
    assert set(warm_ups) == {202} and answer["status"] == 200, (warm_ups, answer)
    assert answer["cached"] is True  # the query's embedding of that tile, not a new one
    # neither the warm-up of the view nor the click encoded anything: counters, not times
    after_click = _quiet(client, qtbot)
    assert after_click["encoded"] == after_query["encoded"]
    assert after_click["hits"] > after_query["hits"]
    assert dock.click_box.session.preview is not None


def test_a_raster_without_a_crs_searched_in_pixels_can_be_clicked(
    make_dock, live_backend, gorinchem, qgis_canvas, qtbot, tmp_path, warm_ups
):
    layer = _no_crs(gorinchem, tmp_path)
    dock = make_dock(live_backend)
    dock.pixel_check.setChecked(True)
    dock.tile_spin.setValue(512)
    extent = layer.extent()
    centre = QgsPointXY(extent.center())
    _query(dock, layer, qtbot, qgis_canvas, "the river")
    answer = _click(dock, qtbot, centre, warm_ups)
    assert set(warm_ups) == {202} and answer["status"] == 200, (warm_ups, answer)  # before: 422 no_crs
    assert answer["crs"] is None and answer["features"]
    record = dock.controller.records[0]
    results = QgsProject.instance().mapLayer(record.layer_id)
    assert results is not None and results.featureCount() > 0
    # the query's polygons and the click's are both in the raster's pixels, as QGIS draws it
    assert extent.contains(results.extent()), (results.extent().toString(), extent.toString())
    preview = dock.click_box.session.preview
    assert preview is not None and extent.contains(preview.boundingBox())
    assert preview.boundingBox().contains(centre) or preview.boundingBox().intersects(results.extent())
