"""Which rasters a caller may open: anything on a server for its own user, only shared folders on a team server.

A server bound to another address than loopback (or started with ``--shared``) reads plain files under its
data roots only: no inline XML datasets, no driver-prefixed connection strings, and no network ``/vsi*`` paths
or URLs unless ``--allow-urls``. "Not found" and "not allowed" give the same answer, so a token holder cannot
probe which paths exist.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from xml.etree import ElementTree  # nosec B405

from ..errors import RasterError

MAX_VRT_BYTES = 16 * 2**20  # a VRT larger than this is not read (nor served)
MAX_DATASET_FILES = 1000  # files one dataset may read, VRTs included, on a shared server
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

    def with_root(self, root: Path) -> RasterAccess:
        """These rules, with one more folder whose files may be read."""
        return replace(self, roots=(*self.roots, Path(root).expanduser().resolve()))

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
        """Refuse a dataset opened from an allowed path that reads files outside the roots: every file it opens,
        and every file a VRT among them reads in turn, however deep; a raw-band VRT (it reads any file as
        pixels) or a ``/vsi`` path inside a VRT is refused outright."""
        if not self.restricted or (self.allow_urls and (path.startswith(NETWORK_VSI) or "://" in path)):
            return
        seen: set[Path] = set()
        todo = [f for f in files if not f.endswith(".aux.xml")]
        while todo:
            name = todo.pop()
            if not self._under_roots(name):
                raise self.not_found(path)
            real = Path(name).resolve()
            if real in seen:
                continue
            seen.add(real)
            if len(seen) > MAX_DATASET_FILES:
                raise self.not_found(path)
            sources = vrt_sources(real)
            if sources is None:  # a raw-band VRT, a /vsi path, or a VRT that cannot be read
                raise self.not_found(path)
            todo.extend(sources)

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


def vrt_sources(path: Path) -> list[str] | None:
    """The files a VRT reads directly (``[]`` for a file that is not a VRT), or None for one a shared server must
    refuse: a raw-band VRT, a ``/vsi`` path, a URL or an inline dataset among its sources, or XML it cannot read."""
    try:
        with open(path, "rb") as f:
            if not f.read(512).lstrip().lower().startswith(b"<vrtdataset"):
                return []
            f.seek(0)
            data = f.read(MAX_VRT_BYTES + 1)
        if len(data) > MAX_VRT_BYTES:
            return None
        # Expat (Python 3.11) refuses entity-expansion bombs, and ElementTree never fetches external entities.
        root = ElementTree.fromstring(data)  # nosec B314
    except (OSError, ElementTree.ParseError):
        return None
    out = []
    for element in root.iter():
        if element.get("subClass") == "VRTRawRasterBand" or (element.tag == "VRTDataset" and element is not root):
            return None
        if element.tag in ("SourceFilename", "SourceDataset"):
            name = (element.text or "").strip()
            if is_dataset_path(name):
                return None
            relative = element.get("relativeToVRT", element.get("relativetoVRT", "0")) == "1"
            out.append(str(path.parent / name) if relative or not os.path.isabs(name) else name)
    return out
