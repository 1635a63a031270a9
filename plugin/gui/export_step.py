"""The step before a query or a click over a web or virtual layer: its area exported (or taken from the cache) by an
:class:`~..core.export.ExportTask`, where the imagery is from said once a session, and what the results record of
it (provenance on each feature, the source's attribution in the result layer's metadata)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from qgis.core import QgsApplication, QgsCoordinateTransformContext, QgsRasterLayer
from qgis.PyQt.QtCore import QObject, pyqtSignal

from ..core.export import ExportCache, ExportRequest, ExportTask, attribution, provenance, service_host
from .i18n import tr


@dataclass
class Exported:
    """An export ready to search: the file, and what the results say of its source."""

    path: str
    provenance: dict = field(default_factory=dict)  # export.PROVENANCE_FIELDS
    rights: list[str] = field(default_factory=list)  # for the result layer's metadata


class ExportStep(QObject):
    """Exports for the dock's queries (or its clicks): one at a time, cancellable, cached until the project closes."""

    message = pyqtSignal(str)  # what is fetched (and, the first time, where the imagery is from)

    def __init__(self, parent: QObject | None = None, cache: ExportCache | None = None):
        super().__init__(parent)
        self.cache = cache or ExportCache()
        self.task: ExportTask | None = None
        self._credited: set[str] = set()  # sources whose imagery's origin was said this session

    @property
    def running(self) -> bool:
        return self.task is not None

    def fetch(
        self,
        layer: QgsRasterLayer,
        request: ExportRequest,
        context: QgsCoordinateTransformContext,
        done: Callable[[Exported | None, str], None],
    ) -> None:
        """Export ``request`` of ``layer``, or take it from the cache; then ``done(exported, error)``, with None and
        '' when it was cancelled."""
        cached = self.cache.get(request)
        if cached is not None:
            done(self._exported(layer, request, cached), "")
            return
        task = ExportTask(layer, request, self.cache, context)
        task.exportFinished.connect(lambda path, error: self._finished(task, layer, request, path, error, done))
        self.task = task
        text = tr("Fetching {what} of '{name}'…").format(what=request.summary(), name=layer.name())
        if request.source_key not in self._credited:
            self._credited.add(request.source_key)
            credit = attribution(layer) or service_host(layer) or layer.name()
            text += " " + tr("Its imagery is from {credit}: check that its terms allow automated analysis.").format(
                credit=credit
            )
        self.message.emit(text)
        QgsApplication.taskManager().addTask(task)

    def cancel(self) -> None:
        """Stop the export in hand (its end says so to whoever asked)."""
        if self.task is not None:
            self.task.cancel()

    def clear(self) -> None:
        """Cancel, and drop every export (a closed project, an unloaded plugin)."""
        self.cancel()
        self.cache.clear()

    def _finished(self, task, layer, request, path: str, error: str, done) -> None:
        if task is not self.task:
            return  # an export left behind
        self.task = None
        done(self._exported(layer, request, Path(path)) if path else None, error)

    def _exported(self, layer: QgsRasterLayer, request: ExportRequest, path: Path) -> Exported:
        made = provenance(layer, request, path)
        credit = attribution(layer)
        note = tr("Found in '{name}' ({host}), exported by QGIS at {res:g} units per pixel on {when}{credit}.").format(
            name=layer.name(),
            host=made["source_host"] or tr("local"),
            res=request.pixel_size,
            when=made["exported"],
            credit=f"; {credit}" if credit else "",
        )
        return Exported(str(path), made, [*layer.metadata().rights(), note])
