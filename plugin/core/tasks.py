"""Background work: a segmentation job followed to its end, and the model list and downloads.

The tasks run in QgsTaskManager's threads and talk to the backend with the blocking :class:`BackendClient`;
results reach the UI thread through Qt signals (queued across threads).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from qgis.core import QgsRasterBlockFeedback, QgsTask
from qgis.PyQt.QtCore import pyqtSignal

from ... import contract
from .client import BackendClient, BackendError
from .geojson import parse_features
from .i18n import tr
from .messages import DOCK, message_for
from .upload import Upload
from .upload import send as send_upload
from .upload import submit as submit_job

POLL_INTERVAL_S = 0.5
CANCEL_TIMEOUT_S = 60.0


def geojson_crs(collection: dict) -> str:
    """The CRS name of a GeoJSON object's legacy ``crs`` member ('' when absent)."""
    crs = collection.get("crs") or {}
    return str((crs.get("properties") or {}).get("name") or "") if isinstance(crs, dict) else ""


def follow_job(
    client: BackendClient,
    job_id: str,
    crs: str = "",
    *,
    on_features: Callable[[list, str], None] = lambda f, c: None,
    on_tiles: Callable[[list], None] = lambda t: None,
    on_progress: Callable[[int, int], None] = lambda done, total: None,
    on_overview: Callable[[list], None] = lambda cells: None,
    is_canceled: Callable[[], bool] = lambda: False,
    interval_s: float = POLL_INTERVAL_S,
    cancel_timeout_s: float = CANCEL_TIMEOUT_S,
) -> tuple[str, dict]:
    """Poll a job until it ends, handing over new features and tile reports as they appear.

    When ``is_canceled()`` turns true the job is cancelled (``DELETE``) and followed until the backend confirms,
    so features found until then are still delivered. Returns ``(final state, last status)``.
    """
    after_features = after_tiles = 0
    cancel_sent_at: float | None = None
    overview_seen = False
    while True:
        if cancel_sent_at is None and is_canceled():
            client.cancel(job_id)
            cancel_sent_at = time.monotonic()
        status = client.status(job_id)  # taken before the pages: a final state here means the pages are complete
        state = str(status.get("state", ""))
        if not overview_seen and status.get("overview"):
            overview_seen = True
            on_overview(list(status["overview"]))
        while True:
            page = client.features(job_id, after_features)
            features = page.get("features") or []
            crs = geojson_crs(page) or status.get("crs") or crs
            if features:
                on_features(features, crs)
            after_features = int(page.get("next", after_features + len(features)))
            if not features:
                break
        page = client.tiles(job_id, after_tiles)
        if page.get("tiles"):
            on_tiles(page["tiles"])
        after_tiles = int(page.get("next", after_tiles + len(page.get("tiles") or [])))
        on_progress(int(status.get("tiles_done") or 0), int(status.get("tiles_total") or 0))
        if state in contract.FINAL_STATES:
            return state, status
        if cancel_sent_at is not None and time.monotonic() - cancel_sent_at > cancel_timeout_s:
            status = dict(status, error=tr("The backend did not confirm the cancellation."))
            return "cancelled", status
        end = time.monotonic() + interval_s
        while time.monotonic() < end and (cancel_sent_at is not None or not is_canceled()):
            time.sleep(0.05)


def outcome_message(state: str, status: dict, features: int, where: str = DOCK) -> str:
    """A one-line summary of a finished job for the user, in the words of ``where`` (the dock or Processing)."""
    errors = status.get("errors") or []
    if not errors:
        tile_note = ""
    elif where == DOCK:
        tile_note = " " + tr("{n} tile(s) failed: Reasoning… shows why.").format(n=len(errors))
    else:
        tile_note = " " + tr("{n} tile(s) failed: the log shows why.").format(n=len(errors))
    if state == "done":
        if features == 0 and overview_saw_nothing(status):
            text = tr("No target: the overview saw nothing matching the query.")
            return text + " " + (tr("Reasoning… shows why.") if where == DOCK else tr("The log shows why."))
        if features == 0:
            return tr("Nothing matching the query was found.") + tile_note + strategy_note(status)
        return tr("{n} polygon(s) found.").format(n=features) + tile_note + strategy_note(status)
    if state == "cancelled":
        return tr("Cancelled; the {n} polygon(s) found so far were kept.").format(n=features)
    failure = message_for(status.get("error_code") or "job_failed", status.get("error_params") or {}, where=where)
    if features:
        failure += " " + tr("The {n} polygon(s) found before were kept.").format(n=features)
    return failure + tile_note


