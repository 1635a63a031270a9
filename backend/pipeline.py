"""The segmentation pipeline: tiles in, prompts, masks, merged georeferenced polygons out."""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from affine import Affine

from .devices import is_cuda
from .embedding_cache import EmbeddingCache, embedding_key, raster_identity, shared_cache
from .errors import RasterError, UserError
from .geometry import SeamMerger, finish_geometry, grid_neighbours, tile_pieces
from .prompter import Prompter
from .prompts import PromptResult
from .raster import RasterSource
from .segmenter import Segmenter, predict_all
from .tiling import Tile, check_tiling, tile_grid, tiles_with_data

log = logging.getLogger(__name__)


@dataclass
class SegmentOptions:
    """What to read and how to tile it. Bounds are ``(minx, miny, maxx, maxy)`` in the raster's CRS."""

    bands: Sequence[int] | None = None
    bounds: Sequence[float] | None = None
    tile_size: int = 840
    overlap: int = 128
    batch_size: int = 4
    min_area_px: float = 16.0
    simplify_px: float = 1.0
    pixel_coords: bool = False
    max_tiles: int | None = None
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
    status: str = "pending"  # ok | no_target | unparseable | error | skipped | cancelled
    instances: int = 0
    raw_text: str = ""
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0


@dataclass
class Feature:
    """A finished polygon in the raster's CRS, with its attributes."""

    geometry: object  # shapely geometry
    properties: dict


def area_unit(crs) -> str:
    """The unit that areas are given in: m² for metric CRSs, map units squared otherwise."""
    if crs is None:
        return "px²"
    if crs.is_geographic:
        return "deg²"
    unit = (crs.linear_units or "unknown").lower()
    return "m²" if unit in ("metre", "meter", "m") else ("ft²" if "foot" in unit or unit == "ft" else f"{unit}²")


def _is_oom(exc: BaseException) -> bool:
    return type(exc).__name__ == "OutOfMemoryError" or "out of memory" in str(exc).lower()


def _free_gpu_cache() -> None:
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


