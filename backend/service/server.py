"""The HTTP service (FastAPI): authenticated JSON endpoints over the job queue. See docs/api.md.

Handlers are plain ``def`` functions (run in a thread pool) that only read or change job state under short
locks; model work happens on the queue's worker thread, so requests answer at once while a job runs.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import sys
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException

import contract
from contract import JobSpec

from .. import __version__
from ..errors import MissingWeightsError, NotFoundError, RasterError, UserError
from ..models import store
from ..models.embedding_cache import shared_cache
from ..models.loading import EngineConfig
from ..prepare import HTTP, prepare_job
from .click_routes import click_router
from .clicks import ClickLane
from .exposure import Exposure
from .jobs import Job, JobQueue, Loader, crs_name
from .limits import MAX_BODY_BYTES, MAX_QUEUE, BodyLimit
from .pulls import Pulls
from .schemas import (
    ErrorBody,
    FeaturePage,
    Health,
    JobCreated,
    JobRequest,
    JobStatus,
    ModelList,
    PullStatus,
    TilePage,
)

log = logging.getLogger(__name__)
ERRORS = {code: {"model": ErrorBody} for code in (400, 401, 403, 404, 409, 413, 422, 429)}
RETRY_AFTER_S = 10


@dataclass
class ServerConfig:
    """What ``create_app`` needs: the token every request must carry, the engine's options and the limits."""

    token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    engine: EngineConfig = field(default_factory=EngineConfig)
    max_tiles: int = contract.MAX_TILES_DEFAULT
    idle_unload: float | None = None  # seconds without a job before the models are unloaded; None: never
    exposure: Exposure = field(default_factory=Exposure)
    max_queue: int = MAX_QUEUE
    max_body_bytes: int = MAX_BODY_BYTES


def _invalid_body(exc: RequestValidationError) -> dict:
    """A validation error as one sentence, with the first field at fault as the code's parameters."""
    parts, fields = [], []
    for err in exc.errors()[:3]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
        parts.append(f"{where}: {err.get('msg', 'invalid')}" if where else str(err.get("msg", "invalid")))
        fields.append({"field": where, "type": str(err.get("type", "")), "ctx": _plain(err.get("ctx") or {})})
    detail = "Invalid request: " + "; ".join(parts) + "."
    return {"detail": detail, "code": "invalid_request", "params": fields[0] if fields else {}}


def _plain(ctx: dict) -> dict:
    return {k: v if isinstance(v, (int, float, str, bool)) or v is None else str(v) for k, v in ctx.items()}


def _gpu_info(device: str) -> dict | None:
    if not device.startswith("cuda"):
        return None
    import torch

    index = torch.device(device).index or 0
    free, total = torch.cuda.mem_get_info(index)
    return {
        "name": torch.cuda.get_device_name(index),
        "memory_total_mb": total // 2**20,
        "memory_used_mb": (total - free) // 2**20,
    }


