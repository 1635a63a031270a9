"""Jobs for the HTTP service: one worker thread owns the models (and the GPU) and runs jobs first in, first out.

Request handlers only create, read and cancel jobs; all model work happens on the worker thread. Locks are held
only to copy or swap small pieces of state, never during model work, so status requests answer at once.
"""

from __future__ import annotations

import gc
import json
import logging
import math
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shapely.geometry import box, mapping

import contract

from ..devices import free_gpu_memory, is_oom
from ..errors import BusyError, UserError
from ..models.embedding_cache import shared_cache
from ..models.loading import EngineConfig, load_models
from ..pipeline import RunStats, SegmentPlan, TileReport, run
from .limits import MAX_QUEUE

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED, CANCELLED = contract.JOB_STATES
FINISHED = contract.FINAL_STATES
# Finished jobs are forgotten, oldest first, beyond this many or once their features take this much memory.
MAX_KEPT_JOBS = 200
MAX_KEPT_BYTES = 512 * 2**20


ModelKey = tuple[str, str]  # resolved prompter path, resolved segmenter path
Loader = Callable[[Path, Path], tuple[Any, Any]]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def crs_name(crs) -> str | None:
    """``EPSG:NNNN`` where the CRS has a code, else its WKT; None for pixel coordinates."""
    if crs is None:
        return None
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.to_wkt()


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

    # -- written by the worker ------------------------------------------------------------------------
    def add_feature(self, feature) -> None:
        """Keep a feature as GeoJSON text: compact to hold, and sent as it is on every page."""
        props = {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in feature.properties.items()
        }
        with self._lock:
            fid = len(self._features) + 1
        text = json.dumps(
            {"type": "Feature", "id": fid, "geometry": mapping(feature.geometry), "properties": props},
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
        ).encode()
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
            to_map = self.georef.to_map
            self._overview = [
                {
                    "index": c.index,
                    "status": c.status,
                    "raw_text": c.raw_text,
                    "warnings": list(c.warnings),
                    "error": c.error,
                    "window": list(c.window),
                    "footprint": mapping(
                        to_map(box(c.window[0], c.window[1], c.window[0] + c.window[2], c.window[1] + c.window[3]))
                    ),
                    "boxes": [mapping(to_map(box(*b))) for b in c.boxes],
                }
                for c in cells
            ]
        return self._overview


def free_memory() -> None:
    """Return freed model memory: to Python's allocator and, on CUDA, to the driver."""
    gc.collect()
    free_gpu_memory()


class ModelCache:
    """One loaded prompter/segmenter pair, kept warm between jobs (a different pair replaces it), and the click
    lane's segmenter: a view of the pair's when it is the same checkpoint, else one of its own."""

    def __init__(self, loader: Loader, segmenter_loader: Callable[[Path], Any] | None = None):
        self._loader = loader
        self._segmenter_loader = segmenter_loader
        self._lock = threading.Lock()
        self._key: ModelKey | None = None
        self._models: tuple[Any, Any] | None = None
        self._lane: dict[Path, tuple[Any, Any]] = {}  # checkpoint -> (the model it views, the lane's segmenter)

    def get(self, key: ModelKey) -> tuple[Any, Any]:
        """The models for ``key``, loading them (worker thread only) if they are not the ones held."""
        if self._key != key:
            self.unload()  # free the old pair first: two may not fit on the GPU
            # Names stay text until the loader decides what they are: Path() would fold openai:http://… to http:/…
            models = self._loader(key[0], key[1])
            with self._lock:
                self._key, self._models = key, models
        if self._models is None:
            raise RuntimeError("models is not set")
        return self._models

    def segmenter_for(self, path: Path):
        """The click lane's segmenter for ``path`` (its thread only): shares the held pair's weights when it can."""
        path = Path(path)
        with self._lock:
            held = self._models[1] if self._models is not None and self._key and Path(self._key[1]) == path else None
            known = self._lane.get(path)
            if known is not None and (held is None or known[0] is held):
                return known[1]
        if held is not None:
            base, view = held, held.view() if hasattr(held, "view") else held
        else:
            if self._segmenter_loader is None:
                raise UserError("This server cannot load a segmenter for clicks.", "no_segmenter")
            base = view = self._segmenter_loader(path)
        with self._lock:
            self._lane = {path: (base, view)}
        return view

    def unload(self) -> bool:
        with self._lock:
            had = self._models is not None or bool(self._lane)
            self._key, self._models, self._lane = None, None, {}
        if had:
            shared_cache().clear()  # its embeddings belong to the models just dropped, and may hold GPU memory
            free_memory()
        return had

    def loaded(self) -> dict[str, str]:
        """Names of the loaded models, ``{}`` when none are."""
        with self._lock:
            if self._models is None:
                return {}
            prompter, segmenter = self._models
        return {
            "prompter": getattr(prompter, "name", str(self._key and self._key[0])),
            "segmenter": getattr(segmenter, "name", str(self._key and self._key[1])),
        }


def default_loader(config: EngineConfig) -> Loader:
    """Load models the way the CLI does, with the server's device and generation options."""

    def load(prompter_path: Path, segmenter_path: Path):
        return load_models(config, prompter_path, segmenter_path)

    return load


def default_segmenter_loader(config: EngineConfig) -> Callable[[Path], Any]:
    """Load a segmenter alone (for clicks), on the server's device."""

    def load(path: Path):
        from ..models.build_segmenter import load_segmenter

        return load_segmenter(path, device=config.device)

    return load


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
        self.models = ModelCache(loader or default_loader(config), segmenter_loader or default_segmenter_loader(config))
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
