"""The HTTP service (FastAPI): authenticated JSON endpoints over the job queue. See docs/api.md.

Handlers are plain ``def`` functions (run in a thread pool) that only read or change job state under short
locks; model work happens on the queue's worker thread, so requests answer at once while a job runs.
"""

from __future__ import annotations

import hmac
import json
import logging
import sys
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..errors import UserError
from ..models.embedding_cache import shared_cache
from .click_lane import ClickLane
from .click_routes import click_router
from .config import ServerConfig, resolve_model
from .job_routes import job_router
from .jobs import JobQueue
from .limits import BodyLimit
from .model_routes import model_router
from .models import Loader
from .pulls import Pulls
from .schemas import (
    ErrorBody,
    Health,
)
from .upload_routes import UPLOAD_PATH, upload_router
from .uploads import UploadStore, owner_of

log = logging.getLogger(__name__)
ERRORS = {code: {"model": ErrorBody} for code in (400, 401, 403, 404, 409, 411, 413, 422, 429)}
RETRY_AFTER_S = 10


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
    uploads = UploadStore(
        config.uploads_dir,
        config.upload_max_bytes,
        config.uploads_total_bytes or 10 * config.upload_max_bytes,
        config.upload_ttl_s,
    )
    if uploads.enabled and config.exposure.access.restricted:  # uploads are read where they are kept
        access = config.exposure.access
        config = replace(config, exposure=replace(config.exposure, access=access.with_root(uploads.folder)))
    lane = ClickLane(queue.models.segmenter_for, config.exposure.access)
    pulls = Pulls(engine.models_dir)
    tokens = [(t.encode(), owner_of(t)) for t in config.all_tokens()]

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        uploads.start()
        queue.start()
        lane.start()
        try:
            yield
        finally:
            lane.stop()
            queue.stop()
            uploads.stop()

    bearer = HTTPBearer(auto_error=False, description="the token given to the server (THINK2MAP_TOKEN)")

    def caller(credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> str:
        """Who asks: the owner of the token given (every token is compared, so timing says nothing of which)."""
        given = credentials.credentials.encode() if credentials else b""
        owner = ""
        for token, token_owner in tokens:
            if hmac.compare_digest(given, token):
                owner = token_owner
        if not owner:
            raise HTTPException(
                401,
                "Missing or wrong token: send the header 'Authorization: Bearer <token>'.",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return owner

    app = FastAPI(
        title="Think2Map backend",
        version=__version__,
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(caller)],
        responses=ERRORS,
        description="Segment georeferenced rasters by text query. See docs/api.md.",
    )
    app.state.queue = queue

    app.add_middleware(BodyLimit, max_bytes=config.max_body_bytes, streamed=(UPLOAD_PATH,))

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
            "uploads": uploads.info(),
        }

    def resolve_segmenter(name: str | None) -> Path:
        return resolve_model(name or engine.segmenter, "segmenter", config, requested=name is not None)

    app.include_router(job_router(queue, config, uploads, caller))
    app.include_router(click_router(lane, queue.models, resolve_segmenter, uploads, caller))
    app.include_router(upload_router(uploads, caller))
    app.include_router(model_router(config, pulls))
    return app


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
