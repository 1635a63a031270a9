"""SAM 3 concept segmentation: a short phrase in, every matching instance out, one forward pass per tile.

:class:`Sam3Finder` stands in both places of the pipeline, so that tiles, polygons, seams and attributes are
the same code as for the reasoning prompter: as the prompter it runs SAM 3 on each tile and answers one
instance per detection (its box); as the segmenter it hands back the mask SAM 3 made for that instance.
Features it makes carry ``source = sam3``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..devices import is_cuda, model_dtype_name, resolve_device
from ..errors import ModelError
from .prompter import Prompter
from .prompts import Instance, PromptResult
from .segmenter import Segmenter

SCORE_THRESHOLD = 0.5  # SAM 3's detection score (query score × presence), as its own examples use
MASK_THRESHOLD = 0.5
MAX_INSTANCES = 200  # SAM 3's query count: every detection it can make


def _key(image: np.ndarray) -> str:
    return hashlib.blake2b(np.ascontiguousarray(image).tobytes(), digest_size=16).hexdigest()


class Sam3Finder(Prompter, Segmenter):
    """``Sam3Model`` and ``Sam3Processor`` from a local folder; prompter and segmenter in one (module docstring)."""

    source = "sam3"

    def __init__(self, path: str | Path, device: str = "auto", score_threshold: float = SCORE_THRESHOLD) -> None:
        self.path = Path(path)
        self.name = self.path.resolve().name
        self.device = resolve_device(device)
        self.score_threshold = float(score_threshold)
        self.batch_size = 1
        self.processor, self.model = _load(self.path, self.device)
        self._masks: dict[str, dict[Instance, tuple[np.ndarray, float]]] = {}
        self._current: dict[Instance, tuple[np.ndarray, float]] = {}

    # --- as the prompter -----------------------------------------------------------------------------------
    def prompt(
        self, images: Sequence[np.ndarray], query: str | Sequence[str], tiles: Sequence | None = None
    ) -> list[PromptResult]:
        queries = [query] * len(images) if isinstance(query, str) else list(query)
        return [self._find(np.asarray(image), q) for image, q in zip(images, queries)]

    def _find(self, image: np.ndarray, phrase: str) -> PromptResult:
        import torch
        from PIL import Image

        rgb = image[..., :3] if image.ndim == 3 else np.stack([image] * 3, axis=-1)
        pil = Image.fromarray(np.ascontiguousarray(rgb.astype(np.uint8)))
        inputs = self.processor(images=pil, text=phrase, return_tensors="pt").to(self.model.device)
        if "pixel_values" in inputs:
            inputs["pixel_values"] = inputs["pixel_values"].to(self.model.dtype)
        with torch.inference_mode():
            outputs = self.model(**inputs)
        found = self.processor.post_process_instance_segmentation(
            outputs,
            threshold=self.score_threshold,
            mask_threshold=MASK_THRESHOLD,
            target_sizes=inputs["original_sizes"].tolist(),
        )[0]
        height, width = rgb.shape[:2]
        masks = found["masks"].to("cpu").numpy().astype(bool)
        scores = found["scores"].float().to("cpu").numpy()
        boxes = found["boxes"].float().to("cpu").numpy()
        order = np.argsort(-scores)[:MAX_INSTANCES]
        instances, by_instance = [], {}
        for n, i in enumerate(order):
            x1, y1, x2, y2 = (float(v) for v in boxes[i])
            box = (max(0.0, x1), max(0.0, y1), min(float(width), x2), min(float(height), y2))
            # The index keeps two identical boxes apart (two instances, two masks).
            inst = Instance(box, (), (n,))
            instances.append(inst)
            by_instance[inst] = (masks[i], float(scores[i]))
        self._masks[_key(image)] = by_instance
        text = f"SAM 3 found {len(instances)} instance(s) of '{phrase}' above score {self.score_threshold:g}"
        return PromptResult(instances, text, "ok" if instances else "no_target")

    def forget(self, images: Sequence[np.ndarray]) -> None:
        """Drop the masks found in ``images``, which will not be segmented (an overview's cells)."""
        for image in images:
            self._masks.pop(_key(np.asarray(image)), None)

    # --- as the segmenter ----------------------------------------------------------------------------------
    takes_prompts = False  # it segments only what it found: an overview's boxes are found again, not prompted

    def set_image(self, image: np.ndarray) -> None:
        self._current = self._masks.pop(_key(np.asarray(image)), {})

    def predict(self, instance: Instance) -> tuple[np.ndarray, float]:
        try:
            return self._current[instance]
        except KeyError:
            raise ModelError("SAM 3 has no mask for this instance: it only segments what it found itself") from None


def _load(path: Path, device: str):
    if not path.is_dir() or not (path / "config.json").is_file():
        raise ModelError(f"{path} is not a SAM 3 folder (no config.json)", "bad_model")
    try:
        import torch
        from transformers import Sam3Model, Sam3Processor
        from transformers.utils import logging as hf_logging
    except ImportError as exc:
        raise ModelError(f"SAM 3 needs transformers 5 with its SAM 3 classes ({exc})", "model_load_failed") from None
    hf_logging.disable_progress_bar()
    bf16 = not is_cuda(device) or torch.cuda.is_bf16_supported()
    dtype = getattr(torch, model_dtype_name(device, bf16))
    try:
        processor = Sam3Processor.from_pretrained(path, local_files_only=True)  # nosec B615 - a local folder
        model = Sam3Model.from_pretrained(path, local_files_only=True, dtype=dtype)  # nosec B615 - a local folder
        model.to(device).eval()
    except Exception as exc:  # noqa: BLE001 - a broken checkpoint fails in many ways; the user needs one message
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        raise ModelError(f"cannot load SAM 3 from {path}: {type(exc).__name__}: {first}", "model_load_failed") from None
    return processor, model


def load_finder(path: str | Path, device: str = "auto", score_threshold: float = SCORE_THRESHOLD) -> Sam3Finder:
    return Sam3Finder(path, device=device, score_threshold=score_threshold)
