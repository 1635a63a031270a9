"""Timing runs of the benchmark: each stage of the production pipeline, with the models of :mod:`.models`.

Every run goes through :func:`backend.pipeline.run` on a synthetic 0.5 m GeoTIFF, so reading, tiling, polygons
and seam merging are the production code. Stages are timed with CUDA synchronised.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...devices import is_cuda, resolve_device
from ...models.prompter import Prompter
from ...models.prompts import MODEL_IMAGE_SIZE, Instance, PromptResult, parse_answer
from ...models.segmenter import Segmenter
from .models import build_prompter, build_segmenter
from .parts import encode_bench, geometry_bench, machine_info, warm_up
from .timing import Clock, now, sync, token_clock
from .truth import GSD, OVERLAP, TILE, Truth, make_raster

KM2_PER_TILE = ((TILE - OVERLAP) * GSD) ** 2 / 1e6  # what each tile adds in a large area (its core)


# -- timing ---------------------------------------------------------------------------------------------
def _key(image: np.ndarray) -> str:
    return hashlib.blake2b(np.ascontiguousarray(image).tobytes(), digest_size=16).hexdigest()


class BenchPrompter(Prompter):
    """Runs the real prompter for its cost (prefill, exactly ``tokens`` decode steps), then answers the truth."""

    def __init__(self, inner, truth: Truth, tokens: int, clock: Clock, static_cache: bool = False):
        self.inner, self.truth, self.tokens, self.clock = inner, truth, tokens, clock
        self.name = getattr(inner, "name", "truth")
        self.static_cache = static_cache
        self.prompt_tokens: int | None = None
        self.batch_size = 1

    def prompt(self, images, query, tiles=None) -> list[PromptResult]:
        if self.inner is not None:
            for start in range(0, len(images), self.batch_size):
                self._generate(images[start : start + self.batch_size], query)
        out = []
        for image, tile in zip(images, tiles):
            w = tile.window
            window = (w.col_off, w.row_off, w.width, w.height)
            self.truth.windows[_key(image)] = window
            h, wd = image.shape[:2]
            text = self.truth.answer(window, (h, wd))
            out.append(parse_answer(text).scaled(wd / MODEL_IMAGE_SIZE, h / MODEL_IMAGE_SIZE))
        return out

    def _generate(self, images, query) -> None:
        from transformers import LogitsProcessorList

        with self.clock.stage("prep"):
            inputs = self.inner.prepare_inputs(images, query)
        self.prompt_tokens = int(inputs["input_ids"].shape[1])
        steps: list[float] = []
        extra: dict[str, Any] = {
            "max_new_tokens": self.tokens,
            "min_new_tokens": self.tokens,
            "logits_processor": LogitsProcessorList([token_clock(steps)]),
        }
        if self.static_cache:
            extra["cache_implementation"] = "static"
        t0 = now()
        self.inner.generate_from_inputs(inputs, **extra)
        t1 = now()
        self.clock.add("prefill", steps[0] - t0)
        self.clock.add("decode", t1 - steps[0])
        self.clock.add("generated_tokens", len(steps) * len(images))
        self.clock.add("decode_steps", len(steps) - 1)


class BenchSegmenter(Segmenter):
    """Runs the real SAM for its cost (encode, one decode per instance) but returns the truth inside the box."""

    def __init__(self, inner, truth: Truth):
        self.inner, self.truth = inner, truth
        self.name = getattr(inner, "name", "truth")
        self.device = getattr(inner, "device", "cpu")
        self.cache_id = getattr(inner, "cache_id", None) or f"truth:{id(self)}"
        self._window: tuple[int, int, int, int] | None = None
        self._by_embedding: dict[int, tuple[int, int, int, int]] = {}
        if inner is not None and hasattr(inner, "encode"):
            self.encode, self.set_embedding = self._encode, self._set_embedding

    def _encode(self, images):
        out = self.inner.encode(images)
        for image, emb in zip(images, out):
            self._by_embedding[id(emb)] = self.truth.windows[_key(image)]
        return out

    def _set_embedding(self, embedding) -> None:
        self.inner.set_embedding(embedding)
        self._window = self._by_embedding[id(embedding)]

    def set_image(self, image: np.ndarray) -> None:
        if self.inner is not None:
            self.inner.set_image(image)
        self._window = self.truth.windows[_key(image)]

    def predict(self, instance: Instance) -> tuple[np.ndarray, float]:
        if self.inner is not None:
            self.inner.predict(instance)
            sync()
        return self._truth_in_box(instance)

    def predict_many(self, instances: Sequence[Instance]) -> list[tuple[np.ndarray, float]]:
        if self.inner is not None:
            from ...models.segmenter import predict_all

            predict_all(self.inner, instances)
            sync()
        return [self._truth_in_box(instance) for instance in instances]

    def _truth_in_box(self, instance: Instance) -> tuple[np.ndarray, float]:
        truth = self.truth.window_truth(self._window)
        mask = np.zeros_like(truth)
        x1, y1, x2, y2 = instance.box
        r0, r1 = max(0, int(y1) - 2), min(truth.shape[0], math.ceil(y2) + 2)
        c0, c1 = max(0, int(x1) - 2), min(truth.shape[1], math.ceil(x2) + 2)
        mask[r0:r1, c0:c1] = truth[r0:r1, c0:c1]
        return mask, 0.9


# -- runs -----------------------------------------------------------------------------------------------
def _peak_host_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _gpu(device: str):
    if not is_cuda(device):
        return None
    import torch

    return torch


def pipeline_run(
    name: str,
    raster: Path,
    truth: Truth,
    prompter: BenchPrompter,
    segmenter: BenchSegmenter,
    device: str,
    batch_size: int,
    optimised: bool,
    cache=None,
) -> dict:
    """One query over the whole raster through the pipeline's ``run``; per-tile stage times and throughput."""
    from ...models.embedding_cache import EmbeddingCache
    from ...pipeline import run
    from ...plan import RunStats, SegmentOptions, SegmentPlan

    torch = _gpu(device)
    if torch is not None:
        torch.cuda.reset_peak_memory_stats()
    options = SegmentOptions(
        tile_size=TILE,
        overlap=OVERLAP,
        batch_size=batch_size,
        min_area_px=16,
        prefetch=optimised,
        batch_encoder=optimised,
        cache_embeddings=cache is not None,
        embedding_cache=cache if cache is not None else EmbeddingCache(0),
        cpu_threads=2 if optimised else 0,
    )
    prompter.clock.seconds.clear()
    prompter.batch_size = batch_size
    plan = SegmentPlan(str(raster), "buildings", options)
    stats = RunStats.for_plan(plan)
    started, cpu0 = now(), time.process_time()
    features = list(run(plan, prompter, segmenter, stats))
    wall, cpu = now() - started, time.process_time() - cpu0
    n = len(plan.tiles)
    t = dict(stats.timings)
    p = prompter.clock.seconds
    per_tile = {
        "read": t.get("read", 0.0) / n,
        "read_wait": t.get("read_wait", 0.0) / n,
        "polygons_wait": t.get("polygons_wait", 0.0) / n,
        "prompter_prep": p.get("prep", 0.0) / n,
        "prefill": p.get("prefill", 0.0) / n,
        "decode": p.get("decode", 0.0) / n,
        "prompter_total": t.get("prompt", 0.0) / n,
        "encode": t.get("encode", 0.0) / n,
        "decode_masks": t.get("decode_masks", 0.0) / n,
        "polygons": t.get("polygons", 0.0) / n,
        "merge": t.get("merge", 0.0) / n,
        "wall": wall / n,
    }
    cpu_side = per_tile["read"] + per_tile["polygons"] + per_tile["merge"]
    # What the main thread (the one driving the GPU) spent waiting for reads and polygons, or merging.
    cpu_wait = (t.get("read_wait", 0.0) + t.get("polygons_wait", 0.0) + t.get("merge", 0.0)) / n
    return {
        "name": name,
        "batch_size": batch_size,
        "optimised": optimised,
        "embedding_cache": cache is not None,
        "tiles": n,
        "features": len(features),
        "instances": sum(r.instances for r in stats.reports),
        "generated_tokens": int(p.get("generated_tokens", 0)),
        "prompt_tokens": prompter.prompt_tokens,
        # One decode step makes one token for every tile of the batch.
        "decode_s_per_step": p["decode"] / p["decode_steps"] if p.get("decode_steps") else None,
        "wall_s": wall,
        "cpu_s_per_tile": cpu / n,  # all threads of this process: robust to other load on the machine
        "per_tile_s": per_tile,
        "tiles_per_s": n / wall,
        "km2_per_h": n / wall * 3600 * KM2_PER_TILE,
        "first_polygon_s": stats.first_feature_s,
        "cpu_side_share": cpu_side / per_tile["wall"],
        "cpu_wait_share": cpu_wait / per_tile["wall"],
        "encoder_cache_hits": int(t.get("encode_cached", 0)),
        "peak_host_mb": _peak_host_mb(),
        "peak_gpu_mb": torch.cuda.max_memory_allocated() / 2**20 if torch is not None else None,
    }


