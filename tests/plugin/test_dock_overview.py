"""Strategies from the dock, on Debian's QGIS with the REAL backend (tiny models, forced answers) on a real raster."""

from __future__ import annotations

import pytest
from qgis.core import QgsProject, QgsRectangle
from qgis.PyQt.QtCore import Qt
from think2map.plugin.core import layers
from think2map.plugin.gui.reasoning import ReasoningDialog

from .conftest import FORCED_ANSWER
from .test_dock import JOB_TIMEOUT_MS

pytestmark = pytest.mark.live  # a real or FAKE backend process, or a server on loopback

EMPTY_ANSWER = "<think>no airport in this scene</think><answer>[]</answer>"


def _run(dock, qtbot) -> list[int]:
    """Run the dock's query to its end; the tile indices in the order their reports arrived."""
    arrived: list[int] = []
    with qtbot.waitSignal(dock.controller.running, timeout=JOB_TIMEOUT_MS, check_params_cb=lambda running: not running):
        qtbot.mouseClick(dock.run_button, Qt.MouseButton.LeftButton)
        # the task exists once Run is pressed; its signals are queued to this thread, so none is missed
        dock.controller.task.tilesArrived.connect(lambda tiles: arrived.extend(t["index"] for t in tiles))
    return arrived


def _in_view_tiles(record, view: QgsRectangle, extent: QgsRectangle, width: int, height: int) -> set[int]:
    """The tiles (from their reports) whose window meets the view, in pixels of the raster."""
    px = extent.width() / width
    col0, col1 = (view.xMinimum() - extent.xMinimum()) / px, (view.xMaximum() - extent.xMinimum()) / px
    row0, row1 = (extent.yMaximum() - view.yMaximum()) / px, (extent.yMaximum() - view.yMinimum()) / px
    hits = set()
    for tile in record.tiles:
        c, r, w, h = tile["window"]
        if c < col1 and c + w > col0 and r < row1 and r + h > row0:
            hits.add(tile["index"])
    return hits


def _overview_dock(dock, raster_layer, query: str):
    """The dock on the raster, with the query typed and the overview chosen in its Advanced options."""
    QgsProject.instance().addMapLayer(raster_layer)
    dock.set_layer(raster_layer)
    dock.set_query(query)
    dock.strategy_combo.setCurrentIndex(dock.strategy_combo.findData("overview"))
    return dock


def test_an_overview_from_the_dock_draws_its_boxes_and_shows_its_reasoning(
    make_dock,
    live_backend,
    raster_layer,
    qtbot,
):
    dock = _overview_dock(make_dock(live_backend), raster_layer, "the harbour")
    assert dock.refine_combo.isEnabled() and dock.refine_combo.currentData() == "sam"
    _run(dock, qtbot)
    record = dock.controller.records[0]
    assert record.job_state == "done", record.message
    assert record.strategy == "overview" and record.prompter_calls == 1
    assert "1 prompter call(s) for 4 tiles" in record.message
    assert "overview, 1 prompter call(s)" in dock.results_list.item(0).text()
    boxes = QgsProject.instance().mapLayer(record.overview_layer_id)
    assert boxes is not None and boxes.name() == layers.overview_layer_name(record.name)
    assert boxes.featureCount() == 1 and boxes.crs() == raster_layer.crs()
    group = QgsProject.instance().layerTreeRoot().findGroup(layers.GROUP_NAME)
    node = group.findLayer(boxes.id())
    assert node is not None and node.isVisible()  # shown, and the user can toggle it
    node.setItemVisibilityChecked(False)
    assert not node.isVisible()
    # the box is where the forced answer put it: [100, 100, 400, 400] of the 840-px frame over the whole raster
    extent, box = raster_layer.extent(), boxes.extent()
    assert box.xMinimum() == pytest.approx(extent.xMinimum() + extent.width() * 100 / 840, abs=0.6)
    results = QgsProject.instance().mapLayer(record.layer_id)
    assert {f["strategy"] for f in results.getFeatures()} == {"overview"}
    dialog = ReasoningDialog(record)
    assert dialog.tile_list.item(0).text().startswith("Overview cell 0: ok, 1 boxes")
    assert "<think>x</think>" in dialog.text.toPlainText()
    dialog.close()


def test_the_first_polygon_of_a_tiles_job_comes_from_the_view(
    make_dock,
    live_backend,
    raster_layer,
    qgis_canvas,
    qtbot,
):
    QgsProject.instance().addMapLayer(raster_layer)
    dock = make_dock(live_backend)
    dock.set_layer(raster_layer)
    dock.set_query("boats")
    dock.tile_spin.setValue(256)
    dock.overlap_spin.setValue(32)
    extent = raster_layer.extent()
    # zoomed in on the lower right of the raster: far from the grid's first tiles
    view = QgsRectangle(
        extent.xMinimum() + extent.width() * 0.7,
        extent.yMinimum() + extent.height() * 0.1,
        extent.xMinimum() + extent.width() * 0.9,
        extent.yMinimum() + extent.height() * 0.3,
    )
    qgis_canvas.setDestinationCrs(raster_layer.crs())
    qgis_canvas.setExtent(view)
    request = dock.controller.build_request(raster_layer, "boats", None, dock.options())
    shown = qgis_canvas.extent().intersect(extent)  # the canvas's own aspect ratio, within the raster
    assert request.focus == pytest.approx([shown.xMinimum(), shown.yMinimum(), shown.xMaximum(), shown.yMaximum()])
    arrived = _run(dock, qtbot)
    record = dock.controller.records[0]
    assert record.job_state == "done" and record.tiles_total == 25, record.message
    in_view = _in_view_tiles(record, shown, extent, raster_layer.width(), raster_layer.height())
    assert in_view and 0 not in in_view
    assert sorted(arrived) == list(range(25))
    assert arrived[0] in in_view and 0 not in arrived[:5], arrived  # the view first, from its centre out
    # The tiny models' random masks join into objects across tiles, so the first polygon here spans many; that
    # it is one of the view's objects is tested with an oracle in tests/backend/test_overview.py.
    results = QgsProject.instance().mapLayer(record.layer_id)
    first = min(results.getFeatures(), key=lambda f: f.id())  # polygons are added as they come
    tiles = {int(t) for t in str(first["tiles"]).split(",")}
    assert tiles & in_view, (tiles, in_view)


@pytest.fixture
def empty_backend(backend_settings, qtbot):
    """The real backend whose prompter answers ``[]`` everywhere."""
    from think2map.plugin.core.process import BackendManager

    backend_settings.extra_args = ["--force-answer", EMPTY_ANSWER]
    backend_settings.save()
    manager = BackendManager()
    with qtbot.waitSignal(manager.ready, timeout=180_000):
        manager.start()
    yield manager
    manager.stop(wait_ms=10_000)
    manager.deleteLater()


def test_an_overview_that_sees_nothing_says_no_target_with_its_reasoning(
    make_dock,
    empty_backend,
    raster_layer,
    qtbot,
):
    dock = _overview_dock(make_dock(empty_backend), raster_layer, "the airport")
    _run(dock, qtbot)
    record = dock.controller.records[0]
    assert record.job_state == "done"
    assert record.message.startswith("No target: the overview saw nothing matching the query.")
    assert not record.layer_id and not record.overview_layer_id  # nothing found: no layer at all
    assert "no target" in dock.results_list.item(0).text()
    assert "no airport in this scene" in ReasoningDialog(record).text.toPlainText()
    assert FORCED_ANSWER not in record.message
