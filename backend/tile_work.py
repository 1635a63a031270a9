"""The work on each tile that every driver runs (the local pipeline, a Ray worker): read a batch of tiles, prompt
them, encode them for SAM (from the embedding cache when it can), predict the masks, and cut them into pieces
(:mod:`.geo.geometry`) for the :class:`~.assembler.Assembler`."""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future
from typing import Any

import numpy as np

from .devices import free_gpu_memory, is_oom
from .geo.geometry import Piece, grid_neighbours, tile_pieces
from .geo.tiling import Tile
from .models.batch import BatchSize, encode_images, predict_masks, prompt_images
from .models.embedding_cache import EmbeddingCache, shared_cache, window_key
from .models.prompter import Prompter
from .models.prompts import Instance, PromptResult
from .models.segmenter import Segmenter
from .plan import RunStats, SegmentPlan, TileReport

log = logging.getLogger(__name__)
FROM_OVERVIEW = "(SAM only, with the overview's box and points: see the overview's reasoning)"
Read = list[tuple[Tile, np.ndarray, np.ndarray]]  # (tile, HxWx3 image, HxW valid mask) per tile of a batch
Segmented = list[tuple[Tile, TileReport, "Future | list[Piece] | None"]]  # each tile's pieces, or a Future of them


class TileWork:
    """Read, prompt, encode, predict and cut the tiles of ``plan``, batch by batch; reports and times go to ``stats``.

    ``coarse`` holds the tiles SAM reads with an overview's prompts (raster pixels) instead of the prompter's.
    """

    def __init__(
        self,
        plan: SegmentPlan,
        prompter: Prompter,
        segmenter: Segmenter,
        stats: RunStats,
        batch: BatchSize,
        cache: EmbeddingCache | None = None,
    ):
        self.plan, self.prompter, self.segmenter, self.stats = plan, prompter, segmenter, stats
        self.batch, self.cache = batch, cache
        self.neighbours = grid_neighbours(plan.tiles)
        self.coarse: dict[int, list[Instance]] = {}
        self.last_read_s = 0.0

    @classmethod
    def for_plan(cls, plan: SegmentPlan, prompter: Prompter, segmenter: Segmenter, stats: RunStats) -> TileWork:
        """The work as ``plan``'s options ask: its batch size (a served prompter's concurrency, when larger) and
        the process-wide embedding cache unless the options give another or none."""
        opts = plan.options
        cache = None
        if opts.cache_embeddings:
            cache = opts.embedding_cache if opts.embedding_cache is not None else shared_cache()
        return cls(plan, prompter, segmenter, stats, BatchSize(max(opts.batch_size, prompter.concurrency)), cache)

    def segment_batch(self, read: Read, pool=None) -> Segmented:
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

    def read_batch(self, batch: list[Tile]) -> Read:
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
        return window_key(self.plan.source, tile.window, self.segmenter)

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


def _core_valid(tile: Tile, valid: np.ndarray) -> bool:
    w, c = tile.window, tile.core
    y0, x0 = c.row_off - w.row_off, c.col_off - w.col_off
    return bool(valid[y0 : y0 + c.height, x0 : x0 + c.width].any())
