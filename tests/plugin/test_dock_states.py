"""The dock never misleads (issue 18), on Debian's QGIS with pytest-qgis: the raster shown is the raster searched,
every state ends, jobs belong to their project, crashes are named, and result layers are honest.

The backend here is the FAKE one (tests/plugin/fake_backend.py, run as a real process over HTTP), so that a job
can be slow, killed or left mid-way on purpose; tests/plugin/test_dock.py runs the real backend.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest
from qgis.core import (
    Qgis,
    QgsApplication,
    QgsLayerTreeLayer,
    QgsProject,
    QgsRasterLayer,
)
from qgis.PyQt import sip
from think2map.contract import JobSpec
from think2map.plugin.core.history import ResultRecord
from think2map.plugin.core.process import BackendManager
from think2map.plugin.core.settings import Settings
from think2map.plugin.core.tasks import SegmentTask
from think2map.plugin.gui.controller import DockController
from think2map.plugin.gui.settings_dialog import SettingsDialog

from .conftest import write_raster

RD = 28992
RD_ORIGIN = (126000.0, 426500.0)  # the fake backend's polygons start at (126000, 426000), inside this raster


@pytest.fixture
def rasters(tmp_path) -> dict[str, Path]:
    grey = np.full((3, 200, 200), 120, np.uint8)
    return {
        "georeferenced": write_raster(
            tmp_path / "ortho.tif", grey, epsg=RD, geotransform=(RD_ORIGIN[0], 5, 0, RD_ORIGIN[1], 0, -5)
        ),
        "png": write_raster(tmp_path / "photo.png", grey, epsg=None, geotransform=None, driver="PNG"),
        "float without crs": write_raster(
            tmp_path / "dem.tif", np.ones((1, 50, 50), np.float32), epsg=None, geotransform=(0, 1, 0, 0, 0, -1)
        ),
        "second": write_raster(
            tmp_path / "second.tif", grey, epsg=RD, geotransform=(RD_ORIGIN[0], 5, 0, RD_ORIGIN[1], 0, -5)
        ),
    }


def layer_of(path: Path) -> QgsRasterLayer:
    layer = QgsRasterLayer(str(path), path.stem)
    assert layer.isValid()
    QgsProject.instance().addMapLayer(layer)
    return layer


@pytest.fixture
def make_dock(make_dock, tmp_path):
    """The shared dock maker, with the project saved in tmp_path: GeoPackages go beside it."""
    QgsProject.instance().setFileName(str(tmp_path / "project.qgz"))
    return make_dock


def messages_of(controller: DockController) -> list[tuple[str, str, str]]:
    got: list[tuple[str, str, str]] = []
    controller.message.connect(lambda level, text, details: got.append((level, text, details)))
    return got


def wait_done(qtbot, controller: DockController, timeout_ms: int = 30_000) -> None:
    qtbot.waitUntil(lambda: not controller.is_running, timeout=timeout_ms)


def result_layers() -> list:
    return [lyr for lyr in QgsProject.instance().mapLayers().values() if lyr.type() == 0]  # vector layers


# --- 1. the raster the user sees is the raster searched ------------------------------------------------------
@pytest.mark.parametrize("name", ["png", "float without crs"])
def test_the_raster_combo_follows_the_active_layer_even_when_it_cannot_be_searched(make_dock, rasters, name):
    good, bad = layer_of(rasters["georeferenced"]), layer_of(rasters[name])
    dock = make_dock()
    dock._on_active_layer(good)  # what QGIS's currentLayerChanged calls (the desktop test clicks the legend)
    assert dock.layer_combo.currentLayer() is good and dock.run_button.isEnabled()
    dock._on_active_layer(bad)
    assert dock.layer_combo.currentLayer() is bad  # shown, never the previous raster
    assert not dock.run_button.isEnabled()
    tip = dock.run_button.toolTip()
    assert "no coordinate reference system" in tip and "Assign Projection" in tip and "Pixel coordinates" in tip
    assert dock.message_label.text() == tip
    assert dock.run() is False and dock.controller.records == []  # Enter in the query box refuses it too
    dock.pixel_check.setChecked(True)  # the fix the tooltip names
    assert dock.run_button.isEnabled() and dock.message_label.text() == ""
    dock._on_active_layer(good)
    assert dock.layer_combo.currentLayer() is good and dock.run_button.isEnabled()


def test_a_raster_without_crs_is_sent_in_pixel_coordinates_only_when_asked(make_dock, rasters):
    png, georeferenced = layer_of(rasters["png"]), layer_of(rasters["georeferenced"])
    dock = make_dock()

    def build(layer):
        return dock.controller.build_request(layer, "the car", None, dock.options()).to_json()

    assert build(png)["pixel_coords"] is False
    dock.pixel_check.setChecked(True)
    request = build(png)
    assert request["pixel_coords"] is True and request["raster"].endswith("photo.png")
    assert build(georeferenced)["pixel_coords"] is False  # it has a CRS: map units


# --- 2. every state ends -------------------------------------------------------------------------------------
def test_run_with_a_backend_that_cannot_start_fails_at_once(make_dock, rasters, qtbot):
    Settings(python_path="/nonexistent/python").save()
    good = layer_of(rasters["georeferenced"])
    dock = make_dock()
    controller = dock.controller
    controller.ensure_backend()  # the status line already says so; Run must not wait for it anyway
    assert controller.manager.state == "error"
    got = messages_of(controller)
    dock.set_layer(good)
    dock.set_query("the river")
    assert dock.run() is False
    level, text, _ = got[-1]
    assert level == "error" and text.startswith("The backend cannot start:") and "does not exist" in text
    assert controller.records == [] and result_layers() == []  # no record, no layer
    assert not controller.is_running and dock.run_button.isEnabled() and dock.progress_bar.maximum() > 0


@pytest.mark.live
def test_a_backend_start_has_a_deadline(make_dock, rasters, qtbot, tmp_path):
    slow = tmp_path / "python"
    slow.write_text("#!/bin/sh\necho 'loading torch…' >&2\nexec sleep 60\n")
    slow.chmod(0o755)
    Settings(python_path=str(slow)).save()
    manager = BackendManager()
    manager.start_timeout_s = 2
    dock = make_dock(manager)
    got = messages_of(dock.controller)
    dock.set_layer(layer_of(rasters["georeferenced"]))
    dock.set_query("the river")
    assert dock.run()  # it is starting: the query waits for it…
    assert dock.controller.records[0].job_state == "waiting" and result_layers() == []
    wait_done(qtbot, dock.controller, 10_000)  # …but not forever
    record = dock.controller.records[0]
    assert record.job_state == "failed" and "did not start within 2 s" in record.message
    assert "loading torch…" in got[-1][2]  # what it said, under Details
    assert result_layers() == [] and dock.run_button.isEnabled()


@pytest.mark.live
def test_the_settings_dialog_checks_the_interpreter_without_blocking(qtbot, tmp_path, backend_python):
    dialog = SettingsDialog(Settings(python_path=str(tmp_path / "nope" / "python")))
    qtbot.addWidget(dialog)
    dialog.accept()
    assert dialog.result() == 0 and "does not exist" in dialog.error_label.text()

    no_backend = tmp_path / "python"  # a Python that exists but cannot import the backend's packages
    no_backend.write_text('#!/bin/sh\nexec /usr/bin/python3 -I -S "$@"\n')
    no_backend.chmod(0o755)
    dialog.python_widget.setFilePath(str(no_backend))
    started = time.monotonic()
    dialog.accept()
    assert time.monotonic() - started < 0.5  # it returned at once: the check runs in a child process
    assert "Checking" in dialog.error_label.text() and dialog.result() == 0
    qtbot.waitUntil(lambda: not dialog.check.running, timeout=30_000)
    assert dialog.result() == 0 and "cannot run the backend" in dialog.error_label.text()
    assert "No module named" in dialog.error_label.text()

    dialog.python_widget.setFilePath(str(backend_python))
    with qtbot.waitSignal(dialog.accepted, timeout=60_000):
        dialog.accept()
    assert dialog.result() == 1


# --- 3. jobs belong to their project ---------------------------------------------------------------------------
@pytest.mark.live
def test_a_new_project_cancels_the_job_and_keeps_its_polygons_in_the_old_geopackage(
    make_dock, fake_manager, rasters, qtbot, qgis_iface, tmp_path
):
    dock = make_dock(fake_manager)
    controller = dock.controller
    dock.set_layer(layer_of(rasters["georeferenced"]))
    dock.set_query("every roof")
    assert dock.run()
    record = controller.records[0]
    qtbot.waitUntil(lambda: record.features >= 2, timeout=20_000)
    source = record.layer_source
    assert source.startswith(str(tmp_path)) and "|layername=" in source
    QgsProject.instance().clear()  # what Project ▸ New (or Close, or opening another) does first
    wait_done(qtbot, controller)
    assert result_layers() == [] and QgsProject.instance().layerTreeRoot().children() == []  # nothing came back
    assert controller.records == []
    path, table = source.split("|layername=")
    with sqlite3.connect(path) as db:
        kept = db.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
    assert kept == record.features >= 2 and record.features < 40  # kept, and it stopped early
    bar = qgis_iface.messageBar().get_messages(Qgis.MessageLevel.Warning)
    assert any("The project was closed" in m and path in m and f"{kept} polygon(s)" in m for m in bar), bar
    assert "The project was closed" in dock.message_label.text()


@pytest.mark.live
def test_a_new_project_cancels_a_query_still_waiting_for_the_backend(make_dock, rasters, qtbot, tmp_path):
    slow = tmp_path / "python"
    slow.write_text("#!/bin/sh\nexec sleep 60\n")
    slow.chmod(0o755)
    Settings(python_path=str(slow)).save()
    dock = make_dock()
    dock.set_layer(layer_of(rasters["georeferenced"]))
    dock.set_query("roofs")
    assert dock.run() and dock.controller.is_running
    QgsProject.instance().clear()
    assert not dock.controller.is_running and "before it found anything" in dock.message_label.text()
    assert result_layers() == []
    dock.controller.manager.stop(wait_ms=2000)


# --- 4. crashes are named --------------------------------------------------------------------------------------
def _roof_query(make_dock, fake_manager, rasters):
    """A dock on the FAKE backend running "every roof": the dock, its controller and the messages it shows."""
    dock = make_dock(fake_manager)
    got = messages_of(dock.controller)
    dock.set_layer(layer_of(rasters["georeferenced"]))
    dock.set_query("every roof")
    assert dock.run()
    return dock, dock.controller, got


@pytest.mark.live
def test_a_backend_killed_mid_job_is_named_restarted_and_the_polygons_kept(make_dock, fake_manager, rasters, qtbot):
    dock, controller, got = _roof_query(make_dock, fake_manager, rasters)
    record = controller.records[0]
    qtbot.waitUntil(lambda: record.features >= 2, timeout=20_000)
    os.kill(fake_manager.pid, signal.SIGKILL)
    wait_done(qtbot, controller, 10_000)
    level, text, details = got[-1]
    assert level == "error" and "stopped unexpectedly: it was killed by signal 9 (SIGKILL)" in text
    assert "restarting it" in text and f"The {record.features} polygon(s) found before were kept." in text
    assert "No backend is listening" not in text and "fake backend starting" in details
    assert dock.message_details_button.isVisible()
    layer = controller.layer_for(record)
    assert layer is not None and layer.featureCount() == record.features  # kept on the map
    qtbot.waitUntil(lambda: fake_manager.state == "ready", timeout=20_000)
    assert re.search(r"restarted at \d\d:\d\d, after it stopped unexpectedly", dock.status_label.text())
    assert dock.run_button.isEnabled()


@pytest.mark.live
def test_a_crash_is_named_even_when_the_lost_connection_is_heard_first(make_dock, fake_manager, rasters, qtbot):
    """Under load the job's poll can fail ("connection reset") before Qt reports the process's exit: the crash,
    which says what happened, must still be the message."""
    dock, controller, got = _roof_query(make_dock, fake_manager, rasters)
    record, task = controller.records[0], controller.task
    qtbot.waitUntil(lambda: record.tiles_done >= 1, timeout=20_000)
    # The task's failure first, as a poll that lost its connection reports it, once the task has ended and QGIS has
    # deleted it; then the process dies.
    task.unreachable = True
    task.jobFinished.disconnect(controller._on_job_finished)
    qtbot.waitUntil(lambda: sip.isdeleted(task), timeout=60_000)
    controller._current = lambda: record  # the signal is emitted by hand here, not by the task's thread
    controller._on_job_finished("failed", "Could not reach the backend: [Errno 104] Connection reset by peer", "")
    assert controller.is_running  # waiting for the backend's exit to be reported
    os.kill(fake_manager.pid, signal.SIGKILL)
    wait_done(qtbot, controller, 10_000)
    level, text, _ = got[-1]
    assert level == "error" and "stopped unexpectedly: it was killed by signal 9 (SIGKILL)" in text, text
    assert "Connection reset" not in text
    qtbot.waitUntil(lambda: fake_manager.state == "ready", timeout=20_000)


# --- 5. errors as codes, words in the dock ---------------------------------------------------------------------
@pytest.mark.live
def test_limits_the_dock_knows_are_checked_before_sending(make_dock, fake_manager, rasters, qtbot):
    dock = make_dock(fake_manager)
    got = messages_of(dock.controller)
    dock.set_layer(layer_of(rasters["georeferenced"]))
    dock.set_query("x" * 2001)
    assert dock.run() is False
    assert got[-1][1] == "The query is 2001 characters long; keep it to 2000 at most."
    dock.set_query("roofs")
    dock.overlap_spin.setValue(500)
    assert dock.run() is False
    assert "at most half the tile size: 420 pixels" in got[-1][1] and "Advanced options" in got[-1][1]
    assert dock.controller.records == [] and not dock.controller.is_running  # nothing was sent


@pytest.mark.live
def test_a_refusal_is_said_in_the_docks_words_with_the_backends_under_details(make_dock, fake_manager, tmp_path, qtbot):
    huge = write_raster(tmp_path / "huge.tif", np.full((3, 64, 64), 9, np.uint8), epsg=RD)
    dock = make_dock(fake_manager)
    qtbot.waitUntil(lambda: dock.controller.client is not None)
    got = messages_of(dock.controller)
    dock.set_layer(layer_of(huge))
    dock.set_query("roofs")
    assert dock.run()
    wait_done(qtbot, dock.controller)
    level, text, details = got[-1]
    assert level == "error" and "raise the tile limit in Advanced options" in text and "1764" in text
    assert "--max-tiles" not in text and "HTTP" not in text
    assert "Over HTTP" in details  # the backend's own words are one click away
    assert result_layers() == []


# --- 6 and 7. layers ---------------------------------------------------------------------------------------------
@pytest.mark.live
def test_result_layers_have_unique_names_and_a_query_with_no_target_adds_none(make_dock, fake_manager, rasters, qtbot):
    dock = make_dock(fake_manager)
    controller = dock.controller
    raster = layer_of(rasters["georeferenced"])
    dock.set_layer(raster)
    names = []
    for query in ("the buildings", "the buildings"):
        dock.set_query(query)
        assert dock.run()
        record = controller.records[0]
        qtbot.waitUntil(lambda r=record: r.features >= 1, timeout=20_000)
        controller.cancel()
        wait_done(qtbot, controller)
        names.append(controller.layer_for(record).name())
    assert names == ["the buildings · ortho", "the buildings · ortho (2)"]
    items = [dock.results_list.item(i).text() for i in range(dock.results_list.count())]
    assert len(set(items)) == 2

    dock.set_query("nothing at all")
    assert dock.run()
    record = controller.records[0]
    qtbot.waitUntil(lambda: record.tiles_done >= 3, timeout=20_000)
    controller.cancel()
    wait_done(qtbot, controller)
    assert record.layer_id == "" and len(result_layers()) == 2  # no layer for it
    assert "cancelled" in dock.results_list.item(0).text()
    assert record.tiles and all("<think>" in t["raw_text"] for t in record.tiles)  # the reasoning is kept


@pytest.mark.live
def test_the_end_of_a_query_names_its_raster_when_the_dock_shows_another(make_dock, fake_manager, rasters, qtbot):
    dock = make_dock(fake_manager)
    controller = dock.controller
    searched, other = layer_of(rasters["georeferenced"]), layer_of(rasters["second"])
    dock.set_layer(searched)
    dock.set_query("the buildings")
    assert dock.run()
    record = controller.records[0]
    qtbot.waitUntil(lambda: record.tiles_done >= 1, timeout=20_000)
    dock.set_layer(other)  # the analyst moves on to another raster while the query runs
    controller.cancel()
    wait_done(qtbot, controller)
    assert dock.layer_combo.currentLayer() == other
    text = dock.message_label.text()
    assert text.startswith("'the buildings' on 'ortho': ") and "cancelled" in text.lower(), text


def test_no_target_is_said_in_the_results_list():
    from think2map.plugin.gui.dock import _record_text

    record = ResultRecord(query="the flooded fields", name="the flooded fields · ortho", job_state="done")
    assert _record_text(record) == "the flooded fields · ortho — done, no target"
    record.features = 3
    assert _record_text(record) == "the flooded fields · ortho — done, 3 polygon(s)"


@pytest.mark.live
def test_the_results_group_sits_above_the_raster_it_came_from(make_dock, fake_manager, rasters, qtbot):
    dock = make_dock(fake_manager)
    controller = dock.controller
    root = QgsProject.instance().layerTreeRoot()
    first = layer_of(rasters["georeferenced"])

    def order() -> list[str]:
        names = []
        for node in root.children():
            names.append(node.name() if not isinstance(node, QgsLayerTreeLayer) else node.layer().name())
        return names

    def run_on(layer) -> None:
        dock.set_layer(layer)
        dock.set_query("roofs")
        assert dock.run()
        record = controller.records[0]
        qtbot.waitUntil(lambda: record.features >= 1, timeout=20_000)
        controller.cancel()
        wait_done(qtbot, controller)

    run_on(first)
    assert order() == ["Think2Map", "ortho"]
    second = layer_of(rasters["second"])  # added later: on top, over the group
    assert order() == ["second", "Think2Map", "ortho"]
    run_on(second)
    assert order() == ["Think2Map", "second", "ortho"]  # moved above the raster searched
    assert len(root.findGroup("Think2Map").findLayers()) == 2  # with both results in it


@pytest.mark.live
def test_a_cancelled_task_is_not_a_failure_to_qgis(fake_manager, qtbot):
    task = SegmentTask(fake_manager.client(), JobSpec(raster="/r.tif", query="roofs"), "Think2Map: roofs")
    ended = []
    task.taskCompleted.connect(lambda: ended.append("completed"))
    task.taskTerminated.connect(lambda: ended.append("terminated"))
    task.featuresArrived.connect(lambda features, crs: task.cancel())
    with qtbot.waitSignal(task.jobFinished, timeout=30_000) as finished:
        QgsApplication.taskManager().addTask(task)
    assert finished.args[0] == "cancelled"
    qtbot.waitUntil(lambda: bool(ended), timeout=5000)
    assert ended == ["completed"]  # the user asked for it: QGIS's bar must not say "Task failed"


def test_a_long_query_is_elided_in_the_results_list_with_the_whole_of_it_in_the_tooltip(make_dock, rasters, qtbot):
    dock = make_dock()
    query = "the buildings with red roofs near the river " * 115  # about 5,000 characters
    record = ResultRecord(query=query.strip(), name="", job_state="failed", message="it failed")
    dock.controller.records.append(record)
    dock._update_results()
    item = dock.results_list.item(0)
    assert len(item.text()) < 90 and item.text().endswith("failed, 0 polygon(s)")
    assert item.toolTip().startswith(query.strip()) and "it failed" in item.toolTip()
    assert dock.results_list.horizontalScrollBarPolicy() == 1  # Qt.ScrollBarPolicy.ScrollBarAlwaysOff
    dock.results_list.resize(300, 200)
    assert dock.results_list.horizontalScrollBar().maximum() == 0


# --- "find every …": SAM 3 from the dock ----------------------------------------------------------------------
@pytest.mark.live
def test_a_find_query_from_the_dock_runs_on_sam3(make_dock, backend_python, tiny_models, gorinchem, qtbot):
    settings = Settings(
        python_path=str(backend_python),
        prompter=str(tiny_models["prompter"]),
        segmenter=str(tiny_models["sam2"]),
        device="cpu",
        storage="memory",
        extra_args=["--finder", str(tiny_models["sam3"]), "--find-threshold", "0.2"],
    )
    manager = BackendManager(settings_loader=lambda: settings)
    try:
        with qtbot.waitSignal(manager.ready, timeout=180_000):
            manager.start()
        dock = make_dock(manager)
        controller = dock.controller
        dock.set_layer(layer_of(gorinchem))
        dock.set_query("swimming pools")
        dock.mode_combo.setCurrentIndex(dock.mode_combo.findData("auto"))
        assert dock.run()
        wait_done(qtbot, controller, 180_000)
        record = controller.records[0]
        assert record.job_state == "done" and record.features >= 1, record
        layer = controller.layer_for(record)
        feature = next(layer.getFeatures())
        assert feature["source"] == "sam3" and feature["prompter"] == "tiny-sam3"
        assert feature["route"] == "routed to SAM 3 because 'swimming pools' is a short noun phrase"
        assert layer.crs().authid() == "EPSG:28992"
    finally:
        manager.stop(wait_ms=10_000)
