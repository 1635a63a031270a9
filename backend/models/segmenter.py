"""Segmenters: SAM 2.1 (``sam2``) and the original SAM (``segment_anything``), prompted by box and points.

This module holds the predictors ("encode once, prompt many times"); :mod:`.build_segmenter` builds them from
checkpoints.

Each instance is prompted by its box plus its positive points (label 1), no negative points,
``multimask_output=False``, bf16 autocast on CUDA and fp32 on the CPU (as Think2Seg-RS ran SAM 2.1). The
instances of one image that have the same prompt shape go through the mask decoder together, in one call.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..devices import autocast
from .prompts import Instance


@runtime_checkable
class Segmenter(Protocol):
    """A promptable segmenter: set an image once, then one mask per instance.

    A segmenter subclasses this Protocol to inherit the defaults of its optional members.
    """

    name: str
    takes_prompts: bool = True  # False: it segments only what it found itself (SAM 3), so an overview re-prompts

    def set_image(self, image: np.ndarray) -> None:
        """Encode ``image`` (HxWx3 uint8) for the following ``predict`` calls."""
        ...

    def predict(self, instance: Instance) -> tuple[np.ndarray, float]:
        """A bool HxW mask of the image last set, and SAM's score, for one instance in that image's pixels."""
        ...

    def view(self) -> Segmenter:
        """A segmenter for another thread (the click lane's) over the same weights; default: itself."""
        return self


@runtime_checkable
class EncodingSegmenter(Segmenter, Protocol):
    """A segmenter that encodes ahead, several images at once, into embeddings that can be cached and restored."""

    device: str
    cache_id: str

    def encode(self, images: Sequence[np.ndarray]) -> list[Embedding]:
        """The embeddings of ``images``, in one batched encoder call."""
        ...

    def set_embedding(self, embedding: Embedding) -> None:
        """Make ``embedding`` (from :meth:`encode`) the image that the predictions work on."""
        ...


@runtime_checkable
class ManyPromptSegmenter(Segmenter, Protocol):
    """A segmenter whose mask decoder takes many prompts of the current image in one call."""

    def predict_many(self, instances: Sequence[Instance]) -> list[tuple[np.ndarray, float]]:
        """A mask and a score per instance of the current image."""
        ...


@runtime_checkable
class CandidateSegmenter(Segmenter, Protocol):
    """A segmenter that gives SAM's three candidate masks for one instance (a click's ``multimask``)."""

    def predict_candidates(self, instance: Instance) -> list[tuple[np.ndarray, float]]:
        """The candidates' masks and scores, best first."""
        ...


def supports_encoding(segmenter: object) -> bool:
    """Whether ``segmenter`` can encode ahead and restore embeddings (:class:`EncodingSegmenter`)."""
    return isinstance(segmenter, EncodingSegmenter)


@dataclass
class Embedding:
    """One image's SAM encoding (opaque to callers): what ``set_embedding`` restores, and its size in bytes."""

    features: dict[str, Any]
    hw: tuple[int, int]
    nbytes: int


def _nbytes(value: Any) -> int:
    if isinstance(value, (list, tuple)):
        return sum(_nbytes(v) for v in value)
    if isinstance(value, dict):
        return sum(_nbytes(v) for v in value.values())
    return int(value.numel() * value.element_size()) if hasattr(value, "element_size") else 0


def _clone(value: Any) -> Any:
    # A slice of a batch would keep the whole batch alive in the cache: own the memory.
    if isinstance(value, (list, tuple)):
        return [_clone(v) for v in value]
    return value.clone()


def predict_all(segmenter: Segmenter, instances: Sequence[Instance]) -> list[tuple[np.ndarray, float]]:
    """A mask and a score per instance of the image last set: batched where the segmenter can."""
    if isinstance(segmenter, ManyPromptSegmenter):
        return segmenter.predict_many(instances)
    return [segmenter.predict(instance) for instance in instances]


def _prompt_arrays(instance: Instance) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    coords = labels = box = None
    if instance.points:
        coords = np.asarray(instance.points, dtype=np.float32).reshape(-1, 2)
        labels = np.asarray(instance.labels, dtype=np.int32) if instance.labels else np.ones(len(coords), np.int32)
    if instance.box is not None:
        box = np.asarray(instance.box, dtype=np.float32).reshape(4)
    return coords, labels, box


def _rgb(image: np.ndarray) -> np.ndarray:
    array = np.asarray(image)
    if array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 image, got an array of shape {array.shape}")
    if array.dtype != np.uint8:
        array = np.clip(array, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(array)


class _SamBase(Segmenter):
    """What both segmenters share: their identity, the current image's size, and the checks around ``predict``."""

    def __init__(self, device: str, name: str) -> None:
        self.name = name
        self.device = device
        self._hw: tuple[int, int] | None = None
        # The embedding cache's key for this model: the builder sets it from the checkpoint file, so that two loads
        # of one checkpoint share embeddings; a model built in memory (random weights) gets its own.
        self.cache_id = f"{name}:{uuid.uuid4().hex}"

    def predict(self, instance: Instance) -> tuple[np.ndarray, float]:
        return self.predict_many([instance])[0]

    def predict_many(self, instances: Sequence[Instance]) -> list[tuple[np.ndarray, float]]:
        """A mask and a score per instance: one mask-decoder call for each prompt shape (points, box or not).

        Prompts of one shape batch exactly; padding other shapes would add tokens the decoder attends to.
        """
        if self._hw is None:
            raise RuntimeError("set_image() must be called before predict()")
        out: list[tuple[np.ndarray, float] | None] = [None] * len(instances)
        groups: dict[tuple[int, bool], list[tuple[int, Any, Any, Any]]] = defaultdict(list)
        for i, instance in enumerate(instances):
            coords, labels, box = _prompt_arrays(instance)
            if coords is None and box is None:
                out[i] = (np.zeros(self._hw, dtype=bool), 0.0)
            else:
                groups[(0 if coords is None else len(coords), box is not None)].append((i, coords, labels, box))
        for (n_points, has_box), items in groups.items():
            coords = np.stack([it[1] for it in items]) if n_points else None
            labels = np.stack([it[2] for it in items]) if n_points else None
            boxes = np.stack([it[3] for it in items]) if has_box else None
            masks, scores = self._predict(coords, labels, boxes)
            for (i, *_), mask, score in zip(items, masks[:, 0], scores[:, 0]):
                out[i] = (mask, float(score))
        return out

    def predict_candidates(self, instance: Instance) -> list[tuple[np.ndarray, float]]:
        """SAM's three candidate masks for one instance (``multimask_output=True``), best score first."""
        if self._hw is None:
            raise RuntimeError("set_image() must be called before predict()")
        coords, labels, box = _prompt_arrays(instance)
        masks, scores = self._predict(
            None if coords is None else coords[None],
            None if labels is None else labels[None],
            None if box is None else box[None],
            multimask=True,
        )
        order = np.argsort(-scores[0])
        return [(masks[0, k], float(scores[0, k])) for k in order]

    def view(self):
        """A segmenter of its own over the same loaded model (shared weights, its own image state), for another
        thread: the click lane's."""
        other = type(self)(self.predictor.model, self.device, self.name)
        other.cache_id = self.cache_id
        return other

    def _predict(self, coords, labels, boxes, multimask: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Bool masks (N, K, H, W) and scores (N, K) for prompts of one shape: coords (N, P, 2), labels (N, P),
        boxes (N, 4); K is 3 with ``multimask``, else 1."""
        raise NotImplementedError


class Sam2Segmenter(_SamBase):
    """SAM 2 / 2.1 through ``sam2.sam2_image_predictor.SAM2ImagePredictor``."""

    def __init__(self, model: Any, device: str, name: str) -> None:
        import warnings

        super().__init__(device, name)

        with warnings.catch_warnings():
            # sam2's transforms use torch.jit.script, which torch 2.14 deprecates; nothing for users to act on.
            warnings.filterwarnings("ignore", message=".*torch.jit.script.*", category=FutureWarning)
            from sam2.sam2_image_predictor import SAM2ImagePredictor

            self.predictor = SAM2ImagePredictor(model)
        # The predictor assumes 1024-pixel inputs; derive the backbone's feature sizes from the model instead.
        hires = model.image_size // 4
        self.predictor._bb_feat_sizes = [(hires // 2**k, hires // 2**k) for k in range(3)]

    def encode(self, images: Sequence[np.ndarray]) -> list[Embedding]:
        """Encode several images in one batched encoder call (``SAM2ImagePredictor.set_image_batch``)."""
        import torch

        images = [_rgb(image) for image in images]
        if not images:
            return []
        p = self.predictor
        with torch.inference_mode(), autocast(self.device):
            p.set_image_batch(images)
        embed, high = p._features["image_embed"], p._features["high_res_feats"]
        out = []
        for i, image in enumerate(images):
            features = {"image_embed": _clone(embed[i : i + 1]), "high_res_feats": _clone([f[i : i + 1] for f in high])}
            out.append(Embedding(features, image.shape[:2], _nbytes(features)))
        p.reset_predictor()
        return out

    def set_embedding(self, embedding: Embedding) -> None:
        """Make ``embedding`` (from :meth:`encode`) the image that ``predict`` works on."""
        p = self.predictor
        p.reset_predictor()
        device = self.device  # an embedding read back from disk comes on the CPU
        p._features = {
            "image_embed": embedding.features["image_embed"].to(device),
            "high_res_feats": [f.to(device) for f in embedding.features["high_res_feats"]],
        }
        p._orig_hw = [tuple(embedding.hw)]
        p._is_image_set, p._is_batch = True, False
        self._hw = tuple(embedding.hw)

    def set_image(self, image: np.ndarray) -> None:
        import torch

        image = _rgb(image)
        with torch.inference_mode(), autocast(self.device):
            self.predictor.set_image(image)
        self._hw = image.shape[:2]

    def _predict(self, coords, labels, boxes, multimask: bool = False) -> tuple[np.ndarray, np.ndarray]:
        import torch

        p = self.predictor
        with torch.inference_mode(), autocast(self.device):
            mask_input, coords, labels, boxes = p._prep_prompts(coords, labels, boxes, None, True)
            masks, scores, _ = p._predict(coords, labels, boxes, mask_input, multimask_output=multimask)
        return masks.cpu().numpy(), scores.float().cpu().numpy()


class SamSegmenter(_SamBase):
    """The original SAM through ``segment_anything.SamPredictor``."""

    def __init__(self, model: Any, device: str, name: str) -> None:
        from segment_anything import SamPredictor

        super().__init__(device, name)
        self.predictor = SamPredictor(model)

    def encode(self, images: Sequence[np.ndarray]) -> list[Embedding]:
        """Encode several images in one batched call of the ViT image encoder."""
        import torch

        images = [_rgb(image) for image in images]
        if not images:
            return []
        p = self.predictor
        inputs, sizes = [], []
        for image in images:
            resized = torch.as_tensor(p.transform.apply_image(image), device=p.device).permute(2, 0, 1)
            sizes.append(tuple(resized.shape[-2:]))
            inputs.append(p.model.preprocess(resized[None].float())[0])  # normalised and padded to a square
        with torch.inference_mode(), autocast(self.device):
            features = p.model.image_encoder(torch.stack(inputs))
        out = []
        for i, image in enumerate(images):
            f = {"features": features[i : i + 1].clone(), "input_size": sizes[i]}
            out.append(Embedding(f, image.shape[:2], _nbytes(f["features"])))
        return out

    def set_embedding(self, embedding: Embedding) -> None:
        """Make ``embedding`` (from :meth:`encode`) the image that ``predict`` works on."""
        p = self.predictor
        p.reset_image()
        p.features = embedding.features["features"].to(self.device)  # one read back from disk is on the CPU
        p.original_size = tuple(embedding.hw)
        p.input_size = tuple(embedding.features["input_size"])
        p.is_image_set = True
        self._hw = tuple(embedding.hw)

    def set_image(self, image: np.ndarray) -> None:
        import torch

        image = _rgb(image)
        with torch.inference_mode(), autocast(self.device):
            self.predictor.set_image(image, image_format="RGB")
        self._hw = image.shape[:2]

    def _predict(self, coords, labels, boxes, multimask: bool = False) -> tuple[np.ndarray, np.ndarray]:
        import torch

        # predict_torch, not predict: predict() calls .numpy() on bf16 tensors under autocast, which fails.
        p = self.predictor
        dev = p.device
        t_coords = t_labels = t_box = None
        if coords is not None:
            t_coords = torch.as_tensor(p.transform.apply_coords(coords, self._hw), dtype=torch.float, device=dev)
            t_labels = torch.as_tensor(labels, dtype=torch.int, device=dev)
        if boxes is not None:
            t_box = torch.as_tensor(p.transform.apply_boxes(boxes, self._hw), dtype=torch.float, device=dev)
        with torch.inference_mode(), autocast(self.device):
            masks, scores, _ = p.predict_torch(t_coords, t_labels, t_box, multimask_output=multimask)
        return masks.cpu().numpy().astype(bool), scores.float().cpu().numpy()
