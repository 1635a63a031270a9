"""Batched model work shared by the pipeline and the evaluator: prompt, encode, then predict.

The prompter reads several images in one ``generate()``; a GPU that runs out of memory halves the batch and
tries again. The SAM encoder is batched on CUDA only (on the CPU batches measured slower). A failure is a
result with status ``error``, never an exception that loses the other images of the batch.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

import numpy as np

from ..devices import free_gpu_memory, is_cuda, is_oom
from .embedding_cache import EmbeddingCache
from .prompter import Prompter
from .prompts import Instance, PromptResult
from .segmenter import Embedding, Segmenter, predict_all, supports_encoding

log = logging.getLogger(__name__)


@dataclass
class BatchSize:
    """The number of images per prompter call; shrinks (and stays shrunk) when the GPU runs out of memory."""

    size: int

    def __post_init__(self) -> None:
        self.size = max(1, int(self.size))

    def halve(self) -> bool:
        """Halve the size; False when it is already 1."""
        if self.size <= 1:
            return False
        self.size = max(1, self.size // 2)
        return True


def prompt_images(
    prompter: Prompter,
    images: Sequence[np.ndarray],
    queries: str | Sequence[str],
    batch: BatchSize,
    tiles: Sequence | None = None,
) -> list[PromptResult]:
    """One result per image, ``batch.size`` images per call; a failing call gives ``error`` results."""
    queries = [queries] * len(images) if isinstance(queries, str) else list(queries)
    out: list[PromptResult] = []
    i = 0
    while i < len(images):
        n = batch.size
        chunk = slice(i, i + n)
        chunk_tiles = list(tiles[chunk]) if tiles is not None else None
        try:
            results = prompter.prompt(list(images[chunk]), _one_or_many(queries[chunk]), tiles=chunk_tiles)
        except Exception as exc:  # one failing batch must not lose the job
            if is_oom(exc):
                free_gpu_memory()
                if batch.halve():
                    log.warning("GPU out of memory: retrying with batches of %d images", batch.size)
                    continue
                results = [PromptResult.failure(OOM_MESSAGE)] * len(images[chunk])
            elif len(images[chunk]) > 1:
                log.warning("a prompter batch failed (%s); retrying its images one by one", exc)
                results = [
                    _prompt_one(prompter, image, query, tile)
                    for image, query, tile in zip(images[chunk], queries[chunk], chunk_tiles or [None] * n)
                ]
            else:
                log.exception("prompter failed")
                results = [PromptResult.failure(f"prompter failed: {type(exc).__name__}: {exc}")]
        out.extend(results)
        i += n
    return out


def _one_or_many(queries: list[str]) -> str | list[str]:
    """One query when the images share it (what most prompters are asked), else one per image."""
    return queries[0] if len(set(queries)) == 1 else queries


OOM_MESSAGE = "GPU out of memory even with one tile per batch: try a smaller tile size"


def _prompt_one(prompter: Prompter, image: np.ndarray, query: str, tile) -> PromptResult:
    try:
        return prompter.prompt([image], query, tiles=None if tile is None else [tile])[0]
    except Exception as exc:  # noqa: BLE001 - recorded on the image, the others go on
        if is_oom(exc):
            free_gpu_memory()
            return PromptResult.failure(OOM_MESSAGE)
        log.exception("prompter failed")
        return PromptResult.failure(f"prompter failed: {type(exc).__name__}: {exc}")


def encode_images(
    segmenter: Segmenter,
    images: Sequence[np.ndarray],
    batch_size: int,
    cache: EmbeddingCache | None = None,
    keys: Sequence[Hashable] | None = None,
) -> tuple[list[Embedding | None], int]:
    """SAM embeddings of ``images``, from ``cache`` (by ``keys``) where present, else encoded and cached; and
    how many came from the cache.

    Batches of ``batch_size`` on CUDA, one image at a time on the CPU. ``None`` for every image when the
    segmenter cannot encode ahead, or when encoding fails (the caller then sets the image itself).
    """
    out: list[Embedding | None] = [None] * len(images)
    if not supports_encoding(segmenter) or not images:
        return out, 0
    missing = []
    for i in range(len(images)):
        hit = cache.get(keys[i]) if cache is not None and keys is not None else None
        if hit is not None:
            out[i] = hit
        else:
            missing.append(i)
    step = max(1, batch_size) if is_cuda(segmenter.device) else 1
    try:
        for start in range(0, len(missing), step):
            chunk = missing[start : start + step]
            for i, embedding in zip(chunk, segmenter.encode([images[i] for i in chunk])):
                out[i] = embedding
                if cache is not None and keys is not None:
                    cache.put(keys[i], embedding)
            if cache is not None:
                cache.note_encoded(len(chunk))
    except Exception as exc:  # the images are encoded one by one later
        if is_oom(exc):
            free_gpu_memory()
        log.warning("batched SAM encoding failed (%s: %s); encoding image by image", type(exc).__name__, exc)
    return out, len(images) - len(missing)


def predict_masks(
    segmenter: Segmenter,
    image: np.ndarray,
    instances: Sequence[Instance],
    embedding: Embedding | None = None,
    on_stage: Callable[[str, float], None] | None = None,
) -> list[tuple[np.ndarray, float]]:
    """A mask and a score per instance of ``image``: from ``embedding`` when given, else encoding the image once.

    Nothing is encoded when there are no instances. ``on_stage`` is told the seconds of "encode" (setting the
    image or the embedding) and "decode_masks".
    """
    if not instances:
        return []
    t0 = time.perf_counter()
    if embedding is not None and supports_encoding(segmenter):
        segmenter.set_embedding(embedding)
    else:
        segmenter.set_image(image)
    t1 = time.perf_counter()
    masks = predict_all(segmenter, instances)
    if on_stage is not None:
        on_stage("encode", t1 - t0)
        on_stage("decode_masks", time.perf_counter() - t1)
    return masks