def overview_saw_nothing(status: dict) -> bool:
    """Whether the job's overview answered "no target" in every cell it read."""
    cells = [c for c in status.get("overview") or [] if c.get("status") != "skipped"]
    return bool(cells) and all(c.get("status") == "no_target" for c in cells)


def strategy_note(status: dict) -> str:
    """' Overview: 5 prompter calls.' for a job that did not read every tile; '' for one that did."""
    strategy = str(status.get("strategy") or contract.STRATEGY_DEFAULT)
    if strategy in ("tiles", "auto:tiles"):
        return ""
    return " " + tr("Overview first ({strategy}): {n} prompter call(s) for {total} tiles.").format(
        strategy=strategy, n=int(status.get("prompter_calls") or 0), total=int(status.get("tiles_total") or 0)
    )


def failure_details(status: dict) -> str:
    """The backend's own words on a failed job and its failed tiles (English), for Details and logs."""
    lines = [str(status["error"])] if status.get("error") else []
    for error in (status.get("errors") or [])[:20]:
        if isinstance(error, dict):
            lines.append(tr("Tile {i}: {message}").format(i=error.get("tile"), message=error.get("message", "")))
    return "\n".join(lines)


class SegmentTask(QgsTask):
    """Submit one job and follow it; ``cancel()`` cancels the backend job and keeps what was found."""

    featuresArrived = pyqtSignal(list, str)  # noqa: N815 - ParsedFeatures (geojson.py), CRS (authid or WKT)
    tilesArrived = pyqtSignal(list)  # noqa: N815 - tile reports, with the prompter's raw_text
    jobAccepted = pyqtSignal(str, int, str)  # noqa: N815 - job id, tiles total, CRS
    jobFinished = pyqtSignal(str, str, str)  # noqa: N815 - final state, user message, the backend's details
    tileProgress = pyqtSignal(int, int)  # noqa: N815 - tiles done, tiles total
    overviewArrived = pyqtSignal(list)  # noqa: N815 - the overview's cells (answers, footprints, boxes)

    uploading = pyqtSignal()  # the area is being sent to a remote backend that cannot read the layer

    def __init__(
        self, client: BackendClient, request: contract.JobSpec, description: str, upload: Upload | None = None
    ):
        super().__init__(description, QgsTask.Flag.CanCancel)
        self.client = client
        self.request = request
        self.upload = upload  # a remote backend's: what it searches when it cannot read the layer
        self.upload_feedback = QgsRasterBlockFeedback()  # a fallback's export stops on cancel
        self.job_id = ""
        self.crs = ""
        self.state = "queued"
        self.message = ""
        self.details = ""
        self.unreachable = False  # it failed because the backend stopped answering (no HTTP status)
        self.feature_count = 0
        self.status: dict = {}  # the job's last status

    def run(self) -> bool:  # worker thread
        """Submit and follow the job; True when it ended as asked: done, or cancelled by the user (QGIS would
        call a False task "failed" in its message bar; the dock says the query was cancelled)."""
        try:
            job = self._submit()
            self.job_id = str(job["id"])
            self.crs = str(job.get("crs") or "")
            self.jobAccepted.emit(self.job_id, int(job.get("tiles_total") or 0), self.crs)
            self.state, status = follow_job(
                self.client,
                self.job_id,
                self.crs,
                on_features=self._features,
                on_tiles=self.tilesArrived.emit,
                on_progress=self._progress,
                on_overview=self.overviewArrived.emit,
                is_canceled=self.isCanceled,
            )
            self.status = status
        except BackendError as exc:
            if not self.job_id and (exc.code == "cancelled" or self.isCanceled()):  # while its area was uploaded
                self.state, self.message = "cancelled", tr("Cancelled before it started.")
                return True
            self.state, self.message, self.details = "failed", str(exc), exc.detail
            self.unreachable = exc.status is None
            return False
        except (KeyError, TypeError, ValueError) as exc:
            self.state, self.message = "failed", tr("Unexpected answer from the backend: {e}").format(e=exc)
            return False
        self.message = outcome_message(self.state, status, self.feature_count)
        self.details = failure_details(status)
        return self.state in ("done", "cancelled")

    def _submit(self) -> dict:
        return submit_job(
            self.client, self.request, self.upload, self.upload_feedback, self.isCanceled, self.uploading.emit
        )

    def cancel(self) -> None:
        self.upload_feedback.cancel()
        super().cancel()

    def _features(self, features: list, crs: str) -> None:
        self.feature_count += len(features)
        self.featuresArrived.emit(parse_features(features), crs)  # parsed here, off the UI thread

    def _progress(self, done: int, total: int) -> None:
        if total > 0:
            self.setProgress(100.0 * done / total)
        self.tileProgress.emit(done, total)

    def finished(self, result: bool) -> None:  # UI thread
        if not self.job_id and self.state == "queued":  # cancelled before it ran
            self.state, self.message = "cancelled", tr("Cancelled before it started.")
        self.jobFinished.emit(self.state, self.message, self.details)


