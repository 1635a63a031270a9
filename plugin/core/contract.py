"""What the plugin and the backend must agree on across the HTTP boundary, written once.

Standard library only: the backend imports this module too (``from plugin.core import contract``), and
``tests/backend/test_contract.py`` holds it against the backend's output, its schemas and docs/openapi.json.
"""

from __future__ import annotations

# --- tiling --------------------------------------------------------------------------------------------------
TILE_SIZE_MIN = 64
TILE_SIZE_MAX = 4096
TILE_SIZE_DEFAULT = 840  # the prompter's own frame: a tile is read at the resolution the model sees
OVERLAP_DEFAULT = 128
OVERLAP_MAX = TILE_SIZE_MAX // 2
MIN_AREA_PX_DEFAULT = 16.0
MAX_TILES_DEFAULT = 400  # a server's limit of tiles per job unless a job asks for another


def max_overlap(tile_size: int) -> int:
    """The largest overlap allowed for ``tile_size``: half a tile."""
    return int(tile_size) // 2


def tiling_problem(tile_size: int, overlap: int) -> tuple[str, dict] | None:
    """``(error code, parameters)`` when the tile size or overlap is out of range, else None."""
    if not TILE_SIZE_MIN <= tile_size <= TILE_SIZE_MAX:
        return "bad_tile_size", {"value": tile_size, "min": TILE_SIZE_MIN, "max": TILE_SIZE_MAX}
    if not 0 <= overlap <= max_overlap(tile_size):
        return "bad_overlap", {"value": overlap, "max": max_overlap(tile_size), "tile_size": tile_size}
    return None


# --- queries, prompts and models -----------------------------------------------------------------------------
QUERY_MAX_LENGTH = 2000
PROMPT_POINTS_MAX = 64  # points of one click prompt (POST /prompt)
DEFAULT_PROMPTER = "think2seg-rs-3b"
DEFAULT_SEGMENTER = "sam2.1-s"

# --- jobs ----------------------------------------------------------------------------------------------------
JOB_STATES = ("queued", "running", "done", "failed", "cancelled")
FINAL_STATES = ("done", "failed", "cancelled")
TILE_STATUSES = ("pending", "ok", "no_target", "unparseable", "error", "skipped", "cancelled")

# --- result features -----------------------------------------------------------------------------------------
# Attribute name -> type ("string", "integer" or "real"), in the order layers show them.
FEATURE_FIELDS: dict[str, str] = {
    "query": "string",
    "instance_id": "integer",
    "area": "real",
    "area_unit": "string",
    "score": "real",
    "prompter": "string",
    "segmenter": "string",
    "tiles": "string",
    "created": "string",
    "source": "string",  # what made it: "query" (the prompter's prompts) or "click"
    # The prompts that made it, in the raster's CRS, as JSON: a box [minx, miny, maxx, maxy] and points
    # [[x, y, label], ...] (label 1 inside, 0 outside). Refining a result starts from them.
    "prompt_box": "string",
    "prompt_points": "string",
}
SOURCES = ("query", "click")
