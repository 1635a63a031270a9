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
DEFAULT_FINDER = "sam3"
# How a query is answered: "reason" (Think2Seg-RS writes SAM prompts), "find" (SAM 3 finds every instance of a
# short phrase), "auto" (backend/models/routing.py picks one per query and says why in each result's "route").
QUERY_MODES = ("reason", "find", "auto")

# --- strategies: which tiles a job reads (backend/overview.py) ----------------------------------------------
# "tiles": every tile; "overview": the whole area downsampled first, then only where its boxes are; "auto": one of
# the two from the area's size and the objects' expected size, with a sparse sample of tiles in overview.
STRATEGIES = ("tiles", "overview", "auto")
# How the places the overview picks are read at full resolution: "sam" (SAM alone, with the overview's boxes and
# points; no more prompter calls) or "prompter" (the prompter again on each tile there). The default is measured:
# docs/benchmarks.md, "Whole-scene strategies".
REFINES = ("sam", "prompter")
REFINE_DEFAULT = "sam"
OVERVIEW_ZOOM_DEFAULT = 8.0  # an overview cell covers at most this many raster pixels per pixel of the model's frame
OVERVIEW_ZOOM_MAX = 64.0
SAMPLE_STEP_AUTO = 3  # "auto" also reads every 3rd tile across and down, for objects too small for the overview
SAMPLE_STEP_MAX = 100

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
    "source": "string",  # what made it: "query" (the prompter's prompts), "sam3" (SAM 3 found it) or "click"
    "route": "string",  # why this engine answered the query (mode "auto"), e.g. "routed to SAM 3 because ..."
    "strategy": "string",  # which tiles were read: one of STRATEGIES ("auto" says which it chose: "auto:overview")
    # The prompts that made it, in the raster's CRS, as JSON: a box [minx, miny, maxx, maxy] and points
    # [[x, y, label], ...] (label 1 inside, 0 outside). Refining a result starts from them.
    "prompt_box": "string",
    "prompt_points": "string",
}
SOURCES = ("query", "click")

# --- errors --------------------------------------------------------------------------------------------------
# Every code the backend's errors carry (``{"detail", "code", "params"}`` in an HTTP error, ``error_code`` and
# ``error_params`` in a failed job's status), with the parameters that always come with it. The English
# ``detail`` is for logs and the command line; clients word each code themselves (plugin/core/messages.py).
ERROR_CODES: dict[str, tuple[str, ...]] = {
    # requests and options
    "bad_request": (),
    "invalid_request": ("field", "type"),
    "request_too_large": ("max_bytes",),
    "unauthorized": (),
    "not_found": (),
    "method_not_allowed": (),
    "http_error": (),
    "bad_option": (),
    "bad_tile_size": ("value", "min", "max"),
    "bad_overlap": ("value", "max", "tile_size"),
    "bad_max_tiles": (),
    "bad_min_area": (),
    "bad_strategy": (),
    "empty_query": (),
    "query_too_long": ("length", "max"),
    "not_a_phrase": ("words", "max"),
    "queue_full": ("queued", "limit"),
    "busy": (),
    "shutting_down": (),
    "job_not_found": ("id",),
    # rasters and areas
    "raster_not_found": ("path",),
    "not_a_raster": ("path",),
    "bad_raster": ("path",),
    "bad_crs": ("path",),
    "no_crs": ("path",),
    "no_geotransform": ("path",),
    "bad_bands": (),
    "no_such_band": ("band", "bands"),
    "bad_bounds": (),
    "area_outside": (),
    "no_valid_pixels": ("path",),
    "raster_changed": ("path",),
    "too_many_tiles": ("tiles", "limit"),
    # models and devices
    "unknown_model": ("name",),
    "model_not_found": ("name",),
    "wrong_model_kind": ("name", "kind"),
    "missing_weights": ("name", "kind"),
    "bad_model": (),
    "pulls_not_allowed": ("name",),
    "download_failed": (),
    "bad_device": ("device",),
    "no_gpu": ("device",),
    "no_segmenter": (),
    # clicks
    "no_prompt": (),
    "bad_prompt": (),
    "empty_box": (),
    "no_positive_point": (),
    "prompt_outside": (),
    "too_many_points": ("points", "max"),
    "superseded": (),
    "prompt_failed": (),
    # a job that fails while it runs
    "model_load_failed": (),
    "out_of_memory": (),
    "job_failed": (),
    # the command line's outputs and tools
    "bad_output_format": ("path",),
    "bad_output": ("path",),
    "output_exists": ("path",),
    "bad_layer_name": ("layer",),
    "output_is_input": ("path",),
    "output_not_writable": ("path",),
    "output_write_failed": ("path",),
    "disk_full": ("path",),
    "no_data_root": (),
    "bad_dataset": (),
}
