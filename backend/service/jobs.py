"""Jobs for the HTTP service: one worker thread owns the models (and the GPU) and runs jobs first in, first out.

Request handlers only create, read and cancel jobs; all model work happens on the worker thread. Locks are held
only to copy or swap small pieces of state, never during model work, so status requests answer at once.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import contract

from ..devices import is_oom
from ..errors import BusyError, UserError
from ..geo.geojson import feature_json
from ..geo.georef import crs_name
from ..models.loading import EngineConfig
from ..overview import cell_json
from ..pipeline import run
from ..plan import RunStats, SegmentPlan, TileReport
from .limits import MAX_QUEUE
from .models import Loader, ModelCache, ModelKey, default_loader, default_segmenter_loader

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED, CANCELLED = contract.JOB_STATES
FINISHED = contract.FINAL_STATES
# Finished jobs are forgotten, oldest first, beyond this many or once their features take this much memory.
MAX_KEPT_JOBS = 200
MAX_KEPT_BYTES = 512 * 2**20


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Job:
    """One query over one raster, as the service sees it: state, progress, features and tile reports."""

    def __init__(self, plan: SegmentPlan, models: dict[str, str], model_key: ModelKey):
        self.id = uuid.uuid4().hex
        self.plan: SegmentPlan | None = plan  # dropped when finished
        self.query = plan.query
        self.models = models
        self.model_key = model_key
        self.crs = crs_name(plan.crs)
        self.tiles_total = len(plan.tiles)
        self.strategy, self.strategy_reason = plan.choice.label, plan.choice.reason
        self.georef = plan.georef
        self.stats: RunStats | None = None  # the run's, while and after it runs
        self._overview: list[dict] | None = None
        self.state = QUEUED
        self.error: str | None = None
        self.error_code: str | None = None  # one of contract.ERROR_CODES when the job failed
        self.error_params: dict = {}
        self.created, self.started, self.finished = now_iso(), None, None
        self.cancel_event = threading.Event()
        self._lock = threading.Lock()
        self._features: list[bytes] = []
        self.nbytes = 0
        self._tiles: list[dict] = []
        self._errors: list[dict] = []
        self.on_finish: list[Callable[[], None]] = []  # called once it has ended (an upload it held is let go)

    # -- written by the worker ------------------------------------------------------------------------
    def add_feature(self, feature) -> None:
        """Keep a feature as GeoJSON text: compact to hold, and sent as it is on every page."""
        with self._lock:
            fid = len(self._features) + 1
        text = feature_json(feature.geometry, feature.properties, fid)
        with self._lock:
            self._features.append(text)
            self.nbytes += len(text)

    def add_tile(self, report: TileReport) -> None:
        row = {
            "index": report.index,
            "status": report.status,
            "instances": report.instances,
            "raw_text": report.raw_text,
            "warnings": list(report.warnings),
            "error": report.error,
            "seconds": round(report.seconds, 4),
            "window": list(report.window),
        }
        with self._lock:
            self._tiles.append(row)
            if report.error:
                self._errors.append({"tile": report.index, "message": report.error})

    def mark_running(self) -> None:
        with self._lock:
            self.state, self.started = RUNNING, now_iso()

    def finish(self, state: str, error: str | None = None, code: str | None = None, **params) -> None:
        """End the job; a failure says why (``error``, in English) and as a contract code with its parameters."""
        plan, self.plan = self.plan, None
        if plan is not None:
            plan.close()  # a no-op when the run already closed it
        with self._lock:
            self.state, self.error, self.finished = state, error, now_iso()
            if error is not None:
                self.error_code, self.error_params = code or "job_failed", params
            ended, self.on_finish = self.on_finish, []
        for call in ended:
            call()

    # -- read by request handlers ---------------------------------------------------------------------
    def features(self, after: int = 0) -> tuple[list[bytes], int, str]:
        """Features (GeoJSON text) with index ≥ ``after``, the ``after`` to ask for next, and the state."""
        with self._lock:
            page = self._features[after:]
            return page, max(after, len(self._features)), self.state

    def tiles(self, after: int = 0) -> tuple[list[dict], int]:
        with self._lock:
            page = self._tiles[after:]
            return page, max(after, len(self._tiles))

    def status(self) -> dict:
        with self._lock:
            return {
                "id": self.id,
                "query": self.query,
                "state": self.state,
                "tiles_done": len(self._tiles),
                "tiles_total": self.tiles_total,
                "features": len(self._features),
                "errors": list(self._errors),
                "error": self.error,
                "error_code": self.error_code,
                "error_params": dict(self.error_params),
                "crs": self.crs,
                "created": self.created,
                "started": self.started,
                "finished": self.finished,
                "models": dict(self.models),
                "strategy": self.strategy,
                "strategy_reason": self.strategy_reason,
                "prompter_calls": self.stats.prompter_calls if self.stats is not None else 0,
                "overview": self._overview_cells(),
            }

    def _overview_cells(self) -> list[dict] | None:
        """The overview's cells in the raster's CRS, once it has run (made once)."""
        cells = self.stats.overview if self.stats is not None else []
        if self._overview is None and cells:
            self._overview = [cell_json(c, self.georef.to_map) for c in cells]
        return self._overview


class JobQueue:
    """The jobs and the one worker thread that runs them in order.

    ``idle_unload``: seconds without a job before the models are unloaded (None: never).
    """

    def __init__(
        self,
        config: EngineConfig,
        loader: Loader | None = None,
        idle_unload: float | None = None,
        max_queue: int = MAX_QUEUE,
        segmenter_loader: Callable[[Path], Any] | None = None,
    ):
        self.config = config
        self.idle_unload = idle_unload
        self.max_queue = max_queue
        self.models = ModelCache(
            loader or default_loader(config), segmenter_loader or default_segmenter_loader(config), on_use=self.touch
        )
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._queue: deque[Job] = deque()
        self._running: Job | None = None
        self._cond = threading.Condition()
        self._stopping = False
        self._last_active = time.monotonic()
        self._thread = threading.Thread(target=self._loop, name="think2map-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Cancel the queued and running jobs and join the worker (which stops at its next tile boundary)."""
        with self._cond:
            self._stopping = True
            queued, running = list(self._queue), self._running
            self._queue.clear()
            self._cond.notify_all()
        for job in queued:
            job.finish(CANCELLED)
        if running is not None:
            running.cancel_event.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        self.models.unload()

    # -- requests -------------------------------------------------------------------------------------
    def submit(self, job: Job) -> None:
        with self._cond:
            if self._stopping:
                raise UserError("The server is shutting down; it takes no new jobs.", "shutting_down")
            if len(self._queue) >= self.max_queue:
                raise BusyError(
                    f"The server has {len(self._queue)} jobs waiting, its limit; try again when some have run.",
                    "queue_full",
                    queued=len(self._queue),
                    limit=self.max_queue,
                )
            self._jobs[job.id] = job
            self._queue.append(job)
            self._forget_old()
            self._cond.notify_all()

    def get(self, job_id: str) -> Job | None:
        with self._cond:
            return self._jobs.get(job_id)

    def cancel(self, job_id: str) -> Job | None:
        """Cancel a job: a queued one at once, a running one at its next tile boundary."""
        with self._cond:
            job = self._jobs.get(job_id)
            if job is None:
                return None
            queued = job in self._queue
            if queued:
                self._queue.remove(job)
            job.cancel_event.set()
        if queued:
            job.finish(CANCELLED)
        return job

    def touch(self) -> None:
        """Something used the models (a click): the idle unload waits longer."""
        with self._cond:
            self._last_active = time.monotonic()
            self._cond.notify_all()

    def info(self) -> dict:
        with self._cond:
            return {"queue": len(self._queue), "running": self._running.id if self._running else None}

    def _forget_old(self) -> None:
        finished = [j for j in self._jobs.values() if j.state in FINISHED]
        total = sum(j.nbytes for j in finished)
        for job in finished:
            if len(finished) <= MAX_KEPT_JOBS and total <= MAX_KEPT_BYTES:
                break
            del self._jobs[job.id]
            finished = finished[1:]
            total -= job.nbytes

    # -- the worker -----------------------------------------------------------------------------------
    def _next_job(self) -> Job | None:
        """Wait for the next job, unloading idle models on the way; None when stopping."""
        idle = self.idle_unload
        unloaded_at: float | None = None  # set once unloaded: nothing more to unload until something runs
        with self._cond:
            while not self._queue and not self._stopping:
                if unloaded_at is not None and self._last_active != unloaded_at:
                    unloaded_at = None  # a click loaded a segmenter since
                waited = time.monotonic() - self._last_active
                if idle is not None and unloaded_at is None and waited >= idle:
                    unloaded_at = self._last_active
                    self._cond.release()  # unloading may take a while; don't block requests meanwhile
                    try:
                        if self.models.unload():
                            log.info("models unloaded after %.0f s idle", waited)
                    finally:
                        self._cond.acquire()
                    continue
                armed = idle is not None and unloaded_at is None
                self._cond.wait(max(0.05, idle - waited) if armed else None)
            if self._stopping:
                return None
            job = self._queue.popleft()
            self._running = job
            return job

    def _loop(self) -> None:
        while True:
            job = self._next_job()
            if job is None:
                return
            try:
                self._run(job)
            except BaseException as exc:  # the worker must survive anything a job does
                log.exception("job %s failed", job.id)
                job.finish(FAILED, f"Unexpected {type(exc).__name__}: {exc}", "job_failed")
            finally:
                with self._cond:
                    self._running = None
                    self._last_active = time.monotonic()
                    self._forget_old()

    def _run(self, job: Job) -> None:
        plan = job.plan
        if plan is None:
            raise RuntimeError("plan is not set")
        job.mark_running()
        if job.cancel_event.is_set():
            job.finish(CANCELLED)
            return
        try:
            prompter, segmenter = self.models.get(job.model_key)
        except UserError as exc:
            job.finish(FAILED, f"The models could not be loaded: {exc}", exc.code, **exc.params)
            return
        except Exception as exc:
            log.exception("model load failed")
            self.models.unload()
            code = "out_of_memory" if is_oom(exc) else "model_load_failed"
            job.finish(FAILED, f"The models could not be loaded: {type(exc).__name__}: {exc}", code)
            return
        stats = job.stats = RunStats.for_plan(plan)
        try:
            for feature in run(
                plan, prompter, segmenter, stats, should_cancel=job.cancel_event.is_set, on_tile=job.add_tile
            ):
                job.add_feature(feature)
        except UserError as exc:  # the raster changed or vanished under the job
            job.finish(FAILED, f"The job stopped: {exc}", exc.code, **exc.params)
            return
        except Exception as exc:
            log.exception("job %s failed", job.id)
            code = "out_of_memory" if is_oom(exc) else "job_failed"
            job.finish(FAILED, f"The job stopped: {type(exc).__name__}: {exc}", code)
            return
        finally:
            self._last_active = time.monotonic()
        job.finish(CANCELLED if stats.cancelled else DONE)
