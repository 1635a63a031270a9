"""``think2map:segmentbytext``: segment a raster by a text query, as a Processing algorithm."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from qgis.core import (
    QgsFeatureSink,
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterExtent,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
    QgsProcessingUtils,
    QgsRasterBlockFeedback,
)

from ... import contract
from ..core import compat
from ..core.blocking import shared_blocking_backend
from ..core.client import BackendClient, BackendError
from ..core.export import PROVENANCE_FIELDS, ExportCache, export_request, needs_export, provenance, write_export
from ..core.extent import ExtentError, bounds_in_raster_crs, raster_problem
from ..core.geojson import features_for, parse_features
from ..core.i18n import tr
from ..core.layers import result_fields
from ..core.messages import PROCESSING, message_for
from ..core.process import BackendManager
from ..core.requests import RunOptions, options_problem
from ..core.settings import Settings
from ..core.tasks import failure_details, follow_job, outcome_message
from ..core.upload import AreaExport, Upload
from ..core.upload import submit as submit_job


class SegmentByTextAlgorithm(QgsProcessingAlgorithm):
    """Polygons of what a text query describes in a raster, found by the Think2Map backend."""

    INPUT = "INPUT"
    QUERY = "QUERY"
    EXTENT = "EXTENT"
    PROMPTER = "PROMPTER"
    SEGMENTER = "SEGMENTER"
    TILE_SIZE = "TILE_SIZE"
    OVERLAP = "OVERLAP"
    MAX_TILES = "MAX_TILES"
    PIXEL_COORDS = "PIXEL_COORDS"
    RESOLUTION = "RESOLUTION"
    MODE = "MODE"
    STRATEGY = "STRATEGY"
    OUTPUT = "OUTPUT"

    def __init__(self, backend_source: Callable[[], BackendManager | None] | None = None):
        super().__init__()
        self.backend_source = backend_source or (lambda: None)

    def createInstance(self) -> SegmentByTextAlgorithm:  # noqa: N802
        return SegmentByTextAlgorithm(self.backend_source)

    def name(self) -> str:
        return "segmentbytext"

    def displayName(self) -> str:  # noqa: N802
        return tr("Segment raster by text query")

    def shortHelpString(self) -> str:  # noqa: N802
        return tr(
            'Finds what the query describes ("the river", "every building with a red roof") in the raster '
            "and returns its outlines as polygons in the raster's CRS. A vision-language model reads each "
            "tile and prompts Segment Anything; both run in the Think2Map backend (see the plugin's "
            "settings), which is started when needed."
        )

    def flags(self):
        return super().flags() | compat.CAN_CANCEL_ALGORITHM

    def initAlgorithm(self, config=None) -> None:  # noqa: N802
        settings = Settings.load(include_token=False)
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, tr("Raster")))
        self.addParameter(QgsProcessingParameterString(self.QUERY, tr("Query"), multiLine=False))
        self.addParameter(
            QgsProcessingParameterExtent(self.EXTENT, tr("Area to search (default: the whole raster)"), optional=True)
        )
        self.addParameter(
            QgsProcessingParameterString(
                self.PROMPTER,
                tr("Prompter (model name or folder)"),
                defaultValue=settings.prompter_spec or contract.DEFAULT_PROMPTER,  # the served one when set
            )
        )
        self.addParameter(
            QgsProcessingParameterString(
                self.SEGMENTER,
                tr("Segmenter (model name or checkpoint)"),
                defaultValue=settings.segmenter or contract.DEFAULT_SEGMENTER,
            )
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                self.TILE_SIZE,
                tr("Tile size (pixels)"),
                compat.INTEGER_NUMBER,
                contract.TILE_SIZE_DEFAULT,
                False,
                contract.TILE_SIZE_MIN,
                contract.TILE_SIZE_MAX,
            )
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                self.OVERLAP,
                tr("Tile overlap (pixels)"),
                compat.INTEGER_NUMBER,
                contract.OVERLAP_DEFAULT,
                False,
                0,
                contract.OVERLAP_MAX,
            )
        )
        self.addParameter(
            QgsProcessingParameterEnum(
                self.MODE,
                tr("Answer with"),
                options=[
                    tr("Reasoning (Think2Seg-RS)"),
                    tr("Find every instance (SAM 3)"),
                    tr("Automatic: SAM 3 for short noun phrases"),
                ],
                defaultValue=contract.QUERY_MODES.index(contract.QUERY_MODE_DEFAULT),
                optional=True,  # models saved before it existed still run with the default
            )
        )
        self.addParameter(
            QgsProcessingParameterEnum(
                self.STRATEGY,
                tr("Strategy"),
                options=[
                    tr("Every tile"),
                    tr("Overview first, then where it points"),
                    tr("Automatic (by the area's size)"),
                ],
                defaultValue=contract.STRATEGIES.index(contract.STRATEGY_DEFAULT),
                optional=True,  # as MODE
            )
        )
        advanced = [
            QgsProcessingParameterNumber(
                self.MAX_TILES,
                tr("Tile limit"),
                compat.INTEGER_NUMBER,
                contract.MAX_TILES_DEFAULT,
                True,
                1,
            ),
            QgsProcessingParameterBoolean(
                self.PIXEL_COORDS,
                tr("Pixel coordinates (for a raster without a CRS)"),
                defaultValue=False,
                optional=True,
            ),
            QgsProcessingParameterNumber(
                self.RESOLUTION,
                tr("Resolution of a web layer, in its map units per pixel (0: its finest zoom)"),
                compat.DOUBLE_NUMBER,
                0.0,
                True,
                0.0,
            ),
        ]
        for parameter in advanced:
            parameter.setFlags(parameter.flags() | compat.ADVANCED_PARAMETER)
            self.addParameter(parameter)
        self.addParameter(
            QgsProcessingParameterFeatureSink(self.OUTPUT, tr("Segmented polygons"), compat.VECTOR_POLYGON_SOURCE)
        )

    def _export(self, raster, bounds, parameters, context, feedback) -> tuple[str, dict]:
        """The area of a web or virtual layer as a GeoTIFF in Processing's temporary folder, and its provenance."""
        whole = raster.extent()
        area = bounds or [whole.xMinimum(), whole.yMinimum(), whole.xMaximum(), whole.yMaximum()]
        resolution = self.parameterAsDouble(parameters, self.RESOLUTION, context) or None
        request = export_request(raster, tuple(area), resolution)
        problem = request.problem()
        if problem:
            raise QgsProcessingException(problem)
        feedback.pushInfo(tr("Fetching {what} of '{name}'…").format(what=request.summary(), name=raster.name()))
        target = Path(QgsProcessingUtils.tempFolder()) / f"{request.key}.tif"
        blocks = QgsRasterBlockFeedback()
        feedback.canceled.connect(blocks.cancel)
        error = write_export(raster.clone(), request, target, context.transformContext(), blocks)
        if feedback.isCanceled():
            raise QgsProcessingException(tr("Cancelled before it started."))
        if error:
            raise QgsProcessingException(error)
        return str(target), provenance(raster, request, target)

    def checkParameterValues(self, parameters, context: QgsProcessingContext):  # noqa: N802
        """The backend's limits, checked before the run, in this algorithm's words (one message, the first)."""
        query = self.parameterAsString(parameters, self.QUERY, context)
        tiling = RunOptions(
            tile_size=self.parameterAsInt(parameters, self.TILE_SIZE, context),
            overlap=self.parameterAsInt(parameters, self.OVERLAP, context),
        )
        problem = options_problem(query, tiling)
        if problem is not None:
            return False, message_for(*problem, where=PROCESSING)
        return super().checkParameterValues(parameters, context)

    def processAlgorithm(
        self,
        parameters,
        context: QgsProcessingContext,  # noqa: N802
        feedback: QgsProcessingFeedback,
    ) -> dict:
        raster = self.parameterAsRasterLayer(parameters, self.INPUT, context)
        settings = Settings.load_for_backend()
        pixel_coords = self.parameterAsBool(parameters, self.PIXEL_COORDS, context)
        problem = raster_problem(
            raster,
            require_local_file=not settings.is_remote,
            pixel_coords=pixel_coords,
            where=PROCESSING,
        )
        if problem:
            raise QgsProcessingException(problem)
        query = self.parameterAsString(parameters, self.QUERY, context).strip()
        if not query:
            raise QgsProcessingException(message_for("empty_query", where=PROCESSING))
        bounds = None
        if parameters.get(self.EXTENT) not in (None, ""):
            rect = self.parameterAsExtent(parameters, self.EXTENT, context)
            rect_crs = self.parameterAsExtentCrs(parameters, self.EXTENT, context)
            if not rect.isNull():
                try:
                    bounds = bounds_in_raster_crs(
                        rect, rect_crs if rect_crs.isValid() else raster.crs(), raster, context.transformContext()
                    )
                except ExtentError as exc:
                    raise QgsProcessingException(str(exc)) from exc
        exported, made = None, {}
        if needs_export(raster):  # a web or virtual layer: QGIS exports the area first, here in this thread
            exported, made = self._export(raster, bounds, parameters, context, feedback)
        fields = result_fields(PROVENANCE_FIELDS if made else None)
        sink, dest_id = self.parameterAsSink(
            parameters, self.OUTPUT, context, fields, compat.MULTIPOLYGON_WKB, raster.crs()
        )
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, self.OUTPUT))
        options = RunOptions(
            tile_size=self.parameterAsInt(parameters, self.TILE_SIZE, context),
            overlap=self.parameterAsInt(parameters, self.OVERLAP, context),
            prompter=self.parameterAsString(parameters, self.PROMPTER, context) or None,
            segmenter=self.parameterAsString(parameters, self.SEGMENTER, context) or None,
            max_tiles=self.parameterAsInt(parameters, self.MAX_TILES, context),
            pixel_coords=pixel_coords,
            query_mode=contract.QUERY_MODES[self.parameterAsEnum(parameters, self.MODE, context)],
            strategy=contract.STRATEGIES[self.parameterAsEnum(parameters, self.STRATEGY, context)],
        )
        request = options.job_spec(raster, query, None if exported else bounds, exported=exported)
        count = 0

        def on_features(features: list, crs: str) -> None:
            nonlocal count
            qfeatures = features_for(parse_features(features), fields, made)
            sink.addFeatures(qfeatures, QgsFeatureSink.Flag.FastInsert)
            count += len(qfeatures)

        def on_tiles(tiles: list) -> None:
            for tile in tiles:
                text = tile.get("error") or tile.get("raw_text") or ""
                feedback.pushDebugInfo(
                    tr("Tile {i}: {status}. {text}").format(i=tile.get("index"), status=tile.get("status"), text=text)
                )

        def on_overview(cells: list) -> None:
            for cell in cells:
                feedback.pushInfo(
                    tr("Overview cell {i}: {status}, {n} box(es). {text}").format(
                        i=cell.get("index"),
                        status=cell.get("status"),
                        n=len(cell.get("boxes") or []),
                        text=cell.get("raw_text") or "",
                    )
                )

        def on_progress(done: int, total: int) -> None:
            if total:
                feedback.setProgress(100.0 * done / total)
                feedback.setProgressText(tr("{done} of {total} tiles").format(done=done, total=total))

        try:
            client = self._client(settings, feedback)
            job = submit_job(
                client,
                request,
                self._upload(settings, raster, exported, bounds, context),
                QgsRasterBlockFeedback(),
                feedback.isCanceled,
                lambda: feedback.pushInfo(tr("Sending the area to the backend, which cannot read it…")),
            )
            feedback.pushInfo(tr("Job {id}: {n} tile(s).").format(id=job.get("id"), n=job.get("tiles_total")))
            state, status = follow_job(
                client,
                str(job["id"]),
                str(job.get("crs") or ""),
                on_features=on_features,
                on_tiles=on_tiles,
                on_progress=on_progress,
                on_overview=on_overview,
                is_canceled=feedback.isCanceled,
            )
        except BackendError as exc:
            if exc.detail:
                feedback.pushDebugInfo(tr("The backend said: {detail}").format(detail=exc.detail))
            raise QgsProcessingException(exc.message(PROCESSING)) from exc
        message = outcome_message(state, status, count, PROCESSING)
        details = failure_details(status)
        if details:
            feedback.pushDebugInfo(tr("The backend said: {detail}").format(detail=details))
        if state == "failed":
            raise QgsProcessingException(message)
        feedback.pushInfo(message)
        return {self.OUTPUT: dest_id}

    @staticmethod
    def _upload(
        settings: Settings, raster, exported: str | None, bounds: list[float] | None, context: QgsProcessingContext
    ) -> Upload | None:
        """For a remote backend: the export to send, or the file's area to send if it cannot read the file."""
        if not settings.is_remote:
            return None
        if exported:
            return Upload(path=exported)
        whole = raster.extent()
        area = bounds or [whole.xMinimum(), whole.yMinimum(), whole.xMaximum(), whole.yMaximum()]
        request = export_request(raster, (area[0], area[1], area[2], area[3]))
        cache = ExportCache(Path(QgsProcessingUtils.tempFolder()))
        return Upload(fallback=AreaExport(raster.clone(), request, cache, context.transformContext()))

    def _client(self, settings: Settings, feedback: QgsProcessingFeedback) -> BackendClient:
        manager = self.backend_source()
        if manager is not None:  # a QGIS session with the plugin: the dock's backend, never a second one
            if manager.state != "ready":
                feedback.pushInfo(tr("Waiting for the Think2Map backend to start…"))
            return manager.wait_until_ready(is_canceled=feedback.isCanceled)
        if settings.is_remote:
            if not settings.remote_url:
                raise BackendError(tr("Remote mode needs a backend URL: set it in Think2Map settings."))
            client = BackendClient(settings.remote_url, settings.remote_token)
            client.health()
            return client
        return shared_blocking_backend().ensure_started(
            settings,
            is_canceled=feedback.isCanceled,
            on_start=lambda: feedback.pushInfo(tr("Starting the Think2Map backend…")),
        )
