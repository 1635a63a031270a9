"""One query over one raster, checked and laid out before any model loads: its options (:class:`SegmentOptions`),
its plan (:class:`SegmentPlan`: the open raster, its area and tiles, the strategy), and what a run of it records
(:class:`TileReport` per tile, :class:`RunStats` for the run)."""

from __future__ import annotations

import math
import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import contract

from .errors import RasterError, UserError
from .geo.access import RasterAccess
from .geo.areas import area_function, area_unit
from .geo.raster import PixelWindow, RasterSource, no_valid_pixels
from .geo.tiling import Tile, check_tiling, tile_count, tile_grid, tiles_with_data
from .models.embedding_cache import EmbeddingCache
from .overview import check_strategy, choose_strategy, focus_order, overview_cells, overview_zoom


@dataclass
class SegmentOptions:
    """What to read and how to tile it. Bounds are ``(minx, miny, maxx, maxy)`` in the raster's CRS."""

    bands: Sequence[int] | None = None
    bounds: Sequence[float] | None = None
    tile_size: int = contract.TILE_SIZE_DEFAULT
    overlap: int = contract.OVERLAP_DEFAULT
    batch_size: int = 1
    route: str = ""  # why this engine answers the query (mode "auto"); recorded on every feature
    min_area_px: float = contract.MIN_AREA_PX_DEFAULT
    simplify_px: float = 1.0
    pixel_coords: bool = False
    max_tiles: int | None = None
    # Which tiles to read (backend/overview.py): the strategy, how the overview's places are refined, its cells'
    # coarsest downsampling, a sparse sample of tiles (None: the strategy's own), and the objects' expected size.
    strategy: str = contract.STRATEGY_DEFAULT
    refine: str = contract.REFINE_DEFAULT
    overview_zoom: float = contract.OVERVIEW_ZOOM_DEFAULT
    sample_step: int | None = None
    object_size_px: float | None = None
    # Bounds in the raster's CRS (the map view): the tiles there are read first, from its centre out.
    focus: Sequence[float] | None = None
    # Speed: read the next batch while the models work, batch the SAM encoder (on CUDA), reuse embeddings across jobs
    # (the process-wide cache unless ``embedding_cache`` is given), and polygonise on this many CPU threads.
    prefetch: bool = True
    batch_encoder: bool = True
    cache_embeddings: bool = True
    embedding_cache: EmbeddingCache | None = None
    cpu_threads: int = 2


@dataclass
class TileReport:
    """What happened on one tile, including the model's raw text (its reasoning)."""

    index: int
    window: tuple[int, int, int, int]
    status: str = "pending"  # one of contract.TILE_STATUSES
    instances: int = 0
    raw_text: str = ""
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0
    boxes: list[tuple[float, float, float, float]] = field(default_factory=list)  # an overview's, raster pixels
    kind: str = "tile"  # or "overview": a cell of the overview pass, read downsampled


