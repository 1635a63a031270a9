"""The dock and its controller on Debian's QGIS (pytest-qgis), with the real backend and tiny models."""

from __future__ import annotations

import time

import pytest
from qgis.core import QgsProject, QgsRectangle, QgsVectorLayer
from qgis.PyQt.QtCore import Qt, QTimer
from think2map.plugin.core.requests import RunOptions
from think2map.plugin.core.settings import Settings
from think2map.plugin.gui.controller import EXTENT, LAYER, RECTANGLE, parse_bands

JOB_TIMEOUT_MS = 240_000


@pytest.fixture
def vector_layer():
    layer = QgsVectorLayer("Point?crs=EPSG:28992", "points", "memory")
    assert layer.isValid()
    return layer


class LatenessProbe:
    """A 50 ms timer on the UI thread; records how late its ticks come (the UI must never block)."""

    def __init__(self, interval_ms: int = 50):
        self.interval_s = interval_ms / 1000
        self.max_late_s = 0.0
        self.ticks = 0
        self._last = time.monotonic()
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._tick)
        self.timer.start(interval_ms)

    def _tick(self) -> None:
        now = time.monotonic()
        self.max_late_s = max(self.max_late_s, now - self._last - self.interval_s)
        self._last = now
        self.ticks += 1

    def stop(self) -> None:
        self.timer.stop()


def test_dock_builds_with_every_part(make_dock, raster_layer, qgis_iface):
    QgsProject.instance().addMapLayer(raster_layer)
    qgis_iface.setActiveLayer(raster_layer)
    dock = make_dock()
    assert dock.layer_combo.currentLayer() is raster_layer  # defaults to the active raster
    assert [dock.area_combo.itemData(i) for i in range(dock.area_combo.count())] == [LAYER, EXTENT, RECTANGLE]
    assert dock.query_combo.isEditable()
    assert dock.advanced_box.isCollapsed()
    assert (dock.tile_spin.value(), dock.overlap_spin.value()) == (840, 128)
    assert dock.run_button.isEnabled() and not dock.cancel_button.isEnabled()
    assert dock.models_box.prompter_combo.count() >= 1 and dock.models_box.segmenter_combo.count() >= 1
    assert "stopped" in dock.status_label.text().lower()
    assert dock.results_list.count() == 0


def test_non_raster_layer_is_refused_with_a_message(make_dock, raster_layer, vector_layer):
    QgsProject.instance().addMapLayers([raster_layer, vector_layer])
    dock = make_dock()
    assert dock.set_layer(raster_layer)
    assert not dock.set_layer(vector_layer)
    assert "not a raster" in dock.message_label.text()
    assert dock.layer_combo.currentLayer() is raster_layer  # the choice did not change
    assert not dock.controller.run(vector_layer, "the river")
    assert "not a raster" in dock.message_label.text()
    assert dock.controller.records == []


def test_bad_inputs_are_refused_before_anything_runs(make_dock, raster_layer):
    QgsProject.instance().addMapLayer(raster_layer)
    dock = make_dock()
    dock.set_layer(raster_layer)
    dock.set_query("   ")
    assert not dock.run()
    assert "Type what to look for" in dock.message_label.text()
    dock.set_query("the river")
    dock.set_area_mode(RECTANGLE)
    dock.draw_button.setChecked(False)
    assert not dock.run()
    assert "Draw a rectangle" in dock.message_label.text()
    dock.bands_edit.setText("1,x")
    assert not dock.run()
    assert "Bands" in dock.message_label.text()
    assert dock.controller.records == [] and dock.run_button.isEnabled()
    with pytest.raises(ValueError):
        parse_bands("1,2")
    assert parse_bands(" 3, 2,1 ") == [3, 2, 1] and parse_bands("") is None


def test_area_modes_give_bounds_in_the_raster_crs(make_dock, raster_layer, qgis_canvas):
    QgsProject.instance().addMapLayer(raster_layer)
    dock = make_dock()
    controller = dock.controller
    assert controller.area_bounds(raster_layer, LAYER) is None
    qgis_canvas.setDestinationCrs(raster_layer.crs())
    qgis_canvas.setExtent(QgsRectangle(127400, 428000, 127450, 428050))
    bounds = controller.area_bounds(raster_layer, EXTENT)
    extent = raster_layer.extent()
    assert extent.xMinimum() <= bounds[0] < bounds[2] <= extent.xMaximum()
    assert extent.yMinimum() <= bounds[1] < bounds[3] <= extent.yMaximum()
    dock.set_rectangle(QgsRectangle(127400, 428100, 127420, 428120), raster_layer.crs())
    assert dock.area_mode() == RECTANGLE
    assert controller.area_bounds(raster_layer, RECTANGLE, dock.rectangle, dock.rectangle_crs) == pytest.approx(
        [127400, 428100, 127420, 428120]
    )


