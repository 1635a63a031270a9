"""Areas to search, in the raster's CRS, and the checks that a layer is a raster the backend can read."""

from __future__ import annotations

import os

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsCoordinateTransformContext,
    QgsCsException,
    QgsMapLayer,
    QgsMapSettings,
    QgsProviderRegistry,
    QgsRasterLayer,
    QgsRectangle,
)

from .i18n import tr
from .messages import DOCK, message_for


class ExtentError(ValueError):
    """The requested area cannot be used; the message says why."""


def bounds_in_raster_crs(
    rect: QgsRectangle,
    src_crs: QgsCoordinateReferenceSystem,
    raster_layer: QgsRasterLayer,
    transform_context: QgsCoordinateTransformContext,
) -> list[float]:
    """``rect`` (in ``src_crs``) as ``[minx, miny, maxx, maxy]`` in the raster's CRS, clipped to the raster.

    The rectangle's edges are densified during the transformation, so curved edges in the target CRS are
    covered. Raises :class:`ExtentError` when it cannot be transformed or does not overlap the raster.
    """
    dst_crs = raster_layer.crs()
    if rect.isNull() or rect.isEmpty():
        raise ExtentError(tr("The area to search is empty."))
    area = QgsRectangle(rect)
    if src_crs.isValid() and dst_crs.isValid() and src_crs != dst_crs:
        transform = QgsCoordinateTransform(src_crs, dst_crs, transform_context)
        try:
            area = transform.transformBoundingBox(rect)
        except QgsCsException as exc:
            raise ExtentError(
                tr("The area could not be converted to the raster's CRS ({crs}): {error}").format(
                    crs=dst_crs.authid() or dst_crs.description(), error=exc
                )
            ) from exc
        if not all(map(_finite, (area.xMinimum(), area.yMinimum(), area.xMaximum(), area.yMaximum()))):
            raise ExtentError(
                tr("The area could not be converted to the raster's CRS ({crs}).").format(crs=dst_crs.authid())
            )
    clipped = area.intersect(raster_layer.extent())
    if clipped.isNull() or clipped.isEmpty() or clipped.width() <= 0 or clipped.height() <= 0:
        raise ExtentError(
            tr("The area does not overlap the raster '{name}': pan or zoom to it, or draw a rectangle over it.").format(
                name=raster_layer.name()
            )
        )
    return [clipped.xMinimum(), clipped.yMinimum(), clipped.xMaximum(), clipped.yMaximum()]


def view_pixel_size(
    settings: QgsMapSettings, layer: QgsRasterLayer, transform_context: QgsCoordinateTransformContext
) -> float | None:
    """A map view's pixel size in ``layer``'s CRS units (the resolution a web layer is exported at); None when the
    view has no size yet or does not map onto the layer's CRS."""
    width = settings.outputSize().width()
    if width <= 0:
        return None
    to_layer = QgsCoordinateTransform(settings.destinationCrs(), layer.crs(), transform_context)
    try:
        shown = to_layer.transformBoundingBox(settings.visibleExtent())
    except QgsCsException:
        return None
    return shown.width() / width if _finite(shown.width()) else None


def _finite(value: float) -> bool:
    return value == value and abs(value) != float("inf")


def raster_source(layer: QgsRasterLayer) -> str:
    """The path or GDAL URI the backend should open for ``layer``."""
    parts = QgsProviderRegistry.instance().decodeUri(layer.providerType(), layer.source())
    return str(parts.get("path") or layer.source())


def raster_problem(
    layer: QgsMapLayer | None,
    require_local_file: bool = True,
    pixel_coords: bool = False,
    where: str = DOCK,
) -> str | None:
    """Why ``layer`` cannot be segmented, and how to fix it, as a user message; None when it can.

    ``require_local_file``: the backend runs on this machine, so a file must exist here (GDAL ``/vsi…`` URIs pass).
    A layer that is not a file (a web map, a virtual raster) is fine: QGIS exports its area first (:mod:`.export`),
    and a remote backend is sent that export.
    ``pixel_coords``: a raster without a CRS may be searched, its polygons in pixel coordinates.
    ``where``: whose controls the message names (``messages.DOCK`` or ``messages.PROCESSING``).
    """
    if layer is None:
        return tr("Choose a raster layer to search.")
    if not isinstance(layer, QgsRasterLayer):
        return tr("'{name}' is not a raster layer: choose an image (raster) layer.").format(name=layer.name())
    if not layer.isValid():
        return tr("The raster '{name}' cannot be read: check its source.").format(name=layer.name())
    if layer.providerType() != "gdal":
        return None if layer.crs().isValid() else message_for("no_crs", {"path": layer.name()}, where=where)
    if not layer.crs().isValid() and not pixel_coords:
        return message_for("no_crs", {"path": layer.name()}, where=where)
    source = raster_source(layer)
    if require_local_file and not source.startswith("/vsi") and "://" not in source and not os.path.exists(source):
        return tr("The raster file {path} does not exist.").format(path=source)
    return None