class ModelsTask(QgsTask):
    """Fetch ``GET /models`` in the background."""

    modelsArrived = pyqtSignal(dict)  # noqa: N815
    failed = pyqtSignal(str)

    def __init__(self, client: BackendClient):
        super().__init__(tr("Think2Map: list models"), QgsTask.Flag.CanCancel)
        self.client = client
        self.result: dict = {}
        self.error = ""

    def run(self) -> bool:
        try:
            self.result = self.client.models()
        except BackendError as exc:
            self.error = str(exc)
            return False
        return True

    def finished(self, result: bool) -> None:
        if result:
            self.modelsArrived.emit(self.result)
        else:
            self.failed.emit(self.error or tr("Cancelled."))


class PullTask(QgsTask):
    """Download a model through the backend (``POST /models/{name}/pull``) and follow its progress."""

    pullFinished = pyqtSignal(str, str)  # noqa: N815 - state (done|failed|cancelled), message

    def __init__(self, client: BackendClient, name: str, interval_s: float = 1.0):
        super().__init__(tr("Think2Map: download {name}").format(name=name), QgsTask.Flag.CanCancel)
        self.client = client
        self.name = name
        self.interval_s = interval_s
        self.state = "idle"
        self.message = ""

    def run(self) -> bool:
        try:
            status = self.client.pull(self.name)
            while status.get("state") not in ("done", "failed"):
                if self.isCanceled():
                    self.state, self.message = "cancelled", tr("The download goes on in the backend.")
                    return False
                time.sleep(self.interval_s)
                status = self.client.pull_status(self.name)
                total = status.get("bytes_total") or 0
                if total:
                    self.setProgress(100.0 * (status.get("bytes_done") or 0) / total)
        except BackendError as exc:
            self.state, self.message = "failed", str(exc)
            return False
        self.state = str(status.get("state"))
        if self.state == "failed":
            self.message = message_for(status.get("error_code") or "download_failed", status.get("error_params"))
        else:
            self.message = tr("{name} is ready.").format(name=self.name)
        return self.state == "done"

    def finished(self, result: bool) -> None:
        self.pullFinished.emit(self.state, self.message)


class UploadTask(QgsTask):
    """Send a file to a remote backend that cannot read the layer (``POST /rasters``), for clicks: kept there until
    deleted or its time-to-live; a cancelled upload leaves nothing on either side."""

    uploaded = pyqtSignal(str, str)  # the raster name requests give it ('' when none), an error ('' when none)

    def __init__(self, client: BackendClient, path: str):
        super().__init__(tr("Think2Map: send the view"), QgsTask.Flag.CanCancel)
        self.client = client
        self.path = path
        self.feedback = QgsRasterBlockFeedback()
        self.raster = ""
        self.error = ""

    def run(self) -> bool:  # worker thread
        try:
            self.raster = send_upload(self.client, Upload(path=self.path), self.feedback, self.isCanceled, keep=True)
        except BackendError as exc:
            self.error = "" if exc.code == "cancelled" else str(exc)
            return False
        return True

    def finished(self, result: bool) -> None:  # UI thread
        self.uploaded.emit(self.raster if result else "", self.error)
