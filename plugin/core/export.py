"""Any raster layer QGIS can draw, as a GeoTIFF the backend can read: the area asked for, at a chosen resolution,
written by QGIS's own raster pipeline in a :class:`ExportTask` (a file's or a coverage's bands as they are; for a
web layer, what its renderer draws), its size checked by arithmetic before anything is fetched, and kept in a
cache for the next query over the same view.

Credentials stay in QGIS: the layer's provider fetches with its own authentication configuration, and nothing
about the source but a hash of it goes into the file's name."""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransformContext,
    QgsDataSourceUri,
    QgsRasterBlockFeedback,
    QgsRasterFileWriter,
    QgsRasterLayer,
    QgsRasterPipe,
    QgsRectangle,
    QgsTask,
)
from qgis.PyQt.QtCore import pyqtSignal

from . import compat
from .i18n import tr

FILE_PROVIDERS = ("gdal",)  # read by the backend as they are, never exported
WEB_MAP_PROVIDERS = ("wms", "arcgismapserver")  # wms: WMS, WMTS and XYZ alike
WEB_TILE_PX = 256  # the tiles of XYZ, WMTS and tiled WMS layers, for the fetch estimate
WEB_MERCATOR_M_PER_PX_AT_Z0 = 156543.03392804097  # an XYZ layer's ground resolution at zoom 0, halved per zoom
MAX_EXPORT_PIXELS = 64_000_000  # 8,000 × 8,000 px: about 1,100 tiles of 256 px, 190 MB of RGBA
EXPORT_CACHE_BYTES = 2 * 2**30
GTIFF_OPTIONS = ["TILED=YES", "COMPRESS=DEFLATE", "PREDICTOR=2", "BIGTIFF=IF_SAFER"]


def needs_export(layer: QgsRasterLayer) -> bool:
    """Whether the backend cannot read ``layer`` itself (a web, virtual or other non-file layer)."""
    return layer.providerType() not in FILE_PROVIDERS


def is_tiled_web_layer(layer: QgsRasterLayer) -> bool:
    """A layer drawn from a server's tiles or maps (XYZ, WMS, WMTS, ArcGIS MapServer), which has no pixels of its own:
    exported as its renderer draws it, at a resolution chosen for it. Other layers (WCS, virtual rasters) keep their
    bands and their native resolution."""
    return layer.providerType() in WEB_MAP_PROVIDERS


def max_zoom_resolution(layer: QgsRasterLayer) -> float | None:
    """The finest ground resolution an XYZ layer serves (its ``zmax``), in its CRS's units; None when unknown."""
    source = layer.source()
    if "type=xyz" not in source:
        return None
    for part in source.split("&"):
        key, _, value = part.partition("=")
        if key == "zmax" and value.isdigit():
            return WEB_MERCATOR_M_PER_PX_AT_Z0 / 2 ** int(value)
    return None


@dataclass(frozen=True)
class ExportRequest:
    """What to export: an area of a layer in its CRS, at ``pixel_size`` CRS units per pixel."""

    layer_id: str
    layer_name: str
    source_key: str  # a hash of the layer's source (never the source: it may hold credentials)
    crs_wkt: str
    extent: tuple[float, float, float, float]  # snapped to whole pixels
    pixel_size: float
    rendered: bool  # True: the layer's renderer (RGBA); False: the provider's bands as they are

    @property
    def width(self) -> int:
        return round((self.extent[2] - self.extent[0]) / self.pixel_size)

    @property
    def height(self) -> int:
        return round((self.extent[3] - self.extent[1]) / self.pixel_size)

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def tiles(self) -> int:
        """Web tiles fetched, roughly (a tile grid rarely aligns with the area: one more row and column)."""
        return (math.ceil(self.width / WEB_TILE_PX) + 1) * (math.ceil(self.height / WEB_TILE_PX) + 1)

    @property
    def megabytes(self) -> float:
        """The uncompressed size of the export (RGBA for a rendered one, 3 bytes a pixel otherwise, roughly)."""
        return self.pixels * (4 if self.rendered else 3) / 2**20

    @property
    def key(self) -> str:
        """What identifies an export in the cache: the source, the area, the resolution and the CRS."""
        text = f"{self.source_key}|{self.extent}|{self.pixel_size!r}|{self.crs_wkt}|{self.rendered}"
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def summary(self) -> str:
        """What the export fetches, for the user: pixels, tiles and megabytes."""
        text = tr("{w:,} × {h:,} px ({mb:,.0f} MB)").format(w=self.width, h=self.height, mb=self.megabytes)
        if self.rendered:
            text += " " + tr("from about {n:,} web tiles").format(n=self.tiles)
        return text

    def problem(self) -> str | None:
        """Why this export is refused before anything is fetched (its size, and the fix); None when it is fine."""
        if self.width < 1 or self.height < 1:
            return tr("The area to search is less than a pixel of '{name}'.").format(name=self.layer_name)
        if self.pixels > MAX_EXPORT_PIXELS:
            return tr(
                "Searching this area of '{name}' would fetch {size}, more than the limit of {limit:,} pixels. "
                "Zoom in, or draw a smaller rectangle."
            ).format(name=self.layer_name, size=self.summary(), limit=MAX_EXPORT_PIXELS)
        return None


