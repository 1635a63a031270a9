"""Request and response bodies of the HTTP API (see docs/api.md); they generate docs/openapi.json."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, FiniteFloat, model_validator

import contract

JobState = Literal[contract.JOB_STATES]  # type: ignore[valid-type]
TileStatus = Literal[contract.TILE_STATUSES]  # type: ignore[valid-type]


class ErrorBody(BaseModel):
    detail: str = Field(description="One sentence: what is wrong and how to fix it.")
    code: str | None = Field(None, description="a stable machine-readable code (see contract.py)")
    params: dict[str, Any] = Field(default_factory=dict, description="the values the sentence names")


class JobRequest(BaseModel):
    """A query over a raster. The raster must be readable by the server (a local path or a GDAL URI)."""

    raster: str = Field(
        min_length=1, max_length=contract.PATH_MAX_LENGTH, description="raster path or GDAL URI (e.g. /vsicurl/...)"
    )
    query: str = Field(max_length=contract.QUERY_MAX_LENGTH, description='what to look for, e.g. "the river"')
    bands: list[int] | None = Field(
        None,
        min_length=1,
        max_length=contract.BANDS_MAX,
        description="1 band (grey) or 3 (R, G, B); default: the raster's RGB",
    )
    bounds: list[FiniteFloat] | None = Field(
        None, min_length=4, max_length=4, description="[minx, miny, maxx, maxy] in the raster's CRS; default: all"
    )
    mode: Literal[contract.QUERY_MODES] = Field(  # type: ignore[valid-type]
        contract.QUERY_MODE_DEFAULT,
        description="reason: Think2Seg-RS writes SAM prompts; find: SAM 3 finds every instance of a short phrase "
        "(the server's --finder); auto: one of the two by the documented rule, said in each feature's 'route'",
    )
    prompter: str | None = Field(
        None,
        min_length=1,
        max_length=contract.PATH_MAX_LENGTH,
        description="model name or path; default: the server's --prompter",
    )
    segmenter: str | None = Field(
        None,
        min_length=1,
        max_length=contract.PATH_MAX_LENGTH,
        description="model name or path; default: the server's --segmenter",
    )
    tile_size: int = Field(
        contract.TILE_SIZE_DEFAULT,
        ge=contract.TILE_SIZE_MIN,
        le=contract.TILE_SIZE_MAX,
        description="tile size in raster pixels",
    )
    overlap: int = Field(
        contract.OVERLAP_DEFAULT,
        ge=0,
        le=contract.OVERLAP_MAX,
        description="tile overlap in pixels, at most half a tile",
    )
    min_area_px: float = Field(
        contract.MIN_AREA_PX_DEFAULT,
        ge=0,
        le=1e12,
        allow_inf_nan=False,
        description="drop polygons smaller than this many pixels",
    )
    max_tiles: int | None = Field(
        None, ge=1, le=1_000_000, description="refuse areas needing more tiles; default: the server's --max-tiles"
    )
    pixel_coords: bool = Field(False, description="allow a raster without CRS; coordinates are then pixels")
    strategy: Literal[contract.STRATEGIES] = Field(  # type: ignore[valid-type]
        contract.STRATEGY_DEFAULT,
        description="tiles: every tile; overview: the area downsampled first, then only the tiles where it found "
        "something; auto: one of the two by the area's size (and object_size_px), with a sample of tiles",
    )
    refine: Literal[contract.REFINES] = Field(  # type: ignore[valid-type]
        contract.REFINE_DEFAULT,
        description="with an overview: its places read by SAM alone with its prompts (sam) or by the prompter again",
    )
    overview_zoom: float = Field(
        contract.OVERVIEW_ZOOM_DEFAULT,
        ge=1,
        le=contract.OVERVIEW_ZOOM_MAX,
        description="the overview's coarsest downsampling (raster pixels per pixel of the 840-px frame)",
    )
    sample_step: int | None = Field(
        None,
        ge=0,
        le=contract.SAMPLE_STEP_MAX,
        description="with an overview, also read every Nth tile across and down; default 0 (overview), 3 (auto)",
    )
    object_size_px: float | None = Field(
        None, gt=0, le=1e9, allow_inf_nan=False, description="the objects' expected size in pixels (auto's rule)"
    )
    focus: list[FiniteFloat] | None = Field(
        None,
        min_length=4,
        max_length=4,
        description="[minx, miny, maxx, maxy] in the raster's CRS (the map view): its tiles are read first, "
        "from its centre out",
    )

    @model_validator(mode="after")
    def _check(self) -> JobRequest:
        if self.bands is not None and any(not 1 <= b <= contract.BAND_MAX for b in self.bands):
            raise ValueError("bands are numbered from 1")
        if self.bounds is not None and not (self.bounds[0] < self.bounds[2] and self.bounds[1] < self.bounds[3]):
            raise ValueError("bounds are [minx, miny, maxx, maxy] with minx < maxx and miny < maxy")
        return self


class ModelNames(BaseModel):
    prompter: str
    segmenter: str


class JobCreated(BaseModel):
    id: str
    state: JobState
    tiles_total: int
    crs: str | None = Field(description="EPSG:NNNN, or WKT; null for pixel coordinates")


class TileError(BaseModel):
    tile: int
    message: str


class OverviewCell(BaseModel):
    """One cell of a job's overview: where it is, what the prompter answered, the boxes it drew."""

    index: int
    status: TileStatus
    raw_text: str = Field(description="the prompter's full answer on the downsampled cell, with its reasoning")
    warnings: list[str]
    error: str | None
    window: list[int] = Field(description="[col_off, row_off, width, height] in raster pixels")
    footprint: dict[str, Any] = Field(description="the cell as a GeoJSON polygon in the raster's CRS")
    boxes: list[dict[str, Any]] = Field(description="its boxes as GeoJSON polygons in the raster's CRS")


