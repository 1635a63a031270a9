"""Where a raster's pixels lie on the map: an affine geotransform, ground control points, RPCs, or nowhere.

Geometry is built in pixel coordinates (column, row of pixel corners) and moved to the map only at the end, by
:meth:`Georef.to_map`. A raster that cannot be placed is refused with the command that fixes it, unless the
caller asks for pixel coordinates; those follow QGIS's convention for an image without georeference
(x = column, y = −row), so that the polygons overlay the image when both are opened in QGIS.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import shapely
import shapely.affinity
from affine import Affine
from rasterio.crs import CRS
from rasterio.transform import GCPTransformer, RPCTransformer

from ..errors import RasterError

Kind = Literal["affine", "gcps", "rpcs", "pixels"]
# How QGIS shows an image without georeference: columns to the right, rows downwards from y = 0.
QGIS_PIXEL_TRANSFORM = Affine(1.0, 0.0, 0.0, 0.0, -1.0, 0.0)
_UPDATABLE = ("GTiff", "COG")  # drivers that gdal_edit.py can change in place


@dataclass
class Georef:
    """The mapping from a raster's pixel coordinates to its CRS (``crs`` None for pixel coordinates)."""

    kind: Kind
    crs: CRS | None
    transform: Affine  # the geotransform for "affine", QGIS's pixel convention for "pixels", unused otherwise
    transformer: Any = None  # rasterio's GCP or RPC transformer

    def to_map(self, geom: shapely.Geometry) -> shapely.Geometry:
        """``geom`` (pixel coordinates) in the raster's CRS."""
        if self.transformer is None:
            t = self.transform
            return shapely.affinity.affine_transform(geom, [t.a, t.b, t.d, t.e, t.c, t.f])
        return shapely.transform(geom, self._pixels_to_map)

    def _pixels_to_map(self, coords: np.ndarray) -> np.ndarray:
        xs, ys = self.transformer.xy(coords[:, 1], coords[:, 0], offset="ul")
        return np.column_stack([np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)])

    def to_pixels(self, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Map coordinates to (fractional) columns and rows."""
        if self.transformer is None:
            i = ~self.transform
            x, y = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
            return i.a * x + i.b * y + i.c, i.d * x + i.e * y + i.f
        rows, cols = self.transformer.rowcol(xs, ys, op=lambda v: v)
        return np.asarray(cols, dtype=float), np.asarray(rows, dtype=float)


def georef_of(ds, path: str, pixel_coords: bool = False) -> Georef:
    """The georeference of an open rasterio dataset, or a ``RasterError`` that says how to give it one."""
    crs = ds.crs
    has_transform = not ds.transform.is_identity
    gcps, gcp_crs = ds.gcps
    if pixel_coords:
        return Georef("pixels", None, QGIS_PIXEL_TRANSFORM)
    if has_transform and crs is not None:
        return Georef("affine", crs, ds.transform)
    if not has_transform and gcps and gcp_crs is not None:
        return Georef("gcps", gcp_crs, Affine.identity(), GCPTransformer(gcps))
    if not has_transform and ds.rpcs is not None:
        return Georef("rpcs", CRS.from_epsg(4326), Affine.identity(), RPCTransformer(ds.rpcs))
    name = Path(path).name if "://" not in path and not path.startswith("/vsi") else path
    if has_transform:  # a geotransform but no CRS
        fix = (
            f"gdal_edit.py -a_srs EPSG:XXXX {path}"
            if ds.driver in _UPDATABLE
            else f"gdal_translate -of GTiff -a_srs EPSG:XXXX {path} {_tif(path)}"
        )
        raise RasterError(
            f"{name} has no coordinate reference system, so its polygons could not be placed on a map. "
            f"Assign one ({fix}, or QGIS's Assign Projection), or ask for pixel coordinates (--pixel-coords).",
            "no_crs",
            path=path,
            fix=fix,
        )
    fix = (
        f"gdal_edit.py -a_srs EPSG:XXXX -a_ullr ULX ULY LRX LRY {path}"
        if ds.driver in _UPDATABLE
        else f"gdal_translate -of GTiff -a_srs EPSG:XXXX -a_ullr ULX ULY LRX LRY {path} {_tif(path)}"
    )
    what = (
        "a coordinate reference system but no geotransform"
        if crs is not None
        else "no coordinate reference system and no geotransform"
    )
    raise RasterError(
        f"{name} has {what}: nothing says where its pixels lie on the map. Georeference it ({fix}, with the "
        "corner coordinates, or QGIS's Georeferencer), or ask for pixel coordinates (--pixel-coords).",
        "no_geotransform" if crs is not None else "no_crs",
        path=path,
        fix=fix,
    )


def _tif(path: str) -> str:
    p = Path(path)
    return str(p.with_name(p.stem + "_georef.tif"))


def crs_name(crs) -> str | None:
    """``EPSG:NNNN`` where the CRS has a code, else its WKT; None for pixel coordinates."""
    if crs is None:
        return None
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.to_wkt()