# What each feature from an exported source records of it (beside the contract's fields; the plugin's own).
PROVENANCE_FIELDS: dict[str, str] = {
    "source_layer": "string",  # the layer's name in the project
    "source_host": "string",  # the service's host, without credentials, path or query ('' for a local source)
    "resolution": "real",  # the export's pixel size, in the layer's CRS units
    "exported": "string",  # when the export was made (UTC, ISO 8601)
}


def service_host(layer: QgsRasterLayer) -> str:
    """The host a web layer's tiles come from (``tiles.example.org:8080``): no user, password, path or query."""
    uri = QgsDataSourceUri()
    uri.setEncodedUri(layer.source())
    url = uri.param("url") or layer.source()
    try:
        parts = urlsplit(unquote(url))
        return f"{parts.hostname}:{parts.port}" if parts.port else (parts.hostname or "")
    except ValueError:
        return ""


def provenance(layer: QgsRasterLayer, request: ExportRequest, exported: Path) -> dict:
    """The provenance attributes of the features found in ``exported`` (an export of ``layer``)."""
    return provenance_of(layer, request.pixel_size, datetime.fromtimestamp(exported.stat().st_mtime, tz=UTC))


def provenance_of(layer: QgsRasterLayer, pixel_size: float, made: datetime) -> dict:
    """The provenance attributes of features found in ``layer``'s pixels at ``pixel_size``, fetched at ``made``."""
    return {
        "source_layer": layer.name(),
        "source_host": service_host(layer),
        "resolution": pixel_size,
        "exported": made.isoformat(timespec="seconds"),
    }


def attribution(layer: QgsRasterLayer) -> str:
    """Who the layer's imagery is from, as its metadata or its service says; '' when neither says."""
    parts = [compat.layer_attribution(layer), *layer.metadata().rights()]
    return "; ".join(p.strip() for p in parts if p and p.strip())


def export_request(
    layer: QgsRasterLayer, bounds: tuple[float, float, float, float], view_pixel_size: float | None = None
) -> ExportRequest:
    """The export of ``bounds`` (in the layer's CRS) of ``layer``: at its native resolution when it has one (a file,
    a coverage), else at ``view_pixel_size`` (the map view's, or the one asked for, in the layer's units; None: its
    finest zoom), never finer than its finest zoom."""
    rendered = is_tiled_web_layer(layer)
    native = None if rendered else layer.rasterUnitsPerPixelX()
    finest = max_zoom_resolution(layer)
    pixel_size = native or view_pixel_size or finest or layer.rasterUnitsPerPixelX() or 1.0
    if finest is not None:
        pixel_size = max(pixel_size, finest)
    minx, miny, maxx, maxy = bounds
    # whole pixels: the export's geotransform is exactly pixel_size, whatever the area
    width = max(1, math.ceil((maxx - minx) / pixel_size - 1e-9))
    height = max(1, math.ceil((maxy - miny) / pixel_size - 1e-9))
    extent = (minx, maxy - height * pixel_size, minx + width * pixel_size, maxy)
    return ExportRequest(
        layer_id=layer.id(),
        layer_name=layer.name(),
        source_key=hashlib.sha256(f"{layer.providerType()}:{layer.source()}".encode()).hexdigest(),
        crs_wkt=layer.crs().toWkt(),
        extent=extent,
        pixel_size=float(pixel_size),
        rendered=rendered,
    )


