"""The dock's presenter: everything the dock does, without widgets, so that tests can drive it without clicks.

Network work runs in QgsTasks (the core's SegmentTask; the model catalog's tasks); the controller's slots are
methods of this QObject, which lives in the main thread, so their signals arrive there queued. What it promises
the user: the raster shown is the raster searched, every state ends, a job belongs to the project it started
in, a crash is named, and no layer appears for a query that found nothing.

Its length (about 610 lines) is those promises: a job's life from Run to its last page, the backend's states
and crashes, and the result layers that follow the project; they share the running record and are tested
together. Requests are built in plugin/core/requests.py, layers in plugin/core/layers.py, and the export of a web
layer before its query in export_step.py.
"""

from __future__ import annotations

from datetime import UTC, datetime

from qgis.core import (
    Qgis,
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsMapLayer,
    QgsProject,
    QgsRasterLayer,
    QgsRectangle,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QObject, QTime, QTimer, pyqtSignal

from ... import contract
from ..core import extent as core_extent
from ..core import layers as core_layers
from ..core import requests
from ..core import tile_source as core_tiles
from ..core.client import BackendClient
from ..core.export import (
    PROVENANCE_FIELDS,
    ExportRequest,
    attribution,
    export_request,
    needs_export,
    provenance_of,
)
from ..core.extent import ExtentError
from ..core.history import QueryHistory, ResultRecord
from ..core.launch import interpreter_problem
from ..core.messages import message_for
from ..core.requests import RunOptions
from ..core.settings import Settings
from ..core.tasks import SegmentTask
from ..core.upload import AreaExport, Upload
from .export_step import Exported, ExportStep
from .i18n import tr
from .model_catalog import ModelCatalog

LAYER, EXTENT, RECTANGLE = "layer", "extent", "rectangle"
TILE_STRATEGIES = ("overview", "auto")  # an XYZ basemap larger than the view is read by the backend for these
BAR_SECONDS = 15
CRASH_GRACE_MS = 3000  # how long a lost connection waits for the local backend's exit to be reported


def parse_bands(text: str) -> list[int] | None:
    """``"3,2,1"`` → [3, 2, 1]; blank → None (the backend's default). Raises ValueError with a user message."""
    text = text.replace(" ", "").strip(",")
    if not text:
        return None
    try:
        bands = [int(b) for b in text.split(",") if b]
    except ValueError:
        raise ValueError(tr("Bands are numbers separated by commas, like 3,2,1.")) from None
    if len(bands) not in (1, 3) or min(bands) < 1:
        raise ValueError(tr("Give one band (grey) or three bands (red, green, blue), numbered from 1."))
    return bands


def options_problem(query: str, options: RunOptions) -> str | None:
    """What the backend would refuse in the query or the tiling, said before anything is sent; None when fine."""
    problem = requests.options_problem(query, options)
    return message_for(*problem) if problem else None


class DockController(QObject):
    """Runs queries, follows the backend and keeps the results list; the models are its :class:`ModelCatalog`."""

    backendStatus = pyqtSignal(str, str)  # noqa: N815 - state, a sentence for the user
    message = pyqtSignal(str, str, str)  # level ('info', 'warning', 'error'), text, details ('' for none)
    running = pyqtSignal(bool)
    progress = pyqtSignal(int, int)  # tiles done, tiles total (0: not known yet)
    resultsChanged = pyqtSignal()  # noqa: N815
    historyChanged = pyqtSignal(list)  # noqa: N815

    def __init__(self, iface, manager, project: QgsProject | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.iface = iface
        self.manager = manager
        self.project = project or QgsProject.instance()
        self.history = QueryHistory()
        self.catalog = ModelCatalog(manager, self)
        self.catalog.message.connect(lambda level, text: self.message.emit(level, text, ""))
        self.records: list[ResultRecord] = []
        self.client: BackendClient | None = None
        self.task: SegmentTask | None = None
        self.exports = ExportStep(self)  # web and virtual layers' areas, exported before their queries
        self.exports.message.connect(lambda text: self.message.emit("info", text, ""))
        self._record: ResultRecord | None = None
        self._pending: tuple[contract.JobSpec, Upload | None] | None = None  # waiting for the backend
        self._offstage: dict[int, QgsVectorLayer] = {}  # result tables written to outside the project
        self._crash_note = ""  # when the backend last stopped unexpectedly (it was restarted since)
        manager.stateChanged.connect(self._on_backend_state)
        manager.ready.connect(self._on_backend_ready)
        manager.crashed.connect(self._on_backend_crashed)
        self.project.cleared.connect(self._on_project_cleared)
        if manager.state == "ready":
            self._on_backend_ready(manager.url, manager.token)

    # ----- backend -------------------------------------------------------------------------------------------
    @property
    def is_running(self) -> bool:
        return self._record is not None

    def ensure_backend(self) -> None:
        """Start the backend unless it is starting or running."""
        if self.manager.state in ("stopped", "error"):
            self.manager.start()

    def restart_backend(self) -> None:
        self.client = None
        self._crash_note = ""
        self.manager.restart()

    def status_text(self, state: str, detail: str = "") -> str:
        """The backend status line for ``state``."""
        if state == "starting":
            return detail or tr("Starting the backend…")
        if state == "ready":
            device = getattr(self.manager, "device", "") or tr("unknown device")
            health = getattr(self.manager, "health_info", None) or {}
            gpu = health.get("gpu") or {}
            if gpu.get("name"):
                text = tr("Backend ready — GPU: {name}, {memory:.0f} GB").format(
                    name=gpu["name"], memory=float(gpu.get("memory_total_mb") or 0) / 1024
                )
            elif str(device).startswith("cpu"):
                text = tr("Backend ready — CPU only: queries will be slow")
            else:
                text = tr("Backend ready on {device}").format(device=device)
            if self._crash_note:
                text += " — " + tr("restarted at {time}, after it stopped unexpectedly").format(time=self._crash_note)
            return text
        if state == "error" and self.no_backend_yet():  # the first state after installing the plugin, not a fault
            return tr(
                "No backend yet: press “Set up the backend…” to build it (a few minutes, about 7 GB), or choose an "
                "existing one in Settings."
            )
        if state == "error":
            return tr("Backend error: {detail}").format(detail=detail or tr("no details"))
        return tr("Backend stopped; it starts when you open this panel or run a query.")

    def no_backend_yet(self) -> bool:
        """Whether no backend was ever set up: local mode, and no interpreter found or chosen (a first open)."""
        settings = Settings.load(include_token=False)
        return not settings.is_remote and not settings.python_path

    def needs_setup(self) -> bool:
        """Whether no backend is configured yet: local mode and no usable interpreter (the installer's case)."""
        settings = Settings.load(include_token=False)
        return not settings.is_remote and interpreter_problem(settings.python_path) is not None

    def _on_backend_state(self, state: str, detail: str) -> None:
        if state != "ready":
            self.client = None
            self.catalog.forget_backend()
        if state == "error" and self._record is not None and self.task is None:
            self._finish_record(
                "failed",
                tr("The backend did not start: {detail}").format(detail=detail),
                self.manager.stderr_tail,
            )
        self.backendStatus.emit(state, self.status_text(state, detail))

    def _on_backend_ready(self, url: str, token: str) -> None:
        self.client = BackendClient(url, token)
        self.backendStatus.emit("ready", self.status_text("ready"))
        self.catalog.refresh(self.client)
        if self._pending is not None:
            (request, upload), self._pending = self._pending, None
            self._submit(request, upload)

    def _on_backend_crashed(self, reason: str, stderr_tail: str, restarting: bool) -> None:
        self._crash_note = QTime.currentTime().toString("HH:mm")
        record, task = self._record, self.task
        if record is None or task is None:  # a query waiting for the backend is sent once it is back
            return
        self.task = None
        try:
            task.cancel()  # it could only fail now, with a network error that would hide the crash
        except RuntimeError:  # it has failed already and QGIS has deleted it: its failure waited for this crash
            pass
        text = reason + " " + (tr("Think2Map is restarting it.") if restarting else tr("Press Restart to start it."))
        if record.features:
            text += " " + tr("The {n} polygon(s) found before were kept.").format(n=record.features)
        else:
            text += " " + tr("Nothing had been found yet.")
        self._finish_record("failed", text, stderr_tail)

    # ----- layer and area --------------------------------------------------------------------------------------
    def layer_problem(self, layer: QgsMapLayer | None, pixel_coords: bool = False) -> str | None:
        """Why ``layer`` cannot be searched or clicked, and how to fix it; None when it can.

        A query or a click over a web or virtual layer exports the area first; a remote backend is sent it.
        """
        remote = Settings.load(include_token=False).is_remote
        return core_extent.raster_problem(layer, require_local_file=not remote, pixel_coords=pixel_coords)

    def area_bounds(
        self,
        layer: QgsRasterLayer,
        mode: str,
        rect: QgsRectangle | None = None,
        rect_crs: QgsCoordinateReferenceSystem | None = None,
    ) -> list[float] | None:
        """Bounds in the raster's CRS for the chosen area (None: the whole raster). Raises ExtentError."""
        if mode == LAYER:
            return None
        canvas = self.iface.mapCanvas()
        if mode == EXTENT:
            rect, rect_crs = canvas.extent(), canvas.mapSettings().destinationCrs()
        elif rect is None or rect.isEmpty():
            raise ExtentError(tr("Draw a rectangle on the map first (the Draw button), or choose another area."))
        rect_crs = rect_crs or canvas.mapSettings().destinationCrs()
        return core_extent.bounds_in_raster_crs(rect, rect_crs, layer, self.project.transformContext())

    def build_request(
        self,
        layer: QgsRasterLayer,
        query: str,
        bounds: list[float] | None,
        options: RunOptions,
        raster: str | None = None,
    ) -> contract.JobSpec:
        """The query as the backend gets it (``POST /jobs``), its map view read first; ``raster``: what the backend
        reads instead of the layer's source (an XYZ layer's GDAL description)."""
        return options.job_spec(layer, query, bounds, focus=self.view_bounds(layer), exported=raster)

    def tile_source(
        self, layer: QgsMapLayer | None, bounds: list[float] | None, options: RunOptions
    ) -> core_tiles.TileSource | None:
        """For an overview over an XYZ basemap area larger than the map view: the layer's GDAL description, so that
        the backend on this machine reads coarse zoom levels for the overview and full resolution only where it
        points (:mod:`..core.tile_source`). None: the area is exported first, as for other web layers."""
        if not isinstance(layer, QgsRasterLayer) or options.strategy not in TILE_STRATEGIES or bounds is None:
            return None
        if Settings.load(include_token=False).is_remote:
            return None  # a shared server reads no URL a request names
        view = self.view_bounds(layer)
        area = (bounds[2] - bounds[0]) * (bounds[3] - bounds[1])
        if view is not None and area <= (view[2] - view[0]) * (view[3] - view[1]) * 1.01:
            return None  # the view itself: its export is quick, and clicks reuse it
        return core_tiles.tile_source(layer, options.web_resolution)

    def planned_export(
        self,
        layer: QgsMapLayer | None,
        mode: str,
        rect: QgsRectangle | None = None,
        rect_crs: QgsCoordinateReferenceSystem | None = None,
        resolution: float = 0.0,
    ) -> ExportRequest | None:
        """What a query over ``layer`` would fetch first (the area of a web or virtual layer, at ``resolution``;
        0: the map view's); None for a file. Raises ExtentError."""
        if not isinstance(layer, QgsRasterLayer) or not layer.isValid() or not needs_export(layer):
            return None
        return self._export_request(layer, self.area_bounds(layer, mode, rect, rect_crs), resolution)

    def planned_tiles(
        self,
        layer: QgsMapLayer | None,
        mode: str,
        rect: QgsRectangle | None,
        rect_crs: QgsCoordinateReferenceSystem | None,
        options: RunOptions,
    ) -> core_tiles.TileSource | None:
        """The basemap the backend would read itself for this query (see :meth:`tile_source`); None when the area
        is exported first. Raises ExtentError."""
        if not isinstance(layer, QgsRasterLayer) or not layer.isValid() or not needs_export(layer):
            return None
        return self.tile_source(layer, self.area_bounds(layer, mode, rect, rect_crs), options)

    def _export_request(
        self, layer: QgsRasterLayer, bounds: list[float] | None, resolution: float = 0.0
    ) -> ExportRequest:
        whole = layer.extent()
        area = bounds or [whole.xMinimum(), whole.yMinimum(), whole.xMaximum(), whole.yMaximum()]
        return export_request(layer, (area[0], area[1], area[2], area[3]), resolution or self.view_pixel_size(layer))

    def view_pixel_size(self, layer: QgsRasterLayer) -> float | None:
        """The map view's pixel size in the layer's CRS units: the resolution a web layer is exported at."""
        return core_extent.view_pixel_size(self.iface.mapCanvas().mapSettings(), layer, self.project.transformContext())

    def view_bounds(self, layer: QgsRasterLayer) -> list[float] | None:
        """The map view in the raster's CRS: the backend reads the tiles there first. None when it cannot be said."""
        canvas = self.iface.mapCanvas()
        try:
            return core_extent.bounds_in_raster_crs(
                canvas.extent(), canvas.mapSettings().destinationCrs(), layer, self.project.transformContext()
            )
        except ExtentError:
            return None

    # ----- running -----------------------------------------------------------------------------------------
    def run(
        self,
        layer: QgsMapLayer | None,
        query: str,
        mode: str = LAYER,
        options: RunOptions | None = None,
        rect: QgsRectangle | None = None,
        rect_crs: QgsCoordinateReferenceSystem | None = None,
    ) -> bool:
        """Check everything, then submit the job (once the backend is ready). False, with a message, when refused.

        Nothing is added to the project here: the result layer is made when the first polygon arrives.
        """
        options = options or RunOptions()
        query = query.strip()
        problem = self._run_problem(layer, query, options)
        details = ""
        bounds = None
        if problem is None:
            try:
                bounds = self.area_bounds(layer, mode, rect, rect_crs)
            except ExtentError as exc:
                problem = str(exc)
        export = tiles = None
        if problem is None and needs_export(layer):  # a web or virtual layer: QGIS exports the area first
            tiles = self.tile_source(layer, bounds, options)  # or, for an overview over a basemap, reads its tiles
            if tiles is None:
                export = self._export_request(layer, bounds, options.web_resolution)
                problem = export.problem()
        if problem is None and self.manager.state != "ready":
            self.ensure_backend()  # a backend that cannot start says so at once, rather than leaving a job waiting
            if self.manager.state == "error":
                problem = tr("The backend cannot start: {detail}").format(detail=self.manager.detail)
                details = self.manager.stderr_tail
        if problem is not None:
            self.message.emit("error", problem, details)
            return False
        self.historyChanged.emit(self.history.add(query))
        taken = {lyr.name() for lyr in self.project.mapLayers().values()} | {r.name for r in self.records}
        record = ResultRecord(
            query=query, name=core_layers.result_layer_name(query, layer.name(), taken), raster_id=layer.id()
        )
        record.crs_wkt = layer.crs().toWkt() if layer.crs().isValid() else ""
        record.strategy = options.strategy
        record.folder = core_layers.results_folder(self.project)
        self._record = record
        self.records.insert(0, record)
        self.resultsChanged.emit()
        self.running.emit(True)
        self.progress.emit(0, 0)
        if export is not None:
            self._export(layer, export, query, options)
        elif tiles is not None:
            record.provenance = provenance_of(layer, tiles.pixel_size, datetime.now(tz=UTC))
            record.rights = [r for r in (*layer.metadata().rights(), attribution(layer)) if r]
            self._dispatch(self.build_request(layer, query, bounds, options, raster=tiles.xml))
        else:
            self._dispatch(self.build_request(layer, query, bounds, options), self._file_upload(layer, bounds))
        return True

    def _file_upload(self, layer: QgsRasterLayer, bounds: list[float] | None) -> Upload | None:
        """For a remote backend: the file's area to upload if the backend cannot read the file; else None."""
        if not Settings.load(include_token=False).is_remote:
            return None
        area = self._export_request(layer, bounds)  # at the file's own resolution
        return Upload(fallback=AreaExport(layer.clone(), area, self.exports.cache, self.project.transformContext()))

    def _dispatch(self, request: contract.JobSpec, upload: Upload | None = None) -> None:
        """Submit ``request`` now, or once the backend is ready (``upload``: see :class:`Upload`)."""
        if self.client is not None and self.manager.state == "ready":
            self._submit(request, upload)
        else:
            self._pending = request, upload
            self.message.emit("info", tr("Waiting for the backend to start…"), "")

    def _export(self, layer: QgsRasterLayer, export: ExportRequest, query: str, options: RunOptions) -> None:
        """Export the area of ``layer`` (or take it from the cache), then search the file."""
        focus = self.view_bounds(layer)

        def search(exported: Exported | None, error: str) -> None:
            record = self._record
            if exported is None:
                self._finish_record(
                    *(("failed", error) if error else ("cancelled", tr("Cancelled before it started.")))
                )
                return
            if record is not None:
                record.provenance, record.rights = exported.provenance, exported.rights
            remote = Settings.load(include_token=False).is_remote  # it cannot read the export: it is sent
            self._dispatch(
                options.job_spec(layer, query, None, focus=focus, exported=exported.path),
                Upload(path=exported.path) if remote else None,
            )

        self.exports.fetch(layer, export, self.project.transformContext(), search)

    def _run_problem(self, layer: QgsMapLayer | None, query: str, options: RunOptions) -> str | None:
        if self.is_running:
            return tr("A query is already running; cancel it or wait for it to finish.")
        problem = self.layer_problem(layer, options.pixel_coords) or options_problem(query, options)
        if problem is None and (missing := self.catalog.missing(options.prompter, options.segmenter)):
            problem = tr("Not downloaded yet: {names}. Click Download to fetch them, or choose other models.").format(
                names=", ".join(missing)
            )
        return problem

    def cancel(self) -> None:
        """Cancel the running or waiting query; the polygons found so far stay in its layer."""
        if self.exports.running:
            self.exports.cancel()  # its end finishes the record
        elif self.task is not None:
            self.message.emit("info", tr("Cancelling…"), "")
            self.task.cancel()
        elif self._record is not None:
            self._pending = None
            self._finish_record("cancelled", tr("Cancelled before it started."))

    def _submit(self, request: contract.JobSpec, upload: Upload | None = None) -> None:
        record = self._record
        if record is None:
            return
        description = tr("Think2Map: {query}").format(query=core_layers.elide(record.query))
        task = SegmentTask(self.client, request, description, upload)
        task.uploading.connect(
            lambda: self.message.emit("info", tr("Sending the area to the backend, which cannot read it…"), "")
        )
        task.jobAccepted.connect(self._on_job_accepted)
        task.featuresArrived.connect(self._on_features)
        task.tilesArrived.connect(self._on_tiles)
        task.jobFinished.connect(self._on_job_finished)
        task.tileProgress.connect(self._on_tile_progress)
        task.overviewArrived.connect(self._on_overview)
        self.task = task
        record.job_state = "submitted"
        self.message.emit("info", tr("Searching for '{query}'…").format(query=core_layers.elide(record.query)), "")
        QgsApplication.taskManager().addTask(task)

    def _current(self) -> ResultRecord | None:
        """The running record, when the signal being handled comes from its task (not from one left behind)."""
        return self._record if self.task is not None and self.sender() is self.task else None

    def _on_job_accepted(self, job_id: str, tiles_total: int, crs: str) -> None:
        record = self._current()
        if record is not None:
            record.job_state, record.tiles_total = "queued", tiles_total
            self.resultsChanged.emit()

    def _on_features(self, features: list, crs: str) -> None:
        record = self._current()
        if record is None or not features:
            return
        layer = self._result_layer(record, crs)
        if layer is None:  # its memory layer closed with its project: nowhere left to keep them
            record.dropped += len(features)
            return
        try:
            record.features += core_layers.add_features(layer, features, record.provenance)
        except RuntimeError as exc:
            self.message.emit("error", str(exc), "")
            return
        self.resultsChanged.emit()

    def _on_tiles(self, tiles: list) -> None:
        record = self._current()
        if record is not None:
            record.add_tiles(tiles)

    def _on_tile_progress(self, done: int, total: int) -> None:
        record = self._current()
        if record is None:
            return
        record.job_state = "running"
        record.tiles_done, record.tiles_total = done, total
        self.progress.emit(done, total)
        self.resultsChanged.emit()

    def _on_overview(self, cells: list) -> None:
        """The overview has answered: keep its reasoning, and draw its boxes as a temporary layer to toggle."""
        record = self._current()
        if record is None:
            return
        record.overview = cells
        if record.detached:
            return
        crs = self._crs(record, "")
        layer = core_layers.create_overview_layer(core_layers.overview_layer_name(record.name), crs, cells)
        if layer.featureCount() == 0:  # it saw nothing: no empty layer
            return
        if not record.crs_wkt:
            layer.setCrs(QgsCoordinateReferenceSystem())
        core_layers.add_to_results_group(self.project, layer, above=self.project.mapLayer(record.raster_id))
        record.overview_layer_id = layer.id()
        self.resultsChanged.emit()

    def _on_job_finished(self, state: str, message: str, details: str) -> None:
        record, task = self._current(), self.task
        if record is None or task is None:
            return
        if state == "failed" and task.unreachable and self.manager.pid is not None:
            # The connection is gone while Qt still sees the local backend's process: it has most likely just died,
            # and its exit (a crash, named by _on_backend_crashed) says more than "connection reset". Wait a moment.
            QTimer.singleShot(CRASH_GRACE_MS, lambda: self._on_unreachable(task, state, message, details))
            return
        self._job_done(record, state, message, details)

    def _on_unreachable(self, task: SegmentTask, state: str, message: str, details: str) -> None:
        if self.task is task and self._record is not None:  # the backend did not report a crash meanwhile
            self._job_done(self._record, state, message, details)

    def _job_done(self, record: ResultRecord, state: str, message: str, details: str) -> None:
        status = getattr(self.task, "status", None) or {}
        record.strategy = str(status.get("strategy") or record.strategy)
        record.prompter_calls = int(status.get("prompter_calls") or 0)
        self.task = None
        self._finish_record(state, message, details)

    def _finish_record(self, state: str, message: str, details: str = "") -> None:
        record, self._record = self._record, None
        self._pending = None
        if record is None:
            return
        self._offstage.pop(id(record), None)
        record.job_state, record.message, record.details = state, message, details
        query = core_layers.elide(record.query)
        raster = self.project.mapLayer(record.raster_id)
        label = f"'{query}'"
        if raster is not None:  # the dock may show another raster by now: say which one this query searched
            label = tr("'{query}' on '{raster}'").format(query=query, raster=raster.name())
        if record.detached:
            text = self._detached_outcome(record)
            self.records = [r for r in self.records if r is not record]
            self.message.emit("warning", text, details)
            self.iface.messageBar().pushMessage(tr("Think2Map"), text, Qgis.MessageLevel.Warning, BAR_SECONDS)
        elif state == "done":
            record.tiles_done = max(record.tiles_done, record.tiles_total)
            self.progress.emit(record.tiles_done, record.tiles_total)
            self.message.emit(
                "info", tr("{what}: {message}").format(what=label, message=message or tr("done.")), details
            )
        elif state == "cancelled":
            self.message.emit(
                "warning", tr("{what}: {message}").format(what=label, message=message or tr("cancelled.")), details
            )
        else:
            self.message.emit(
                "error", tr("The query failed: {error}").format(error=message or tr("no details")), details
            )
        self.running.emit(False)
        self.resultsChanged.emit()

    # ----- result layers -------------------------------------------------------------------------------------
    def _result_layer(self, record: ResultRecord, crs: str) -> QgsVectorLayer | None:
        """Where the record's polygons go: its layer, made now for the first ones; its table once it left the map."""
        layer = self.layer_for(record)
        if layer is not None:
            return layer
        if record.detached or record.layer_id:  # a new project, or the user removed the layer: stay off the map
            record.detached = True
            return self._offstage_layer(record)
        return self._create_layer(record, crs)

    def _crs(self, record: ResultRecord, crs: str) -> QgsCoordinateReferenceSystem:
        if record.crs_wkt:
            return QgsCoordinateReferenceSystem.fromWkt(record.crs_wkt)
        return core_layers.crs_from_text(crs)

    def _create_layer(self, record: ResultRecord, crs: str) -> QgsVectorLayer:
        storage = Settings.load(include_token=False).storage
        extra = PROVENANCE_FIELDS if record.provenance else None
        try:
            layer = core_layers.create_result_layer(
                record.query, self._crs(record, crs), storage, record.folder, name=record.name, extra_fields=extra
            )
        except Exception as exc:  # noqa: BLE001 - the results go to memory rather than nowhere
            layer = core_layers.create_result_layer(
                record.query, self._crs(record, crs), "memory", name=record.name, extra_fields=extra
            )
            self.message.emit(
                "warning",
                tr(
                    "Could not write the results to a GeoPackage ({error}): they are in a memory layer; save it "
                    "before closing QGIS."
                ).format(error=exc),
                "",
            )
        if not record.crs_wkt:  # pixel coordinates: like its image, no CRS (a GeoPackage says "undefined geographic")
            layer.setCrs(QgsCoordinateReferenceSystem())
        if record.rights:  # an exported source: its attribution travels with the results
            metadata = layer.metadata()
            metadata.setRights([*metadata.rights(), *record.rights])
            layer.setMetadata(metadata)
        core_layers.style_result_layer(layer)
        core_layers.add_to_results_group(self.project, layer, above=self.project.mapLayer(record.raster_id))
        record.layer_id = layer.id()
        record.layer_source = layer.source() if layer.providerType() == "ogr" else ""
        return layer

    def _offstage_layer(self, record: ResultRecord) -> QgsVectorLayer | None:
        """The record's GeoPackage table, opened (or made) outside any project; None for a memory layer."""
        layer = self._offstage.get(id(record))
        if layer is not None:
            return layer
        if record.layer_source:
            layer = QgsVectorLayer(record.layer_source, record.name, "ogr")
        elif Settings.load(include_token=False).storage == "gpkg":
            try:
                layer = core_layers.create_result_layer(
                    record.query, self._crs(record, ""), "gpkg", record.folder, name=record.name
                )
            except RuntimeError:
                return None
            record.layer_source = layer.source()
        if layer is None or not layer.isValid():
            return None
        self._offstage[id(record)] = layer
        return layer

    def _detached_outcome(self, record: ResultRecord) -> str:
        query = core_layers.elide(record.query)
        if record.features and record.layer_source:
            path, _, table = record.layer_source.partition("|layername=")
            return tr(
                "The project was closed, so the query '{query}' was cancelled; its {n} polygon(s) are kept in "
                "{path} (layer {table})."
            ).format(query=query, n=record.features, path=path, table=table)
        if record.features or record.dropped:
            return tr(
                "The project was closed, so the query '{query}' was cancelled; its {n} polygon(s) were in a memory "
                "layer, which closed with the project."
            ).format(query=query, n=record.features + record.dropped)
        return tr("The project was closed, so the query '{query}' was cancelled before it found anything.").format(
            query=query
        )

    def _on_project_cleared(self) -> None:
        """A new or closed project: its results list goes, and a running query is cancelled, off the new map."""
        running = self._record
        self.records = [running] if running is not None else []
        if running is not None:
            running.detached = True
            self.cancel()
        self.exports.clear()  # a web layer's exports belong to the project that showed it
        self.resultsChanged.emit()

    # ----- results -----------------------------------------------------------------------------------------
    def layer_for(self, record: ResultRecord) -> QgsVectorLayer | None:
        return self.project.mapLayer(record.layer_id) if record.layer_id else None

    def show_record(self, record: ResultRecord, zoom: bool = True) -> bool:
        """Make the record's layer the active one and zoom to it; False when it has none."""
        layer = self.layer_for(record)
        if layer is None:
            if not record.layer_id:
                text = tr("'{query}' has no layer: nothing was found yet. Reasoning… shows what the model wrote.")
            else:
                text = tr("The layer of '{query}' was removed from the project.")
            self.message.emit("warning", text.format(query=core_layers.elide(record.query)), "")
            return False
        self.iface.setActiveLayer(layer)
        if zoom and layer.featureCount() > 0:
            canvas = self.iface.mapCanvas()
            layer.updateExtents()
            transform = QgsCoordinateTransform(layer.crs(), canvas.mapSettings().destinationCrs(), self.project)
            extent = transform.transformBoundingBox(layer.extent())
            extent.scale(1.1)
            canvas.setExtent(extent)
            canvas.refresh()
        return True

    def shutdown(self) -> None:
        """Cancel what runs (plugin unload), and drop the exports."""
        if self.task is not None:
            self.task.cancel()
        self.exports.clear()
        self.catalog.shutdown()
        self._pending = None
        try:
            self.project.cleared.disconnect(self._on_project_cleared)
        except TypeError:
            pass
