"""What the plugin and the backend must agree on across the HTTP boundary, written once.

It sits at the root, beside ``plugin/`` and ``backend/``, and imports the standard library only: the plugin reads it
as ``from ... import contract`` (inside the plugin package), the backend as ``import contract`` (the plugin folder is
on its path), and neither side imports the other (``tests/test_architecture.py``).
``tests/backend/test_contract.py`` holds it against the backend's output, its schemas and docs/openapi.json.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar, TypeVar

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


# --- rasters and names ---------------------------------------------------------------------------------------
PATH_MAX_LENGTH = 4096  # a raster path or GDAL URI, or a model name or path, in a request
BANDS_MAX = 3  # 1 band (grey) or 3 (R, G, B)
BAND_MAX = 65535
SESSION_MAX_LENGTH = 64
# Hosts that are this machine: a backend there is local (plugin) and a server bound there is private (backend).
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address, IPv6 with or without brackets) is this machine."""
    return host in LOOPBACK_HOSTS or host.startswith("127.")


# --- queries, prompts and models -----------------------------------------------------------------------------
QUERY_MAX_LENGTH = 2000
PROMPT_POINTS_MAX = 64  # points of one click prompt (POST /prompt)
SERVED_CONCURRENCY_DEFAULT = 8  # tiles in flight to a served prompter (openai:...)
DEFAULT_PROMPTER = "think2seg-rs-3b"
DEFAULT_SEGMENTER = "sam2.1-s"
DEFAULT_FINDER = "sam3"
# How a query is answered: "reason" (Think2Seg-RS writes SAM prompts), "find" (SAM 3 finds every instance of a
# short phrase), "auto" (backend/models/routing.py picks one per query and says why in each result's "route").
QUERY_MODES = ("reason", "find", "auto")
QUERY_MODE_DEFAULT = "reason"

# --- strategies: which tiles a job reads (backend/overview.py) ----------------------------------------------
# "tiles": every tile; "overview": the whole area downsampled first, then only where its boxes are; "auto": one of
# the two from the area's size and the objects' expected size, with a sparse sample of tiles in overview.
STRATEGIES = ("tiles", "overview", "auto")
STRATEGY_DEFAULT = "tiles"
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
SOURCES = ("query", "sam3", "click")  # the "source" attribute
UPLOAD_SCHEME = "upload:"  # a request's raster "upload:<id>": a file its token uploaded (POST /rasters)

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
    # uploads (POST /rasters)
    "uploads_off": (),
    "upload_too_large": ("max_mb",),
    "uploads_full": ("limit_mb",),
    "bad_upload": (),
}


# --- requests: one type per action, built once by whoever asks and read by the server ---------------------------
Problem = tuple[str, dict]  # (error code of ERROR_CODES, its parameters)
_Spec = TypeVar("_Spec", bound="RasterSpec")


def _finite(*values: float) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values)


def _box_problem(box: tuple[float, ...] | None) -> Problem | None:
    if box is None:
        return None
    if len(box) != 4 or not _finite(*box) or not (box[0] < box[2] and box[1] < box[3]):
        return "bad_bounds", {}
    return None