class SegmentPlan:
    """One query over one raster, checked and laid out: the open raster, its area and tiles, and the CRS.

    Creating it opens and checks the raster and lays out the tiles, so bad input fails before any model is
    loaded. The plan owns the raster: :meth:`close` (or the end of :func:`run`) closes it; a closed plan's
    raster opens again for its run (a queued job holds no open file). ``access`` says which rasters may be
    opened (a team server's data folders).
    """

    def __init__(
        self, raster: str, query: str, options: SegmentOptions | None = None, access: RasterAccess | None = None
    ):
        self.raster = raster
        self.query = (query or "").strip()
        if not self.query:
            raise UserError(
                'The query is empty: say what to look for, for example "buildings with red roofs".', "empty_query"
            )
        if len(self.query) > contract.QUERY_MAX_LENGTH:
            raise UserError(
                f"The query is {len(self.query)} characters long; keep it under {contract.QUERY_MAX_LENGTH}.",
                "query_too_long",
                length=len(self.query),
                max=contract.QUERY_MAX_LENGTH,
            )
        self.options = opts = options or SegmentOptions()
        check_tiling(opts.tile_size, opts.overlap)
        check_strategy(opts.strategy, opts.refine, opts.overview_zoom, opts.sample_step)
        if opts.max_tiles is not None and opts.max_tiles < 1:
            raise UserError(f"The tile limit must be at least 1, got {opts.max_tiles}.", "bad_max_tiles")
        if not (math.isfinite(opts.min_area_px) and opts.min_area_px >= 0):
            raise UserError(f"The minimum area must be 0 or more pixels, got {opts.min_area_px}.", "bad_min_area")
        if opts.object_size_px is not None and not (math.isfinite(opts.object_size_px) and opts.object_size_px > 0):
            raise UserError(
                f"The objects' size must be a number of pixels above 0, got {opts.object_size_px}.", "bad_option"
            )
        self.source = RasterSource(raster, opts.bands, pixel_coords=opts.pixel_coords, access=access)
        try:
            self.area = self.source.window_from_bounds(opts.bounds) if opts.bounds else self.source.full_window()
            needed = tile_count(self.area, opts.tile_size, opts.overlap)  # before a single tile is built
            if opts.max_tiles and needed > opts.max_tiles:
                raise RasterError(
                    f"This area ({self.area.width:,} × {self.area.height:,} pixels) needs {needed:,} tiles, more than "
                    f"the limit of {opts.max_tiles}. Choose a smaller area or a larger tile size, or raise the limit.",
                    "too_many_tiles",
                    tiles=needed,
                    limit=opts.max_tiles,
                    width=self.area.width,
                    height=self.area.height,
                )
            self.tiles = tile_grid(self.area, self.source.width, self.source.height, opts.tile_size, opts.overlap)
            overview, scale = self.source.validity_overview(self.area)
            # The coarse overview says "maybe": a tile it sees empty is read at full resolution before it is skipped.
            origin = (self.area.col_off, self.area.row_off)
            self.has_data = [
                maybe or self.source.holds_valid(tile.core)
                for tile, maybe in zip(self.tiles, tiles_with_data(self.tiles, overview, scale, origin))
            ]
            if not any(self.has_data):
                raise no_valid_pixels(self.source.path, area=opts.bounds is not None)
            self.cells = overview_cells(self.area, opts.overview_zoom)
            self.choice = choose_strategy(
                opts.strategy, sum(self.has_data), overview_zoom(self.cells), opts.object_size_px, opts.sample_step
            )
            self.order = focus_order(self.tiles, self._focus_window(opts.focus))
        except Exception:
            self.source.close()
            raise
        self.georef = self.source.georef
        self.crs = self.georef.crs
        self.unit = area_unit(self.crs)
        self.area_of = area_function(self.crs)
        self.raster_id = self.source.identity

    def _focus_window(self, focus: Sequence[float] | None) -> PixelWindow | None:
        if not focus:
            return None
        try:
            return self.source.window_from_bounds(focus)
        except RasterError:  # a view beside the raster: no tile is nearer than another
            return None

    @property
    def tiles_with_data(self) -> int:
        return sum(self.has_data)

    def close(self) -> None:
        """Close the raster (a no-op when already closed)."""
        self.source.close()

    def __enter__(self) -> SegmentPlan:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class RunStats:
    """What a run did: a report per tile, stage seconds summed over tiles, and when the first feature came."""

    reports: list[TileReport]
    timings: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    first_feature_s: float | None = None
    cancelled: bool = False
    features: int = 0
    prompter_calls: int = 0  # images the prompter read: tiles, and the overview's cells
    overview: list[TileReport] = field(default_factory=list)  # the overview's cells, once it has run
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def for_plan(cls, plan: SegmentPlan) -> RunStats:
        return cls([TileReport(t.index, window_tuple(t)) for t in plan.tiles])

    def add(self, stage: str, seconds: float) -> None:
        with self._lock:
            self.timings[stage] += seconds

    def counts(self) -> dict[str, int]:
        """How many tiles ended in each status."""
        out: dict[str, int] = {}
        for report in self.reports:
            out[report.status] = out.get(report.status, 0) + 1
        return out


def window_tuple(tile: Tile) -> tuple[int, int, int, int]:
    w = tile.window
    return (w.col_off, w.row_off, w.width, w.height)