def run_bench(args: argparse.Namespace, on_update: Callable[[dict], None] = lambda report: None) -> dict:
    """Build the models, run the plain path and the optimised ones, and return every figure."""
    import torch

    device = resolve_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    dtype = args.dtype or ("bf16" if is_cuda(device) else "fp32")
    batch_sizes = sorted({max(1, int(b)) for b in args.batch_sizes.split(",") if b.strip()})
    report: dict[str, Any] = {
        "command": "python -m backend " + " ".join(sys.argv[1:]),
        "machine": machine_info(device),
        "settings": {},
        "models": {},
        "build_s": {},
        "runs": [],
        "speedups": {},
    }
    report["settings"] = {
        "tiles": args.tiles,
        "tokens": args.tokens,
        "batch_sizes": batch_sizes,
        "dtype": dtype,
        "instances_per_tile": args.instances,
        "tile": TILE,
        "overlap": OVERLAP,
        "gsd_m": GSD,
        "km2_per_tile": KM2_PER_TILE,
        "static_cache": args.static_cache,
        "tiny": args.tiny,
    }
    with tempfile.TemporaryDirectory(prefix="think2map-bench-") as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        raster, mask = make_raster(tmp, args.tiles)
        report["build_s"]["raster"] = time.perf_counter() - t0
        truth = Truth(mask, args.instances)
        report["geometry"] = geometry_bench(raster, mask, repeats=3)
        report["peak_host_mb_before_models"] = _peak_host_mb()

        inner_prompter = None
        if not args.skip_prompter:
            t0 = time.perf_counter()
            size = "tiny" if args.tiny else args.prompter_size
            inner_prompter, report["models"]["prompter"] = build_prompter(size, device, dtype, tmp)
            report["build_s"]["prompter"] = time.perf_counter() - t0
        inner_segmenter = None
        if args.segmenter != "none":
            t0 = time.perf_counter()
            inner_segmenter, report["models"]["segmenter"] = build_segmenter(
                args.segmenter, device, tmp if args.tiny else None
            )
            report["build_s"]["segmenter"] = time.perf_counter() - t0
        report["peak_host_mb_after_models"] = _peak_host_mb()

        clock = Clock()
        prompter = BenchPrompter(inner_prompter, truth, args.tokens, clock, args.static_cache)
        segmenter = BenchSegmenter(inner_segmenter, truth)
        if inner_segmenter is not None and not args.plain_only:
            from ...geo.raster import PixelWindow, RasterSource

            with RasterSource(str(raster)) as src:
                images = [
                    src.read(PixelWindow(c, 0, TILE, TILE))[0] for c in range(0, src.width - TILE + 1, TILE - OVERLAP)
                ][: max(2, max(batch_sizes))]
            while len(images) < max(batch_sizes):
                images.append(images[len(images) % 2][:, ::-1].copy())
            report["sam_encode_s_per_tile"] = encode_bench(inner_segmenter, device, images, batch_sizes)
        if inner_prompter is not None and not args.no_warmup:
            report["warmup_s"] = warm_up(inner_prompter, mask, [1, *batch_sizes], args.tokens, args.static_cache)

        runs = report["runs"]
        runs.append(pipeline_run("plain", raster, truth, prompter, segmenter, device, 1, optimised=False))
        on_update(report)
        from ...models.embedding_cache import EmbeddingCache

        for b in [] if args.plain_only else batch_sizes:
            runs.append(pipeline_run(f"optimised-b{b}", raster, truth, prompter, segmenter, device, b, optimised=True))
            on_update(report)  # a run cut short keeps the batch sizes it finished
        if inner_segmenter is not None and hasattr(inner_segmenter, "encode") and not args.plain_only:
            cache = EmbeddingCache(8 * 2**30)
            b = batch_sizes[-1]
            runs.append(pipeline_run(f"cache-cold-b{b}", raster, truth, prompter, segmenter, device, b, True, cache))
            runs.append(pipeline_run(f"cache-warm-b{b}", raster, truth, prompter, segmenter, device, b, True, cache))
        plain = runs[0]["wall_s"]
        for r in runs[1:]:
            report["speedups"][f"{r['name']}_vs_plain"] = plain / r["wall_s"]
        if len(runs) > 2 and runs[-1]["name"].startswith("cache-warm"):
            report["speedups"]["cache_warm_vs_cold"] = runs[-2]["wall_s"] / runs[-1]["wall_s"]
    report["peak_host_mb"] = _peak_host_mb()
    return report