def create_app(config: ServerConfig, loader: Loader | None = None, segmenter_loader=None) -> FastAPI:
    """The FastAPI application. Its job worker and click lane start and stop with the app's lifespan.

    ``loader`` and ``segmenter_loader`` replace how models are loaded (benchmarks pass random-weight models).
    """
    engine = config.engine
    queue = JobQueue(
        engine, loader, idle_unload=config.idle_unload, max_queue=config.max_queue, segmenter_loader=segmenter_loader
    )
    lane = ClickLane(queue.models.segmenter_for, config.exposure.access)
    pulls = Pulls(engine.models_dir)
    token = config.token.encode()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        queue.start()
        lane.start()
        try:
            yield
        finally:
            lane.stop()
            queue.stop()

    bearer = HTTPBearer(auto_error=False, description="the token given to the server (THINK2MAP_TOKEN)")

    def require_token(credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
        given = credentials.credentials.encode() if credentials else b""
        if not hmac.compare_digest(given, token):
            raise HTTPException(
                401,
                "Missing or wrong token: send the header 'Authorization: Bearer <token>'.",
                headers={"WWW-Authenticate": "Bearer"},
            )

    app = FastAPI(
        title="Think2Map backend",
        version=__version__,
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(require_token)],
        responses=ERRORS,
        description="Segment georeferenced rasters by text query. See docs/api.md.",
    )
    app.state.queue = queue

    app.add_middleware(BodyLimit, max_bytes=config.max_body_bytes)

    @app.exception_handler(UserError)
    def user_error(request: Request, exc: UserError) -> JSONResponse:
        headers = {"Retry-After": str(RETRY_AFTER_S)} if exc.http_status == 429 else None
        return JSONResponse(
            {"detail": str(exc), "code": exc.code, "params": exc.params}, status_code=exc.http_status, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(_invalid_body(exc), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {401: "unauthorized", 404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(
            {"detail": exc.detail, "code": code, "params": {}}, status_code=exc.status_code, headers=exc.headers
        )

    def find_job(job_id: str) -> Job:
        job = queue.get(job_id)
        if job is None:
            raise NotFoundError(
                f"No job '{job_id}' on this server (it may have been forgotten after a restart).",
                "job_not_found",
                id=job_id,
            )
        return job

    @app.get("/openapi.json", include_in_schema=False)
    def openapi() -> dict:
        return app.openapi()

    def public(name: str) -> str:
        """A model as a shared server names it to token holders: its name, never a path on this machine."""
        return Path(name).name if config.exposure.shared else name

    @app.get("/health", response_model=Health, summary="Version, device, loaded models and queue")
    def health() -> dict:
        return {
            "status": "ready",
            "version": __version__,
            "device": engine.device,
            "gpu": _gpu_info(engine.device),
            "models_loaded": queue.models.loaded(),
            **queue.info(),
            "default_models": {"prompter": public(engine.prompter), "segmenter": public(engine.segmenter)},
            "constrained_answers": engine.constrain and not engine.force_answer,
            "embedding_cache": shared_cache().stats(),
            "clicks": lane.info(),
        }

    def resolve_segmenter(name: str | None) -> Path:
        return _resolve(name or engine.segmenter, "segmenter", config, requested=name is not None)

    app.include_router(click_router(lane, resolve_segmenter, queue.touch, crs_name))

    @app.post("/jobs", response_model=JobCreated, status_code=201, summary="Check a query and queue it")
    def submit(body: JobRequest) -> dict:
        job = _make_job(body, config)
        queue.submit(job)
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
        crs = {"type": "name", "properties": {"name": job.crs}} if job.crs else None
        # the features are stored as GeoJSON text, so the page is put together without parsing them again
        head = json.dumps({"type": "FeatureCollection", "crs": crs, "next": nxt, "state": state})[:-1]
        body = b"".join([head.encode(), b', "features": [', b",".join(page), b"]}"])
        return Response(body, media_type="application/json")

    @app.get("/jobs/{job_id}/tiles", response_model=TilePage, summary="Per-tile reports, with the reasoning")
    def tiles(job_id: str, after: int = Query(0, ge=0, description="skip the first N reports")) -> dict:
        page, nxt = find_job(job_id).tiles(after)
        return {"tiles": page, "next": nxt}

    @app.delete("/jobs/{job_id}", response_model=JobStatus, summary="Cancel a job (its features stay readable)")
    def cancel(job_id: str) -> dict:
        job = queue.cancel(job_id) or find_job(job_id)  # find_job raises the 404
        return job.status()

    @app.get("/models", response_model=ModelList, summary="Known models and whether they are on this machine")
    def models() -> dict:
        rows = store.list_models(engine.models_dir)
        if config.exposure.shared:  # a token holder learns which models there are, not where this server keeps them
            return {"models": [{**row, "path": None} for row in rows], "models_dir": ""}
        return {"models": rows, "models_dir": str(store.models_dir(engine.models_dir))}

    def known(name: str) -> str:
        if name not in store.KNOWN:
            raise NotFoundError(
                f"Unknown model '{name}'. Known models: {', '.join(store.KNOWN)}.", "unknown_model", name=name
            )
        return name

    @app.post("/models/{name}/pull", response_model=PullStatus, status_code=202, summary="Start a download")
    def pull(name: str) -> dict:
        if not config.exposure.allow_pulls:
            error = UserError(
                "This server downloads models only when its administrator asks (python -m backend models pull, "
                "or --allow-pulls).",
                "pulls_not_allowed",
                name=name,
            )
            error.http_status = 403
            raise error
        return pulls.start(known(name))

    @app.get("/models/{name}/pull", response_model=PullStatus, summary="A download's progress")
    def pull_status(name: str) -> dict:
        return pulls.status(known(name))

    return app


def _make_job(body: JobRequest, config: ServerConfig) -> Job:
    """Check the request (raster, area, tiling, models) and build its job; never loads a model.

    The job's raster is closed again once checked: a queued job holds no open file.
    """
    engine, exposure = config.engine, config.exposure
    spec = JobSpec.from_json(body.model_dump())
    try:
        prepared = prepare_job(
            spec, max_tiles=config.max_tiles, batch_size=engine.batch_size, access=exposure.access, wording=HTTP
        )
    except RasterError:
        raise
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
        finder = str(_resolve(engine.finder, "finder", config, requested=False))
        paths = (finder, finder)
    else:
        names = {"prompter": body.prompter or engine.prompter, "segmenter": body.segmenter or engine.segmenter}
        paths = (
            str(_resolve(names["prompter"], "prompter", config, requested=body.prompter is not None)),
            str(_resolve(names["segmenter"], "segmenter", config, requested=body.segmenter is not None)),
        )
    return Job(plan, names, paths)


def _resolve(name: str, kind: str, config: ServerConfig, requested: bool) -> Path:
    """A model's weights; a shared server applies its rules to the models a request names (not its own)."""
    try:
        if requested:
            return config.exposure.resolve_model(name, kind, config.engine.models_dir).resolve()
        return store.resolve(name, kind, config.engine.models_dir).resolve()
    except MissingWeightsError as exc:
        raise MissingWeightsError(f"{exc} Over HTTP: POST /models/{name}/pull.", exc.code, **exc.params) from None
    except UserError:
        raise
    except (OSError, ValueError, RuntimeError) as exc:  # e.g. an unusable path such as '~nosuchuser'
        raise UserError(f"Cannot use the {kind} '{name}': {exc}", "bad_model", name=name) from None


def openapi_schema() -> dict:
    """The API's OpenAPI schema, as committed in docs/openapi.json."""
    return create_app(ServerConfig(token="-")).openapi()  # nosec B106 - a placeholder to render the schema


def write_openapi(path: str | Path | None = None) -> None:
    """Write the OpenAPI schema as stable, indented JSON to ``path`` (stdout when None)."""
    text = json.dumps(openapi_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if path is None:
        sys.stdout.write(text)
    else:
        Path(path).write_text(text, encoding="utf-8")
