"""Polygon areas in the unit a user expects: m² in metric CRSs, geodesic m² in geographic ones."""

from __future__ import annotations

from collections.abc import Callable

import shapely


def area_unit(crs) -> str:
    """The unit areas are given in: m² for metric and geographic CRSs, the CRS's unit squared otherwise."""
    if crs is None:
        return "px²"
    if crs.is_geographic:
        return "m²"
    unit = (crs.linear_units or "unknown").lower()
    return "m²" if unit in ("metre", "meter", "m") else ("ft²" if "foot" in unit or unit == "ft" else f"{unit}²")


def area_function(crs) -> Callable[[shapely.Geometry], float]:
    """A function giving a polygon's area (in :func:`area_unit`) from its coordinates in ``crs``.

    Geographic CRSs get the area on their ellipsoid (pyproj's ``Geod``), not the meaningless square degrees.
    """
    if crs is None or not crs.is_geographic:
        return lambda geom: float(geom.area)
    import pyproj

    geod = pyproj.CRS.from_wkt(crs.to_wkt()).get_geod()
    if geod is None:  # no ellipsoid to measure on
        return lambda geom: float(geom.area)
    return lambda geom: abs(float(geod.geometry_area_perimeter(geom)[0]))
