"""Writing results: GeoPackage or GeoJSON files, and GeoJSON dictionaries for the HTTP API."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
import shapely.affinity
from shapely.geometry import box, mapping

from plugin.core import contract

from ..errors import UserError

_DTYPES = {"string": "str", "integer": "int64", "real": "float64"}
FEATURE_COLUMNS = {name: _DTYPES[kind] for name, kind in contract.FEATURE_FIELDS.items()}
TILE_COLUMNS = ("tile", "status", "instances", "reasoning", "warnings", "error", "seconds")
DRIVERS = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON"}


def driver_for(path: str | Path) -> str:
    """The OGR driver for an output path, from its extension."""
    suffix = Path(path).suffix.lower()
    if suffix not in DRIVERS:
        raise UserError(f"Write to a .gpkg or .geojson file, not '{suffix or Path(path).name}'.")
    return DRIVERS[suffix]


def _crs_arg(crs):
    return None if crs is None else crs.to_wkt()


def features_frame(features: Sequence, crs) -> gpd.GeoDataFrame:
    """Features as a GeoDataFrame with a fixed schema, also when there are none ("no target")."""
    data = {
        name: pd.Series([f.properties[name] for f in features], dtype=dtype) for name, dtype in FEATURE_COLUMNS.items()
    }
    geoms = [shapely.MultiPolygon([f.geometry]) if f.geometry.geom_type == "Polygon" else f.geometry for f in features]
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geoms, crs=_crs_arg(crs)), crs=_crs_arg(crs))


def tiles_frame(reports: Sequence, crs, transform) -> gpd.GeoDataFrame:
    """One row per tile report: its footprint, status and the model's raw text."""
    t = transform
    rows, geoms = [], []
    for report in reports:
        c, r, w, h = report.window
        footprint = box(c, r, c + w, r + h)
        geoms.append(shapely.affinity.affine_transform(footprint, [t.a, t.b, t.d, t.e, t.c, t.f]))
        rows.append(
            {
                "tile": report.index,
                "status": report.status,
                "instances": report.instances,
                "reasoning": report.raw_text,
                "warnings": "; ".join(report.warnings),
                "error": report.error or "",
                "seconds": round(report.seconds, 3),
            }
        )
    frame = pd.DataFrame(rows, columns=list(TILE_COLUMNS))
    crs = _crs_arg(crs)
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=crs), crs=crs)


def write_results(path: str | Path, features: Sequence, crs, transform, reports: Sequence) -> None:
    """Write the features (layer ``objects``) and, for GeoPackage, the tile reports with their reasoning.

    ``features`` have ``geometry`` and ``properties``; ``reports`` are the run's tile reports.
    """
    path = Path(path)
    driver = driver_for(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    frame = features_frame(features, crs)
    # GeoPackage 1.2, which the GDAL of older QGIS releases (3.22) reads without a warning
    options = {"dataset_options": {"VERSION": "1.2"}, "layer": "objects"} if driver == "GPKG" else {}
    frame.to_file(path, driver=driver, engine="pyogrio", geometry_type="MultiPolygon", **options)
    if driver == "GPKG":
        tiles_frame(reports, crs, transform).to_file(
            path, driver=driver, layer="tiles", engine="pyogrio", geometry_type="Polygon"
        )


def feature_geojson(feature, fid: int) -> dict:
    """A feature as a GeoJSON dictionary."""
    return {"type": "Feature", "id": fid, "geometry": mapping(feature.geometry), "properties": feature.properties}


def crs_geojson(crs) -> dict | None:
    """A named CRS member for GeoJSON (EPSG code where there is one, else WKT)."""
    if crs is None:
        return None
    epsg = crs.to_epsg()
    name = f"urn:ogc:def:crs:EPSG::{epsg}" if epsg else crs.to_wkt()
    return {"type": "name", "properties": {"name": name}}