class JobStatus(BaseModel):
    id: str
    query: str
    state: JobState
    tiles_done: int
    tiles_total: int
    features: int = Field(description="how many features were found so far")
    errors: list[TileError] = Field(description="tiles that failed; the job went on without them")
    error: str | None = Field(description="why the job failed, when it did (English, for logs)")
    error_code: str | None = Field(default=None, description="why the job failed, as a code of docs/api.md")
    error_params: dict[str, Any] = Field(default_factory=dict, description="the code's parameters")
    crs: str | None
    created: str
    started: str | None
    finished: str | None
    models: ModelNames
    strategy: str = Field(
        contract.STRATEGY_DEFAULT, description="the strategy that runs; auto says what it chose (auto:overview)"
    )
    strategy_reason: str = Field("", description="why auto chose it")
    prompter_calls: int = Field(0, description="images the prompter read so far: tiles and overview cells")
    overview: list[OverviewCell] | None = Field(
        None, description="the overview's cells with their answers, once it has run (null without an overview)"
    )


class NamedCrs(BaseModel):
    type: Literal["name"] = "name"
    properties: dict[str, str]


class FeaturePage(BaseModel):
    """A GeoJSON FeatureCollection of the features with index ≥ ``after``."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    crs: NamedCrs | None = Field(description="the raster's CRS; null for pixel coordinates")
    features: list[dict[str, Any]]
    next: int = Field(description="the 'after' to ask for next time")
    state: JobState = Field(description="the job's state when this page was taken")


class TileReportBody(BaseModel):
    index: int
    status: TileStatus = Field(description="ok, no_target, unparseable, error, skipped or cancelled")
    instances: int
    raw_text: str = Field(description="the prompter's full answer, with its reasoning")
    warnings: list[str]
    error: str | None
    seconds: float
    window: list[int] = Field(description="[col_off, row_off, width, height] in raster pixels")


class TilePage(BaseModel):
    tiles: list[TileReportBody]
    next: int


class GpuInfo(BaseModel):
    name: str
    memory_total_mb: int
    memory_used_mb: int


class Health(BaseModel):
    status: Literal["ready"] = "ready"
    version: str
    device: str
    gpu: GpuInfo | None
    models_loaded: dict[str, str] = Field(description="{prompter, segmenter} when loaded, else {}")
    queue: int = Field(description="jobs waiting")
    running: str | None = Field(description="the id of the running job")
    default_models: ModelNames
    constrained_answers: bool = Field(description="the prompter's answers are held to the answer grammar")
    embedding_cache: EmbeddingCacheStats
    clicks: ClickLaneStats
    uploads: UploadStats


class UploadStats(BaseModel):
    enabled: bool = Field(description="whether the server takes uploads (POST /rasters)")
    max_mb: int = Field(description="the largest upload, in MB")
    count: int = Field(description="uploads held now")
    mb: float = Field(description="their size together, in MB")


class UploadCreated(BaseModel):
    id: str
    raster: str = Field(description="how a job, a prompt or a warm-up names it: 'upload:<id>'")
    bytes: int
    width: int
    height: int
    bands: int
    crs: str = Field(description="as GDAL says it ('' when it has none)")
    expires_in_s: int = Field(description="deleted after this long unused, or when the job naming it ends")


class UploadDeleted(BaseModel):
    id: str
    deleted: bool


class EmbeddingCacheStats(BaseModel):
    entries: int = Field(description="embeddings held in memory")
    bytes: int
    max_bytes: int
    hits: int
    misses: int
    encoded: int = Field(description="embeddings the encoder made (by jobs, clicks and warm-ups)")
    disk_hits: int
    disk_entries: int | None = None
    disk_bytes: int | None = None


class ClickLaneStats(BaseModel):
    prompts_waiting: int
    warm_ups_waiting: int
    prompts_answered: int


class _Tiling(BaseModel):
    tile_size: int = Field(
        contract.TILE_SIZE_DEFAULT,
        ge=contract.TILE_SIZE_MIN,
        le=contract.TILE_SIZE_MAX,
        description="the job grid whose tiles clicks share their embeddings with",
    )
    overlap: int = Field(contract.OVERLAP_DEFAULT, ge=0, le=contract.OVERLAP_MAX)


class PromptRequestBody(_Tiling):
    """Clicks and a box on one object, in the raster's CRS."""

    raster: str = Field(min_length=1, max_length=contract.PATH_MAX_LENGTH)
    points: list[list[FiniteFloat]] = Field(
        default_factory=list,
        max_length=contract.PROMPT_POINTS_MAX,
        description="[[x, y, label], ...]: label 1 inside the object (the default), 0 outside",
    )
    box: list[FiniteFloat] | None = Field(None, min_length=4, max_length=4, description="[minx, miny, maxx, maxy]")
    bands: list[int] | None = Field(None, min_length=1, max_length=contract.BANDS_MAX)
    segmenter: str | None = Field(None, min_length=1, max_length=contract.PATH_MAX_LENGTH)
    multimask: bool = Field(False, description="SAM's three candidates, best first")
    only_cached: bool = Field(False, description="answer only if the window is encoded already (hover previews)")
    pixel_coords: bool = False
    session: str | None = Field(
        None,
        max_length=contract.SESSION_MAX_LENGTH,
        description="a newer prompt of the same session replaces a waiting one (409)",
    )

    @model_validator(mode="after")
    def _check(self) -> PromptRequestBody:
        if any(len(p) not in (2, 3) for p in self.points):
            raise ValueError("points are [x, y] or [x, y, label]")
        if any(len(p) == 3 and p[2] not in (0, 1) for p in self.points):
            raise ValueError("a point's label is 1 (inside the object) or 0 (outside it)")
        return self


