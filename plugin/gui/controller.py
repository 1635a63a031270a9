"""The dock's presenter: everything the dock does, without widgets, so that tests can drive it without clicks.

Network work runs in QgsTasks (the core's SegmentTask, and small function tasks for models); the controller's
slots are methods of this QObject, which lives in the main thread, so their signals arrive there queued.
"""

from __future__ import annotations

from dataclasses import dataclass

from qgis.core import (
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsMapLayer,
    QgsProject,
    QgsRasterLayer,
    QgsRectangle,
    QgsTask,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QObject, pyqtSignal

from ..core import contract
from ..core import extent as core_extent
from ..core import layers as core_layers
from ..core.client import BackendClient
from ..core.extent import ExtentError
from ..core.history import QueryHistory, ResultRecord
from ..core.settings import Settings
from ..core.tasks import ModelsTask, PullTask, SegmentTask, job_request
from .i18n import tr

LAYER, EXTENT, RECTANGLE = "layer", "extent", "rectangle"
AREA_MODES = (LAYER, EXTENT, RECTANGLE)


@dataclass
class RunOptions:
    """What the dock's model and advanced boxes say (None: the backend's default)."""

    tile_size: int = contract.TILE_SIZE_DEFAULT
    overlap: int = contract.OVERLAP_DEFAULT
    bands: list[int] | None = None
    prompter: str | None = None
    segmenter: str | None = None


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


class DockController(QObject):
    """Runs queries, follows the backend and the models, and keeps the results list."""

    backendStatus = pyqtSignal(str, str)  # state, a sentence for the user
    message = pyqtSignal(str, str)  # level ('info', 'warning', 'error'), text
    running = pyqtSignal(bool)
    progress = pyqtSignal(int, int)  # tiles done, tiles total (0: not known yet)
    modelsChanged = pyqtSignal()
    pullProgress = pyqtSignal(str, int, str)  # model, percent (-1: not known), state
    resultsChanged = pyqtSignal()
    historyChanged = pyqtSignal(list)

    def __init__(self, iface, manager, project: QgsProject | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.iface = iface
        self.manager = manager
        self.project = project or QgsProject.instance()
        self.history = QueryHistory()
        self.records: list[ResultRecord] = []
        self.models: list[dict] = []
        self.default_models: dict = {}
        self.client: BackendClient | None = None
        self.task: SegmentTask | None = None
        self._record: ResultRecord | None = None
        self._pending: dict | None = None
        self._side_tasks: list[QgsTask] = []
        self._pulls: dict[str, PullTask] = {}
        manager.stateChanged.connect(self._on_backend_state)
        manager.ready.connect(self._on_backend_ready)
        if manager.state == "ready":
            self._on_backend_ready(manager.url, manager.token)

    # ----- backend -------------------------------------------------------------------------------------------
    @property
    def is_running(self) -> bool:
        return self._record is not None

    def ensure_backend(self) -> None:
        """Start the backend unless it is starting or running (an error waits for Restart or a new run)."""
        if self.manager.state in ("stopped", "error"):
            self.manager.start()

    def restart_backend(self) -> None:
        self.client = None
        self.manager.restart()

    def status_text(self, state: str, detail: str = "") -> str:
        """The backend status line for ``state``."""
        if state == "starting":
            return tr("Starting the backend…")
        if state == "ready":
            device = getattr(self.manager, "device", "") or tr("unknown device")
            text = tr("Backend ready on {device}").format(device=device)
            if str(device).startswith("cpu"):
                text += " " + tr("(no GPU: queries will be slow)")
            return text
        if state == "error":
            return tr("Backend error: {detail}").format(detail=detail or tr("no details"))
        return tr("Backend stopped; it starts when you open this panel or run a query.")

    def _on_backend_state(self, state: str, detail: str) -> None:
        if state != "ready":
            self.client = None
        if state == "error" and self._pending is not None:
            self._finish_record("failed", tr("The backend did not start: {detail}").format(detail=detail))
        self.backendStatus.emit(state, self.status_text(state, detail))

    def _on_backend_ready(self, url: str, token: str) -> None:
        self.client = BackendClient(url, token)
        self.backendStatus.emit("ready", self.status_text("ready"))
        self.refresh_models()
        if self._pending is not None:
            request, self._pending = self._pending, None
            self._submit(request)

    # ----- layer and area --------------------------------------------------------------------------------------
    def layer_problem(self, layer: QgsMapLayer | None) -> str | None:
        """Why ``layer`` cannot be searched, or None when it can."""
        return core_extent.raster_problem(layer, require_local_file=not Settings.load(include_token=False).is_remote)

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

    def build_request(self, layer: QgsRasterLayer, query: str, bounds: list[float] | None, options: RunOptions) -> dict:
        """The POST /jobs body."""
        return job_request(
            core_extent.raster_source(layer),
            query,
            bounds,
            options.prompter,
            options.segmenter,
            options.tile_size,
            options.overlap,
            options.bands,
        )

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
        """Check the inputs, make the result layer and submit the job (once the backend is ready)."""
        query = query.strip()
        problem = self.layer_problem(layer)
        if problem is None and not query:
            problem = tr("Type what to look for, for example: the river.")
        if problem is None and self.is_running:
            problem = tr("A query is already running; cancel it or wait for it to finish.")
        options = options or RunOptions()
        missing = self.missing_models(options.prompter, options.segmenter)
        if problem is None and missing:
            problem = tr("Not downloaded yet: {names}. Click Download to fetch them, or choose other models.").format(
                names=", ".join(missing)
            )
        if problem is None:
            try:
                bounds = self.area_bounds(layer, mode, rect, rect_crs)
            except ExtentError as exc:
                problem = str(exc)
        if problem is not None:
            self.message.emit("error", problem)
            return False
        request = self.build_request(layer, query, bounds, options)
        self.historyChanged.emit(self.history.add(query))
        self._record = ResultRecord(query=query)
        self.records.insert(0, self._record)
        self._create_layer(self._record, layer.crs())
        self.resultsChanged.emit()
        self.running.emit(True)
        self.progress.emit(0, 0)
        if self.client is not None and self.manager.state == "ready":
            self._submit(request)
        else:
            self._pending = request
            self.message.emit("info", tr("Waiting for the backend to start…"))
            self.ensure_backend()
        return True

    def cancel(self) -> None:
        """Cancel the running or waiting query; the features found so far stay in the layer."""
        if self.task is not None:
            self.message.emit("info", tr("Cancelling…"))
            self.task.cancel()
        elif self._record is not None:
            self._pending = None
            self._finish_record("cancelled", tr("Cancelled before it started."))

    def _submit(self, request: dict) -> None:
        record = self._record
        if record is None:
            return
        task = SegmentTask(self.client, request, tr("Think2Map: {query}").format(query=record.query))
        task.featuresArrived.connect(self._on_features)
        task.tilesArrived.connect(self._on_tiles)
        task.jobFinished.connect(self._on_job_finished)
        task.tileProgress.connect(self._on_tile_progress)
        self.task = task
        record.job_state = "submitted"
        self.message.emit("info", tr("Searching for '{query}'…").format(query=record.query))
        QgsApplication.taskManager().addTask(task)

    def _create_layer(self, record: ResultRecord, crs: QgsCoordinateReferenceSystem) -> QgsVectorLayer | None:
        storage, folder = Settings.load(include_token=False).storage, core_layers.results_folder(self.project)
        try:
            layer = core_layers.create_result_layer(record.query, crs, storage, folder)
        except Exception as exc:  # noqa: BLE001 - the results go to memory rather than nowhere
            layer = core_layers.create_result_layer(record.query, crs, "memory")
            self.message.emit(
                "warning",
                tr(
                    "Could not write the results to a GeoPackage ({error}): they are in a memory layer; save it "
                    "before closing QGIS."
                ).format(error=exc),
            )
        core_layers.style_result_layer(layer)
        core_layers.add_to_results_group(self.project, layer)
        record.layer_id = layer.id()
        return layer

    def _on_features(self, features: list, crs: str) -> None:
        record = self._record
        if record is None or not features:
            return
        layer = self.layer_for(record)
        if layer is None:
            layer = self._create_layer(record, core_layers.crs_from_text(crs))
            if layer is None:
                return
        try:
            record.features += core_layers.add_geojson_features(layer, features)
        except RuntimeError as exc:
            self.message.emit("error", str(exc))
            return
        self.resultsChanged.emit()

    def _on_tiles(self, tiles: list) -> None:
        if self._record is not None:
            self._record.add_tiles(tiles)

    def _on_tile_progress(self, done: int, total: int) -> None:
        record = self._record
        if record is None:
            return
        record.job_state = "running"
        record.tiles_done, record.tiles_total = done, total
        self.progress.emit(done, total)
        self.resultsChanged.emit()

    def _on_job_finished(self, state: str, message: str) -> None:
        self.task = None
        self._finish_record(state, message)

    def _finish_record(self, state: str, message: str) -> None:
        record, self._record = self._record, None
        self._pending = None
        if record is None:
            return
        record.job_state, record.message = state, message
        if state == "done":
            record.tiles_done = max(record.tiles_done, record.tiles_total)
            self.progress.emit(record.tiles_done, record.tiles_total)
            self.message.emit("info", f"'{record.query}': " + (message or tr("done.")))
        elif state == "cancelled":
            self.message.emit("warning", f"'{record.query}': " + (message or tr("cancelled.")))
        else:
            self.message.emit("error", tr("The query failed: {error}").format(error=message or tr("no details")))
            if record.features == 0:
                self._drop_empty_layer(record)
        self.running.emit(False)
        self.resultsChanged.emit()

    def _drop_empty_layer(self, record: ResultRecord) -> None:
        """A failed query found nothing: take its empty layer (and an emptied results group) off the map."""
        layer = self.layer_for(record)
        if layer is not None and layer.featureCount() == 0:
            self.project.removeMapLayer(layer.id())
            record.layer_id = ""
        group = self.project.layerTreeRoot().findGroup(core_layers.GROUP_NAME)
        if group is not None and not group.children():
            group.parent().removeChildNode(group)

    # ----- results -----------------------------------------------------------------------------------------
    def layer_for(self, record: ResultRecord) -> QgsVectorLayer | None:
        return self.project.mapLayer(record.layer_id) if record.layer_id else None

    def show_record(self, record: ResultRecord, zoom: bool = True) -> bool:
        """Make the record's layer the active one and zoom to it; False when the layer is gone."""
        layer = self.layer_for(record)
        if layer is None:
            self.message.emit(
                "warning", tr("The layer of '{query}' was removed from the project.").format(query=record.query)
            )
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

    # ----- models ------------------------------------------------------------------------------------------
    def refresh_models(self) -> None:
        """Ask the backend which models it has (GET /models, in a background task)."""
        if self.client is None:
            return
        task = ModelsTask(self.client)
        task.modelsArrived.connect(self._on_models)
        task.failed.connect(self._on_models_failed)
        self._add_side_task(task)

    def _on_models(self, answer: dict) -> None:
        self.models = list(answer.get("models") or [])
        self.default_models = dict(self.manager.health_info.get("default_models") or {})
        self.modelsChanged.emit()

    def _on_models_failed(self, error: str) -> None:
        self.message.emit("warning", tr("Could not list the models: {error}").format(error=error))

    def model_names(self, kind: str) -> list[str]:
        return [m["name"] for m in self.models if m.get("kind") == kind]

    def is_present(self, name: str) -> bool | None:
        """True or False for a model the backend knows, None for a path or unknown name."""
        for model in self.models:
            if model.get("name") == name:
                return bool(model.get("present"))
        return None

    def missing_models(self, prompter: str | None, segmenter: str | None) -> list[str]:
        """The chosen models (None: the backend's default) that are known and not downloaded."""
        chosen = [prompter or self.default_models.get("prompter"), segmenter or self.default_models.get("segmenter")]
        return [name for name in chosen if name and self.is_present(name) is False]

    def pull_models(self, names: list[str]) -> None:
        """Download ``names`` through the backend, one task each, reporting progress."""
        if self.client is None:
            return
        for name in names:
            task = PullTask(self.client, name)
            task.progressChanged.connect(self._on_pull_progress)
            task.pullFinished.connect(self._on_pull_finished)
            self._pulls[name] = task
            self._add_side_task(task)
            self.pullProgress.emit(name, -1, "running")

    def _on_pull_progress(self, percent: float) -> None:
        for name, task in self._pulls.items():
            if not _task_over(task):
                self.pullProgress.emit(name, int(task.progress()), "running")

    def _on_pull_finished(self, state: str, message: str) -> None:
        for name, task in list(self._pulls.items()):
            if task.state == state and task.message == message:
                del self._pulls[name]
                self.pullProgress.emit(name, 100 if state == "done" else -1, state)
        self.message.emit("info" if state == "done" else "error", message)
        self.refresh_models()

    def _add_side_task(self, task: QgsTask) -> None:
        self._side_tasks = [t for t in self._side_tasks if not _task_over(t)] + [task]
        QgsApplication.taskManager().addTask(task)

    def shutdown(self) -> None:
        """Cancel what runs (plugin unload)."""
        if self.task is not None:
            self.task.cancel()
        for task in self._side_tasks:
            if not _task_over(task):
                task.cancel()
        self._pending = None


def _task_over(task: QgsTask) -> bool:
    try:
        return task.status() in (QgsTask.Complete, QgsTask.Terminated)
    except RuntimeError:  # the C++ object is gone
        return True
