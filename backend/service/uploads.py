"""Rasters token holders upload to a server (``POST /rasters``), for an analyst whose imagery is not in its data
folders: streamed to disk under a size cap, checked to be a GeoTIFF that reads no other file, seen by its uploader's
token only, and deleted after the job that names it ends, on ``DELETE``, or after a time-to-live without use.

Requests name an upload ``upload:<id>`` (``contract.UPLOAD_SCHEME``). Its file lies in a folder named by a hash of
its owner's token, so its path cannot be guessed by another token holder, and naming that path directly is
refused as "not found" like any other path the server will not read.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import rasterio
from rasterio.errors import RasterioError

import contract

from ..errors import RasterError, UserError

log = logging.getLogger(__name__)

UPLOAD_TTL_S = 3600.0  # an upload no job names and no prompt uses is deleted after this long
TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")  # TIFF and BigTIFF, either byte order
UPLOADS_FOLDER = "think2map-uploads"  # with the process id, the server's own folder in --uploads-dir


def owner_of(token: str) -> str:
    """Whose uploads a token sees: a hash of it (the token itself is never kept on disk)."""
    return hashlib.sha256(b"think2map-upload-owner:" + token.encode()).hexdigest()[:32]


@dataclass
class Upload:
    """One uploaded raster: its owner, its file, and what holds it."""

    id: str
    owner: str
    path: Path
    nbytes: int
    keep: bool  # True: kept until its time-to-live or DELETE; False: deleted when the first job naming it ends
    last_used: float = field(default_factory=time.monotonic)
    jobs: int = 0  # jobs naming it that have not ended
    named: bool = False  # a job has named it


class UploadStore:
    """The server's uploads. ``max_bytes`` 0: uploads are off."""

    def __init__(self, folder: str | None, max_bytes: int, total_bytes: int, ttl_s: float = UPLOAD_TTL_S):
        self.max_bytes, self.total_bytes, self.ttl_s = max_bytes, total_bytes, ttl_s
        parent = Path(folder).expanduser() if folder else Path(tempfile.gettempdir())
        # this process's own folder (made at start): two servers may share a --uploads-dir
        self.folder = (parent / f"{UPLOADS_FOLDER}-{os.getpid()}").absolute() if self.enabled else None
        self._lock = threading.Lock()
        self._uploads: dict[str, Upload] = {}
        self._reserved = 0  # bytes of the uploads being received

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    def start(self) -> None:
        """Make an empty folder for this server's uploads (what an earlier run left is removed)."""
        if self.folder is None:
            return
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.folder, ignore_errors=True)  # a crashed server's, whose process id this one has now
        self.folder.mkdir(mode=0o700)

    def stop(self) -> None:
        """Delete every upload and the folder."""
        with self._lock:
            self._uploads.clear()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)

    # -- receiving ----------------------------------------------------------------------------------------
    def begin(self, owner: str, announced: int | None) -> tuple[str, Path]:
        """Reserve room for an upload of ``announced`` bytes: its id and the file to stream it to."""
        if not self.enabled or self.folder is None:
            raise uploads_off()
        if announced is None:
            raise _refusal(411, "An upload must say its size (a Content-Length header).", "bad_upload")
        if announced > self.max_bytes:
            raise too_large(self.max_bytes)
        with self._lock:
            self._expire()
            used = sum(u.nbytes for u in self._uploads.values()) + self._reserved
            if used + announced > self.total_bytes:
                raise _refusal(
                    429,
                    f"The server's uploads are full ({self.total_bytes // 2**20} MB): try again once its jobs end.",
                    "uploads_full",
                    limit_mb=self.total_bytes // 2**20,
                )
            self._reserved += announced
        upload_id = uuid.uuid4().hex
        folder = self.folder / owner
        folder.mkdir(mode=0o700, exist_ok=True)
        return upload_id, folder / f".{upload_id}.partial"

    def abandon(self, partial: Path, announced: int) -> None:
        """An upload that failed or was cut off: nothing of it is kept."""
        partial.unlink(missing_ok=True)
        with self._lock:
            self._reserved -= announced

    def finish(self, owner: str, upload_id: str, partial: Path, announced: int, keep: bool) -> dict:
        """Check the received file and keep it: what the answer says of it. Raises UserError (and keeps nothing)
        for a file that is not a plain GeoTIFF."""
        try:
            size = partial.stat().st_size
            if size != announced:
                raise _refusal(400, f"The upload ended after {size} of {announced} bytes.", "bad_upload")
            info = check_geotiff(partial)
            path = partial.with_name(f"{upload_id}.tif")
            os.replace(partial, path)
        except BaseException:
            self.abandon(partial, announced)
            raise
        with self._lock:
            self._reserved -= announced
            self._uploads[upload_id] = Upload(upload_id, owner, path, size, keep)
        log.info("upload %s: %d bytes", upload_id, size)
        return {
            "id": upload_id,
            "raster": contract.UPLOAD_SCHEME + upload_id,
            "bytes": size,
            **info,
            "expires_in_s": int(self.ttl_s),
        }

    # -- naming and ending ----------------------------------------------------------------------------------
    def resolve(self, raster: str, owner: str) -> str:
        """The path a request's ``raster`` is read from: an upload's file for its owner; a path into the uploads
        folder, or another token's upload, is "not found" as any raster the server will not read."""
        if raster.startswith(contract.UPLOAD_SCHEME):
            upload = self._find(raster[len(contract.UPLOAD_SCHEME) :], owner)
            return str(upload.path)
        if self.folder is not None and _inside(raster, self.folder):
            raise not_found(raster)
        return raster

    def hold(self, raster: str, owner: str) -> str | None:
        """A job names ``raster``: when it is an upload, it is kept until that job ends (:meth:`release`). Its id,
        or None for another raster."""
        if not raster.startswith(contract.UPLOAD_SCHEME):
            return None
        with self._lock:
            upload = self._find(raster[len(contract.UPLOAD_SCHEME) :], owner)
            upload.jobs += 1
            upload.named = True
            return upload.id

    def release(self, upload_id: str) -> None:
        """A job that named the upload ended: a one-job upload no other job holds is deleted."""
        with self._lock:
            upload = self._uploads.get(upload_id)
            if upload is None:
                return
            upload.jobs -= 1
            upload.last_used = time.monotonic()
            if upload.jobs <= 0 and not upload.keep:
                self._delete(upload)

    def delete(self, upload_id: str, owner: str) -> dict:
        with self._lock:
            upload = self._find(upload_id, owner)
            if upload.jobs > 0:
                upload.keep = False  # deleted once its jobs end
            else:
                self._delete(upload)
        return {"id": upload_id, "deleted": True}

    def info(self) -> dict:
        with self._lock:
            self._expire()
            return {
                "enabled": self.enabled,
                "max_mb": self.max_bytes // 2**20,
                "count": len(self._uploads),
                "mb": round(sum(u.nbytes for u in self._uploads.values()) / 2**20, 1),
            }

    def _find(self, upload_id: str, owner: str) -> Upload:
        """The caller's upload (lock held or not: dict reads are atomic); another's is not found, in the same words."""
        upload = self._uploads.get(upload_id)
        if upload is None or upload.owner != owner:
            raise not_found(contract.UPLOAD_SCHEME + upload_id)
        upload.last_used = time.monotonic()
        return upload

    def _expire(self) -> None:
        """Delete the uploads unused for the time-to-live that no job holds (lock held)."""
        now = time.monotonic()
        for upload in [u for u in self._uploads.values() if u.jobs <= 0 and now - u.last_used > self.ttl_s]:
            self._delete(upload)

    def _delete(self, upload: Upload) -> None:
        self._uploads.pop(upload.id, None)
        upload.path.unlink(missing_ok=True)
        log.info("upload %s deleted", upload.id)


