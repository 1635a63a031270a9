"""The backend's GeoJSON features, parsed once (by ``json`` in the client): geometries built straight from their
coordinates, attributes typed as the contract says. Nothing is serialised again on the way to QGIS."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import NamedTuple

from qgis.core import QgsFeature, QgsFields, QgsGeometry, QgsLineString, QgsMultiPolygon, QgsPolygon

from ... import contract


class ParsedFeature(NamedTuple):
    """One feature of a page: its geometry (a multipolygon) and its properties as the backend sent them."""

    geometry: QgsGeometry
    properties: dict


def parse_features(features: Sequence[dict]) -> list[ParsedFeature]:
    """The polygon features of GeoJSON feature dicts (others, and unreadable ones, are left out)."""
    out = []
    for feature in features:
        geometry = geometry_from_geojson(feature.get("geometry"))
        if not geometry.isNull():
            out.append(ParsedFeature(geometry, dict(feature.get("properties") or {})))
    return out


def geometry_from_geojson(geometry: dict | None) -> QgsGeometry:
    """A GeoJSON Polygon or MultiPolygon as a QGIS multipolygon; a null geometry for anything else or unreadable."""
    if not isinstance(geometry, dict):
        return QgsGeometry()
    kind, coordinates = geometry.get("type"), geometry.get("coordinates")
    polygons = [coordinates] if kind == "Polygon" else coordinates if kind == "MultiPolygon" else None
    if not polygons:
        return QgsGeometry()
    multi = QgsMultiPolygon()
    try:
        for rings in polygons:
            polygon = QgsPolygon()
            polygon.setExteriorRing(_ring(rings[0]))
            for hole in rings[1:]:
                polygon.addInteriorRing(_ring(hole))
            multi.addGeometry(polygon)
    except (TypeError, ValueError, IndexError):
        return QgsGeometry()
    return QgsGeometry(multi)


def _ring(coordinates: Sequence) -> QgsLineString:
    if len(coordinates) < 4:
        raise ValueError("a ring has at least four positions")
    return QgsLineString([float(p[0]) for p in coordinates], [float(p[1]) for p in coordinates])


def features_for(parsed: Sequence[ParsedFeature], fields: QgsFields, extra: dict | None = None) -> list[QgsFeature]:
    """QgsFeatures for ``fields`` (a layer's or a sink's): attributes matched by name, others ignored; ``extra``
    attributes (the same for every feature) added to each."""
    out = []
    for geometry, properties in parsed:
        properties = {**properties, **(extra or {})}
        feature = QgsFeature(fields)
        feature.setGeometry(QgsGeometry(geometry))
        for i, field in enumerate(fields):
            if field.name() in properties:
                kind = contract.FEATURE_FIELDS.get(field.name())
                value = properties[field.name()]
                feature.setAttribute(i, _value(value, kind) if kind else value)
        out.append(feature)
    return out


def _value(value, kind: str):
    """``value`` as the contract's ``kind`` of attribute ("string", "integer" or "real")."""
    if value is None:
        return None
    if isinstance(value, (list, dict)):
        value = json.dumps(value)
    try:
        if kind == "integer":
            return int(value)
        if kind == "real":
            return float(value)
    except (TypeError, ValueError):
        return None
    return str(value)
