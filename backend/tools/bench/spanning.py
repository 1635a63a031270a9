"""The worst case for seam merging: one object that covers every tile of a large raster.

A field with a tree every 64 pixels (a 12-pixel hole, above the minimum area, so it is kept) fills the whole
raster: each tile's piece touches all four neighbours, and the merged object has an outline as long as the
raster is large. The prompter and the segmenter are stand-ins that answer from this truth (no models), so the
figures are the pipeline's own: reading, polygons, seams and output. ``python -m backend bench
--spanning-object N`` runs it on N × N tiles.
"""

from __future__ import annotations

import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from ...models.prompter import Prompter
from ...models.prompts import MODEL_IMAGE_SIZE, Instance, PromptResult
from ...models.segmenter import Segmenter
from .truth import OVERLAP, TILE, bench_geotiff

HOLE_EVERY, HOLE = 64, 12


def field_mask(window: tuple[int, int, int, int]) -> np.ndarray:
    """The field inside ``window`` (col, row, width, height): True but for the trees' holes."""
    c, r, w, h = window
    rows = (np.arange(r, r + h) % HOLE_EVERY) < HOLE
    cols = (np.arange(c, c + w) % HOLE_EVERY) < HOLE
    return ~(rows[:, None] & cols[None, :])


class FieldPrompter(Prompter):
    """Answers one instance covering the whole tile, as a prompter seeing only the field would."""

    name = "field-truth"

    def prompt(self, images, query, tiles=None) -> list[PromptResult]:
        box = (0.0, 0.0, float(MODEL_IMAGE_SIZE), float(MODEL_IMAGE_SIZE))
        answer = [Instance(box, ((420.0, 420.0), (430.0, 430.0)))]
        out = []
        for image in images:
            h, w = image.shape[:2]
            out.append(PromptResult(answer, "<think>the field</think>", "ok").scaled(w / 840, h / 840))
        return out


class FieldSegmenter(Segmenter):
    """Returns the field inside the tile it was given (the tile is known from the image's position)."""

    name = "field-truth"

    def __init__(self) -> None:
        self.windows: dict[int, tuple[int, int, int, int]] = {}
        self._window: tuple[int, int, int, int] | None = None

    def set_image(self, image: np.ndarray) -> None:
        self._window = self.windows[int(image[0, 0, 0]) * 65536 + int(image[0, 0, 1]) * 256 + int(image[0, 0, 2])]

    def predict(self, instance: Instance) -> tuple[np.ndarray, float]:
        if self._window is None:
            raise RuntimeError("window is not set")
        return field_mask(self._window), 0.9


def make_field_raster(folder: Path, per_side: int) -> tuple[Path, int]:
    """A GeoTIFF of ``per_side`` × ``per_side`` tiles whose first pixel of each tile encodes the tile's index."""
    size = TILE + (per_side - 1) * (TILE - OVERLAP)
    path = Path(folder) / f"field_{per_side}x{per_side}.tif"
    with bench_geotiff(path, size, 3) as ds:
        block = np.full((3, 512, 512), 120, np.uint8)
        for _, window in ds.block_windows(1):
            ds.write(block[:, : window.height, : window.width], window=window)
    return path, size


def spanning_object_bench(per_side: int) -> dict:
    """Run the pipeline over the field raster; the slowest tile's seconds, the total, and peak host memory."""
    from ...pipeline import run
    from ...plan import RunStats, SegmentOptions, SegmentPlan

    with tempfile.TemporaryDirectory(prefix="think2map-spanning-") as tmp:
        raster, size = make_field_raster(Path(tmp), per_side)
        plan = SegmentPlan(str(raster), "the field", SegmentOptions(tile_size=TILE, overlap=OVERLAP, min_area_px=16))
        segmenter = FieldSegmenter()
        _mark_tiles(plan, segmenter)
        stats = RunStats.for_plan(plan)
        last_report = [0.0]
        started = time.perf_counter()
        features = list(
            run(
                plan,
                FieldPrompter(),
                segmenter,
                stats,
                on_tile=lambda r: last_report.__setitem__(0, time.perf_counter()),
            )
        )
        ended = time.perf_counter()
        total = ended - started
    seconds = [r.seconds for r in stats.reports]
    geom = features[0].geometry if features else None
    return {
        "tiles": len(seconds),
        "raster_px": size,
        "features": len(features),
        "holes": sum(len(p.interiors) for p in getattr(geom, "geoms", [geom])) if geom is not None else 0,
        "slowest_tile_s": max(seconds),
        "last_tile_s": seconds[-1],
        "median_tile_s": float(np.median(seconds)),
        "after_last_tile_s": ended - last_report[0],  # finishing the object once every tile is in
        "total_s": total,
        "peak_host_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _mark_tiles(plan, segmenter: FieldSegmenter) -> None:
    """Make each tile's first pixel unique (read through the plan's own reader) so the segmenter knows its tile."""
    source = plan.source
    read = source.read

    def marked(window):
        image, valid = read(window)
        for tile in plan.tiles:
            if tile.window == window:
                index = tile.index + 1
                image[0, 0] = (index // 65536, (index // 256) % 256, index % 256)
                segmenter.windows[index] = (window.col_off, window.row_off, window.width, window.height)
        return image, valid

    source.read = marked
