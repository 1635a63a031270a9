"""The HTTP service (FastAPI): authenticated JSON endpoints over the job queue. See docs/api.md.

Handlers are plain ``def`` functions (run in a thread pool) that only read or change job state under short
locks; model work happens on the queue's worker thread, so requests answer at once while a job runs.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import secrets
import signal
import sys
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from plugin.core import contract

from .. import __version__
from ..errors import MissingWeightsError, RasterError, UserError
from ..models import store
from ..models.loading import CPU_WARNING, EngineConfig
from ..pipeline import SegmentOptions, SegmentPlan
from .jobs import Job, JobQueue, Loader
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
ERRORS = {code: {"model": ErrorBody} for code in (400, 401, 404, 409, 422)}


@dataclass
class ServerConfig:
    """What ``create_app`` needs: the token every request must carry, the engine's options and the limits."""

    token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    engine: EngineConfig = field(default_factory=EngineConfig)
    max_tiles: int = contract.MAX_TILES_DEFAULT
    idle_unload: float | None = None  # seconds without a job before the models are unloaded; None: never


def _one_sentence(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
        parts.append(f"{where}: {err.get('msg', 'invalid')}" if where else str(err.get("msg", "invalid")))
    return "Invalid request: " + "; ".join(parts) + "."


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


def create_app(config: ServerConfig, loader: Loader | None = None) -> FastAPI:
    """The FastAPI application. Its worker thread starts and stops with the app's lifespan."""
    engine = config.engine
    queue = JobQueue(engine, loader, idle_unload=config.idle_unload)
    pulls = Pulls(engine.models_dir)
    token = config.token.encode()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        queue.start()
        try:
            yield
        finally:
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

    @app.exception_handler(UserError)
    def user_error(request: Request, exc: UserError) -> JSONResponse:
        return JSONResponse({"detail": str(exc), "code": exc.code, "params": exc.params}, status_code=exc.http_status)

    @app.exception_handler(RequestValidationError)
    def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _one_sentence(exc)}, status_code=422)

    def find_job(job_id: str) -> Job:
        job = queue.get(job_id)
        if job is None:
            raise HTTPException(404, f"No job '{job_id}' on this server (it may have been forgotten after a restart).")
        return job

    @app.get("/openapi.json", include_in_schema=False)
    def openapi() -> dict:
        return app.openapi()

    @app.get("/health", response_model=Health, summary="Version, device, loaded models and queue")
    def health() -> dict:
        return {
            "status": "ready",
            "version": __version__,
            "device": engine.device,
            "gpu": _gpu_info(engine.device),
            "models_loaded": queue.models.loaded(),
            **queue.info(),
            "default_models": {"prompter": engine.prompter, "segmenter": engine.segmenter},
        }

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
        return {"models": store.list_models(engine.models_dir), "models_dir": str(store.models_dir(engine.models_dir))}

    def known(name: str) -> str:
        if name not in store.KNOWN:
            raise HTTPException(404, f"Unknown model '{name}'. Known models: {', '.join(store.KNOWN)}.")
        return name

    @app.post("/models/{name}/pull", response_model=PullStatus, status_code=202, summary="Start a download")
    def pull(name: str) -> dict:
        return pulls.start(known(name))

    @app.get("/models/{name}/pull", response_model=PullStatus, summary="A download's progress")
    def pull_status(name: str) -> dict:
        return pulls.status(known(name))

    return app


def _make_job(body: JobRequest, config: ServerConfig) -> Job:
    """Check the request (raster, area, tiling, models) and build its job; never loads a model."""
    engine = config.engine
    limit = body.max_tiles or config.max_tiles
    options = SegmentOptions(
        bands=body.bands,
        bounds=body.bounds,
        tile_size=body.tile_size,
        overlap=body.overlap,
        batch_size=engine.batch_size,
        min_area_px=body.min_area_px,
        pixel_coords=body.pixel_coords,
        max_tiles=limit,
    )
    try:
        plan = SegmentPlan(body.raster, body.query, options)
    except RasterError as exc:
        message = str(exc)  # the pipeline's hints name CLI options; add what to send over HTTP
        if "more than the limit" in message:
            message += (
                f' Over HTTP, send a larger "max_tiles" with the job (this server\'s default is {limit}, '
                "its --max-tiles option)."
            )
        elif "--pixel-coords" in message:
            message += ' Over HTTP, send "pixel_coords": true.'
        raise HTTPException(422, message) from None
    except UserError as exc:  # the query or the tiling: a request that fails validation
        raise HTTPException(exc.http_status if exc.http_status != 400 else 422, str(exc)) from None
    except Exception as exc:  # anything else the raster or its bounds set off is still the request's fault
        log.info("rejected job for %s", body.raster, exc_info=True)
        raise HTTPException(422, f"This raster or area cannot be used: {type(exc).__name__}: {exc}") from None
    try:
        names = {"prompter": body.prompter or engine.prompter, "segmenter": body.segmenter or engine.segmenter}
        paths = (
            str(_resolve(names["prompter"], "prompter", engine)),
            str(_resolve(names["segmenter"], "segmenter", engine)),
        )
    except BaseException:
        plan.close()
        raise
    return Job(plan, names, paths)


