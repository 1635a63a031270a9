"""Desktop end-to-end test, run inside the real QGIS by ``qgis --code`` (see run_desktop_test.sh).

It configures the plugin (backend Python, tiny models, forced answer), loads the raster, opens the dock, types
a query, clicks Run, waits for a result layer with features, zooms to it, saves screenshots and ends QGIS with
exit status 0 (all checks passed) or 1. Everything is driven by a timer, so QGIS's event loop keeps running.
"""

import importlib
import json
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path

import qgis.utils
from qgis.core import QgsApplication, QgsFeatureRequest, QgsProject, QgsRasterLayer, QgsVectorLayer
from qgis.PyQt.QtCore import QCoreApplication, QPoint, Qt, QTimer
from qgis.PyQt.QtTest import QTest

ENV = os.environ
ARTIFACTS = Path(ENV["THINK2MAP_E2E_ARTIFACTS"])
RASTER = ENV["THINK2MAP_E2E_RASTER"]
QUERY = ENV.get("THINK2MAP_E2E_QUERY", "the river")
TIMEOUT_S = float(ENV.get("THINK2MAP_E2E_TIMEOUT", "240"))
LANGUAGE = ENV.get("THINK2MAP_E2E_LANGUAGE", "en")  # "fr": QGIS in French, the dock's path up to the overview job
PLUGIN = "think2map"


def plugin_module(name: str):
    """A module of the installed plugin (its package is named after its folder)."""
    return importlib.import_module(f"{PLUGIN}.{name}")


