"""``POST /prompt`` and ``/encode``: clicks and warm-ups, answered by the click lane (see :mod:`.click_lane`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

import contract

from ..errors import UserError
from ..geo.geojson import collection_json, feature_json
from ..geo.georef import crs_name
from .click_lane import ClickLane
from .models import ModelCache
from .schemas import EncodeCancelled, EncodeQueued, EncodeRequestBody, PromptAnswerPage, PromptRequestBody
from .uploads import UploadStore

log = logging.getLogger(__name__)


def click_router(
    lane: ClickLane,
    models: ModelCache,
    resolve_segmenter: Callable[[str | None], Path],
    uploads: UploadStore,
    caller: Callable[..., str],
) -> APIRouter:
    """The click routes; ``resolve_segmenter(name or None)`` applies the server's model rules, ``caller`` says
    whose token asks (a prompt may name its uploads)."""
    router = APIRouter()

    @router.post(
        "/prompt",
        response_model=None,
        summary="Points and a box on one object: its outline",
        responses={200: {"model": PromptAnswerPage, "description": "a GeoJSON FeatureCollection"}},
    )
    def prompt(body: PromptRequestBody, owner: str = Depends(caller)) -> Response:
        fields = body.model_dump()
        fields["raster"] = uploads.resolve(body.raster, owner)
        fields["points"] = [(p[0], p[1], int(p[2]) if len(p) > 2 else 1) for p in body.points]
        request = contract.PromptSpec.from_json(fields)
        segmenter = resolve_segmenter(request.segmenter)
        models.touch()
        try:
            answer = lane.prompt(request, segmenter)
        except UserError as exc:
            if exc.http_status == 400:  # a bad prompt is a request that fails validation, as for jobs
                exc.http_status = 422
            raise
        except FutureTimeout:
            raise _busy() from None
        except Exception as exc:  # an internal fault: said as such, with a 500
            log.exception("a prompt failed")
            error = UserError(f"The prompt failed: {type(exc).__name__}: {exc}", "prompt_failed")
            error.http_status = 500
            raise error from None
        features = [feature_json(f.geometry, f.properties, i + 1) for i, f in enumerate(answer.features)]
        page = collection_json(
            features,
            crs_name(answer.crs),
            window=list(answer.window),
            cached=answer.cached,
            scale=answer.scale,
            seconds=round(answer.seconds, 4),
        )
        return Response(page, media_type="application/json")

    @router.post("/encode", response_model=EncodeQueued, status_code=202, summary="Encode ahead an area's tiles")
    def encode(body: EncodeRequestBody, owner: str = Depends(caller)) -> dict:
        request = contract.EncodeSpec.from_json(dict(body.model_dump(), raster=uploads.resolve(body.raster, owner)))
        segmenter = resolve_segmenter(request.segmenter)
        models.touch()
        return lane.warm(request, segmenter)

    @router.delete("/encode", response_model=EncodeCancelled, summary="Drop the warm-ups still waiting")
    def cancel_encode(session: str | None = Query(None, max_length=contract.SESSION_MAX_LENGTH)) -> dict:
        return {"dropped": lane.cancel_warm(session)}

    return router


def _busy() -> UserError:
    error = UserError("The click lane is busy; try again in a moment.", "busy")
    error.http_status = 503
    return error