def _resolve(name: str, kind: str, engine: EngineConfig) -> Path:
    try:
        return store.resolve(name, kind, engine.models_dir).resolve()
    except MissingWeightsError as exc:
        raise HTTPException(409, f"{exc} Over HTTP: POST /models/{name}/pull.") from None
    except UserError as exc:
        raise HTTPException(exc.http_status, str(exc)) from None
    except (OSError, ValueError, RuntimeError) as exc:  # e.g. an unusable path such as '~nosuchuser'
        raise HTTPException(422, f"Cannot use the {kind} '{name}': {exc}") from None


def openapi_schema() -> dict:
    """The API's OpenAPI schema, as committed in docs/openapi.json."""
    return create_app(ServerConfig(token="-")).openapi()


def write_openapi(path: str | Path | None = None) -> None:
    """Write the OpenAPI schema as stable, indented JSON to ``path`` (stdout when None)."""
    text = json.dumps(openapi_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if path is None:
        sys.stdout.write(text)
    else:
        Path(path).write_text(text, encoding="utf-8")


def _env_int(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise UserError(f"{name} must be a whole number, got '{text}'.") from None


def _exit_on_sigterm(signum, frame) -> None:
    # Outside uvicorn's own handling (during start-up, and when uvicorn re-raises the signal after its clean
    # shutdown) SIGTERM ends the process with status 0.
    raise SystemExit(0)


def serve_from_args(args) -> int:
    """``python -m backend serve``: run the service until SIGTERM or SIGINT (see docs/api.md)."""
    if args.openapi:
        write_openapi(None if args.openapi == "-" else args.openapi)
        return 0
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    if not 0 <= args.port <= 65535:
        raise UserError(f"--port must be between 0 (any free port) and 65535, got {args.port}.")
    max_tiles = (
        args.max_tiles if args.max_tiles is not None else _env_int("THINK2MAP_MAX_TILES", contract.MAX_TILES_DEFAULT)
    )
    if max_tiles < 1:
        raise UserError(f"--max-tiles must be at least 1, got {max_tiles}.")
    if args.idle_unload is not None and args.idle_unload < 0:
        raise UserError(f"--idle-unload is a number of seconds (0 or more), got {args.idle_unload}.")
    given = os.environ.get("THINK2MAP_TOKEN", "").strip()
    token = given or secrets.token_urlsafe(32)
    engine = EngineConfig.from_args(args)
    if engine.device == "cpu":
        log.warning(CPU_WARNING)
    app = create_app(ServerConfig(token=token, engine=engine, max_tiles=max_tiles, idle_unload=args.idle_unload))
    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
        server_header=False,
    )
    server = _AnnouncingServer(config, None if given else token)
    try:
        server.run()  # the app's lifespan stops the worker (cancelling its job) and unloads the models
        code = 0 if server.started else 1
    except SystemExit as exc:  # SIGTERM, re-raised by uvicorn after its clean shutdown
        code = exc.code if isinstance(exc.code, int) else 0
    # Everything is closed now. Skip the interpreter's teardown of torch and friends, which takes seconds and
    # would keep a plugin that is waiting for the process to end.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


class _AnnouncingServer(uvicorn.Server):
    """A uvicorn server that prints the one JSON line on stdout once it listens."""

    def __init__(self, config, token: str | None):
        super().__init__(config)
        self._token = token

    async def startup(self, sockets=None) -> None:
        await super().startup(sockets)
        if not self.started:
            return
        host, port = self.servers[0].sockets[0].getsockname()[:2]
        line = {"event": "listening", "host": host, "port": port, "pid": os.getpid(), "version": __version__}
        if self._token:
            line["token"] = self._token
        print(json.dumps(line), flush=True)