class Driver:
    """A small state machine, polled every 300 ms."""

    def __init__(self):
        self.iface = qgis.utils.iface
        self.started = time.monotonic()
        self.step = self.offer_setup if ENV.get("THINK2MAP_E2E_INSTALLED_COPY") else self.configure
        self.deadlines: dict[str, float] = {}
        self.busy = False
        self.report: dict = {"checks": [], "language": LANGUAGE, "python_errors": []}
        # Every Python error QGIS reports (its yellow bar, and the "Python error" tab of its log) fails the run.
        QgsApplication.messageLog().messageReceived.connect(self._logged)
        self.timer = QTimer()
        self.timer.timeout.connect(self.tick)
        self.timer.start(300)

    # ----- plumbing ------------------------------------------------------------------------------------------
    def _logged(self, message: str, tag: str, level) -> None:
        if tag == "Python error" or "Traceback (most recent call last)" in message:
            self.report["python_errors"].append({"tag": tag, "message": message[-2000:]})
            self.log(f"QGIS logged a Python error ({tag}): {message[-500:]}")

    def log(self, text: str) -> None:
        print(f"[drive_dock {time.monotonic() - self.started:6.1f}s] {text}", flush=True)

    def check(self, ok: bool, what: str) -> None:
        self.report["checks"].append({"ok": bool(ok), "what": what})
        self.log(("ok   " if ok else "FAIL ") + what)
        if not ok:
            raise AssertionError(what)

    def wait(self, seconds: float, what: str = "pause") -> bool:
        """True once ``seconds`` have passed since the current step began waiting for ``what``."""
        deadline = self.deadlines.setdefault(what, time.monotonic() + seconds)
        if time.monotonic() >= deadline:
            del self.deadlines[what]
            return True
        return False

    def tick(self) -> None:
        if self.busy:  # a step running a nested event loop (a modal dialog): not re-entered, but timed
            if time.monotonic() - self.started > TIMEOUT_S:
                self.finish(1, f"timed out after {TIMEOUT_S:.0f} s, stuck in step {self.step.__name__} (a dialog?)")
            return
        self.busy = True
        try:
            if time.monotonic() - self.started > TIMEOUT_S:
                raise AssertionError(f"timed out after {TIMEOUT_S:.0f} s in step {self.step.__name__}")
            self.step()
        except Exception as exc:  # noqa: BLE001 - any failure ends the run with status 1
            self.log(traceback.format_exc())
            self.finish(1, f"{type(exc).__name__}: {exc}")
        finally:
            self.busy = False

    def go(self, step) -> None:
        self.log(f"-> {step.__name__}")
        self.deadlines.clear()
        self.step = step

    # ----- steps ---------------------------------------------------------------------------------------------
    def offer_setup(self) -> None:
        """Installed from the zip, with no backend yet: the dock offers "Set up the backend…"."""
        installed = Path(ENV["THINK2MAP_E2E_INSTALLED_COPY"])
        here = Path(sys.modules[PLUGIN].__file__).resolve().parent
        self.check(
            not installed.is_symlink() and here == installed.resolve(), f"the plugin runs from the package: {here}"
        )
        self.check(
            (here / "i18n" / "think2map_fr.qm").is_file() and not (here / "tests").exists(),
            "the package has the compiled translations and no tests",
        )
        from think2map.plugin.core.settings import Settings

        settings = Settings.load()
        settings.python_path = ""
        settings.save()
        self.plugin = qgis.utils.plugins[PLUGIN]
        self.plugin.dock_action.trigger()
        self.go(self.setup_offered)

    def setup_offered(self) -> None:
        dock = self.plugin.dock
        if not dock.setup_button.isVisible():
            if self.wait(30, "the setup button"):
                raise AssertionError("no Set up button; status: " + dock.status_label.text())
            return
        self.check(True, "with no backend Python, the dock offers: " + dock.setup_button.text())
        self.check(dock.grab().save(str(ARTIFACTS / "dock-setup.png")), "screenshot of the dock offering the setup")
        self.plugin.dock_action.trigger()  # closed again: configure opens it
        self.go(self.configure)

    def configure(self) -> None:
        self.check(PLUGIN in qgis.utils.plugins, "the plugin is loaded and enabled in the throwaway profile")
        self.plugin = qgis.utils.plugins[PLUGIN]
        from think2map.plugin.core.settings import Settings

        settings = Settings.load()
        settings.python_path = ENV["THINK2MAP_E2E_PYTHON"]
        settings.backend_mode = "local"
        settings.prompter = ENV["THINK2MAP_E2E_PROMPTER"]
        settings.segmenter = ENV["THINK2MAP_E2E_SEGMENTER"]
        settings.device = "cpu"
        settings.storage = "gpkg"
        settings.extra_args = ["--force-answer", ENV["THINK2MAP_E2E_ANSWER"]]
        settings.save()
        window = self.iface.mainWindow()
        window.setGeometry(0, 0, 1600, 1000)  # Xvfb has no window manager to maximise it
        self.raster = self.iface.addRasterLayer(RASTER, Path(RASTER).stem.replace("_", " "))
        self.check(isinstance(self.raster, QgsRasterLayer) and self.raster.isValid(), f"raster loaded: {RASTER}")
        self.iface.setActiveLayer(self.raster)
        self.iface.zoomToActiveLayer()
        self.plugin.dock_action.trigger()
        self.dock = self.plugin.dock
        self.check(self.dock is not None and self.dock.isVisible(), "the toolbar action opened the dock")
        window.resizeDocks([self.dock], [440], Qt.Orientation.Horizontal)
        self.check(self.dock.layer_combo.currentLayer() == self.raster, "the dock picked the active raster")
        self.go(self.wait_backend)

    def wait_backend(self) -> None:
        manager = self.plugin.manager
        if manager.state == "error":
            raise AssertionError("backend error: " + manager.detail)
        if manager.state != "ready":
            return
        self.check(bool(manager.device), f"backend ready on {manager.device}")
        self.log("status line: " + self.dock.status_label.text())
        edit = self.dock.query_combo.lineEdit()
        edit.clear()
        QTest.keyClicks(edit, QUERY)
        self.check(self.dock.query() == QUERY, f"typed the query '{QUERY}'")
        QTest.mouseClick(self.dock.run_button, Qt.MouseButton.LeftButton)
        self.check(self.plugin.controller.is_running, "Run started a job")
        self.check(self.dock.cancel_button.isEnabled(), "Cancel is enabled while the job runs")
        self.go(self.wait_job)

    def wait_job(self) -> None:
        record = self.plugin.controller.records[0]
        if record.job_state not in ("done", "failed", "cancelled"):
            return
        self.log(
            f"job {record.job_state}: {record.message!r}; {record.features} features, "
            f"{record.tiles_done}/{record.tiles_total} tiles; dock says: {self.dock.message_label.text()!r}"
        )
        self.check(record.job_state == "done", "the job finished")
        layer = QgsProject.instance().mapLayer(record.layer_id)
        self.check(isinstance(layer, QgsVectorLayer) and layer.isValid(), "a result layer was added")
        self.check(layer.featureCount() > 0, f"the result layer has features ({layer.featureCount()})")
        self.check(
            layer.crs() == self.raster.crs(), f"the result layer is in the raster's CRS ({layer.crs().authid()})"
        )
        self.check(QUERY in layer.name(), f"the result layer is named after the query ({layer.name()!r})")
        self.check(
            record.tiles_total > 0 and self.dock.progress_bar.value() == record.tiles_total,
            f"the progress bar shows {self.dock.progress_bar.text()!r}",
        )
        self.check(any("<think>" in (t.get("raw_text") or "") for t in record.tiles), "tile reasoning was received")
        self.check(self.dock.results_list.count() >= 1, "the results list shows the query")
        self.layer = layer
        self.report.update(
            features=layer.featureCount(), layer=layer.name(), source=layer.source(), tiles=record.tiles_total
        )
        self.dock.results_list.setCurrentRow(0)  # select → active layer and zoom
        self.check(self.iface.activeLayer() == layer, "selecting the result made its layer active")
        canvas = self.iface.mapCanvas()
        extent = canvas.extent()
        extent.scale(1.6)
        canvas.setExtent(extent)
        canvas.refresh()
        self.go(self.screenshot)

    def screenshot(self) -> None:
        if not self.wait(3.0):  # let the canvas finish rendering
            return
        QCoreApplication.processEvents()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        desktop = ARTIFACTS / "desktop.png"
        try:
            subprocess.run(["import", "-window", "root", str(desktop)], check=True, timeout=30)
        except (OSError, subprocess.SubprocessError) as exc:
            self.log(f"import failed ({exc}); grabbing the main window instead")
            self.iface.mainWindow().grab().save(str(desktop))
        self.check(desktop.exists() and desktop.stat().st_size > 10000, f"screenshot saved: {desktop}")
        self.check(self.dock.grab().save(str(ARTIFACTS / "dock.png")), "dock screenshot saved")
        from think2map.plugin.gui.reasoning import ReasoningDialog

        dialog = ReasoningDialog(self.plugin.controller.records[0], self.iface.mainWindow())
        dialog.show()
        QCoreApplication.processEvents()
        dialog.grab().save(str(ARTIFACTS / "reasoning.png"))
        dialog.close()
        self.go(self.click_start)

    # ----- click to segment, with real mouse and key events (xdotool) ---------------------------------------------
    def click_start(self) -> None:
        box = self.dock.click_box
        box.setCollapsed(False)
        QTest.mouseClick(box.tool_button, Qt.MouseButton.LeftButton)
        canvas = self.iface.mapCanvas()
        self.check(canvas.mapTool() is box.tool, "the Click button switched the click tool on")
        self.clicks = 0
        self.real_click(0.5, 0.5)
        self.go(self.click_wait_preview)

    def real_click(self, fx: float, fy: float) -> None:
        """A real left click (xdotool) on the canvas at a fraction of its width and height."""
        canvas = self.iface.mapCanvas()
        at = canvas.mapToGlobal(QPoint(int(canvas.width() * fx), int(canvas.height() * fy)))
        xdotool("mousemove", str(at.x()), str(at.y()), "click", "1")
        self.clicks += 1
        self.log(f"click {self.clicks} on the canvas at screen ({at.x()}, {at.y()})")

    def answered(self, requests: int, what: str) -> bool:
        """Whether the session's preview answers ``requests`` requests (raises after 60 s)."""
        session = self.dock.click_box.session
        done = session.requests >= requests and session._call is None
        if not done and self.wait(60, what):
            raise AssertionError(f"no preview 60 s after {what}; dock says {self.dock.message_label.text()!r}")
        return done and self.wait(1.0, what + " rendered")

    def click_wait_preview(self) -> None:
        session = self.dock.click_box.session
        if not self.answered(1, "the first click"):
            return
        self.check(session.preview is not None, "the first click has its preview")
        self.check(len(session.prompts) == 1 and session.prompts[0].positive, "the click added one positive point")
        self.check(not session.band.asGeometry().isEmpty(), "the preview band is on the map")
        self.report["click_preview_area_m2"] = round(session.preview.area(), 1)
        screenshot(ARTIFACTS / "click-preview.png", self.iface)
        self.iface.mapCanvas().zoomByFactor(0.8)  # a zoom: the view is encoded ahead again, without an error bar
        self.go(self.click_after_zoom)

    def click_after_zoom(self) -> None:
        if not self.wait(1.5, "the zoom's warm-up"):
            return
        self.real_click(0.55, 0.5)
        self.go(self.click_wait_second)

    def click_wait_second(self) -> None:
        if not self.answered(2, "the second click"):
            return
        canvas = self.iface.mapCanvas()
        centre = canvas.center()
        canvas.setCenter(type(centre)(centre.x() + canvas.extent().width() * 0.05, centre.y()))  # a pan
        canvas.refresh()
        self.go(self.click_after_pan)

    def click_after_pan(self) -> None:
        if not self.wait(1.5, "the pan's warm-up"):
            return
        self.real_click(0.5, 0.55)
        self.go(self.click_wait_third)

    def click_wait_third(self) -> None:
        if not self.answered(3, "the third click"):
            return
        session = self.dock.click_box.session
        self.check(len(session.prompts) == 3, "three clicks, with a zoom and a pan between them, are three prompts")
        # Ctrl+Z while an editable layer with undo history is active: it takes back the last click, not the edit.
        self.layer.startEditing()
        self.layer.deleteFeature(next(self.layer.getFeatures()).id())
        self.undo_features = self.layer.featureCount()
        self.iface.setActiveLayer(self.layer)
        self.check(self.layer.undoStack().canUndo(), "the query's layer is active, with an edit to undo")
        self.iface.mapCanvas().setFocus()
        xdotool("key", "ctrl+z")
        self.go(self.click_undone)

    def click_undone(self) -> None:
        session = self.dock.click_box.session
        if len(session.prompts) == 3 and not self.wait(5, "Ctrl+Z"):
            return
        self.check(len(session.prompts) == 2, "Ctrl+Z took back the last click")
        self.check(self.layer.featureCount() == self.undo_features, "and left the active layer's edit alone")
        self.layer.rollBack()
        self.go(self.click_wait_undone)

    def click_wait_undone(self) -> None:
        session = self.dock.click_box.session
        if not self.answered(4, "Ctrl+Z's new preview"):
            return
        self.check(session.preview is not None, "the two clicks left have their preview")
        xdotool("key", "Return")
        self.go(self.click_wait_feature)

    def click_wait_feature(self) -> None:
        name = plugin_module("plugin.gui.click_session").edits_layer_name()
        edits = [lyr for lyr in QgsProject.instance().mapLayers().values() if lyr.name() == name]
        if not edits or edits[0].featureCount() < 1:
            if self.wait(30, "feature"):
                raise AssertionError(f"Enter added no feature to the '{name}' layer")
            return
        if not self.wait(2.0):  # let the new feature render
            return
        layer = edits[0]
        feature = next(layer.getFeatures())
        self.check(feature["source"] == "click", f"Enter added the outline to '{name}' as a click")
        self.check(layer.crs() == self.raster.crs(), f"in the raster's CRS ({layer.crs().authid()})")
        self.check(self.dock.click_box.session.preview is None, "the preview was cleared for the next object")
        self.check(self.iface.activeLayer() == layer, f"'{name}' is the active layer, so Edit ▸ Undo applies to it")
        self.log("the dock says: " + self.dock.message_label.text())
        screenshot(ARTIFACTS / "click-added.png", self.iface)
        self.report["click_feature_area_m2"] = round(feature.geometry().area(), 1)
        self.edits = layer
        # Refine selected: a polygon of the query's layer, corrected with one more click, replaced by Enter.
        target = next(self.layer.getFeatures())
        self.refined = (target.id(), target.geometry().asWkt())
        self.layer.selectByIds([target.id()])
        self.iface.setActiveLayer(self.layer)
        QTest.mouseClick(self.dock.click_box.refine_button, Qt.MouseButton.LeftButton)
        self.check(self.dock.click_box.session.refining is not None, "Refine selected took the selected polygon")
        requests = self.dock.click_box.session.requests
        self.real_click(0.45, 0.45)
        self.refine_requests = requests + 1
        self.go(self.refine_wait)

    def refine_wait(self) -> None:
        if not self.answered(self.refine_requests, "the refining click"):
            return
        self.iface.mapCanvas().setFocus()
        xdotool("key", "Return")
        self.go(self.refine_done)

    def refine_done(self) -> None:
        fid, before = self.refined
        feature = next(self.layer.getFeatures(QgsFeatureRequest(fid)), None)
        if feature is None or feature.geometry().asWkt() == before:
            if self.wait(30, "the refined geometry"):
                raise AssertionError("Enter did not replace the refined polygon's geometry")
            return
        self.check(self.dock.click_box.session.refining is None, "Enter replaced the refined polygon's geometry")
        self.log("the dock says: " + self.dock.message_label.text())
        screenshot(ARTIFACTS / "click-refined.png", self.iface)
        self.dock.click_box.tool_button.click()  # the click tool off again
        for layer in (self.edits, self.layer):
            if layer.isEditable():
                self.check(layer.commitChanges(), f"the analyst saves {layer.name()}")  # else Project ▸ New asks
        self.go(self.overview_start)

    # ----- overview first: its boxes on the map ------------------------------------------------------------------
    def overview_start(self) -> None:
        dock = self.dock
        dock.advanced_box.setCollapsed(False)
        dock.strategy_combo.setCurrentIndex(dock.strategy_combo.findData("overview"))
        self.check(dock.refine_combo.isEnabled(), "choosing the overview enables 'Refine with'")
        dock.set_query("the harbour")
        QTest.mouseClick(dock.run_button, Qt.MouseButton.LeftButton)
        self.check(self.plugin.controller.is_running, "Run started the overview job")
        self.go(self.overview_wait)

    def overview_wait(self) -> None:
        record = self.plugin.controller.records[0]
        if record.job_state not in ("done", "failed", "cancelled"):
            return
        self.log(f"overview job {record.job_state}: {record.message!r}")
        self.check(record.job_state == "done" and record.strategy == "overview", "the overview job finished")
        boxes = QgsProject.instance().mapLayer(record.overview_layer_id)
        self.check(boxes is not None and boxes.featureCount() >= 1, "its coarse boxes are a layer on the map")
        calls = (
            plugin_module("plugin.core.i18n")
            .tr("{strategy}, {n} prompter call(s)")
            .format(strategy="overview", n=record.prompter_calls)
        )
        self.check(calls in self.dock.results_list.item(0).text(), "the results list shows the strategy")
        self.report["overview_boxes"] = boxes.featureCount()
        canvas = self.iface.mapCanvas()
        canvas.setExtent(self.raster.extent())
        canvas.refresh()
        self.go(self.overview_screenshot)

    def overview_screenshot(self) -> None:
        if not self.wait(3.0):
            return
        screenshot(ARTIFACTS / "overview.png", self.iface)
        self.check(self.dock.grab().save(str(ARTIFACTS / "dock-overview.png")), "screenshot of the dock's strategy")
        self.dock.strategy_combo.setCurrentIndex(0)
        self.dock.advanced_box.setCollapsed(True)
        self.check(self.dock.grab().save(str(ARTIFACTS / "dock-clicks.png")), "screenshot of the dock after the clicks")
        self.go(self.basemap_start)

    # ----- a web basemap: a query and a click over an XYZ layer from a tile server on loopback -----------------
    def basemap_start(self) -> None:
        from qgis.core import QgsDataSourceUri

        box = self.dock.click_box
        if box.tool_button.isChecked():
            QTest.mouseClick(box.tool_button, Qt.MouseButton.LeftButton)
        uri = QgsDataSourceUri()
        for key, value in (("type", "xyz"), ("url", ENV["THINK2MAP_E2E_XYZ"]), ("zmin", "0"), ("zmax", "19")):
            uri.setParam(key, value)
        # Through the project, as the Browser's XYZ connection adds it (iface.addRasterLayer may ask, in a modal
        # dialog, which datum transformation to use between Web Mercator and the project's CRS).
        self.basemap = QgsRasterLayer(bytes(uri.encodedUri()).decode(), "Gorinchem basemap", "wms")
        self.check(self.basemap.isValid(), "the XYZ basemap was made")
        QgsProject.instance().addMapLayer(self.basemap)
        root = QgsProject.instance().layerTreeRoot()
        root.findLayer(self.raster.id()).setItemVisibilityChecked(False)  # the basemap is what is seen
        self.iface.setActiveLayer(self.basemap)
        canvas = self.iface.mapCanvas()
        canvas.setExtent(self.raster.extent())
        canvas.refresh()
        QCoreApplication.processEvents()
        dock = self.dock
        self.check(dock.layer_combo.currentLayer() == self.basemap, "the dock picked the basemap")
        self.check(dock.area_mode() == "extent", "a basemap's area is the map view")
        dock.update_fetch()
        self.check(dock.fetch_label.isVisible() and " px" in dock.fetch_label.text(),
                   f"the dock says what it fetches: {dock.fetch_label.text()!r}")  # fmt: skip
        self.basemap_records = len(self.plugin.controller.records)
        QTest.mouseClick(dock.run_button, Qt.MouseButton.LeftButton)
        self.check(self.plugin.controller.is_running, "Run started the basemap's export and query")
        self.go(self.basemap_wait_job)

    def basemap_wait_job(self) -> None:
        records = self.plugin.controller.records
        record = records[0]
        if len(records) == self.basemap_records or record.job_state not in ("done", "failed", "cancelled"):
            return
        self.check(record.job_state == "done" and record.features > 0, f"the basemap query found polygons: "
                   f"{record.message!r}")  # fmt: skip
        layer = QgsProject.instance().mapLayer(record.layer_id)
        feature = next(layer.getFeatures())
        self.check(feature["source_layer"] == "Gorinchem basemap", "each polygon records the basemap it came from")
        host = ENV["THINK2MAP_E2E_XYZ"].split("/")[2]
        self.check(any("Gorinchem basemap" in r and host in r for r in layer.metadata().rights()),
                   "the result layer's metadata says where its imagery is from")  # fmt: skip
        self.basemap_results = layer
        box = self.dock.click_box
        QTest.mouseClick(box.tool_button, Qt.MouseButton.LeftButton)
        self.check(self.iface.mapCanvas().mapTool() is box.tool, "the click tool is on over the basemap")
        self.basemap_requests = box.session.requests
        self.real_click(0.45, 0.5)
        self.go(self.basemap_wait_click)

    def basemap_wait_click(self) -> None:
        session = self.dock.click_box.session
        if not self.answered(self.basemap_requests + 1, "the click on the basemap"):
            return
        self.check(session.preview is not None and session.sheet is not None,
                   "the click on the basemap has its preview, over an export of the view")  # fmt: skip
        self.check(session.preview_properties.get("source_layer") == "Gorinchem basemap",
                   "the preview records the basemap")  # fmt: skip
        root = QgsProject.instance().layerTreeRoot()
        earlier = [n for n in root.findLayers() if n.layer() not in (self.basemap, self.basemap_results)]
        for node in earlier:  # the basemap's own result and the preview alone over it
            node.setItemVisibilityChecked(False)
        self.iface.mapCanvas().refresh()
        self.go(self.basemap_screenshot)

    def basemap_screenshot(self) -> None:
        if not self.wait(2.0, "the basemap drawn"):
            return
        session = self.dock.click_box.session
        screenshot(ARTIFACTS / "basemap.png", self.iface)
        for node in QgsProject.instance().layerTreeRoot().findLayers():
            node.setItemVisibilityChecked(True)
        dock_shot = str(ARTIFACTS / "dock-basemap.png")
        self.check(self.dock.grab().save(dock_shot), "screenshot of the dock over the basemap")
        session.clear()
        QTest.mouseClick(self.dock.click_box.tool_button, Qt.MouseButton.LeftButton)
        QgsProject.instance().removeMapLayer(self.basemap.id())
        QgsProject.instance().layerTreeRoot().findLayer(self.raster.id()).setItemVisibilityChecked(True)
        self.iface.setActiveLayer(self.raster)
        self.dock.set_area_mode("layer")
        # The French run covers the path every user takes; the crash and project checks read English messages.
        self.go(self.pick_unsearchable_raster if LANGUAGE == "en" else self.unload)

    # ----- the raster shown is the raster searched ---------------------------------------------------------------
    def pick_unsearchable_raster(self) -> None:
        from osgeo import gdal

        png = Path(ENV.get("TMPDIR", "/tmp")) / "think2map-desktop-photo.png"
        mem = gdal.GetDriverByName("MEM").Create("", 300, 200, 3, gdal.GDT_Byte)
        for band in range(1, 4):
            mem.GetRasterBand(band).Fill(60 * band)
        gdal.GetDriverByName("PNG").CreateCopy(str(png), mem)
        mem = None
        photo = QgsRasterLayer(str(png), "photo without georeference")
        QgsProject.instance().addMapLayer(photo)
        self.iface.layerTreeView().setCurrentLayer(photo)  # as a click in the Layers panel does
        QCoreApplication.processEvents()
        dock = self.dock
        self.check(
            dock.layer_combo.currentLayer() == photo, "selecting the PNG in the Layers panel showed it in the dock"
        )
        self.check(not dock.run_button.isEnabled(), "Run is disabled for a raster without CRS")
        self.check("Pixel coordinates" in dock.run_button.toolTip(), f"Run says why: {dock.run_button.toolTip()!r}")
        self.check(dock.message_label.text() == dock.run_button.toolTip(), "and so does the dock's message")
        self.check(dock.grab().save(str(ARTIFACTS / "dock-no-crs.png")), "screenshot of the dock refusing the PNG")
        QgsProject.instance().removeMapLayer(photo.id())
        self.iface.layerTreeView().setCurrentLayer(self.raster)
        QCoreApplication.processEvents()
        self.check(dock.layer_combo.currentLayer() == self.raster and dock.run_button.isEnabled(), "back on the ortho")
        self.go(self.crash_start)

    # ----- a backend killed mid-job ----------------------------------------------------------------------------
    def start_long_query(self, query: str) -> None:
        dock = self.dock
        dock.advanced_box.setCollapsed(False)
        dock.overlap_spin.setValue(0)
        dock.tile_spin.setValue(128)  # many small tiles: a job long enough to interrupt
        dock.query_combo.lineEdit().clear()
        QTest.keyClicks(dock.query_combo.lineEdit(), query)
        QTest.mouseClick(dock.run_button, Qt.MouseButton.LeftButton)
        self.check(self.plugin.controller.is_running, f"Run started '{query}'")

    def crash_start(self) -> None:
        self.start_long_query("every tree")
        self.go(self.crash_kill)

    def crash_kill(self) -> None:
        record = self.plugin.controller.records[0]
        # Mid-job: a few tiles done, many to go (the merged objects of this query may only come at its end).
        if record.tiles_done < 4:
            return
        self.check(record.tiles_done < record.tiles_total, "the backend is killed while the job runs")
        self.crash_record = record
        self.crash_pid = self.plugin.manager.pid
        os.kill(self.crash_pid, 9)
        self.log(
            f"killed the backend (pid {self.crash_pid}) at tile {record.tiles_done} of {record.tiles_total}, "
            f"with {record.features} polygons found"
        )
        self.go(self.crash_named)

    def crash_named(self) -> None:
        controller, record = self.plugin.controller, self.crash_record
        if controller.is_running:
            return
        text = self.dock.message_label.text()
        self.log(f"the dock says: {text!r}")
        self.check("stopped unexpectedly: it was killed by signal 9 (SIGKILL)" in text, "the crash is named")
        kept = f"{record.features} polygon(s)" if record.features else "Nothing had been found yet"
        self.check("restarting it" in text and kept in text, "restart and kept polygons said")
        self.check("No backend is listening" not in text, "not reported as a configuration problem")
        self.check(self.dock.message_details_button.isVisible(), "the backend's last words are under Details")
        layer = controller.layer_for(record)
        if record.features:
            self.check(layer is not None and layer.featureCount() == record.features, "its polygons stayed on the map")
        else:
            self.check(layer is None, "no empty layer was added for a job that found nothing yet")
        screenshot(ARTIFACTS / "crash.png", self.iface)
        self.report["crash"] = {"message": text, "kept": record.features, "details": self.dock.message_details[-300:]}
        self.go(self.crash_restarted)

    def crash_restarted(self) -> None:
        manager = self.plugin.manager
        if manager.state != "ready":
            if manager.state == "error":
                raise AssertionError("the backend was not restarted: " + manager.detail)
            return
        status = self.dock.status_label.text()
        self.check(manager.pid != self.crash_pid and "restarted at" in status, f"status line: {status!r}")
        self.check(self.dock.grab().save(str(ARTIFACTS / "crash-restarted.png")), "screenshot after the restart")
        self.go(self.new_project_start)

    # ----- a new project mid-job ----------------------------------------------------------------------------------
    def new_project_start(self) -> None:
        self.start_long_query("every roof")
        self.go(self.new_project_mid_job)

    def new_project_mid_job(self) -> None:
        record = self.plugin.controller.records[0]
        if record.tiles_done < 4:  # mid-job; its pieces are flushed into the GeoPackage when it is cancelled
            return
        self.check(record.tiles_done < record.tiles_total, "the project is closed while the job runs")
        self.np_record = record
        self.np_source = record.layer_source
        self.log(
            f"Project ▸ New at tile {record.tiles_done} of {record.tiles_total} ({record.features} polygons so far, "
            f"in {self.np_source})"
        )
        self.iface.newProject(False)
        self.log("newProject returned")
        self.go(self.new_project_checked)

    def new_project_checked(self) -> None:
        controller = self.plugin.controller
        if controller.is_running:
            return
        if not self.wait(1.0):  # anything late would show up now
            return
        project = QgsProject.instance()
        self.check(len(project.mapLayers()) == 0, "nothing from the old job appeared in the new project")
        self.check(controller.records == [], "the results list belongs to the old project: it is empty")
        items = [(item.title(), item.text()) for item in self.iface.messageBar().items()]
        self.log(f"message bar: {items!r}")
        bar_text = next((text for _, text in items if "The project was closed" in text), "")
        self.check("The project was closed" in bar_text, "the message bar says what happened")
        source = self.np_record.layer_source  # made when the cancelled job's pieces were flushed into it
        self.check("|layername=" in source, f"the job's results went to a GeoPackage layer: {source}")
        path, table = source.split("|layername=")
        kept = QgsVectorLayer(source, "kept", "ogr").featureCount()
        self.check(kept == self.np_record.features and kept >= 1, f"{kept} polygons kept in {Path(path).name}")
        self.check(path in bar_text, "and where the polygons are")
        screenshot(ARTIFACTS / "new-project.png", self.iface)
        self.report["new_project"] = {"bar": bar_text, "kept": kept, "table": table}
        self.go(self.unload)

    def unload(self) -> None:
        pid = self.plugin.manager.pid
        self.check(pid is not None, f"the backend runs as process {pid}")
        qgis.utils.unloadPlugin(PLUGIN)
        self.check(not _alive(pid), "unloading the plugin stopped the backend")
        errors = self.report["python_errors"]
        self.check(not errors, f"QGIS's log holds no Python error ({len(errors)})")
        self.finish(0, "ok")

    def finish(self, code: int, message: str) -> None:
        self.timer.stop()
        self.report.update(status=code, message=message, seconds=round(time.monotonic() - self.started, 1))
        try:
            if code and not (ARTIFACTS / "desktop.png").exists():
                subprocess.run(["import", "-window", "root", str(ARTIFACTS / "desktop-failure.png")], timeout=30)
            plugin = qgis.utils.plugins.get(PLUGIN)
            if plugin is not None and plugin.manager is not None:
                plugin.manager.stop(wait_ms=3000)
        except Exception:  # noqa: BLE001 - best effort on the way out
            self.log(traceback.format_exc())
        (ARTIFACTS / "desktop-report.json").write_text(json.dumps(self.report, indent=2) + "\n")
        self.log(f"finished with status {code}: {message}")
        os._exit(code)


def xdotool(*args: str) -> None:
    """A real mouse or key event on the X display QGIS runs on."""
    subprocess.run(["xdotool", *args], check=True, timeout=10)


def screenshot(path: Path, iface) -> None:
    try:
        subprocess.run(["import", "-window", "root", str(path)], check=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        iface.mainWindow().grab().save(str(path))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers; look at its state
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


driver = Driver()
