"""``python -m backend bench``: real-size models with random weights, timed stage by stage through the pipeline.

Random weights cost the same compute as trained ones, so the figures hold for the real checkpoints, with two
stand-ins that keep the work realistic: the prompter is forced to write exactly ``--tokens`` tokens (EOS is
suppressed), and the instances handed to SAM, and the masks handed to the geometry code, come from a known
truth (synthetic building footprints) instead of the random models' meaningless output. SAM still encodes
every tile and decodes every instance for real; only its mask is swapped for the truth inside the box.

Every run goes through :meth:`backend.pipeline.Segmentation.run` on a synthetic 0.5 m GeoTIFF, so reading,
tiling, polygons and seam merging are the production code. Stages are timed with CUDA synchronised.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import resource
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .devices import is_cuda, resolve_device
from .prompts import MODEL_IMAGE_SIZE, Instance, PromptResult, parse_answer

# Qwen2.5-VL-3B-Instruct's published configuration (environment-notes.md).
QWEN_VOCAB = 151936
QWEN_SPECIAL_IDS = {
    "<|endoftext|>": 151643,
    "<|im_start|>": 151644,
    "<|im_end|>": 151645,
    "<|object_ref_start|>": 151646,
    "<|object_ref_end|>": 151647,
    "<|box_start|>": 151648,
    "<|box_end|>": 151649,
    "<|quad_start|>": 151650,
    "<|quad_end|>": 151651,
    "<|vision_start|>": 151652,
    "<|vision_end|>": 151653,
    "<|vision_pad|>": 151654,
    "<|image_pad|>": 151655,
    "<|video_pad|>": 151656,
}
# size -> (text layers, vision blocks, vision full-attention blocks); widths are always the 3B's.
PROMPTER_SIZES = {
    "full": (36, 32, [7, 15, 23, 31]),
    "quarter": (9, 8, [7]),  # a quarter of the depth at full width: per-layer costs are the 3B's
}
SEGMENTERS = ("sam2.1-small", "sam-vit-b", "none")
TILE, OVERLAP, GSD = 840, 128, 0.5
KM2_PER_TILE = ((TILE - OVERLAP) * GSD) ** 2 / 1e6  # what each tile adds in a large area (its core)
BUILDINGS_PER_KM2 = 215  # as in the Atlanta footprints of the test data (43 in 0.2 km²)


# -- models ---------------------------------------------------------------------------------------------
def qwen_3b_config(text_layers: int = 36, vision_depth: int = 32, fullatt: Sequence[int] = (7, 15, 23, 31)):
    """Qwen2.5-VL-3B's configuration, optionally with fewer layers (same widths)."""
    from .tiny import qwen_vl_config

    return qwen_vl_config(QWEN_SPECIAL_IDS, QWEN_VOCAB, hidden=2048, intermediate=11008, layers=text_layers, heads=16,
                          kv_heads=2, mrope=(16, 24, 24),
                          vision={"depth": vision_depth, "hidden_size": 1280, "intermediate_size": 3420,
                                  "num_heads": 16, "fullatt_block_indexes": list(fullatt)})


