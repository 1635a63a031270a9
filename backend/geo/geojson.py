"""GeoJSON text for the API, the one writer for jobs and clicks alike: each feature written once, compactly, and
pages of them put together without parsing them again. JSON has no NaN: a non-finite number becomes null."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import shapely
from shapely.geometry import mapping


def feature_json(geometry: shapely.Geometry, properties: Mapping[str, Any], fid: int) -> bytes:
    """One GeoJSON Feature as compact UTF-8 text."""
    props = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in properties.items()}
    return json.dumps(
        {"type": "Feature", "id": fid, "geometry": mapping(geometry), "properties": props},
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    ).encode()


def named_crs(name: str | None) -> dict | None:
    """GeoJSON's (legacy) named CRS member for ``name`` (``EPSG:NNNN`` or WKT); None for pixel coordinates."""
    return {"type": "name", "properties": {"name": name}} if name else None


def collection_json(features: Sequence[bytes], crs: str | None, **members: Any) -> bytes:
    """A FeatureCollection of ``features`` (from :func:`feature_json`) in ``crs``, with the page's other members."""
    head = json.dumps({"type": "FeatureCollection", "crs": named_crs(crs), **members}, allow_nan=False)[:-1]
    return b"".join([head.encode(), b', "features": [', b",".join(features), b"]}"])