def check_geotiff(path: Path) -> dict:
    """A plain GeoTIFF GDAL reads on its own (no VRT, no other file, no ``/vsi`` path): its size, bands and CRS.
    Raises UserError otherwise."""
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic not in TIFF_MAGIC:
        raise bad_upload("it is not a TIFF file")
    try:
        with rasterio.open(path, driver="GTiff") as ds:  # GDAL may use that driver only
            files = [Path(f).resolve() for f in ds.files]
            if files != [path.resolve()]:
                raise bad_upload("it reads other files")
            if ds.count < 1:
                raise bad_upload("it has no bands")
            return {
                "width": ds.width,
                "height": ds.height,
                "bands": ds.count,
                "crs": ds.crs.to_string() if ds.crs else "",
            }
    except RasterioError as exc:
        raise bad_upload(f"GDAL cannot read it ({exc})") from None


def _inside(raster: str, folder: Path) -> bool:
    try:
        return Path(raster).expanduser().resolve().is_relative_to(folder.resolve())
    except (OSError, RuntimeError, ValueError):
        return False


def _refusal(status: int, message: str, code: str, **params) -> UserError:
    error = UserError(message, code, **params)
    error.http_status = status
    return error


def uploads_off() -> UserError:
    return _refusal(
        403,
        "This server takes no uploads (it was started without --uploads-mb): put the raster in one of its data "
        "folders, or ask its administrator to allow uploads.",
        "uploads_off",
    )


def too_large(max_bytes: int) -> UserError:
    return _refusal(
        413,
        f"The upload is larger than this server takes ({max_bytes // 2**20} MB): search a smaller area.",
        "upload_too_large",
        max_mb=max_bytes // 2**20,
    )


def bad_upload(why: str) -> UserError:
    return _refusal(422, f"The upload is not a GeoTIFF this server can read: {why}.", "bad_upload")


def not_found(raster: str) -> RasterError:
    return RasterError(
        f"Raster not found on this server, or not in its shared data folders: {raster}",
        "raster_not_found",
        path=raster,
    )