def build_qwen_tokenizer():
    """A local byte-level BPE whose special tokens have Qwen2.5's real ids, in a vocabulary of Qwen's size.

    The BPE is trained on the prompt format (as the tiny models' is); unreachable filler entries take the ids
    up to Qwen's first special token, so every id the model reads or writes means what it does in Qwen.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    from .tiny import QWEN_CHAT_TEMPLATE, build_tiny_tokenizer

    trained = json.loads(build_tiny_tokenizer().backend_tokenizer.to_str())["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in trained["merges"]]
    vocab = {}
    for token in sorted(trained["vocab"], key=trained["vocab"].get):
        if token not in QWEN_SPECIAL_IDS:
            vocab[token] = len(vocab)
    first_special = min(QWEN_SPECIAL_IDS.values())
    for i in range(len(vocab), first_special):
        vocab[f"<|filler_{i}|>"] = i
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(sorted(QWEN_SPECIAL_IDS, key=QWEN_SPECIAL_IDS.get))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                   padding_side="left")
    fast.chat_template = QWEN_CHAT_TEMPLATE
    for token, expected in QWEN_SPECIAL_IDS.items():
        if fast.convert_tokens_to_ids(token) != expected:
            raise RuntimeError(f"tokenizer: {token} got id {fast.convert_tokens_to_ids(token)}, not {expected}")
    return fast


def build_prompter(size: str, device: str, dtype_name: str, tiny_dir: Path | None = None):
    """A random-weight Qwen2.5-VL prompter: ``full`` (3B), ``quarter`` or ``tiny``; returns (prompter, info)."""
    import torch

    from .prompter import Think2SegPrompter

    dtype = {"bf16": torch.bfloat16, "fp32": torch.float32, "fp16": torch.float16}[dtype_name]
    if size == "tiny":
        from .prompter import load_prompter
        from .tiny import build_tiny_prompter

        prompter = load_prompter(build_tiny_prompter(tiny_dir / "tiny-think2seg"), device=device)
        prompter.model.to(dtype)
    else:
        from transformers import Qwen2_5_VLForConditionalGeneration, Qwen2_5_VLProcessor
        from transformers.models.qwen2_vl.image_processing_qwen2_vl import Qwen2VLImageProcessor
        from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor

        text_layers, depth, fullatt = PROMPTER_SIZES[size]
        config = qwen_3b_config(text_layers, depth, fullatt)
        tokenizer = build_qwen_tokenizer()
        # The published processor settings: 840×840 gives 60×60 patches of 14 px, merged 2×2: 900 tokens.
        processor = Qwen2_5_VLProcessor(image_processor=Qwen2VLImageProcessor(), tokenizer=tokenizer,
                                        video_processor=Qwen2VLVideoProcessor(), chat_template=tokenizer.chat_template)
        torch.manual_seed(0)
        with torch.device(device):
            model = Qwen2_5_VLForConditionalGeneration._from_config(config, dtype=dtype, attn_implementation="sdpa")
        model.eval()
        gc = model.generation_config
        gc.eos_token_id, gc.pad_token_id, gc.bos_token_id = (QWEN_SPECIAL_IDS["<|im_end|>"],
                                                             QWEN_SPECIAL_IDS["<|endoftext|>"],
                                                             QWEN_SPECIAL_IDS["<|endoftext|>"])
        gc.do_sample = False
        prompter = Think2SegPrompter.from_loaded(processor, model, f"qwen2.5-vl-3b-{size}-random", device)
    model = prompter.model
    info = {
        "size": size,
        "parameters": sum(p.numel() for p in model.parameters()),
        "dtype": str(next(model.parameters()).dtype).replace("torch.", ""),
        "attn_implementation": getattr(model.config, "_attn_implementation", None),
        "vocab_size": model.config.text_config.vocab_size,
    }
    return prompter, info


def build_segmenter(kind: str, device: str, tiny_dir: Path | None = None):
    """A random-weight SAM 2.1-small or SAM ViT-B (tiny versions with ``tiny_dir``); returns (segmenter, info)."""
    import torch

    from .segmenter import Sam2Segmenter, SamSegmenter

    if tiny_dir is not None:
        from .segmenter import load_segmenter
        from .tiny import build_tiny_sam, build_tiny_sam2

        build = build_tiny_sam2 if kind == "sam2.1-small" else build_tiny_sam
        seg = load_segmenter(build(tiny_dir / f"tiny-{kind}"), device=device)
    elif kind == "sam2.1-small":
        import warnings

        from sam2.build_sam import build_sam2

        torch.manual_seed(0)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=FutureWarning)
            model = build_sam2("configs/sam2.1/sam2.1_hiera_s.yaml", ckpt_path=None, device=device)
        seg = Sam2Segmenter(model.eval(), device, "sam2.1_hiera_small-random")
    else:
        from segment_anything import sam_model_registry

        torch.manual_seed(0)
        seg = SamSegmenter(sam_model_registry["vit_b"](checkpoint=None).to(device).eval(), device, "sam_vit_b-random")
    model = getattr(seg.predictor, "model", None)
    return seg, {"kind": kind, "name": seg.name, "parameters": sum(p.numel() for p in model.parameters())}


# -- timing ---------------------------------------------------------------------------------------------
def _sync() -> None:
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


def _now() -> float:
    _sync()
    return time.perf_counter()


@dataclass
class Clock:
    """Stage seconds summed over a run."""

    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str):
        t0 = _now()
        try:
            yield
        finally:
            self.add(name, _now() - t0)

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds


def _key(image: np.ndarray) -> str:
    return hashlib.blake2b(np.ascontiguousarray(image).tobytes(), digest_size=16).hexdigest()


class Truth:
    """The synthetic raster's building footprints, and the answers a perfect prompter would write."""

    def __init__(self, mask: np.ndarray, instances_per_tile: int):
        from scipy import ndimage

        self.mask = mask
        self.labels, _ = ndimage.label(mask)
        self.instances = instances_per_tile
        self.windows: dict[str, tuple[int, int, int, int]] = {}

    def window_truth(self, window: tuple[int, int, int, int]) -> np.ndarray:
        c, r, w, h = window
        return self.mask[r:r + h, c:c + w]

    def answer(self, window: tuple[int, int, int, int]) -> str:
        """The largest ``instances`` buildings of the window, as Think2Seg-RS writes them (840×840 frame)."""
        from scipy import ndimage

        c, r, w, h = window
        labels = self.labels[r:r + h, c:c + w]
        sx, sy = MODEL_IMAGE_SIZE / w, MODEL_IMAGE_SIZE / h
        ids, counts = np.unique(labels[labels > 0], return_counts=True)
        keep = set(ids[np.argsort(-counts)][: self.instances].tolist())
        items = []
        for i, sl in enumerate(ndimage.find_objects(labels), start=1):
            if sl is None or i not in keep:
                continue
            ys, xs = np.nonzero(labels[sl] == i)
            pts = [[round((sl[1].start + xs[k] + 0.5) * sx), round((sl[0].start + ys[k] + 0.5) * sy)]
                   for k in (len(ys) // 3, 2 * len(ys) // 3)]
            box = [round(sl[1].start * sx), round(sl[0].start * sy), round(sl[1].stop * sx), round(sl[0].stop * sy)]
            items.append({"bbox_2d": box, "positive_points": pts})
        return f"<think>{len(items)} buildings</think>\n<answer>```json{json.dumps(items)}```</answer>"


def _token_clock(clock_times: list[float]):
    from transformers import LogitsProcessor

    class StepClock(LogitsProcessor):
        """Called once per generated token, after that step's forward pass: the first call ends the prefill.

        Only that first call waits for the GPU; later ones must not, or every step would lose the overlap of
        the CPU queueing kernels with the GPU running them.
        """

        def __call__(self, input_ids, scores):
            clock_times.append(time.perf_counter() if clock_times else _now())
            return scores

    return StepClock()


class BenchPrompter:
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
                self._generate(images[start:start + self.batch_size], query)
        out = []
        for image, tile in zip(images, tiles):
            w = tile.window
            window = (w.col_off, w.row_off, w.width, w.height)
            self.truth.windows[_key(image)] = window
            h, wd = image.shape[:2]
            out.append(parse_answer(self.truth.answer(window)).scaled(wd / MODEL_IMAGE_SIZE, h / MODEL_IMAGE_SIZE))
        return out

    def _generate(self, images, query) -> None:
        from transformers import LogitsProcessorList

        with self.clock.stage("prep"):
            inputs = self.inner.prepare_inputs(images, query)
        self.prompt_tokens = int(inputs["input_ids"].shape[1])
        steps: list[float] = []
        extra: dict[str, Any] = {"max_new_tokens": self.tokens, "min_new_tokens": self.tokens,
                                 "logits_processor": LogitsProcessorList([_token_clock(steps)])}
        if self.static_cache:
            extra["cache_implementation"] = "static"
        t0 = _now()
        self.inner.generate_from_inputs(inputs, **extra)
        t1 = _now()
        self.clock.add("prefill", steps[0] - t0)
        self.clock.add("decode", t1 - steps[0])
        self.clock.add("generated_tokens", len(steps) * len(images))
        self.clock.add("decode_steps", len(steps) - 1)


class BenchSegmenter:
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
            _sync()
        return self._truth_in_box(instance)

    def predict_many(self, instances: Sequence[Instance]) -> list[tuple[np.ndarray, float]]:
        if self.inner is not None:
            from .segmenter import predict_all

            predict_all(self.inner, instances)
            _sync()
        return [self._truth_in_box(instance) for instance in instances]

    def _truth_in_box(self, instance: Instance) -> tuple[np.ndarray, float]:
        truth = self.truth.window_truth(self._window)
        mask = np.zeros_like(truth)
        x1, y1, x2, y2 = instance.box
        r0, r1 = max(0, int(y1) - 2), min(truth.shape[0], math.ceil(y2) + 2)
        c0, c1 = max(0, int(x1) - 2), min(truth.shape[1], math.ceil(x2) + 2)
        mask[r0:r1, c0:c1] = truth[r0:r1, c0:c1]
        return mask, 0.9


# -- data -----------------------------------------------------------------------------------------------
def _grid(tiles: int) -> tuple[int, int]:
    cols = math.ceil(math.sqrt(tiles))
    while tiles % cols:
        cols += 1
    return tiles // cols, cols


def make_raster(folder: Path, tiles: int, seed: int = 0) -> tuple[Path, np.ndarray]:
    """A uint16 0.5 m GeoTIFF laid out as exactly ``tiles`` 840-pixel tiles, with rotated building footprints."""
    import rasterio
    import shapely
    from rasterio.features import rasterize
    from rasterio.transform import from_origin
    from scipy import ndimage

    rows, cols = _grid(tiles)
    h, w = TILE + (rows - 1) * (TILE - OVERLAP), TILE + (cols - 1) * (TILE - OVERLAP)
    rng = np.random.default_rng(seed)
    n = max(1, round(BUILDINGS_PER_KM2 * h * w * GSD * GSD / 1e6))
    shapes = []
    for _ in range(n):
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        bw, bh = rng.uniform(16, 44, size=2)  # 8-22 m sides
        rect = shapely.box(-bw / 2, -bh / 2, bw / 2, bh / 2)
        if rng.random() < 0.3:  # some L-shaped houses
            rect = rect.difference(shapely.box(0, 0, bw / 2, bh / 2))
        angle = rng.uniform(0, 90)
        shapes.append(shapely.affinity.translate(shapely.affinity.rotate(rect, angle, origin=(0, 0)), cx, cy))
    truth = rasterize(((g, 1) for g in shapes), out_shape=(h, w), dtype="uint8").astype(bool)
    ground = ndimage.gaussian_filter(rng.normal(0, 1, (h, w)).astype(np.float32), 3) * 2000 + 12000
    image = np.where(truth, 30000, ground) + rng.normal(0, 300, (h, w))
    path = Path(folder) / f"bench_{rows}x{cols}_0p5m.tif"
    with rasterio.open(path, "w", driver="GTiff", width=w, height=h, count=1, dtype="uint16", crs="EPSG:32616",
                       transform=from_origin(740000, 3740000, GSD, GSD), tiled=True, blockxsize=256,
                       blockysize=256) as ds:
        ds.write(np.clip(image, 0, 65535).astype(np.uint16), 1)
    return path, truth


# -- runs -----------------------------------------------------------------------------------------------
def _peak_host_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _gpu(device: str):
    if not is_cuda(device):
        return None
    import torch

    return torch


def pipeline_run(name: str, raster: Path, truth: Truth, prompter: BenchPrompter, segmenter: BenchSegmenter,
                 device: str, batch_size: int, optimised: bool, cache=None) -> dict:
    """One query over the whole raster through ``Segmentation.run``; per-tile stage times and throughput."""
    from .embedding_cache import EmbeddingCache
    from .pipeline import Segmentation, SegmentOptions

    torch = _gpu(device)
    if torch is not None:
        torch.cuda.reset_peak_memory_stats()
    options = SegmentOptions(tile_size=TILE, overlap=OVERLAP, batch_size=batch_size, min_area_px=16,
                             prefetch=optimised, batch_encoder=optimised, cache_embeddings=cache is not None,
                             embedding_cache=cache if cache is not None else EmbeddingCache(0),
                             cpu_threads=2 if optimised else 0)
    prompter.clock.seconds.clear()
    prompter.batch_size = batch_size
    job = Segmentation(str(raster), "buildings", options)
    started, cpu0 = _now(), time.process_time()
    features = list(job.run(prompter, segmenter))
    wall, cpu = _now() - started, time.process_time() - cpu0
    n = len(job.tiles)
    t = dict(job.timings)
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
        "instances": sum(r.instances for r in job.reports),
        "generated_tokens": int(p.get("generated_tokens", 0)),
        "prompt_tokens": prompter.prompt_tokens,
        # One decode step makes one token for every tile of the batch.
        "decode_s_per_step": p["decode"] / p["decode_steps"] if p.get("decode_steps") else None,
        "wall_s": wall,
        "cpu_s_per_tile": cpu / n,  # all threads of this process: robust to other load on the machine
        "per_tile_s": per_tile,
        "tiles_per_s": n / wall,
        "km2_per_h": n / wall * 3600 * KM2_PER_TILE,
        "first_polygon_s": job.first_feature_s,
        "cpu_side_share": cpu_side / per_tile["wall"],
        "cpu_wait_share": cpu_wait / per_tile["wall"],
        "encoder_cache_hits": int(t.get("encode_cached", 0)),
        "peak_host_mb": _peak_host_mb(),
        "peak_gpu_mb": torch.cuda.max_memory_allocated() / 2**20 if torch is not None else None,
    }


def geometry_bench(raster: Path, truth: np.ndarray, repeats: int = 1) -> dict:
    """The geometry path alone on every tile's full truth mask: mask -> polygons -> merge -> map coordinates.

    Reports thread CPU seconds per 840×840 tile (what a CPU core spends), and wall seconds.
    """
    from affine import Affine

    from .geometry import SeamMerger, finish_geometry, grid_neighbours, tile_pieces
    from .raster import PixelWindow
    from .tiling import tile_grid

    h, w = truth.shape
    tiles = tile_grid(PixelWindow(0, 0, w, h), w, h, TILE, OVERLAP)
    neighbours = grid_neighbours(tiles)
    cpu = {"polygons": 0.0, "merge": 0.0}
    first = tiles[0].window  # warm-up: the first call pays one-off costs (imports, GDAL drivers)
    tile_pieces(tiles[0], [truth[first.row_off:first.row_end, first.col_off:first.col_end]], [0.9], None,
                neighbours[0], min_hole_px=16)
    wall0 = time.perf_counter()
    cpu0 = time.thread_time()
    pieces_n = objects_n = 0
    for _ in range(repeats):
        merger = SeamMerger()
        for t in tiles:
            win = t.window
            mask = truth[win.row_off:win.row_end, win.col_off:win.col_end]
            c0 = time.thread_time()
            pieces = tile_pieces(t, [mask], [0.9], None, neighbours[t.index], min_hole_px=16)
            c1 = time.thread_time()
            objs = merger.add_tile(t.index, pieces)
            done = [finish_geometry(o.geometry, Affine.identity(), 1.0, 16) for o in objs]
            cpu["polygons"] += c1 - c0
            cpu["merge"] += time.thread_time() - c1
            pieces_n += len(pieces)
            objects_n += len(done)
        for o in merger.flush():
            finish_geometry(o.geometry, Affine.identity(), 1.0, 16)
    n = len(tiles) * repeats
    total_cpu = time.thread_time() - cpu0
    return {
        "tiles": n,
        "buildings_per_tile": pieces_n / n,
        "cpu_s_per_tile": total_cpu / n,
        "polygons_cpu_s_per_tile": cpu["polygons"] / n,
        "merge_cpu_s_per_tile": (total_cpu - cpu["polygons"]) / n,
        "wall_s_per_tile": (time.perf_counter() - wall0) / n,
    }


def encode_bench(segmenter, device: str, images: list[np.ndarray], batch_sizes: Sequence[int]) -> dict:
    """SAM image-encoder seconds per 840×840 tile, one at a time (``set_image``) and batched (``encode``)."""
    out = {}
    segmenter.set_image(images[0])  # warm-up (allocations, lazy inits)
    t0, c0 = _now(), time.process_time()
    for image in images:
        segmenter.set_image(image)
    out["set_image"] = (_now() - t0) / len(images)
    out["set_image_cpu"] = (time.process_time() - c0) / len(images)
    for b in batch_sizes:
        if b <= 1 or not hasattr(segmenter, "encode"):
            continue
        t0, c0 = _now(), time.process_time()
        for i in range(0, len(images), b):
            segmenter.encode(images[i:i + b])
        out[f"batch_{b}"] = (_now() - t0) / len(images)
        out[f"batch_{b}_cpu"] = (time.process_time() - c0) / len(images)
    return out


def warm_up(prompter, mask: np.ndarray, batch_sizes: Sequence[int], tokens: int, static_cache: bool) -> dict:
    """One full-length generate per batch size before anything is timed; returns its seconds per batch size.

    The first generate of a shape pays one-off costs that a backend kept warm pays once (the CUDA allocator
    growing its pool, kernel selection, and with a static cache the compilation), so they are reported apart.
    """
    image = mask[:TILE, :TILE, None].repeat(3, 2).astype(np.uint8) * 255
    extra = {"cache_implementation": "static"} if static_cache else {}
    out = {}
    for b in sorted(set(batch_sizes)):
        t0 = _now()
        prompter.generate_from_inputs(prompter.prepare_inputs([image] * b, "buildings"), max_new_tokens=tokens,
                                      min_new_tokens=tokens, **extra)
        out[str(b)] = _now() - t0
    return out


def machine_info(device: str) -> dict:
    import torch

    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {
        "cpu": cpu,
        "nproc": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "device": device,
    }
    try:
        import transformers

        info["transformers"] = transformers.__version__
    except ImportError:
        pass
    if is_cuda(device):
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def run_bench(args: argparse.Namespace) -> dict:
    """Build the models, run the plain path and the optimised ones, and return every figure."""
    import torch

    device = resolve_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    dtype = args.dtype or ("bf16" if is_cuda(device) else "fp32")
    batch_sizes = sorted({max(1, int(b)) for b in args.batch_sizes.split(",") if b.strip()})
    report: dict[str, Any] = {"command": "python -m backend " + " ".join(sys.argv[1:]),
                              "machine": machine_info(device), "settings": {}, "models": {}, "build_s": {},
                              "runs": [], "speedups": {}}
    report["settings"] = {"tiles": args.tiles, "tokens": args.tokens, "batch_sizes": batch_sizes, "dtype": dtype,
                          "instances_per_tile": args.instances, "tile": TILE, "overlap": OVERLAP, "gsd_m": GSD,
                          "km2_per_tile": KM2_PER_TILE, "static_cache": args.static_cache, "tiny": args.tiny}
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
            inner_segmenter, report["models"]["segmenter"] = build_segmenter(args.segmenter, device,
                                                                             tmp if args.tiny else None)
            report["build_s"]["segmenter"] = time.perf_counter() - t0
        report["peak_host_mb_after_models"] = _peak_host_mb()

        clock = Clock()
        prompter = BenchPrompter(inner_prompter, truth, args.tokens, clock, args.static_cache)
        segmenter = BenchSegmenter(inner_segmenter, truth)
        if inner_segmenter is not None and not args.plain_only:
            from .raster import PixelWindow, RasterSource

            with RasterSource(str(raster)) as src:
                images = [src.read(PixelWindow(c, 0, TILE, TILE))[0]
                          for c in range(0, src.width - TILE + 1, TILE - OVERLAP)][: max(2, max(batch_sizes))]
            while len(images) < max(batch_sizes):
                images.append(images[len(images) % 2][:, ::-1].copy())
            report["sam_encode_s_per_tile"] = encode_bench(inner_segmenter, device, images, batch_sizes)
        if inner_prompter is not None and not args.no_warmup:
            report["warmup_s"] = warm_up(inner_prompter, mask, [1, *batch_sizes], args.tokens, args.static_cache)

        runs = report["runs"]
        runs.append(pipeline_run("plain", raster, truth, prompter, segmenter, device, 1, optimised=False))
        from .embedding_cache import EmbeddingCache

        for b in [] if args.plain_only else batch_sizes:
            runs.append(pipeline_run(f"optimised-b{b}", raster, truth, prompter, segmenter, device, b, optimised=True))
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


STAGES = ("read", "prompter_prep", "prefill", "decode", "encode", "decode_masks", "polygons", "merge", "wall")


def _figure(value: float) -> str:
    """A table cell: whole numbers from 1000 up, four significant figures below."""
    return f"{value:.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def format_table(report: dict) -> str:
    """The runs as a text table: seconds per tile by stage, throughput and memory."""
    head = f"{'run':<18}" + "".join(f"{s:>14}" for s in STAGES) + f"{'CPU s':>9}{'tiles/s':>9}{'km2/h':>9}" \
        f"{'1st poly':>9}{'cpu%':>6}{'wait%':>6}{'host MB':>9}{'GPU MB':>8}"
    lines = ["seconds per tile by stage (summed over the run, divided by its tiles; stages may overlap; "
             "CPU s: process CPU time per tile, all threads; cpu%: read + polygons + merge work as a share of the "
             "wall time; wait%: the GPU-driving thread waiting on that work):", head]
    for r in report["runs"]:
        p = r["per_tile_s"]
        gpu = f"{r['peak_gpu_mb']:.0f}" if r["peak_gpu_mb"] is not None else "-"
        first = f"{r['first_polygon_s']:.2f}" if r["first_polygon_s"] is not None else "-"
        lines.append(f"{r['name']:<18}" + "".join(f"{p[s]:>14.4f}" for s in STAGES) + f"{r['cpu_s_per_tile']:>9.3f}"
                     + f"{_figure(r['tiles_per_s']):>9}{_figure(r['km2_per_h']):>9}{first:>9}"
                     + f"{100 * r['cpu_side_share']:>6.1f}"
                     + f"{100 * r['cpu_wait_share']:>6.1f}"
                     + f"{r['peak_host_mb']:>9.0f}{gpu:>8}")
    g = report["geometry"]
    lines.append(f"geometry path (mask -> polygons -> merge) on the full truth: {g['cpu_s_per_tile']:.4f} CPU s per "
                 f"840x840 tile ({g['buildings_per_tile']:.1f} building pieces per tile)")
    if "sam_encode_s_per_tile" in report:
        enc = ", ".join(f"{k} {v:.3f} s" for k, v in report["sam_encode_s_per_tile"].items())
        lines.append(f"SAM encoder per 840x840 tile ({report['models']['segmenter']['name']}): {enc}")
    for k, v in report["speedups"].items():
        lines.append(f"speed-up {k}: {v:.2f}x")
    if "warmup_s" in report:
        lines.append("first generate of each batch size (one-off costs, not in the runs above): "
                     + ", ".join(f"b{k} {v:.1f} s" for k, v in report["warmup_s"].items()))
    return "\n".join(lines)


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``bench`` on the CLI's subparsers."""
    p = subparsers.add_parser(
        "bench", help="time every stage with real-size random-weight models",
        description="Real-size models with RANDOM weights (Qwen2.5-VL-3B's published config, SAM 2.1-small or "
        "SAM ViT-B), a synthetic 0.5 m raster, and the production pipeline: seconds per tile by stage, tiles/s, "
        "km²/h, time to the first polygon, peak memory, and the speed-up of each optimisation.")
    p.add_argument("--device", default="auto", help="auto (CUDA if present), cpu, cuda or cuda:N")
    p.add_argument("--batch-sizes", default="1,4", help="tiles per batch to compare (default 1,4)")
    p.add_argument("--tokens", type=int, default=160, help="tokens the prompter must generate per tile (160)")
    p.add_argument("--tiles", type=int, default=8, help="tiles in the synthetic raster (default 8)")
    p.add_argument("--instances", type=int, default=8, help="instances per tile sent to SAM (default 8)")
    p.add_argument("--prompter-size", choices=sorted(PROMPTER_SIZES), default="full",
                   help="full: Qwen2.5-VL-3B; quarter: a quarter of its layers at full width (default full)")
    p.add_argument("--skip-prompter", action="store_true", help="no prompter: time the rest of the pipeline")
    p.add_argument("--segmenter", choices=SEGMENTERS, default="sam2.1-small", help="default sam2.1-small")
    p.add_argument("--dtype", choices=("bf16", "fp16", "fp32"), help="prompter dtype (default: bf16 on CUDA, fp32)")
    p.add_argument("--static-cache", action="store_true", help="generate with a static KV cache")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--no-warmup", action="store_true", help="skip the prompter's warm-up generate")
    p.add_argument("--plain-only", action="store_true",
                   help="only the plain path (one tile at a time, no threads, no cache): for slow, large models")
    p.add_argument("--tiny", action="store_true", help="tiny models instead (a smoke test of this command)")
    p.add_argument("-o", "--output", help="write every figure to this JSON file")
    p.set_defaults(handler=run)
    return p


def run(args: argparse.Namespace) -> int:
    """The ``bench`` command."""
    report = run_bench(args)
    print(format_table(report))
    if args.output:
        Path(args.output).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"figures written to {args.output}", file=sys.stderr)
    return 0
