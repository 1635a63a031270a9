"""Desktop end-to-end test, run inside the real QGIS by ``qgis --code`` (see run_desktop_test.sh).

It configures the plugin (backend Python, tiny models, forced answer), loads the raster, opens the dock, types
a query, clicks Run, waits for a result layer with features, zooms to it, saves screenshots and ends QGIS with
exit status 0 (all checks passed) or 1. Everything is driven by a timer, so QGIS's event loop keeps running.
"""

import json
import os
import subprocess
import time
import traceback
from pathlib import Path

import qgis.utils
from qgis.core import QgsProject, QgsRasterLayer, QgsVectorLayer
from qgis.PyQt.QtCore import QCoreApplication, QPoint, Qt, QTimer
from qgis.PyQt.QtTest import QTest

ENV = os.environ
ARTIFACTS = Path(ENV["THINK2MAP_E2E_ARTIFACTS"])
RASTER = ENV["THINK2MAP_E2E_RASTER"]
QUERY = ENV.get("THINK2MAP_E2E_QUERY", "the river")
TIMEOUT_S = float(ENV.get("THINK2MAP_E2E_TIMEOUT", "240"))
PLUGIN = "think2map"


class Driver:
    """A small state machine, polled every 300 ms."""

    def __init__(self):
        self.iface = qgis.utils.iface
        self.started = time.monotonic()
        self.step = self.configure
        self.deadline = None
        self.report: dict = {"checks": []}
        self.timer = QTimer()
        self.timer.timeout.connect(self.tick)
        self.timer.start(300)

    # ----- plumbing ------------------------------------------------------------------------------------------
    def log(self, text: str) -> None:
        print(f"[drive_dock {time.monotonic() - self.started:6.1f}s] {text}", flush=True)

    def check(self, ok: bool, what: str) -> None:
        self.report["checks"].append({"ok": bool(ok), "what": what})
        self.log(("ok   " if ok else "FAIL ") + what)
        if not ok:
            raise AssertionError(what)

    def wait(self, seconds: float) -> bool:
        """True once ``seconds`` have passed since the current step began waiting."""
        if self.deadline is None:
            self.deadline = time.monotonic() + seconds
        if time.monotonic() >= self.deadline:
            self.deadline = None
            return True
        return False

    def tick(self) -> None:
        try:
            if time.monotonic() - self.started > TIMEOUT_S:
                raise AssertionError(f"timed out after {TIMEOUT_S:.0f} s in step {self.step.__name__}")
            self.step()
        except Exception as exc:  # noqa: BLE001 - any failure ends the run with status 1
            self.log(traceback.format_exc())
            self.finish(1, f"{type(exc).__name__}: {exc}")

    def go(self, step) -> None:
        self.log(f"-> {step.__name__}")
        self.deadline = None
        self.step = step

    # ----- steps ---------------------------------------------------------------------------------------------
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
        window.resizeDocks([self.dock], [440], Qt.Horizontal)
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
        QTest.mouseClick(self.dock.run_button, Qt.LeftButton)
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
        QTest.mouseClick(box.tool_button, Qt.LeftButton)
        canvas = self.iface.mapCanvas()
        self.check(canvas.mapTool() is box.tool, "the Click button switched the click tool on")
        centre = canvas.mapToGlobal(QPoint(canvas.width() // 2, canvas.height() // 2))
        self.click_at = (centre.x(), centre.y())
        xdotool("mousemove", *map(str, self.click_at), "click", "1")
        self.log(f"clicked the canvas at screen {self.click_at}")
        self.go(self.click_wait_preview)

    def click_wait_preview(self) -> None:
        session = self.dock.click_box.session
        if session.preview is None and self.wait(60):
            raise AssertionError(f"no preview 60 s after the click; dock says {self.dock.message_label.text()!r}")
        if session.preview is None or not self.wait(2.0):  # let the band render
            return
        self.check(len(session.prompts) == 1 and session.prompts[0].positive, "the click added one positive point")
        self.check(not session.band.asGeometry().isEmpty(), "the preview band is on the map")
        self.report["click_preview_area_m2"] = round(session.preview.area(), 1)
        screenshot(ARTIFACTS / "click-preview.png", self.iface)
        self.iface.mapCanvas().setFocus()
        xdotool("key", "Return")
        self.go(self.click_wait_feature)

    def click_wait_feature(self) -> None:
        edits = [lyr for lyr in QgsProject.instance().mapLayers().values() if lyr.name() == "Think2Map edits"]
        if not edits or edits[0].featureCount() < 1:
            if self.wait(30):
                raise AssertionError("Enter added no feature to the 'Think2Map edits' layer")
            return
        if not self.wait(2.0):  # let the new feature render
            return
        layer = edits[0]
        feature = next(layer.getFeatures())
        self.check(feature["source"] == "click", "Enter added the outline to 'Think2Map edits' as a click")
        self.check(layer.crs() == self.raster.crs(), f"in the raster's CRS ({layer.crs().authid()})")
        self.check(self.dock.click_box.session.preview is None, "the preview was cleared for the next object")
        screenshot(ARTIFACTS / "click-added.png", self.iface)
        self.report["click_feature_area_m2"] = round(feature.geometry().area(), 1)
        self.go(self.unload)

    def unload(self) -> None:
        pid = self.plugin.manager.pid
        self.check(pid is not None, f"the backend runs as process {pid}")
        qgis.utils.unloadPlugin(PLUGIN)
        self.check(not _alive(pid), "unloading the plugin stopped the backend")
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
