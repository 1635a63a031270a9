"""One query over one raster, run: :func:`run` streams merged polygons from a checked :class:`~.plan.SegmentPlan`.

The loop here schedules the work: one reader thread reads the next batch while the models work, an overview pass
first when the strategy asks for one (:mod:`.overview` says where to look), and a pool cuts masks into pieces
while the next batch is on the GPU. The work on each tile is :class:`~.tile_work.TileWork`'s; merging the pieces
into features is the :class:`~.assembler.Assembler`'s, which every driver (Ray too) shares.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

from .assembler import Assembler
from .features import Feature
from .geo.geometry import Piece
from .geo.tiling import Tile
from .models.batch import prompt_images
from .models.prompter import Prompter
from .models.prompts import Instance, PromptResult
from .models.segmenter import Segmenter
from .overview import (
    BOX_MARGIN_PX,
    NOT_VISITED,
    Visits,
    cell_shape,
    overview_zoom,
    plan_visits,
    searched_box,
    to_raster,
)
from .plan import RunStats, SegmentPlan, TileReport, window_tuple
from .tile_work import TileWork


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
    prompter.bind_cancel(should_cancel)  # a served prompter aborts its requests in flight, a local one its answer
    return _Run(plan, prompter, segmenter, stats).features(should_cancel, on_tile)


class _Run:
    """The executor behind :func:`run`: one reader thread ahead of the models, a pool for polygons."""

    def __init__(self, plan: SegmentPlan, prompter: Prompter, segmenter: Segmenter, stats: RunStats):
        self.plan, self.prompter, self.segmenter, self.stats = plan, prompter, segmenter, stats
        self.work = TileWork.for_plan(plan, prompter, segmenter, stats)
        self.batch = self.work.batch
        self.assembler = Assembler(plan, prompter.name, segmenter.name, prompter.source, stats)

    def features(self, should_cancel: Callable[[], bool], on_tile: Callable[[TileReport], None] | None):
        plan, opts, stats = self.plan, self.plan.options, self.stats
        reports = stats.reports

        def finish(report: TileReport, features: Iterator[Feature]) -> Iterator[Feature]:
            if on_tile is not None:
                on_tile(report)
            yield from features

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
            features = self.assembler.add(tile.index, pieces)
            now = time.perf_counter()
            report.seconds, started = now - started, now
            yield from finish(report, features)

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
                    yield from finish(report, self.assembler.add(index, None))
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
                    read = self.work.read_batch(batch)
                    stats.add("read_wait", self.work.last_read_s)
                todo = todo[len(batch) :]
                ahead = None
                if reader is not None and todo:
                    nxt = todo[: self.batch.size]
                    ahead = (nxt, reader.submit(self.work.read_batch, nxt))
                for tile, report, job in self.work.segment_batch(read, polygons):
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
            yield from self.assembler.flush()
        finally:
            for pool in (reader, polygons):
                if pool is not None:
                    pool.shutdown(wait=True, cancel_futures=True)
            for report in reports:  # interrupted (Ctrl-C, an error): what was not reached is said so
                if report.status == "pending":
                    report.status = "cancelled"
            plan.close()

    def _overview(self, should_cancel: Callable[[], bool]) -> Visits | None:
        """Read the area's overview cells, ask the prompter, and say which tiles to read (with SAM's prompts for some).

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
        for start in range(0, len(items), self.batch.size):
            if should_cancel():
                break
            cells, images = zip(*items[start : start + self.batch.size])
            results += prompt_images(self.prompter, list(images), plan.query, self.batch, tiles=list(cells))
            stats.prompter_calls += len(images)
            self.prompter.forget(list(images))  # SAM 3 keeps what it found for a segmenter call the cells never get
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
            report = TileReport(cell.index, window_tuple(cell), kind="overview", seconds=seconds / max(1, len(items)))
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
        refine = plan.options.refine if self.segmenter.takes_prompts else "prompter"
        visits = plan_visits(plan.tiles, plan.cells, found, margin, refine, plan.choice.sample_step)
        self.work.coarse = visits.coarse
        return visits

    def _overview_cancelled(self) -> None:
        self.stats.overview = [
            TileReport(cell.index, window_tuple(cell), status="cancelled", kind="overview") for cell in self.plan.cells
        ]