class PromptAnswerPage(BaseModel):
    """The polygons of one prompt, as a GeoJSON FeatureCollection in the raster's CRS."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    crs: NamedCrs | None
    features: list[dict[str, Any]]
    window: list[int] = Field(description="[col_off, row_off, width, height] of the window segmented")
    cached: bool = Field(description="the window's embedding was ready: no encoder call")
    scale: float = Field(description="raster pixels per pixel of the image SAM saw")
    seconds: float


class EncodeRequestBody(_Tiling):
    """Encode ahead the tiles under an area (the visible extent), so the first click there is quick."""

    raster: str = Field(min_length=1, max_length=contract.PATH_MAX_LENGTH)
    bounds: list[FiniteFloat] = Field(min_length=4, max_length=4, description="[minx, miny, maxx, maxy]")
    bands: list[int] | None = Field(None, min_length=1, max_length=contract.BANDS_MAX)
    segmenter: str | None = Field(None, min_length=1, max_length=contract.PATH_MAX_LENGTH)
    pixel_coords: bool = False
    session: str | None = Field(
        None, max_length=contract.SESSION_MAX_LENGTH, description="replaces this session's waiting warm-ups"
    )


class EncodeQueued(BaseModel):
    windows: int = Field(description="tiles under the area (the nearest its centre, at most 16)")
    cached: int
    queued: int


class EncodeCancelled(BaseModel):
    dropped: int


class ModelRow(BaseModel):
    name: str
    kind: Literal["prompter", "segmenter", "finder"]
    description: str
    present: bool
    path: str | None
    size_mb: float | None
    approx_mb: int
    source: str


class ModelList(BaseModel):
    models: list[ModelRow]
    models_dir: str


class PullStatus(BaseModel):
    name: str
    state: Literal["idle", "running", "done", "failed"]
    bytes_done: int
    bytes_total: int | None
    error: str | None
    path: str | None = Field(None, description="where the weights are, once done")


Health.model_rebuild()
