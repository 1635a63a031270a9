"""A remote backend that cannot read the layer searches an upload of its area instead (``POST /rasters``): a web
layer's export, sent before its job; or a file's area, exported and sent when the backend says it cannot read the
file (it is not in the server's data folders). Worker-thread code, for :class:`~.tasks.SegmentTask`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from qgis.core import QgsCoordinateTransformContext, QgsRasterBlockFeedback, QgsRasterLayer

from ... import contract
from .client import BackendClient, BackendError, error_from_answer
from .export import ExportCache, ExportRequest, write_export
from .i18n import tr


@dataclass
class AreaExport:
    """A file's area to export in a worker thread: its own copy of the layer, what to write, and where."""

    layer: QgsRasterLayer  # a clone made on the UI thread
    request: ExportRequest
    cache: ExportCache
    context: QgsCoordinateTransformContext

    def write(self, feedback: QgsRasterBlockFeedback) -> Path:
        """The export's file (made now, or from the cache). Raises BackendError when it cannot be made."""
        target = self.cache.get(self.request)
        if target is not None:
            return target
        problem = self.request.problem()
        if problem:
            raise BackendError(problem, None)
        error = write_export(self.layer, self.request, self.cache.path_for(self.request), self.context, feedback)
        if feedback.isCanceled():
            raise BackendError(tr("The upload was cancelled."), None, "cancelled")
        if error:
            raise BackendError(error, None)
        return self.cache.path_for(self.request)


@dataclass
class Upload:
    """What a remote backend is sent instead of the layer's path."""

    path: str = ""  # an export made already (a web layer's): uploaded before the job
    fallback: AreaExport | None = None  # a file's area: exported and uploaded if the backend cannot read the file

    @property
    def first(self) -> bool:
        """Whether it is sent before the job (there is no path the backend could read)."""
        return bool(self.path)


def send(
    client: BackendClient,
    upload: Upload,
    feedback: QgsRasterBlockFeedback,
    is_canceled: Callable[[], bool],
    keep: bool = False,
) -> str:
    """Upload the export (made first for a fallback) after checking the backend takes it; the raster name requests
    give it (``upload:<id>``). Raises BackendError: uploads off, too large, cancelled, or the backend's refusal."""
    path = Path(upload.path) if upload.path else upload.fallback.write(feedback)
    takes = client.health().get("uploads") or {}
    if not takes.get("enabled"):
        raise error_from_answer({"code": "uploads_off", "params": {}}, 403)
    limit_mb = int(takes.get("max_mb") or 0)
    if path.stat().st_size > limit_mb * 2**20:  # said before a byte is sent
        raise error_from_answer({"code": "upload_too_large", "params": {"max_mb": limit_mb}}, 413)
    return str(client.upload(path, keep=keep, is_canceled=is_canceled)["raster"])


def submit(
    client: BackendClient,
    request: contract.JobSpec,
    upload: Upload | None,
    feedback: QgsRasterBlockFeedback,
    is_canceled: Callable[[], bool],
    on_upload: Callable[[], None] = lambda: None,
) -> dict:
    """``POST /jobs``; to a remote backend that cannot read the layer (``upload``), over an upload of its area:
    first for an export, or once the backend says it cannot read the file. The backend's answer."""

    def uploaded() -> contract.JobSpec:
        on_upload()
        raster = send(client, upload, feedback, is_canceled)
        return replace(request, raster=raster, bounds=None)  # the upload is the area, whole

    if upload is not None and upload.first:
        return client.submit(uploaded().to_json())
    try:
        return client.submit(request.to_json())
    except BackendError as exc:
        if upload is None or exc.code != "raster_not_found":
            raise
    return client.submit(uploaded().to_json())  # the file is not in the server's data folders
