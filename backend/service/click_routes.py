"""``POST /prompt`` and ``/encode``: clicks and warm-ups, answered by the click lane (see :mod:`.clicks`)."""

from __future__ import annotations

import logging
from concurrent.futures import TimeoutError as FutureTimeout

from fastapi import APIRouter, Query
from shapely.geometry import mapping

from ..clicks import PromptRequest
from ..errors import UserError
from .clicks import ClickLane
from .schemas import EncodeCancelled, EncodeQueued, EncodeRequestBody, PromptAnswerPage, PromptRequestBody

log = logging.getLogger(__name__)


def click_router(lane: ClickLane, resolve_segmenter, touch, crs_name) -> APIRouter:
    """The click routes; ``resolve_segmenter(name or None)`` applies the server's model rules."""
    router = APIRouter()

    @router.post("/prompt", response_model=PromptAnswerPage, summary="Points and a box on one object: its outline")
    def prompt(body: PromptRequestBody) -> dict:
        request = PromptRequest(
            points=[(p[0], p[1], int(p[2]) if len(p) > 2 else 1) for p in body.points],
            box=tuple(body.box) if body.box is not None else None,  # type: ignore[arg-type]
            multimask=body.multimask,
            only_cached=body.only_cached,
        )
        segmenter = resolve_segmenter(body.segmenter)
        touch()
        try:
            answer = lane.prompt(
                body.raster,
                request,
                segmenter,
                body.bands,
                body.pixel_coords,
                body.session,
                body.tile_size,
                body.overlap,
            )
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
        crs = crs_name(answer.crs)
        features = [
            {"type": "Feature", "id": i + 1, "geometry": mapping(f.geometry), "properties": f.properties}
            for i, f in enumerate(answer.features)
        ]
        return {
            "type": "FeatureCollection",
            "crs": {"type": "name", "properties": {"name": crs}} if crs else None,
            "features": features,
            "window": list(answer.window),
            "cached": answer.cached,
            "scale": answer.scale,
            "seconds": round(answer.seconds, 4),
        }

    @router.post("/encode", response_model=EncodeQueued, status_code=202, summary="Encode ahead an area's tiles")
    def encode(body: EncodeRequestBody) -> dict:
        segmenter = resolve_segmenter(body.segmenter)
        touch()
        return lane.warm(
            body.raster,
            body.bounds,
            segmenter,
            body.bands,
            body.pixel_coords,
            body.session,
            body.tile_size,
            body.overlap,
        )

    @router.delete("/encode", response_model=EncodeCancelled, summary="Drop the warm-ups still waiting")
    def cancel_encode(session: str | None = Query(None, max_length=64)) -> dict:
        return {"dropped": lane.cancel_warm(session)}

    return router


def _busy() -> UserError:
    error = UserError("The click lane is busy; try again in a moment.", "busy")
    error.http_status = 503
    return error
