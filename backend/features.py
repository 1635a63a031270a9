"""A result polygon and its attributes, in the contract's order, for queries and clicks alike."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import shapely


@dataclass
class Feature:
    """A finished polygon in the raster's CRS, with its attributes (``contract.FEATURE_FIELDS``)."""

    geometry: Any  # a shapely geometry
    properties: dict


def feature_properties(
    *,
    query: str,
    instance_id: int,
    area: float,
    unit: str,
    score: float,
    prompter: str,
    segmenter: str,
    tiles: Iterable[int],
    source: str,
    prompts: tuple[str, str],
    route: str = "",
    strategy: str = "",
) -> dict:
    """The attributes of one result, keyed and ordered as ``contract.FEATURE_FIELDS``."""
    props = {
        "query": query,
        "instance_id": instance_id,
        "area": area,
        "area_unit": unit,
        "score": round(float(score), 4),
        "prompter": prompter,
        "segmenter": segmenter,
        "tiles": ",".join(str(t) for t in tiles),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "source": source,
        "route": route,
        "strategy": strategy,
        "prompt_box": prompts[0],
        "prompt_points": prompts[1],
    }
    return props


def prompt_attributes(prompts: Sequence, to_map: Callable[[shapely.Geometry], shapely.Geometry]) -> tuple[str, str]:
    """Prompts (instances in raster pixels) as JSON in map coordinates: the box around their boxes, and their
    points with labels. They seed the prompts when the object is refined by clicks."""
    boxes = [p.box for p in prompts if p.box is not None]
    box = ""
    if boxes:
        c0, r0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
        c1, r1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
        box = json.dumps([round(v, 3) for v in to_map(shapely.box(c0, r0, c1, r1)).bounds])
    points = []
    for p in prompts:
        for k, (c, r) in enumerate(p.points):
            label = p.labels[k] if p.labels else 1
            x, y = to_map(shapely.Point(c, r)).coords[0]
            points.append([round(x, 3), round(y, 3), int(label)])
    return box, json.dumps(points)