class ExportCache:
    """Exports kept for the next query over the same view, oldest dropped past ``max_bytes``; cleared with the
    project. Each file is complete: it is written beside its name and renamed when done."""

    def __init__(self, folder: Path | None = None, max_bytes: int = EXPORT_CACHE_BYTES):
        self.folder = folder or Path(tempfile.gettempdir()) / f"think2map-exports-{os.getpid()}"
        self.max_bytes = max_bytes

    def path_for(self, request: ExportRequest) -> Path:
        return self.folder / f"{request.key}.tif"

    def get(self, request: ExportRequest) -> Path | None:
        path = self.path_for(request)
        if path.is_file():
            os.utime(path, (time.time(), path.stat().st_mtime))  # used now (its access time); made when it was made
            return path
        return None

    def trim(self) -> None:
        """Drop the least recently used exports until the folder holds at most ``max_bytes``."""
        files = sorted(self.folder.glob("*.tif"), key=lambda p: p.stat().st_atime) if self.folder.is_dir() else []
        total = sum(p.stat().st_size for p in files)
        for path in files:
            if total <= self.max_bytes:
                break
            total -= path.stat().st_size
            _remove(path)

    def clear(self) -> None:
        """Remove every export, and the folder (what another program still holds open stays until next time)."""
        if self.folder.is_dir():
            for path in self.folder.iterdir():
                _remove(path)
            with contextlib.suppress(OSError):
                self.folder.rmdir()


def _remove(path: Path) -> None:
    """Delete ``path``; a file held open elsewhere (Windows refuses to delete one the backend reads) is left."""
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def write_export(
    layer: QgsRasterLayer,
    request: ExportRequest,
    target: Path,
    transform_context: QgsCoordinateTransformContext,
    feedback: QgsRasterBlockFeedback | None = None,
) -> str | None:
    """Write ``request`` of ``layer`` to ``target`` (a GeoTIFF, complete or absent); an error message, or None."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.stem}.partial.tif")
    pipe = QgsRasterPipe()
    if not pipe.set(layer.dataProvider().clone()):
        return tr("QGIS cannot read '{name}' for export.").format(name=layer.name())
    if request.rendered and layer.renderer() is not None:
        pipe.set(layer.renderer().clone())
    writer = QgsRasterFileWriter(str(partial))
    writer.setOutputFormat("GTiff")
    compat.set_creation_options(writer, GTIFF_OPTIONS)
    minx, miny, maxx, maxy = request.extent
    crs = QgsCoordinateReferenceSystem.fromWkt(request.crs_wkt)
    try:
        error = writer.writeRaster(
            pipe, request.width, request.height, QgsRectangle(minx, miny, maxx, maxy), crs, transform_context, feedback
        )
        cancelled = feedback is not None and feedback.isCanceled()
        if error != compat.RASTER_WRITTEN or cancelled:
            return (
                None
                if cancelled
                else tr("QGIS could not export '{name}' (error {code}).").format(name=layer.name(), code=int(error))
            )
        os.replace(partial, target)
        return None
    finally:
        partial.unlink(missing_ok=True)


class ExportTask(QgsTask):
    """Export one area of a layer into the cache, with progress and Cancel; a cancelled export leaves no file."""

    exportFinished = pyqtSignal(str, str)  # noqa: N815 - the file ('' when none), an error message ('' when none)

    def __init__(self, layer: QgsRasterLayer, request: ExportRequest, cache: ExportCache, context):
        super().__init__(tr("Think2Map: fetch {name}").format(name=layer.name()), QgsTask.Flag.CanCancel)
        self.layer = layer.clone()  # the worker thread's own copy: a project's layers belong to the UI thread
        self.request = request
        self.cache = cache
        self.context = context
        self.feedback = QgsRasterBlockFeedback()
        self.feedback.progressChanged.connect(self.setProgress)
        self.path = ""
        self.error = ""

    def run(self) -> bool:  # worker thread
        target = self.cache.path_for(self.request)
        error = write_export(self.layer, self.request, target, self.context, self.feedback)
        if self.isCanceled() or self.feedback.isCanceled():
            return False
        if error:
            self.error = error
            return False
        self.path = str(target)
        self.cache.trim()
        return True

    def cancel(self) -> None:
        self.feedback.cancel()  # the writer stops between blocks
        super().cancel()

    def finished(self, result: bool) -> None:  # UI thread
        self.exportFinished.emit(self.path if result else "", self.error)
