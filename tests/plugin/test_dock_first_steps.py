"""The dock and the click tool as an analyst first meets them (issue 24): one refusal for a layer, worded alike
by the dock and the click tool; a first open that is a step, not an error; a dock that fits its content in
English and French; names and counts that read right; messages that say which raster they are about."""

from __future__ import annotations

import numpy as np
import pytest
from qgis.core import QgsProject, QgsRasterLayer
from qgis.PyQt.QtWidgets import QAbstractButton, QApplication, QLabel
from think2map.plugin.core import layers
from think2map.plugin.core.history import ResultRecord
from think2map.plugin.core.process import BackendManager
from think2map.plugin.core.settings import Settings
from think2map.plugin.gui.click_session import edits_layer_name
from think2map.plugin.gui.dock import _record_text
from think2map.plugin.gui.i18n import install_translator, remove_translator
from think2map.plugin.gui.styles import ERROR_STYLE

from .conftest import write_raster
from .test_clicks import answered, at, click
from .test_i18n import compiled_french

XYZ = "type=xyz&url=file:///nowhere/%7Bz%7D/%7Bx%7D/%7By%7D.png&zmax=19&zmin=0"


def test_a_web_layer_is_searched_and_clicked_with_a_local_or_a_remote_backend(make_dock):
    xyz = QgsRasterLayer(XYZ, "basemap", "wms")
    assert xyz.isValid()
    QgsProject.instance().addMapLayer(xyz)
    dock = make_dock()
    said: list[str] = []
    dock.click_box.message.connect(lambda level, text: said.append(level))
    for settings in (Settings(), Settings(backend_mode="remote", remote_url="http://gpu.example:8000")):
        settings.save()
        assert dock.set_layer(xyz) and dock.layer_problem() is None  # its area is exported (and sent) first
        dock.click_box.tool_button.setChecked(True)
        assert dock.click_box.tool_button.isChecked() and "error" not in said
        dock.click_box.tool_button.setChecked(False)


def test_first_open_is_a_step_to_take_not_an_error(make_dock, qtbot, monkeypatch):
    # Installed from the zip: no backend anywhere yet (a checkout's .venv would be found by default).
    monkeypatch.setattr(Settings, "load", classmethod(lambda cls, include_token=True: Settings(python_path="")))
    dock = make_dock(BackendManager(settings_loader=lambda: Settings(python_path="")))
    with qtbot.waitSignal(dock.controller.backendStatus, timeout=5000):
        dock.controller.ensure_backend()
    text = dock.status_label.text()
    assert "Set up the backend" in text and not text.startswith("Backend error") and "make setup" not in text
    assert ERROR_STYLE not in dock.status_label.styleSheet()
    assert dock.setup_button.isVisibleTo(dock) and not dock.details_button.isVisibleTo(dock)


def test_table_names_keep_accented_letters_as_plain_ones():
    assert layers.table_name("la rivière près du pont").startswith("la_riviere_pres_du_pont_")
    assert layers.table_name("Straße").startswith("strasse_") or layers.table_name("Straße").startswith("strae_")
    assert layers.table_name("???").startswith("query_")


def test_the_results_list_keeps_what_tells_two_runs_apart():
    query = "every building with a red roof next to the old harbour wall"
    name = layers.result_layer_name(query, "gorinchem", {layers.result_layer_name(query, "gorinchem", set())})
    assert name.endswith("· gorinchem (2)")
    text = _record_text(ResultRecord(query=query, name=name, job_state="done"))
    assert "· gorinchem (2) — done" in text and "…" in text


@pytest.mark.live  # lrelease compiles the French translation
@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_dock_fits_its_content_at_its_default_width(language, make_dock, tmp_path, qtbot):
    english = make_dock()
    english.advanced_box.setCollapsed(False)
    width = english.sizeHint().width()  # the width the dock opens with, in English
    translator = install_translator("fr", compiled_french(tmp_path)) if language == "fr" else None
    try:
        dock = make_dock()
        dock.advanced_box.setCollapsed(False)
        dock.resize(width, 1200)
        dock.show()
        QApplication.processEvents()
        if language == "fr":
            assert dock.run_button.text() == "Lancer" and edits_layer_name() == "Modifications Think2Map"
        scroll = dock.widget()
        body = scroll.widget()
        assert body.width() <= scroll.viewport().width(), "content cut off at the right"
        assert not scroll.horizontalScrollBar().isVisible()
        squeezed = [
            (type(w).__name__, w.text())
            for w in body.findChildren((QAbstractButton, QLabel))
            if w.isVisible() and not (isinstance(w, QLabel) and w.wordWrap())
            and w.width() < w.minimumSizeHint().width()
        ]  # fmt: skip
        assert squeezed == []
    finally:
        remove_translator(translator)


@pytest.mark.live  # lrelease compiles the French translation
def test_counts_read_right_in_french(tmp_path):
    from think2map.plugin.core.tasks import outcome_message

    translator = install_translator("fr", compiled_french(tmp_path))
    try:
        for n in (1, 2):
            for text in (
                outcome_message("cancelled", {}, n),
                outcome_message("failed", {"error_code": "job_failed"}, n),
            ):
                assert f"les {n} " not in text.lower() and f"ses {n} " not in text.lower(), text
    finally:
        remove_translator(translator)


@pytest.mark.live  # the real backend
def test_a_raster_without_crs_searched_in_pixels_can_be_clicked(make_dock, live_backend, tmp_path, qtbot):
    path = write_raster(
        tmp_path / "scan.tif",
        np.random.default_rng(0).integers(0, 255, (3, 600, 600), dtype=np.uint8),
        epsg=None,
        geotransform=(0, 1, 0, 0, 0, -1),
    )
    raster = QgsRasterLayer(str(path), "scan")
    assert raster.isValid() and not raster.crs().isValid()
    QgsProject.instance().addMapLayer(raster)
    dock = make_dock(live_backend)
    dock.set_layer(raster)
    dock.pixel_check.setChecked(True)  # as for a query on it from the dock
    assert dock.layer_problem() is None
    canvas = dock.iface.mapCanvas()
    canvas.setExtent(raster.extent())
    canvas.refresh()
    box = dock.click_box
    box.session.hover_enabled = False
    box.tool_button.setChecked(True)
    assert box.tool_button.isChecked()
    click(box.tool, at(box.tool, 0.5, 0.5))
    answered(qtbot, box.session, 1)
    assert box.session.preview is not None and not box.session.preview.isEmpty()  # not a 422 "no CRS"
    extent = raster.extent()
    extent.grow(1)
    assert extent.contains(box.session.preview.boundingBox())  # in pixel coordinates, as the query's are
