"""Which rasters a caller may open: anything on a server for its own user, only shared folders on a team server.

A server bound to another address than loopback (or started with ``--shared``) reads plain files under its
data roots only: no inline XML datasets, no driver-prefixed connection strings, and no network ``/vsi*`` paths
or URLs unless ``--allow-urls``. "Not found" and "not allowed" give the same answer, so a token holder cannot
probe which paths exist.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import RasterError

NETWORK_VSI = ("/vsicurl/", "/vsis3/", "/vsigs/", "/vsiaz/", "/vsiadls/", "/vsiswift/", "/vsioss/", "/vsiwebhdfs/")
_DRIVER_PREFIX = re.compile(r"^[A-Za-z0-9_]{2,}:")  # GPKG:..., NETCDF:..., HDF5:... (not C:\ on Windows)


def is_dataset_path(path: str) -> bool:
    """Whether ``path`` names a dataset without being a local file: a GDAL URI, a URL or an inline dataset."""
    return path.startswith(("/vsi", "<")) or "://" in path or bool(_DRIVER_PREFIX.match(path))


@dataclass(frozen=True)
class RasterAccess:
    """The rasters a caller may open; the default allows any (the CLI, a loopback server for its own user)."""

    roots: tuple[Path, ...] = ()
    allow_urls: bool = False
    restricted: bool = False

    @classmethod
    def shared(cls, roots: list[str] | tuple[str, ...], allow_urls: bool = False) -> RasterAccess:
        return cls(tuple(Path(r).expanduser().resolve() for r in roots), allow_urls, True)

    def check(self, path: str) -> None:
        """Refuse ``path`` before it is opened (``RasterError``: the same answer for missing and not allowed)."""
        if not self.restricted:
            if not is_dataset_path(path) and not os.path.exists(path):
                raise RasterError(f"Raster not found: {path}", "raster_not_found", path=path)
            return
        if self.allow_urls and (path.startswith(NETWORK_VSI) or path.startswith(("http://", "https://"))):
            return
        if is_dataset_path(path) or "\n" in path or not self._under_roots(path):
            raise self.not_found(path)

    def check_files(self, path: str, files: list[str]) -> None:
        """Refuse a dataset opened from an allowed path that reads files outside the roots (a VRT, say)."""
        if not self.restricted or (self.allow_urls and (path.startswith(NETWORK_VSI) or "://" in path)):
            return
        if not all(self._under_roots(f) for f in files if not f.endswith(".aux.xml")):
            raise self.not_found(path)

    def not_found(self, path: str) -> RasterError:
        return RasterError(
            f"Raster not found on this server, or not in its shared data folders: {path}",
            "raster_not_found",
            path=path,
        )

    def _under_roots(self, path: str) -> bool:
        try:
            real = Path(path).resolve(strict=True)
        except (OSError, RuntimeError, ValueError):
            return False
        return real.is_file() and any(real.is_relative_to(root) for root in self.roots)
