"""One query over one raster: the plan (checked up front), then a run that streams merged polygons.

:class:`SegmentPlan` opens and checks the raster, lays out the tiles and owns the open file, so bad input fails
before any model is loaded. :func:`run` then reads tiles ahead, prompts and segments them in batches
(:mod:`.models.batch`), polygonises on a thread pool, merges objects across tile seams and yields each object
as soon as it is complete. Its reports and timings are in one :class:`RunStats`.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import contract

from .devices import free_gpu_memory, is_oom
from .errors import RasterError, UserError
from .features import Feature, feature_properties, prompt_attributes
from .geo.access import RasterAccess
from .geo.areas import area_function, area_unit
from .geo.geometry import Piece, finish_geometry, grid_neighbours, tile_pieces
from .geo.raster import PixelWindow, RasterSource, no_valid_pixels
from .geo.seams import SeamMerger
from .geo.tiling import Tile, check_tiling, tile_count, tile_grid, tiles_with_data
from .models.batch import BatchSize, encode_images, predict_masks, prompt_images
from .models.embedding_cache import EmbeddingCache, embedding_key, shared_cache
from .models.prompter import Prompter
from .models.prompts import Instance, PromptResult
from .models.segmenter import Segmenter
from .overview import (
    BOX_MARGIN_PX,
    NOT_VISITED,
    Visits,
    cell_shape,
    check_strategy,
    choose_strategy,
    focus_order,
    overview_cells,
    overview_zoom,
    plan_visits,
    searched_box,
    to_raster,
)

log = logging.getLogger(__name__)
FROM_OVERVIEW = "(SAM only, with the overview's box and points: see the overview's reasoning)"


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
    strategy: str = "tiles"
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
            overview, scale = self.source.validity_overview()
            # The coarse overview says "maybe": a tile it sees empty is read at full resolution before it is skipped.
            self.has_data = [
                maybe or self.source.holds_valid(tile.core)
                for tile, maybe in zip(self.tiles, tiles_with_data(self.tiles, overview, scale))
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
        return cls([TileReport(t.index, _window_tuple(t)) for t in plan.tiles])

    def add(self, stage: str, seconds: float) -> None:
        with self._lock:
            self.timings[stage] += seconds

    def counts(self) -> dict[str, int]:
        """How many tiles ended in each status."""
        out: dict[str, int] = {}
        for report in self.reports:
            out[report.status] = out.get(report.status, 0) + 1
        return out


def _window_tuple(tile: Tile) -> tuple[int, int, int, int]:
    w = tile.window
    return (w.col_off, w.row_off, w.width, w.height)


def run(
    plan: SegmentPlan,
    prompter: Prompter,
    segmenter: Segmenter,
    stats: RunStats | None = None,
    should_cancel: Callable[[], bool] = lambda: False,
    on_tile: Callable[[TileReport], None] | None = None,
) -> Iterator[Feature]:
    """Process every tile of ``plan``, yielding finished features; stops at a tile boundary when cancelled.

    The raster is closed when the run ends. Reports and stage times accumulate in ``stats``.
    """
    stats = stats if stats is not None else RunStats.for_plan(plan)
    bind_cancel = getattr(prompter, "bind_cancel", None)
    if bind_cancel is not None:  # a served prompter aborts its requests in flight on cancel
        bind_cancel(should_cancel)
    return _Run(plan, prompter, segmenter, stats).features(should_cancel, on_tile)


class _Run:
    """The executor behind :func:`run`: one reader thread ahead of the models, a pool for polygons."""

    def __init__(self, plan: SegmentPlan, prompter: Prompter, segmenter: Segmenter, stats: RunStats):
        self.plan, self.prompter, self.segmenter, self.stats = plan, prompter, segmenter, stats
        opts = plan.options
        # A served prompter takes as many tiles at once as it keeps requests in flight.
        self.batch = BatchSize(max(opts.batch_size, int(getattr(prompter, "concurrency", 1))))
        self.cache = None
        if opts.cache_embeddings:
            self.cache = opts.embedding_cache if opts.embedding_cache is not None else shared_cache()
        self.neighbours = grid_neighbours(plan.tiles)
        self.merger = SeamMerger()
        self.coarse: dict[int, list] = {}  # tiles SAM reads with the overview's prompts (their window's pixels)
        self.next_id = 1
        self.started = time.perf_counter()
        self.last_read_s = 0.0

    def features(self, should_cancel: Callable[[], bool], on_tile: Callable[[TileReport], None] | None):
        plan, opts, stats = self.plan, self.plan.options, self.stats
        reports = stats.reports

        def finish(report: TileReport, objects) -> Iterator[Feature]:
            if on_tile is not None:
                on_tile(report)
            yield from self._features(objects)

        todo: list[Tile] = []
        # One reader thread (rasterio datasets are not safe for concurrent reads) and a pool for polygons.
        reader = ThreadPoolExecutor(1, thread_name_prefix="think2map-read") if opts.prefetch else None
        polygons = (
            ThreadPoolExecutor(opts.cpu_threads, thread_name_prefix="think2map-poly") if opts.cpu_threads > 0 else None
        )
        ahead: tuple[list[Tile], Future] | None = None
        # Tiles whose masks are made, in tile order, waiting for their pieces to be merged. A tile still being
        # polygonised stays here while the next batch runs on the GPU, so the GPU does not wait for the CPU.
        waiting: list[tuple[Tile, TileReport, Future | list[Piece] | None]] = []
        first_batch = True
        started = time.perf_counter()

        def merge_next() -> Iterator[Feature]:
            nonlocal started
            tile, report, job = waiting.pop(0)
            t0 = time.perf_counter()
            pieces = job.result() if isinstance(job, Future) else job
            stats.add("polygons_wait", time.perf_counter() - t0)
            t0 = time.perf_counter()
            merger = self.merger
            objects = merger.add_tile(tile.index, pieces) if pieces is not None else merger.skip_tile(tile.index)
            stats.add("merge", time.perf_counter() - t0)
            now = time.perf_counter()
            report.seconds, started = now - started, now
            yield from finish(report, objects)

        try:
            visits = None
            if plan.choice.strategy == "overview":
                visits = self._overview(should_cancel)
                stats.cancelled = visits is None
            for index in [] if stats.cancelled else plan.order:
                tile, report = plan.tiles[index], reports[index]
                if plan.has_data[index] and (visits is None or visits.visited(index)):
                    todo.append(tile)
                else:
                    report.status = "skipped"
                    report.warnings.append(NOT_VISITED if plan.has_data[index] else "no valid pixels (nodata)")
                    yield from finish(report, self.merger.skip_tile(index))
            while todo:
                if should_cancel():
                    stats.cancelled = True
                    break
                if ahead is not None:  # always the head of todo: todo only loses tiles from its front
                    batch, future = ahead
                    waited = time.perf_counter()
                    read = future.result()
                    stats.add("read_wait", time.perf_counter() - waited)
                else:
                    batch = todo[: self.batch.size]
                    read = self._read_batch(batch)
                    stats.add("read_wait", self.last_read_s)
                todo = todo[len(batch) :]
                ahead = None
                if reader is not None and todo:
                    nxt = todo[: self.batch.size]
                    ahead = (nxt, reader.submit(self._read_batch, nxt))
                for tile, report, job in self._segment_batch(read, polygons):
                    waiting.append((tile, report, job))
                # The first batch is merged at once, so the first polygons and progress come without delay. Later
                # ones wait while the models run, but no more than a batch behind: each holds its tiles' masks.
                backlog = 2 * self.batch.size + opts.cpu_threads
                while waiting and (
                    not isinstance(waiting[0][2], Future)
                    or waiting[0][2].done()
                    or not todo
                    or first_batch
                    or len(waiting) > backlog
                ):
                    yield from merge_next()
                first_batch = False
            while waiting:  # cancelled: the tiles already segmented are kept
                yield from merge_next()
            for tile in todo:
                reports[tile.index].status = "cancelled"
            yield from self._features(self.merger.flush())
        finally:
            for pool in (reader, polygons):
                if pool is not None:
                    pool.shutdown(wait=True, cancel_futures=True)
            for report in reports:  # interrupted (Ctrl-C, an error): what was not reached is said so
                if report.status == "pending":
                    report.status = "cancelled"
            plan.close()

    def _overview(self, should_cancel: Callable[[], bool]) -> Visits | None:
        """Read the area's overview cells, ask the prompter, and say which tiles to read (``self.coarse`` too).

        None when the job was cancelled meanwhile: checked between cells and between prompter batches (a local
        prompter also stops mid-answer), so a cancel is heard within a cell's read or a token.
        """
        plan, stats = self.plan, self.stats
        read = []
        for cell in plan.cells:
            if should_cancel():
                self._overview_cancelled()
                return None
            t0 = time.thread_time()
            read.append((cell, *plan.source.read(cell.window, cell_shape(cell))))
            stats.add("read", time.thread_time() - t0)
        items = [(cell, image) for cell, image, valid in read if valid.any()]
        t0 = time.perf_counter()
        results: list[PromptResult] = []
        forget = getattr(self.prompter, "forget", None)
        for start in range(0, len(items), self.batch.size):
            if should_cancel():
                break
            cells, images = zip(*items[start : start + self.batch.size])
            results += prompt_images(self.prompter, list(images), plan.query, self.batch, tiles=list(cells))
            stats.prompter_calls += len(images)
            if forget is not None:  # SAM 3 keeps what it found for the segmenter call that the cells never get
                forget(list(images))
        seconds = time.perf_counter() - t0
        stats.add("prompt", seconds)
        if should_cancel() or len(results) < len(items) or any(r.was_cancelled for r in results):
            self._overview_cancelled()
            return None
        answers = {cell.index: (result, image.shape[:2]) for (cell, image), result in zip(items, results)}
        reports: list[TileReport] = []
        found: list[list[Instance] | None] = []
        margin = BOX_MARGIN_PX * overview_zoom(plan.cells)
        for cell in plan.cells:
            report = TileReport(cell.index, _window_tuple(cell), kind="overview", seconds=seconds / max(1, len(items)))
            answer = answers.get(cell.index)
            if answer is None:
                report.status = "skipped"
                report.warnings.append("no valid pixels (nodata)")
                found.append([])
            else:
                result, shape = answer
                report.status, report.raw_text, report.error = result.status, result.raw_text, result.error
                report.warnings += result.warnings
                if result.status in ("ok", "no_target"):
                    instances = to_raster(result, cell, shape)
                    # Where each instance sends the job: its box, or the box its points pick tiles with.
                    report.instances, report.boxes = len(instances), [searched_box(i, margin) for i in instances]
                    found.append(instances)
                else:  # a garbled or failed answer says nothing of where to look: every tile there is read
                    report.warnings.append("every tile of this cell is read instead")
                    found.append(None)
            reports.append(report)
        stats.overview = reports
        # A segmenter that cannot take prompts (SAM 3 segments what it finds) has the prompter read the places.
        refine = plan.options.refine if getattr(self.segmenter, "takes_prompts", True) else "prompter"
        visits = plan_visits(plan.tiles, plan.cells, found, margin, refine, plan.choice.sample_step)
        self.coarse = visits.coarse
        return visits

    def _overview_cancelled(self) -> None:
        self.stats.overview = [
            TileReport(cell.index, _window_tuple(cell), status="cancelled", kind="overview") for cell in self.plan.cells
        ]

    def _segment_batch(self, read, pool) -> list[tuple[Tile, TileReport, Future | list[Piece] | None]]:
        """Prompts, embeddings and masks for a batch that is read; each tile's pieces (a ``Future`` with a pool),
        or None for a tile without any (no data, a failure)."""
        results = self._prompt(read)
        embeddings = self._encode(read, results)
        out: list[tuple[Tile, TileReport, Future | list[Piece] | None]] = []
        for tile, image, valid in read:
            report = self.stats.reports[tile.index]
            result = results.get(tile.index)
            job: Future | list[Piece] | None = None
            if result is None:
                report.status = "skipped"
                report.warnings.append("no valid pixels (nodata)")
            elif result.was_cancelled:
                report.status = "cancelled"
            elif result.status == "error":
                report.status, report.error = "error", result.error
            else:
                job = self._segment_tile(tile, image, valid, result, report, embeddings.get(tile.index), pool)
            out.append((tile, report, job))
        return out

    def merge(self, index: int, pieces: list[Piece] | None) -> Iterator[Feature]:
        """The features a tile's pieces complete (None: the tile brings none)."""
        merger = self.merger
        objects = merger.add_tile(index, pieces) if pieces is not None else merger.skip_tile(index)
        yield from self._features(objects)

    def flush(self) -> Iterator[Feature]:
        """The objects still open: at the end of a run, complete or not."""
        yield from self._features(self.merger.flush())

    def _read_batch(self, batch: list[Tile]) -> list[tuple[Tile, np.ndarray, np.ndarray]]:
        t0, c0 = time.perf_counter(), time.thread_time()
        out = [(t, *self.plan.source.read(t.window)) for t in batch]
        # "read" is this thread's CPU time, like "polygons": on the read-ahead thread, wall time would also
        # count waits for the GIL held by the thread that drives the models.
        self.stats.add("read", time.thread_time() - c0)
        self.last_read_s = time.perf_counter() - t0
        return out

    def _prompt(self, read) -> dict[int, PromptResult]:
        """Prompt results by tile index, for the tiles whose core holds valid pixels."""
        ready = {
            t.index: PromptResult(list(self.coarse[t.index]), FROM_OVERVIEW, "ok")
            for t, _, valid in read
            if t.index in self.coarse and _core_valid(t, valid)
        }
        items = [(t, img) for t, img, valid in read if t.index not in self.coarse and _core_valid(t, valid)]
        if not items:
            return ready
        t0 = time.perf_counter()
        results = prompt_images(
            self.prompter, [img for _, img in items], self.plan.query, self.batch, tiles=[t for t, _ in items]
        )
        self.stats.add("prompt", time.perf_counter() - t0)
        self.stats.prompter_calls += len(items)
        return ready | {t.index: r for (t, _), r in zip(items, results)}

    def _encode(self, read, results: dict[int, PromptResult]) -> dict[int, Any]:
        """SAM embeddings of the tiles that have instances: from the cache, else one batched encoder call."""
        opts = self.plan.options
        if not opts.batch_encoder and self.cache is None:
            return {}
        wanted = [(t, img) for t, img, _ in read if t.index in results and results[t.index].instances]
        keys = [self._cache_key(t) for t, _ in wanted]
        t0 = time.perf_counter()
        embeddings, hits = encode_images(
            self.segmenter, [img for _, img in wanted], self.batch.size if opts.batch_encoder else 1, self.cache, keys
        )
        self.stats.add("encode", time.perf_counter() - t0)
        self.stats.add("encode_cached", hits)
        return {t.index: e for (t, _), e in zip(wanted, embeddings) if e is not None}

    def _cache_key(self, tile: Tile) -> tuple:
        return embedding_key(self.plan.raster_id, _window_tuple(tile), self.plan.source.bands, self.segmenter)

    def _segment_tile(self, tile, image, valid, result: PromptResult, report: TileReport, embedding, pool):
        """Masks for one tile, then its pieces: a ``Future`` when polygonising on a thread, else a list.

        Returns None when the segmenter failed (the tile is then skipped by the merger).
        """
        report.status, report.raw_text = result.status, result.raw_text
        report.instances, report.warnings = len(result.instances), report.warnings + result.warnings
        try:
            predictions = predict_masks(self.segmenter, image, result.instances, embedding, self.stats.add)
        except Exception as exc:
            if is_oom(exc):
                free_gpu_memory()
            log.exception("segmenter failed on tile %d", tile.index)
            report.status, report.error = "error", f"segmenter failed: {type(exc).__name__}: {exc}"
            return None
        masks = [m & valid for m, _ in predictions]
        scores = [s for _, s in predictions]
        neighbours = self.neighbours[tile.index]
        prompts = [i.shifted(tile.window.col_off, tile.window.row_off) for i in result.instances]
        if pool is None:
            return self._pieces(tile, masks, scores, valid, neighbours, prompts)
        return pool.submit(self._pieces, tile, masks, scores, valid, neighbours, prompts)

    def _pieces(self, tile, masks, scores, valid, neighbours, prompts) -> list[Piece]:
        # This thread's CPU time: on a pool thread, wall time would also count waits for the GIL.
        t0 = time.thread_time()
        pieces = tile_pieces(tile, masks, scores, valid, neighbours, min_hole_px=self.plan.options.min_area_px)
        for piece in pieces:
            piece.prompts = tuple(prompts[i] for i in piece.instances)
        self.stats.add("polygons", time.thread_time() - t0)
        return pieces

    def _features(self, objects) -> Iterator[Feature]:
        plan, opts = self.plan, self.plan.options
        for obj in objects:
            t0 = time.perf_counter()
            geom = finish_geometry(obj.geometry, plan.georef.to_map, opts.simplify_px, opts.min_area_px)
            self.stats.add("merge", time.perf_counter() - t0)
            if geom is None:
                continue
            props = feature_properties(
                query=plan.query,
                instance_id=self.next_id,
                area=plan.area_of(geom),
                unit=plan.unit,
                score=obj.score,
                prompter=getattr(self.prompter, "name", type(self.prompter).__name__),
                segmenter=getattr(self.segmenter, "name", type(self.segmenter).__name__),
                tiles=obj.tiles,
                source=getattr(self.prompter, "source", "query"),
                prompts=prompt_attributes(obj.prompts, plan.georef.to_map),
                route=opts.route,
                strategy=plan.choice.label,
            )
            self.next_id += 1
            self.stats.features += 1
            if self.stats.first_feature_s is None:
                self.stats.first_feature_s = time.perf_counter() - self.started
            yield Feature(geom, props)


