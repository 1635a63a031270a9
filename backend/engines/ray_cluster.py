"""``segment --engine ray``: the tiles of one raster across a Ray cluster, one actor per GPU (or CPU slot).

Each actor loads the prompter and the segmenter once and reads its own windows with rasterio, so the raster
must be reachable by every node (a shared path, or a GDAL URI such as /vsis3/ or /vsicurl/). It returns each
tile's report and unmerged pieces; the driver merges seams with the same merger as the local engine and
writes the output. One batch is in flight per actor (Ray's cancel of deeply queued actor calls is not
reliable); an actor that dies is restarted and its batch run again (``max_restarts``, ``max_task_retries``);
a batch whose retries are spent goes to another actor, and a tile that fails for good is reported as an error.
Ctrl+C or ``should_cancel`` cancels the calls in flight and kills the actors.

Ray is an optional extra: ``pip install -r backend/requirements-ray.txt``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ..assembler import Assembler
from ..errors import UserError
from ..features import Feature
from ..models.loading import EngineConfig
from ..plan import RunStats, SegmentOptions, SegmentPlan
from ..tile_work import TileWork

log = logging.getLogger(__name__)

MAX_RESTARTS = 2
MAX_ATTEMPTS = 3  # a batch tried on this many actors at most before its tiles are reported failed


@dataclass(frozen=True)
class RayJob:
    """What every actor needs to rebuild the plan on its node."""

    raster: str
    query: str
    options: SegmentOptions  # the area's bounds included, pickled to the actors


class TileWorker:
    """A Ray actor's body: the models, loaded once, and the plan of the job."""

    def __init__(self, config: EngineConfig, paths: tuple, job: RayJob) -> None:
        import torch

        from ..models.loading import load_models

        if config.device == "cpu":
            torch.set_num_threads(1)
        self.prompter, self.segmenter = load_models(config, *paths)
        self.plan = SegmentPlan(job.raster, job.query, job.options)

    def pid(self) -> int:
        return os.getpid()

    def names(self) -> tuple[str, str, str]:
        """The models' names and the features' source ("query", or "sam3" for a finder)."""
        prompter, segmenter = self.prompter, self.segmenter
        return prompter.name, segmenter.name, prompter.source

    def process(self, indices: list[int]) -> list[tuple[int, dict, list | None]]:
        """Read, prompt and segment the tiles ``indices`` (one batch), unmerged: each tile's report and pieces."""
        stats = RunStats.for_plan(self.plan)
        work = TileWork.for_plan(self.plan, self.prompter, self.segmenter, stats)
        read = work.read_batch([self.plan.tiles[i] for i in indices])
        # Without a pool, each tile's pieces are a list already (or None).
        return [(tile.index, report.__dict__.copy(), pieces) for tile, report, pieces in work.segment_batch(read)]


def init_ray(address: str | None = None, num_cpus: int | None = None):
    """Connect to ``address`` (a running cluster), else start a local one; Ray's token auth off for local use."""
    try:
        import ray
    except ImportError:
        raise UserError("--engine ray needs Ray: pip install -r backend/requirements-ray.txt", "bad_option") from None
    if not ray.is_initialized():
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        if address is None:
            os.environ.setdefault("RAY_AUTH_MODE", "disabled")
        ray.init(
            address=address,
            num_cpus=num_cpus if address is None else None,
            include_dashboard=False,
            log_to_driver=False,
            logging_level=logging.WARNING,
            configure_logging=False,
        )
    return ray


def run_on_ray(
    plan: SegmentPlan,
    config: EngineConfig,
    paths: tuple,
    stats: RunStats,
    workers: int | None = None,
    address: str | None = None,
    should_cancel: Callable[[], bool] = lambda: False,
    on_tile: Callable | None = None,
) -> Iterator[Feature]:
    """Yield the plan's features as the cluster finishes its tiles (see the module docstring)."""
    ray = init_ray(address)
    gpus = 1 if config.device.startswith("cuda") else 0
    count = workers or max(1, int(ray.cluster_resources().get("GPU" if gpus else "CPU", 1)))
    remote_worker = ray.remote(
        num_cpus=0 if gpus else 1, num_gpus=gpus, max_restarts=MAX_RESTARTS, max_task_retries=MAX_RESTARTS
    )(TileWorker)
    job = RayJob(plan.raster, plan.query, plan.options)
    actors = [remote_worker.remote(config, tuple(paths), job) for _ in range(count)]
    prompter_name, segmenter_name, source = ray.get(actors[0].names.remote())
    merge = Assembler(plan, prompter_name, segmenter_name, source, stats)
    reports = stats.reports
    size = max(1, config.batch_size)
    for tile, has_data in zip(plan.tiles, plan.has_data):
        if not has_data:
            reports[tile.index].status = "skipped"
            reports[tile.index].warnings.append("no valid pixels (nodata)")
            if on_tile is not None:
                on_tile(reports[tile.index])
            yield from merge.add(tile.index, None)
    indices = [t.index for t, has in zip(plan.tiles, plan.has_data) if has]
    todo = [indices[i : i + size] for i in range(0, len(indices), size)]
    # Tiles come back in any order, but are merged in the plan's order, as the local engine merges them: the
    # seam merger's shapes can differ in their last vertices with another order.
    arrived: dict[int, list | None] = {}
    position = 0

    def merge_in_order() -> Iterator[Feature]:
        nonlocal position
        while position < len(indices) and indices[position] in arrived:
            index = indices[position]
            position += 1
            yield from merge.add(index, arrived.pop(index))

    def finished(index: int, pieces: list | None) -> Iterator[Feature]:
        if on_tile is not None:
            on_tile(reports[index])
        arrived[index] = pieces
        yield from merge_in_order()

    attempts: dict[tuple, int] = {}
    in_flight: dict = {}  # ref -> (actor, batch)
    idle = list(actors)
    try:
        while todo or in_flight:
            if should_cancel():
                stats.cancelled = True
                break
            while todo and idle:
                batch, actor = todo.pop(0), idle.pop(0)
                in_flight[actor.process.remote(batch)] = (actor, batch)
            ready, _ = ray.wait(list(in_flight), num_returns=1, timeout=0.5)
            for ref in ready:
                actor, batch = in_flight.pop(ref)
                try:
                    results = ray.get(ref)
                except ray.exceptions.RayActorError as exc:  # died for good, its retries spent
                    key = tuple(batch)
                    attempts[key] = attempts.get(key, 0) + 1
                    log.warning("an actor died on tiles %s (%s)", batch, type(exc).__name__)
                    if attempts[key] < MAX_ATTEMPTS and len(actors) > 1:
                        actors.remove(actor)
                        todo.insert(0, batch)
                        continue
                    for index in batch:
                        reports[index].status, reports[index].error = "error", f"the worker died: {exc}"[:300]
                        yield from finished(index, None)
                    continue
                idle.append(actor)
                for index, fields, pieces in results:
                    reports[index].__dict__.update(fields)
                    yield from finished(index, pieces)
        for index in indices[position:]:  # cancelled: what came back is merged, the rest is said so
            if index not in arrived and reports[index].status == "pending":
                reports[index].status = "cancelled"
            arrived.setdefault(index, None)
        yield from merge_in_order()
        yield from merge.flush()
    finally:
        for ref in in_flight:
            ray.cancel(ref)
        for actor in actors:
            ray.kill(actor, no_restart=True)
        for report in reports:
            if report.status == "pending":
                report.status = "cancelled"
        plan.close()