class Segmentation:
    """One query over one raster: the plan (checked up front) and its run.

    Creating it opens and checks the raster and lays out the tiles, so bad input fails before any model
    is loaded. ``run()`` then yields each object as soon as it is complete.
    """

    def __init__(
        self,
        raster: str,
        query: str,
        options: SegmentOptions | None = None,
    ):
        self.query = (query or "").strip()
        if not self.query:
            raise UserError("The query is empty: say what to look for, for example \"buildings with red roofs\".")
        self.options = opts = options or SegmentOptions()
        try:
            check_tiling(opts.tile_size, opts.overlap)
        except ValueError as exc:
            raise UserError(str(exc).capitalize() + ".") from None
        self.source = RasterSource(raster, opts.bands, allow_no_crs=opts.pixel_coords)
        try:
            self.area = self.source.window_from_bounds(opts.bounds) if opts.bounds else self.source.full_window()
            self.tiles = tile_grid(self.area, self.source.width, self.source.height, opts.tile_size, opts.overlap)
            if opts.max_tiles and len(self.tiles) > opts.max_tiles:
                raise RasterError(
                    f"This area needs {len(self.tiles)} tiles, more than the limit of {opts.max_tiles}. "
                    "Choose a smaller area or a larger tile size, or raise the limit (--max-tiles, or "
                    "THINK2MAP_MAX_TILES for the server)."
                )
            overview, scale = self.source.validity_overview()
            self.has_data = tiles_with_data(self.tiles, overview, scale)
        except Exception:
            self.source.close()
            raise
        self.crs = self.source.crs if not opts.pixel_coords else None
        self.transform = self.source.transform if self.crs is not None else Affine.identity()
        self.unit = area_unit(self.crs)
        self.reports = [
            TileReport(t.index, (t.window.col_off, t.window.row_off, t.window.width, t.window.height))
            for t in self.tiles
        ]
        self.cancelled = False
        self._batch = max(1, opts.batch_size)
        self._next_id = 1
        self._raster_id = raster_identity(self.source.path)
        self.timings: dict[str, float] = defaultdict(float)
        self.first_feature_s: float | None = None
        self._run_started = time.perf_counter()
        self._last_read_s = 0.0
        self._timing_lock = threading.Lock()

    @property
    def tiles_with_data(self) -> int:
        return sum(self.has_data)

    def run(
        self,
        prompter: Prompter,
        segmenter: Segmenter,
        should_cancel: Callable[[], bool] = lambda: False,
        on_tile: Callable[[TileReport], None] | None = None,
    ) -> Iterator[Feature]:
        """Process every tile, yielding finished features; stops at a tile boundary when cancelled.

        Stage times (seconds, summed over tiles) accumulate in ``self.timings``; ``self.first_feature_s`` is the
        time from the start of ``run`` to the first feature.
        """
        self.prompter, self.segmenter = prompter, segmenter
        self.timings: dict[str, float] = defaultdict(float)
        self.first_feature_s: float | None = None
        self._run_started = time.perf_counter()
        merger = SeamMerger()
        neighbours = grid_neighbours(self.tiles)
        opts = self.options

        def finish(report: TileReport, objects) -> Iterator[Feature]:
            if on_tile is not None:
                on_tile(report)
            yield from self._features(objects)

        todo = []
        for tile, has_data in zip(self.tiles, self.has_data):
            if has_data:
                todo.append(tile)
            else:
                self.reports[tile.index].status = "skipped"
                self.reports[tile.index].warnings.append("no valid pixels (nodata)")
                yield from finish(self.reports[tile.index], merger.skip_tile(tile.index))
        # One reader thread (rasterio datasets are not safe for concurrent reads) and a pool for polygons.
        reader = ThreadPoolExecutor(1, thread_name_prefix="think2map-read") if opts.prefetch else None
        polygons = (ThreadPoolExecutor(opts.cpu_threads, thread_name_prefix="think2map-poly")
                    if opts.cpu_threads > 0 else None)
        ahead: tuple[list[Tile], Future] | None = None
        # Tiles whose masks are made, in tile order, waiting for their pieces to be merged. A tile still being
        # polygonised stays here while the next batch runs on the GPU, so the GPU does not wait for the CPU.
        waiting: list[tuple[Tile, TileReport, Future | list | None]] = []
        first_batch = True
        started = time.perf_counter()

        def merge_next() -> Iterator[Feature]:
            nonlocal started
            tile, report, job = waiting.pop(0)
            t0 = time.perf_counter()
            pieces = job.result() if isinstance(job, Future) else job
            self._add_time("polygons_wait", time.perf_counter() - t0)
            t0 = time.perf_counter()
            objects = merger.add_tile(tile.index, pieces) if pieces is not None else merger.skip_tile(tile.index)
            self._add_time("merge", time.perf_counter() - t0)
            now = time.perf_counter()
            report.seconds, started = now - started, now
            yield from finish(report, objects)

        try:
            while todo:
                if should_cancel():
                    self.cancelled = True
                    break
                if ahead is not None:  # always the head of todo: todo only loses tiles from its front
                    batch, future = ahead
                    waited = time.perf_counter()
                    read = future.result()
                    self._add_time("read_wait", time.perf_counter() - waited)
                else:
                    batch = todo[: self._batch]
                    read = self._read_batch(batch)
                    self._add_time("read_wait", self._last_read_s)
                todo = todo[len(batch):]
                ahead = None
                if reader is not None and todo:
                    nxt = todo[: self._batch]
                    ahead = (nxt, reader.submit(self._read_batch, nxt))
                t0 = time.perf_counter()
                results = self._prompt_batch([(t, img) for t, img, valid in read if self._core_valid(t, valid)])
                self._add_time("prompt", time.perf_counter() - t0)
                embeddings = self._encode_batch(read, results)
                for tile, image, valid in read:
                    report = self.reports[tile.index]
                    result = results.get(tile.index)
                    if isinstance(result, PromptResult):
                        job = self._segment_tile(tile, image, valid, result, report, neighbours[tile.index],
                                                 embeddings.get(tile.index), polygons)
                    else:
                        report.status = "skipped" if result is None else "error"
                        if result is None:
                            report.warnings.append("no valid pixels (nodata)")
                        else:
                            report.error = result
                        job = None
                    waiting.append((tile, report, job))
                # The first batch is merged at once, so the first polygons and progress come without delay.
                while waiting and (not isinstance(waiting[0][2], Future) or waiting[0][2].done()
                                   or not todo or first_batch):
                    yield from merge_next()
                first_batch = False
            while waiting:  # cancelled: the tiles already segmented are kept
                yield from merge_next()
            for tile in todo:
                self.reports[tile.index].status = "cancelled"
            yield from self._features(merger.flush())
        finally:
            for pool in (reader, polygons):
                if pool is not None:
                    pool.shutdown(wait=True, cancel_futures=True)
            self.source.close()

    def _read_batch(self, batch: list[Tile]) -> list[tuple[Tile, np.ndarray, np.ndarray]]:
        t0, c0 = time.perf_counter(), time.thread_time()
        out = [(t, *self.source.read(t.window)) for t in batch]
        # "read" is this thread's CPU time, like "polygons": on the read-ahead thread, wall time would also
        # count waits for the GIL held by the thread that drives the models.
        self._add_time("read", time.thread_time() - c0)
        self._last_read_s = time.perf_counter() - t0
        return out

    @staticmethod
    def _core_valid(tile: Tile, valid: np.ndarray) -> bool:
        w, c = tile.window, tile.core
        y0, x0 = c.row_off - w.row_off, c.col_off - w.col_off
        return bool(valid[y0:y0 + c.height, x0:x0 + c.width].any())

    def _prompt_batch(self, items: list[tuple[Tile, np.ndarray]]) -> dict[int, PromptResult | str]:
        """Prompt results per tile index, or an error message; halves the batch when the GPU runs out."""
        out: dict[int, PromptResult | str] = {}
        i = 0
        while i < len(items):
            chunk = items[i:i + self._batch]
            try:
                results = self.prompter.prompt([img for _, img in chunk], self.query, tiles=[t for t, _ in chunk])
            except Exception as exc:  # a tile that raises is recorded, and the job goes on
                if _is_oom(exc):
                    _free_gpu_cache()
                    if self._batch > 1:
                        self._batch = max(1, self._batch // 2)
                        log.warning("GPU out of memory: retrying with batches of %d tiles", self._batch)
                        continue
                    message = "GPU out of memory even with one tile per batch: try a smaller tile size"
                else:
                    log.exception("prompter failed")
                    message = f"prompter failed: {type(exc).__name__}: {exc}"
                for t, _ in chunk:
                    out[t.index] = message
            else:
                for (t, _), r in zip(chunk, results):
                    out[t.index] = r
            i += len(chunk)
        return out

    def _cache_key(self, tile: Tile) -> tuple:
        w = tile.window
        return embedding_key(self._raster_id, (w.col_off, w.row_off, w.width, w.height), self.source.bands,
                             self.segmenter)

    def _encode_batch(self, read, results: dict) -> dict[int, object]:
        """SAM embeddings of the tiles that have instances: from the cache, else one batched encoder call.

        Segmenters without ``encode`` (and any failure here) fall back to ``set_image`` per tile later.
        """
        opts = self.options
        encode = getattr(self.segmenter, "encode", None)
        if encode is None or not opts.batch_encoder and not opts.cache_embeddings:
            return {}
        wanted = [(t, img) for t, img, _ in read
                  if isinstance(results.get(t.index), PromptResult) and results[t.index].instances]
        cache = None
        if opts.cache_embeddings:
            cache = opts.embedding_cache if opts.embedding_cache is not None else shared_cache()
        out: dict[int, object] = {}
        missing = []
        for t, img in wanted:
            hit = cache.get(self._cache_key(t)) if cache is not None else None
            if hit is not None:
                out[t.index] = hit
                self._add_time("encode_cached", 1)
            else:
                missing.append((t, img))
        # Batching pays on a GPU only: on the CPU the encoder is compute-bound, and batches measured slower.
        step = self._batch if opts.batch_encoder and is_cuda(getattr(self.segmenter, "device", "cpu")) else 1
        t0 = time.perf_counter()
        try:
            for i in range(0, len(missing), step):
                chunk = missing[i:i + step]
                for (t, _), emb in zip(chunk, encode([img for _, img in chunk])):
                    out[t.index] = emb
                    if cache is not None:
                        cache.put(self._cache_key(t), emb)
        except Exception as exc:
            if _is_oom(exc):
                _free_gpu_cache()
            log.warning("batched SAM encoding failed (%s: %s); encoding tile by tile", type(exc).__name__, exc)
        self._add_time("encode", time.perf_counter() - t0)
        return out

    def _segment_tile(self, tile, image, valid, result, report, neighbours, embedding, pool):
        """Masks for one tile, then its pieces: a ``Future`` when polygonising on a thread, else a list.

        Returns None when the segmenter failed (the tile is then skipped by the merger).
        """
        report.status, report.raw_text = result.status, result.raw_text
        report.instances, report.warnings = len(result.instances), report.warnings + result.warnings
        predictions = []
        try:
            if result.instances:
                t0 = time.perf_counter()
                if embedding is not None:
                    self.segmenter.set_embedding(embedding)
                else:
                    self.segmenter.set_image(image)
                t1 = time.perf_counter()
                predictions = predict_all(self.segmenter, result.instances)
                self._add_time("encode", t1 - t0)
                self._add_time("decode_masks", time.perf_counter() - t1)
        except Exception as exc:
            if _is_oom(exc):
                _free_gpu_cache()
            log.exception("segmenter failed on tile %d", tile.index)
            report.status, report.error = "error", f"segmenter failed: {type(exc).__name__}: {exc}"
            return None
        masks = [m & valid for m, _ in predictions]
        scores = [s for _, s in predictions]
        if pool is None:
            return self._pieces(tile, masks, scores, valid, neighbours)
        return pool.submit(self._pieces, tile, masks, scores, valid, neighbours)

    def _pieces(self, tile, masks, scores, valid, neighbours):
        # This thread's CPU time: on a pool thread, wall time would also count waits for the GIL.
        t0 = time.thread_time()
        pieces = tile_pieces(tile, masks, scores, valid, neighbours, min_hole_px=self.options.min_area_px)
        self._add_time("polygons", time.thread_time() - t0)
        return pieces

    def _add_time(self, stage: str, seconds: float) -> None:
        with self._timing_lock:
            self.timings[stage] += seconds

    def _features(self, objects) -> Iterator[Feature]:
        opts = self.options
        for obj in objects:
            t0 = time.perf_counter()
            geom = finish_geometry(obj.geometry, self.transform, opts.simplify_px, opts.min_area_px)
            self._add_time("merge", time.perf_counter() - t0)
            if geom is None:
                continue
            props = {
                "query": self.query,
                "instance_id": self._next_id,
                "area": round(float(geom.area), 6),
                "area_unit": self.unit,
                "score": round(float(obj.score), 4),
                "prompter": getattr(self.prompter, "name", type(self.prompter).__name__),
                "segmenter": getattr(self.segmenter, "name", type(self.segmenter).__name__),
                "tiles": ",".join(str(t) for t in obj.tiles),
                "created": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            self._next_id += 1
            if self.first_feature_s is None:
                self.first_feature_s = time.perf_counter() - self._run_started
            yield Feature(geom, props)
