"""``bench --strategies``: each whole-scene strategy over one large synthetic raster, in the same run.

The raster holds a few large fields (what the query asks for) among thousands of buildings. The prompter and SAM
are real-size with random weights, run for their cost (:class:`.run.BenchPrompter`, :class:`.run.BenchSegmenter`),
and answer from the truth: at full resolution all of it, in the overview only what is large enough to see there.
Every strategy goes through the production pipeline, so its prompter calls are counted, not estimated.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from ...devices import resolve_device
from .run import BenchPrompter, BenchSegmenter, _key, _peak_host_mb
from .timing import Clock, now
from .truth import GSD, OVERLAP, TILE, Truth, bench_geotiff, watch_reads

RUNS = {  # name -> SegmentOptions of that run
    "tiles": {"strategy": "tiles"},
    "overview": {"strategy": "overview", "refine": "sam"},
    "overview-prompter": {"strategy": "overview", "refine": "prompter"},
    "auto": {"strategy": "auto"},
}
FIELDS = 8


def make_scene(folder: Path, size: int, seed: int = 0) -> tuple[Path, np.ndarray]:
    """A ``size``² uint8 0.5 m GeoTIFF of fields (the truth, returned) among buildings (only in the image)."""
    rng = np.random.default_rng(seed)
    fields = np.zeros((size, size), bool)
    for _ in range(FIELDS):
        h, w = rng.integers(size // 20, size // 8, size=2)
        r, c = rng.integers(0, size - h), rng.integers(0, size - w)
        fields[r : r + h, c : c + w] = True
    image = np.full((size, size), 70, np.uint8)
    image[fields] = 150
    for _ in range(int(215 * (size * GSD / 1000) ** 2)):  # buildings, as in the Atlanta footprints
        r, c = rng.integers(0, size - 40, size=2)
        bh, bw = rng.integers(16, 44, size=2)
        image[r : r + bh, c : c + bw] = 230
    path = Path(folder) / f"scene_{size}px_0p5m.tif"
    with bench_geotiff(path, size, 1) as ds:
        ds.write(image, 1)
    return path, fields


def strategy_run(
    name: str, raster: Path, truth: Truth, prompter: BenchPrompter, segmenter: BenchSegmenter, tiles_limit: int
) -> dict:
    """One query through the pipeline with the strategy of ``RUNS[name]``. With ``tiles_limit`` the ``tiles`` run
    stops after that many tiles and its time is projected to the whole area (every tile costs the same)."""
    from ...models.embedding_cache import EmbeddingCache
    from ...pipeline import run
    from ...plan import RunStats, SegmentOptions, SegmentPlan

    # Each run encodes its own tiles: the process-wide cache would hand one run the embeddings of the one before.
    options = SegmentOptions(
        tile_size=TILE, overlap=OVERLAP, min_area_px=16, embedding_cache=EmbeddingCache(4 * 2**30), **RUNS[name]
    )
    plan = SegmentPlan(str(raster), "the large fields", options)
    watch_reads(plan.source, truth.windows, _key)
    stats = RunStats.for_plan(plan)
    done = 0

    def count(_report) -> None:
        nonlocal done
        done += 1

    limit = tiles_limit if name == "tiles" and tiles_limit else None
    started = now()
    features = list(run(plan, prompter, segmenter, stats, lambda: limit is not None and done >= limit, count))
    wall = now() - started
    area_km2 = plan.area.width * plan.area.height * GSD * GSD / 1e6
    read = sum(r.status not in ("skipped", "cancelled") for r in stats.reports)
    projected = limit is not None and read < plan.tiles_with_data
    if projected:
        wall = wall * plan.tiles_with_data / max(1, read)
    return {
        "name": name,
        "strategy": plan.choice.label,
        "reason": plan.choice.reason,
        "options": RUNS[name],
        "tiles": len(plan.tiles),
        "overview_cells": len(stats.overview),
        "tiles_read": plan.tiles_with_data if projected else read,
        "tiles_prompted": (plan.tiles_with_data if projected else stats.prompter_calls - len(stats.overview)),
        "prompter_calls": plan.tiles_with_data if projected else stats.prompter_calls,
        "features": None if projected else len(features),
        "wall_s": wall,
        "projected_from_tiles": read if projected else None,
        "area_km2": area_km2,
        "km2_per_h": area_km2 / wall * 3600,
        "first_polygon_s": stats.first_feature_s,
        "prompt_s": stats.timings.get("prompt", 0.0),
        "encode_s": stats.timings.get("encode", 0.0),
    }


def strategies_bench(
    size: int, prompter_size: str, segmenter_kind: str, tokens: int, device: str, tiles_limit: int, names: list[str]
) -> dict[str, Any]:
    """Build the models once, then run each strategy of ``names`` on one ``size``² raster."""
    import tempfile

    from .models import build_prompter, build_segmenter
    from .parts import machine_info

    device = resolve_device(device)
    report: dict[str, Any] = {
        "machine": machine_info(device),
        "settings": {"raster_px": size, "gsd_m": GSD, "tile": TILE, "overlap": OVERLAP, "tokens": tokens},
        "models": {},
        "runs": [],
    }
    with tempfile.TemporaryDirectory(prefix="think2map-bench-") as tmp:
        t0 = time.perf_counter()
        raster, fields = make_scene(Path(tmp), size)
        report["build_s"] = {"raster": time.perf_counter() - t0}
        truth = Truth(fields, instances_per_tile=16)
        t0 = time.perf_counter()
        inner_prompter, report["models"]["prompter"] = build_prompter(prompter_size, device, "fp32", Path(tmp))
        inner_segmenter, report["models"]["segmenter"] = build_segmenter(
            segmenter_kind, device, Path(tmp) if prompter_size == "tiny" else None
        )
        report["build_s"]["models"] = time.perf_counter() - t0
        prompter = BenchPrompter(inner_prompter, truth, tokens, Clock())
        segmenter = BenchSegmenter(inner_segmenter, truth)
        for name in names:
            report["runs"].append(strategy_run(name, raster, truth, prompter, segmenter, tiles_limit))
            print(format_strategies({"runs": report["runs"][-1:]}, header=False), flush=True)
    report["peak_host_mb"] = _peak_host_mb()
    return report


def format_strategies(report: dict, header: bool = True) -> str:
    """The runs as a Markdown table."""
    lines = []
    if header:
        lines += [
            "| run | strategy | prompter calls | tiles read | time | km²/h | first polygon | polygons |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
    for r in report["runs"]:
        projected = f" (projected from {r['projected_from_tiles']} tiles)" if r["projected_from_tiles"] else ""
        first = f"{r['first_polygon_s']:.0f} s" if r["first_polygon_s"] is not None else "–"
        polygons = r["features"] if r["features"] is not None else "–"
        wall = f"{r['wall_s'] / 60:.1f} min" if r["wall_s"] >= 60 else f"{r['wall_s']:.1f} s"
        lines.append(
            f"| {r['name']} | {r['strategy']} | {r['prompter_calls']} | {r['tiles_read']} of {r['tiles']} | "
            f"{wall}{projected} | {r['km2_per_h']:.2f} | {first} | {polygons} |"
        )
    return "\n".join(lines)
