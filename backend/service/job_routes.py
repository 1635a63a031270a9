"""The job routes: ``POST /jobs`` checks a query and queues it; its status, features, tile reports and cancel."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from contract import JobSpec

from ..errors import NotFoundError, RasterError, UserError
from ..geo.geojson import collection_json
from ..prepare import HTTP, prepare_job
from .config import ServerConfig, resolve_model
from .jobs import CANCELLED, Job, JobQueue
from .schemas import FeaturePage, JobCreated, JobRequest, JobStatus, TilePage
from .uploads import UploadStore

log = logging.getLogger(__name__)


def job_router(queue: JobQueue, config: ServerConfig, uploads: UploadStore, caller: Callable[..., str]) -> APIRouter:
    """The routes under ``/jobs``; ``caller`` is the dependency that says whose token asks (for its uploads)."""
    app = APIRouter()

    def find_job(job_id: str) -> Job:
        job = queue.get(job_id)
        if job is None:
            raise NotFoundError(
                f"No job '{job_id}' on this server (it may have been forgotten after a restart).",
                "job_not_found",
                id=job_id,
            )
        return job

    @app.post("/jobs", response_model=JobCreated, status_code=201, summary="Check a query and queue it")
    def submit(body: JobRequest, owner: str = Depends(caller)) -> dict:
        job = _make_job(body, config, uploads.resolve(body.raster, owner))
        held = uploads.hold(body.raster, owner)  # an upload lives until its job ends
        if held is not None:
            job.on_finish.append(lambda: uploads.release(held))
        try:
            queue.submit(job)
        except BaseException:
            job.finish(CANCELLED)  # never queued: it ends here, and lets its upload go
            raise
        return {"id": job.id, "state": job.state, "tiles_total": job.tiles_total, "crs": job.crs}

    @app.get("/jobs/{job_id}", response_model=JobStatus, summary="A job's state and progress")
    def status(job_id: str) -> dict:
        return find_job(job_id).status()

    @app.get(
        "/jobs/{job_id}/features",
        response_model=None,
        summary="Features found so far, as GeoJSON",
        responses={200: {"model": FeaturePage, "description": "a GeoJSON FeatureCollection"}},
    )
    def features(job_id: str, after: int = Query(0, ge=0, description="skip the first N features")) -> Response:
        job = find_job(job_id)
        page, nxt, state = job.features(after)
        # the features are stored as GeoJSON text, so the page is put together without parsing them again
        return Response(collection_json(page, job.crs, next=nxt, state=state), media_type="application/json")

    @app.get("/jobs/{job_id}/tiles", response_model=TilePage, summary="Per-tile reports, with the reasoning")
    def tiles(job_id: str, after: int = Query(0, ge=0, description="skip the first N reports")) -> dict:
        page, nxt = find_job(job_id).tiles(after)
        return {"tiles": page, "next": nxt}

    @app.delete("/jobs/{job_id}", response_model=JobStatus, summary="Cancel a job (its features stay readable)")
    def cancel(job_id: str) -> dict:
        job = queue.cancel(job_id) or find_job(job_id)  # find_job raises the 404
        return job.status()

    return app


def _make_job(body: JobRequest, config: ServerConfig, raster: str) -> Job:
    """Check the request (raster, area, tiling, models) and build its job, over ``raster`` (the request's, or the
    file of the upload it names); never loads a model.

    The job's raster is closed again once checked: a queued job holds no open file.
    """
    engine, exposure = config.engine, config.exposure
    spec = replace(JobSpec.from_json(body.model_dump()), raster=raster)
    try:
        prepared = prepare_job(
            spec, max_tiles=config.max_tiles, batch_size=engine.batch_size, access=exposure.access, wording=HTTP
        )
    except UserError as exc:  # the query, the tiling or the mode: a request that fails validation
        if exc.http_status == 400:
            exc.http_status = 422
        raise
    except Exception as exc:  # anything else the raster or its bounds set off is still the request's fault
        log.info("rejected job for %s", body.raster, exc_info=True)
        if exposure.shared:
            raise exposure.access.not_found(body.raster) from None
        raise RasterError(
            f"This raster or area cannot be used: {type(exc).__name__}: {exc}", "bad_raster", path=body.raster
        ) from None
    plan, chosen = prepared.plan, prepared.engine
    if chosen == "find":  # SAM 3 prompts and segments: the server's own --finder, in both places
        names = {"prompter": engine.finder, "segmenter": engine.finder}
        finder = str(resolve_model(engine.finder, "finder", config, requested=False))
        paths = (finder, finder)
    else:
        names = {"prompter": body.prompter or engine.prompter, "segmenter": body.segmenter or engine.segmenter}
        paths = (
            str(resolve_model(names["prompter"], "prompter", config, requested=body.prompter is not None)),
            str(resolve_model(names["segmenter"], "segmenter", config, requested=body.segmenter is not None)),
        )
    return Job(plan, names, paths)