def test_backend_error_is_shown_with_the_fix(make_dock, qtbot):
    Settings(python_path="/nonexistent/python").save()
    dock = make_dock()
    with qtbot.waitSignal(dock.controller.backendStatus, timeout=5000):
        dock.controller.ensure_backend()
    text = dock.status_label.toolTip()
    assert "does not exist" in text and "make setup" in text
    assert dock.restart_button.isEnabled()


@pytest.mark.live
def test_query_from_the_dock_adds_a_layer_in_the_raster_crs(make_dock, live_backend, raster_layer, qtbot):
    QgsProject.instance().addMapLayer(raster_layer)
    dock = make_dock(live_backend)
    assert "ready" in dock.status_label.text()
    dock.set_layer(raster_layer)
    dock.set_query("the river")
    probe = LatenessProbe()
    with qtbot.waitSignal(dock.controller.running, timeout=JOB_TIMEOUT_MS, check_params_cb=lambda running: not running):
        qtbot.mouseClick(dock.run_button, Qt.MouseButton.LeftButton)
        assert dock.cancel_button.isEnabled() and not dock.run_button.isEnabled()
    probe.stop()
    print(f"\nUI timer: {probe.ticks} ticks, max lateness {probe.max_late_s * 1000:.0f} ms during the job")
    record = dock.controller.records[0]
    assert record.job_state == "done", record.message
    layer = QgsProject.instance().mapLayer(record.layer_id)
    assert layer is not None and layer.featureCount() > 0
    assert layer.crs() == raster_layer.crs()
    assert "the river" in layer.name()
    assert record.tiles_total > 0 and dock.progress_bar.value() == record.tiles_total
    assert any("<think>" in (tile.get("raw_text") or "") for tile in record.tiles)
    assert dock.results_list.count() == 1 and "the river" in dock.results_list.item(0).text()
    assert dock.query_combo.findText("the river") >= 0  # kept in the history
    assert probe.ticks > 10
    assert probe.max_late_s < 0.5, f"the UI thread was blocked for {probe.max_late_s * 1000:.0f} ms"