@dataclass(frozen=True, kw_only=True)
class RasterSpec:
    """What every action on a raster says of how it is read: the pixels (bands), the tile grid, the coordinates and
    the segmenter. A click and a query that say the same share the SAM embeddings of their tiles."""

    raster: str
    bands: tuple[int, ...] | None = None
    tile_size: int = TILE_SIZE_DEFAULT
    overlap: int = OVERLAP_DEFAULT
    pixel_coords: bool = False  # a raster without a CRS: coordinates are its pixels
    segmenter: str | None = None  # None: the server's default

    TUPLES: ClassVar[tuple[str, ...]] = ("bands",)

    def problem(self) -> Problem | None:
        """The first thing the backend would refuse, as ``(code, parameters)``; None when the request is sound."""
        if not self.raster or len(self.raster) > PATH_MAX_LENGTH:
            return "bad_request", {}
        if self.segmenter is not None and not 0 < len(self.segmenter) <= PATH_MAX_LENGTH:
            return "bad_request", {}
        if self.bands is not None and (
            len(self.bands) not in (1, BANDS_MAX) or any(not 1 <= b <= BAND_MAX for b in self.bands)
        ):
            return "bad_bands", {}
        return tiling_problem(self.tile_size, self.overlap)

    def to_json(self) -> dict[str, Any]:
        """The request's JSON body (docs/api.md): every field that is set, lists for tuples."""
        out = {}
        for key, value in asdict(self).items():
            if value is None:
                continue
            out[key] = _listed(value)
        return out

    @classmethod
    def from_json(cls: type[_Spec], body: dict[str, Any]) -> _Spec:
        """The request a JSON body holds; ValueError names a field this type does not have."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(body) - known)
        if unknown:
            raise ValueError(f"unknown field(s) for {cls.__name__}: {', '.join(unknown)}")
        return cls(**{k: _tupled(v) if k in cls.TUPLES and v is not None else v for k, v in body.items()})


def _listed(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_listed(v) for v in value]
    return value


def _tupled(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_tupled(v) for v in value)
    return value


@dataclass(frozen=True, kw_only=True)
class JobSpec(RasterSpec):
    """A query over a raster (``POST /jobs``): what to look for, where, and how. Bounds are in the raster's CRS."""

    query: str
    bounds: tuple[float, float, float, float] | None = None  # None: the whole raster
    mode: str = QUERY_MODE_DEFAULT  # one of QUERY_MODES
    prompter: str | None = None  # None: the server's default
    min_area_px: float = MIN_AREA_PX_DEFAULT
    max_tiles: int | None = None  # None: the server's limit
    strategy: str = STRATEGY_DEFAULT  # one of STRATEGIES
    refine: str = REFINE_DEFAULT  # one of REFINES
    overview_zoom: float = OVERVIEW_ZOOM_DEFAULT
    sample_step: int | None = None  # None: the strategy's own
    object_size_px: float | None = None
    focus: tuple[float, float, float, float] | None = None  # the map view: its tiles are read first

    TUPLES: ClassVar[tuple[str, ...]] = ("bands", "bounds", "focus")

    def problem(self) -> Problem | None:
        query = self.query.strip()
        if not query:
            return "empty_query", {}
        if len(query) > QUERY_MAX_LENGTH:
            return "query_too_long", {"length": len(query), "max": QUERY_MAX_LENGTH}
        if self.prompter is not None and not 0 < len(self.prompter) <= PATH_MAX_LENGTH:
            return "bad_request", {}
        if self.mode not in QUERY_MODES or self.refine not in REFINES:
            return "bad_option", {}
        if self.strategy not in STRATEGIES:
            return "bad_strategy", {}
        if not _finite(self.overview_zoom) or not 1 <= self.overview_zoom <= OVERVIEW_ZOOM_MAX:
            return "bad_option", {}
        if self.sample_step is not None and not 0 <= self.sample_step <= SAMPLE_STEP_MAX:
            return "bad_option", {}
        if self.max_tiles is not None and self.max_tiles < 1:
            return "bad_max_tiles", {}
        if not _finite(self.min_area_px) or self.min_area_px < 0:
            return "bad_min_area", {}
        if self.object_size_px is not None and not (_finite(self.object_size_px) and self.object_size_px > 0):
            return "bad_option", {}
        return _box_problem(self.bounds) or _box_problem(self.focus) or super().problem()


@dataclass(frozen=True, kw_only=True)
class PromptSpec(RasterSpec):
    """A click prompt on one object (``POST /prompt``): points ``(x, y, label)`` (1 inside, 0 outside) and a box,
    in the raster's CRS (its pixels with ``pixel_coords``)."""

    points: tuple[tuple[float, float, int], ...] = ()
    box: tuple[float, float, float, float] | None = None
    multimask: bool = False  # SAM's three candidates, best first
    only_cached: bool = False  # answer only where the embedding is ready (hover previews)
    session: str | None = None  # a newer prompt of the same session replaces a waiting one

    TUPLES: ClassVar[tuple[str, ...]] = ("bands", "points", "box")

    def problem(self) -> Problem | None:
        if not self.points and self.box is None:
            return "no_prompt", {}
        if len(self.points) > PROMPT_POINTS_MAX:
            return "too_many_points", {"points": len(self.points), "max": PROMPT_POINTS_MAX}
        for point in self.points:
            if len(point) != 3 or not _finite(point[0], point[1]) or point[2] not in (0, 1):
                return "bad_prompt", {}
        if self.box is not None and _box_problem(self.box):
            return "empty_box", {}
        if self.session is not None and len(self.session) > SESSION_MAX_LENGTH:
            return "bad_request", {}
        return super().problem()


@dataclass(frozen=True, kw_only=True)
class EncodeSpec(RasterSpec):
    """Encode ahead the tiles under an area, the map view (``POST /encode``), so the first click there is quick."""

    bounds: tuple[float, float, float, float]
    session: str | None = None  # replaces this session's waiting warm-ups

    TUPLES: ClassVar[tuple[str, ...]] = ("bands", "bounds")

    def problem(self) -> Problem | None:
        if self.session is not None and len(self.session) > SESSION_MAX_LENGTH:
            return "bad_request", {}
        return _box_problem(self.bounds) or super().problem()
