"""What every driver runs on the tiles' pieces, in whatever order they come (the local pipeline in tile order, Ray as
its workers answer): merge objects across tile seams, finish their geometry in the raster's CRS, and give each
finished object its properties and id, as a :class:`~.features.Feature`."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator

from .features import Feature, feature_properties, prompt_attributes
from .geo.geometry import Piece, finish_geometry
from .geo.seams import SeamMerger
from .plan import RunStats, SegmentPlan


class Assembler:
    """Pieces of ``plan``'s tiles in, finished features out; the models are named as the features record them."""

    def __init__(self, plan: SegmentPlan, prompter: str, segmenter: str, source: str, stats: RunStats):
        self.plan, self.prompter, self.segmenter, self.source, self.stats = plan, prompter, segmenter, source, stats
        self.merger = SeamMerger()
        self.next_id = 1
        self.started = time.perf_counter()

    def add(self, index: int, pieces: list[Piece] | None) -> Iterator[Feature]:
        """Merge tile ``index``'s pieces now (None: the tile brings none); the features this completes."""
        t0 = time.perf_counter()
        merger = self.merger
        objects = merger.add_tile(index, pieces) if pieces is not None else merger.skip_tile(index)
        self.stats.add("merge", time.perf_counter() - t0)
        return self._features(objects)

    def flush(self) -> Iterator[Feature]:
        """The objects still open: at the end of a run, complete or not."""
        return self._features(self.merger.flush())

    def _features(self, objects: Iterable) -> Iterator[Feature]:
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
                prompter=self.prompter,
                segmenter=self.segmenter,
                tiles=obj.tiles,
                source=self.source,
                prompts=prompt_attributes(obj.prompts, plan.georef.to_map),
                route=opts.route,
                strategy=plan.choice.label,
            )
            self.next_id += 1
            self.stats.features += 1
            if self.stats.first_feature_s is None:
                self.stats.first_feature_s = time.perf_counter() - self.started
            yield Feature(geom, props)
