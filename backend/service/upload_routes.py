"""``POST /rasters`` (a GeoTIFF in the body, streamed to disk) and ``DELETE /rasters/{id}``: see :mod:`.uploads`."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from .schemas import UploadCreated, UploadDeleted
from .uploads import UploadStore, bad_upload

UPLOAD_PATH = "/rasters"
BINARY = {"type": "string", "format": "binary"}


def upload_router(uploads: UploadStore, caller: Callable[..., str]) -> APIRouter:
    """The upload routes; ``caller`` is the dependency that says whose token asks."""
    router = APIRouter()

    @router.post(
        UPLOAD_PATH,
        response_model=UploadCreated,
        status_code=201,
        summary="Upload a GeoTIFF to search (the body is the file)",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"image/tiff": {"schema": {"type": "string", "format": "binary"}}},
            }
        },
    )
    async def upload(
        request: Request,
        keep: bool = Query(False, description="keep it for its time-to-live (clicks), not only for the next job"),
        owner: str = Depends(caller),
    ) -> dict:
        length = request.headers.get("content-length")
        announced = int(length) if length is not None and length.isdigit() else None
        upload_id, partial = await run_in_threadpool(uploads.begin, owner, announced)
        received = 0
        try:
            with open(partial, "wb") as f:
                async for chunk in request.stream():
                    received += len(chunk)
                    if received > (announced or 0):  # more than announced: refused, whatever the cap
                        raise bad_upload("it is longer than its Content-Length")
                    await run_in_threadpool(f.write, chunk)
        except BaseException:  # refused, cut off by the client, or the server stopping: nothing is kept
            uploads.abandon(partial, announced or 0)
            raise
        return await run_in_threadpool(uploads.finish, owner, upload_id, partial, announced or 0, keep)

    @router.delete(f"{UPLOAD_PATH}/{{upload_id}}", response_model=UploadDeleted, summary="Delete an upload")
    def delete(upload_id: str, owner: str = Depends(caller)) -> dict:
        return uploads.delete(upload_id, owner)

    return router