def segment_tiles(
    plan: SegmentPlan, prompter: Prompter, segmenter: Segmenter, indices: list[int]
) -> list[tuple[int, TileReport, list[Piece] | None]]:
    """Read, prompt and segment the tiles ``indices`` of ``plan`` (one batch), without merging: each tile's
    report and pieces. A worker of a distributed engine runs this; its driver merges (:class:`Merge`)."""
    stats = RunStats.for_plan(plan)
    work = _Run(plan, prompter, segmenter, stats)
    tiles = [plan.tiles[i] for i in indices]
    # Without a pool, each tile's pieces are a list already (or None).
    return [
        (tile.index, report, pieces)  # type: ignore[misc]
        for tile, report, pieces in work._segment_batch(work._read_batch(tiles), None)
    ]


@dataclass(frozen=True)
class _Named:
    name: str
    source: str = "query"


class Merge:
    """The driver's side of a distributed run: tiles' pieces in any order in, finished features out."""

    def __init__(
        self, plan: SegmentPlan, prompter_name: str, segmenter_name: str, stats: RunStats, source: str = "query"
    ):
        # The models run on the workers; here they are only what the features say of them.
        named = _Named(prompter_name, source), _Named(segmenter_name)
        self._run = _Run(plan, *named, stats)  # type: ignore[arg-type]

    def add(self, index: int, pieces: list[Piece] | None) -> Iterator[Feature]:
        return self._run.merge(index, pieces)

    def flush(self) -> Iterator[Feature]:
        return self._run.flush()


def _core_valid(tile: Tile, valid: np.ndarray) -> bool:
    w, c = tile.window, tile.core
    y0, x0 = c.row_off - w.row_off, c.col_off - w.col_off
    return bool(valid[y0 : y0 + c.height, x0 : x0 + c.width].any())