@pytest.mark.live
def test_cancel_stops_a_running_query(make_dock, live_backend, raster_layer, qtbot):
    QgsProject.instance().addMapLayer(raster_layer)
    dock = make_dock(live_backend)
    dock.set_layer(raster_layer)
    dock.set_query("every tree")
    dock.tile_spin.setValue(128)
    dock.overlap_spin.setValue(16)  # many small tiles: the job takes long enough to cancel
    controller = dock.controller
    with qtbot.waitSignal(controller.progress, timeout=JOB_TIMEOUT_MS, check_params_cb=lambda done, total: done >= 1):
        qtbot.mouseClick(dock.run_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(controller.running, timeout=JOB_TIMEOUT_MS, check_params_cb=lambda running: not running):
        qtbot.mouseClick(dock.cancel_button, Qt.MouseButton.LeftButton)
    record = controller.records[0]
    assert record.job_state == "cancelled", record.message
    assert record.tiles_done < record.tiles_total
    assert dock.run_button.isEnabled() and not dock.cancel_button.isEnabled()
    assert QgsProject.instance().mapLayer(record.layer_id) is not None  # what was found is kept


def test_missing_models_are_named_with_a_download_button(make_dock, monkeypatch):
    dock = make_dock()
    controller = dock.controller.catalog
    controller.models = [
        {"name": "think2seg-rs-3b", "kind": "prompter", "present": False},
        {"name": "think2seg-rs-7b", "kind": "prompter", "present": True},
        {"name": "sam2.1-s", "kind": "segmenter", "present": True},
    ]
    controller.default_models = {"prompter": "think2seg-rs-3b", "segmenter": "sam2.1-s"}
    controller.modelsChanged.emit()
    texts = [dock.models_box.prompter_combo.itemText(i) for i in range(dock.models_box.prompter_combo.count())]
    assert texts[0].startswith("Backend default (think2seg-rs-3b")
    assert any("think2seg-rs-3b" in t and "missing" in t for t in texts)
    assert any("think2seg-rs-7b" in t and "✓" in t for t in texts)
    assert not dock.models_box.missing_row.isHidden() and "think2seg-rs-3b" in dock.models_box.missing_label.text()
    pulled = []
    monkeypatch.setattr(controller, "pull", pulled.append)
    dock.models_box.download_button.click()
    assert pulled == [["think2seg-rs-3b"]]
    controller.pullProgress.emit("think2seg-rs-3b", 40, "running")
    assert (
        not dock.models_box.pull_bar.isHidden()
        and dock.models_box.pull_bar.value() == 40
        and not dock.models_box.download_button.isEnabled()
    )
    dock.models_box.prompter_combo.setCurrentIndex(dock.models_box.prompter_combo.findData("think2seg-rs-7b"))
    controller.pullProgress.emit("think2seg-rs-3b", 100, "done")
    dock.models_box.update_missing()
    assert dock.models_box.missing_row.isHidden()  # the chosen models are all present
    assert dock.options().prompter == "think2seg-rs-7b" and dock.options().segmenter is None


def test_reasoning_text_shows_each_tile():
    from think2map.plugin.core.history import ResultRecord
    from think2map.plugin.gui.reasoning import ReasoningDialog, tile_text

    record = ResultRecord(query="roofs")
    record.add_tiles([{"index": 1, "status": "ok", "raw_text": "<think>b</think>", "instances": 0}])
    record.add_tiles(
        [
            {"index": 0, "status": "ok", "raw_text": "<think>a</think>", "instances": 2, "warnings": ["clipped"]},
            {"index": 1, "status": "ok", "raw_text": "<think>b2</think>"},
        ]
    )
    assert [t["index"] for t in record.tiles] == [0, 1] and record.tiles[1]["raw_text"] == "<think>b2</think>"
    assert "clipped" in tile_text(record.tiles[0])
    dialog = ReasoningDialog(record)
    assert dialog.tile_list.count() == 2 and "<think>a</think>" in dialog.text.toPlainText()
    dialog.tile_list.setCurrentRow(1)
    assert "<think>b2</think>" in dialog.text.toPlainText()
    dialog.deleteLater()


def test_a_query_with_missing_models_is_refused_before_anything_runs(make_dock, raster_layer):
    QgsProject.instance().addMapLayer(raster_layer)
    controller = make_dock().controller
    controller.catalog.models = [
        {"name": "think2seg-rs-3b", "kind": "prompter", "present": False},
        {"name": "sam2.1-s", "kind": "segmenter", "present": True},
    ]
    controller.catalog.default_models = {"prompter": "think2seg-rs-3b", "segmenter": "sam2.1-s"}
    messages = []
    controller.message.connect(lambda level, text, details: messages.append((level, text)))
    assert controller.run(raster_layer, "the river") is False
    assert messages[-1][0] == "error" and "Not downloaded yet: think2seg-rs-3b" in messages[-1][1]
    assert controller.records == [] and QgsProject.instance().layerTreeRoot().findGroup("Think2Map") is None


@pytest.mark.live
def test_a_failed_query_leaves_no_empty_layer_and_no_busy_bar(make_dock, live_backend, raster_layer, qtbot, tmp_path):
    QgsProject.instance().addMapLayer(raster_layer)
    dock = make_dock(live_backend)
    dock.set_layer(raster_layer)
    controller = dock.controller
    not_a_model = tmp_path / "not-a-model"
    not_a_model.mkdir()
    with qtbot.waitSignal(controller.running, timeout=JOB_TIMEOUT_MS, check_params_cb=lambda running: not running):
        assert controller.run(raster_layer, "the river", options=RunOptions(prompter=str(not_a_model)))
    record = controller.records[0]
    assert record.job_state == "failed" and record.message
    assert "failed" in dock.message_label.text().lower()
    assert record.layer_id == "" and QgsProject.instance().layerTreeRoot().findGroup("Think2Map") is None
    assert dock.progress_bar.maximum() > 0 and dock.run_button.isEnabled()
