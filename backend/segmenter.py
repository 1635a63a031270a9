"""Segmenters: SAM 2.1 (``sam2``) and the original SAM (``segment_anything``), prompted by box and points.

Each instance is prompted by its box plus its positive points (label 1), no negative points,
``multimask_output=False``, bf16 autocast on CUDA and fp32 on the CPU (as Think2Seg-RS ran SAM 2.1). The
instances of one image that have the same prompt shape go through the mask decoder together, in one call.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from backend.devices import autocast, resolve_device
from backend.errors import ModelError
from backend.prompts import Instance

SAM2_OFFICIAL = {
    "sam2.1_hiera_tiny.pt": "configs/sam2.1/sam2.1_hiera_t.yaml",
    "sam2.1_hiera_small.pt": "configs/sam2.1/sam2.1_hiera_s.yaml",
    "sam2.1_hiera_base_plus.pt": "configs/sam2.1/sam2.1_hiera_b+.yaml",
    "sam2.1_hiera_large.pt": "configs/sam2.1/sam2.1_hiera_l.yaml",
    "sam2_hiera_tiny.pt": "configs/sam2/sam2_hiera_t.yaml",
    "sam2_hiera_small.pt": "configs/sam2/sam2_hiera_s.yaml",
    "sam2_hiera_base_plus.pt": "configs/sam2/sam2_hiera_b+.yaml",
    "sam2_hiera_large.pt": "configs/sam2/sam2_hiera_l.yaml",
}
_SAM_OFFICIAL_RE = re.compile(r"sam_(vit_[blh])(_[0-9a-f]+)?\.pth")
_EXPECTED = (
    "expected a SAM 2.1 checkpoint (sam2.1_hiera_tiny.pt, sam2.1_hiera_small.pt, sam2.1_hiera_base_plus.pt, "
    "sam2.1_hiera_large.pt), a SAM checkpoint (sam_vit_b_*.pth, sam_vit_l_*.pth, sam_vit_h_*.pth), "
    "or a folder holding one of them or a think2map.json"
)
# What build_sam2 adds by default (apply_postprocessing=True): fall back to multimask when a single mask is unstable.
_SAM2_POSTPROCESSING = {
    "dynamic_multimask_via_stability": True,
    "dynamic_multimask_stability_delta": 0.05,
    "dynamic_multimask_stability_thresh": 0.98,
}


@runtime_checkable
class Segmenter(Protocol):
    """A promptable segmenter: encode an image once, then one mask per instance."""

    name: str

    def set_image(self, image: np.ndarray) -> None:
        """Encode ``image`` (HxWx3 uint8) for the following ``predict`` calls."""
        ...

    def predict(self, instance: Instance) -> tuple[np.ndarray, float]:
        """A bool HxW mask of the image last set, and SAM's score, for one instance in that image's pixels."""
        ...


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


def segment_instances(
    segmenter: Segmenter, image: np.ndarray, instances: Sequence[Instance]
) -> list[tuple[np.ndarray, float]]:
    """A mask and a score per instance; the image is encoded once, and not at all when there are no instances."""
    if not instances:
        return []
    segmenter.set_image(image)
    return predict_all(segmenter, instances)


def predict_all(segmenter: Segmenter, instances: Sequence[Instance]) -> list[tuple[np.ndarray, float]]:
    """A mask and a score per instance of the image last set: batched where the segmenter can."""
    many = getattr(segmenter, "predict_many", None)
    if many is not None:
        return many(instances)
    return [segmenter.predict(instance) for instance in instances]


def _prompt_arrays(instance: Instance) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    coords = labels = box = None
    if instance.points:
        coords = np.asarray(instance.points, dtype=np.float32).reshape(-1, 2)
        labels = np.ones(len(coords), dtype=np.int32)
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


class _SamBase:
    """What both segmenters share: their identity, the current image's size, and the checks around ``predict``."""

    def __init__(self, device: str, name: str) -> None:
        self.name = name
        self.device = device
        self._hw: tuple[int, int] | None = None
        self.cache_id = f"{name}:{uuid.uuid4().hex}"  # embedding-cache key: new for every loaded model

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
            for (i, *_), mask, score in zip(items, masks, scores):
                out[i] = (mask, float(score))
        return out

    def _predict(self, coords, labels, boxes) -> tuple[np.ndarray, np.ndarray]:
        """N bool masks and N scores for prompts of one shape: coords (N, P, 2), labels (N, P), boxes (N, 4)."""
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
            features = {"image_embed": _clone(embed[i:i + 1]), "high_res_feats": _clone([f[i:i + 1] for f in high])}
            out.append(Embedding(features, image.shape[:2], _nbytes(features)))
        p.reset_predictor()
        return out

    def set_embedding(self, embedding: Embedding) -> None:
        """Make ``embedding`` (from :meth:`encode`) the image that ``predict`` works on."""
        p = self.predictor
        p.reset_predictor()
        p._features = {"image_embed": embedding.features["image_embed"],
                       "high_res_feats": list(embedding.features["high_res_feats"])}
        p._orig_hw = [tuple(embedding.hw)]
        p._is_image_set, p._is_batch = True, False
        self._hw = tuple(embedding.hw)

    def set_image(self, image: np.ndarray) -> None:
        import torch

        image = _rgb(image)
        with torch.inference_mode(), autocast(self.device):
            self.predictor.set_image(image)
        self._hw = image.shape[:2]

    def _predict(self, coords, labels, boxes) -> tuple[np.ndarray, np.ndarray]:
        import torch

        p = self.predictor
        with torch.inference_mode(), autocast(self.device):
            mask_input, coords, labels, boxes = p._prep_prompts(coords, labels, boxes, None, True)
            masks, scores, _ = p._predict(coords, labels, boxes, mask_input, multimask_output=False)
        return masks[:, 0].cpu().numpy(), scores[:, 0].float().cpu().numpy()


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
            f = {"features": features[i:i + 1].clone(), "input_size": sizes[i]}
            out.append(Embedding(f, image.shape[:2], _nbytes(f["features"])))
        return out

    def set_embedding(self, embedding: Embedding) -> None:
        """Make ``embedding`` (from :meth:`encode`) the image that ``predict`` works on."""
        p = self.predictor
        p.reset_image()
        p.features = embedding.features["features"]
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

    def _predict(self, coords, labels, boxes) -> tuple[np.ndarray, np.ndarray]:
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
            masks, scores, _ = p.predict_torch(t_coords, t_labels, t_box, multimask_output=False)
        return masks[:, 0].cpu().numpy().astype(bool), scores[:, 0].float().cpu().numpy()


def build_sam_from_arch(arch: dict[str, Any]):
    """A segment-anything ``Sam`` from an architecture dict (defaults: those of the official ViT models)."""
    from functools import partial

    import torch
    from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, Sam, TwoWayTransformer

    a = {
        "image_size": 1024,
        "vit_patch_size": 16,
        "prompt_embed_dim": 256,
        "encoder_window_size": 14,
        "encoder_mlp_ratio": 4.0,
        "mask_in_chans": 16,
        "decoder_depth": 2,
        "decoder_mlp_dim": 2048,
        "decoder_num_heads": 8,
        "iou_head_depth": 3,
        "iou_head_hidden_dim": 256,
        "num_multimask_outputs": 3,
    }
    required = ("encoder_embed_dim", "encoder_depth", "encoder_num_heads", "encoder_global_attn_indexes")
    missing = [k for k in required if k not in arch]
    unknown = sorted(set(arch) - set(a) - set(required))
    if missing or unknown:
        raise ValueError(f"bad SAM arch: missing {missing}, unknown {unknown}")
    a.update(arch)
    embed = a["image_size"] // a["vit_patch_size"]
    dim = a["prompt_embed_dim"]
    return Sam(
        image_encoder=ImageEncoderViT(
            depth=a["encoder_depth"],
            embed_dim=a["encoder_embed_dim"],
            img_size=a["image_size"],
            mlp_ratio=a["encoder_mlp_ratio"],
            norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
            num_heads=a["encoder_num_heads"],
            patch_size=a["vit_patch_size"],
            qkv_bias=True,
            use_rel_pos=True,
            global_attn_indexes=tuple(a["encoder_global_attn_indexes"]),
            window_size=a["encoder_window_size"],
            out_chans=dim,
        ),
        prompt_encoder=PromptEncoder(
            embed_dim=dim,
            image_embedding_size=(embed, embed),
            input_image_size=(a["image_size"], a["image_size"]),
            mask_in_chans=a["mask_in_chans"],
        ),
        mask_decoder=MaskDecoder(
            num_multimask_outputs=a["num_multimask_outputs"],
            transformer=TwoWayTransformer(
                depth=a["decoder_depth"],
                embedding_dim=dim,
                mlp_dim=a["decoder_mlp_dim"],
                num_heads=a["decoder_num_heads"],
            ),
            transformer_dim=dim,
            iou_head_depth=a["iou_head_depth"],
            iou_head_hidden_dim=a["iou_head_hidden_dim"],
        ),
        pixel_mean=[123.675, 116.28, 103.53],
        pixel_std=[58.395, 57.12, 57.375],
    ).eval()


def load_segmenter(path: str | Path, device: str = "auto") -> Segmenter:
    """Load a segmenter from a checkpoint file or a folder.

    Understands a folder with ``think2map.json`` (``family``, ``checkpoint``, ``config`` or ``arch``), an
    official SAM 2.1 or SAM checkpoint file, and a folder holding exactly one official file.
    """
    path = Path(path)
    device = resolve_device(device)
    if not path.exists():
        raise ModelError(f"segmenter checkpoint not found: {path}")
    if path.is_dir():
        manifest = path / "think2map.json"
        if manifest.is_file():
            return _from_manifest(path, manifest, device)
        official = sorted(f for f in path.iterdir() if f.is_file() and _official_family(f.name))
        if len(official) == 1:
            return _from_official(official[0], device)
        if not official:
            raise ModelError(f"no segmenter checkpoint in the folder {path}: {_EXPECTED}")
        names = ", ".join(f.name for f in official)
        raise ModelError(f"the folder {path} holds several checkpoints ({names}); give the path of one of them")
    if not _official_family(path.name):
        raise ModelError(f"{path.name} is not a recognised segmenter checkpoint: {_EXPECTED}")
    return _from_official(path, device)


def _official_family(filename: str) -> str | None:
    if filename in SAM2_OFFICIAL:
        return "sam2"
    if _SAM_OFFICIAL_RE.fullmatch(filename):
        return "sam"
    return None


def _from_official(file: Path, device: str) -> Segmenter:
    name = file.stem
    if _official_family(file.name) == "sam2":
        config = _packaged_sam2_config(SAM2_OFFICIAL[file.name])
        return Sam2Segmenter(_build_sam2(config, file, device), device, name)
    variant = _SAM_OFFICIAL_RE.fullmatch(file.name).group(1)
    return SamSegmenter(_build_sam(_registry_arch(variant), file, device), device, name)


def _from_manifest(folder: Path, manifest: Path, device: str) -> Segmenter:
    try:
        meta = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read {manifest}: {exc}") from None
    if not isinstance(meta, dict):
        raise ModelError(f"{manifest} must hold a JSON object")
    family = meta.get("family")
    checkpoint = meta.get("checkpoint")
    if family not in ("sam2", "sam"):
        raise ModelError(f'{manifest}: \'family\' must be "sam2" or "sam", not {family!r}')
    if not isinstance(checkpoint, str) or not (folder / checkpoint).is_file():
        raise ModelError(f"{manifest}: the checkpoint file {checkpoint!r} is not in {folder}")
    ckpt = folder / checkpoint
    if family == "sam2":
        config = meta.get("config")
        if not isinstance(config, str) or not config:
            raise ModelError(f"{manifest}: a sam2 model needs 'config' (a yaml file in the folder or a packaged name)")
        config_path = folder / config if (folder / config).is_file() else _packaged_sam2_config(config)
        return Sam2Segmenter(_build_sam2(config_path, ckpt, device), device, folder.name)
    arch = meta.get("arch")
    if isinstance(arch, str):
        arch = _registry_arch(arch)
    if not isinstance(arch, dict):
        raise ModelError(f"{manifest}: a sam model needs 'arch' (an object, or vit_b / vit_l / vit_h)")
    return SamSegmenter(_build_sam(arch, ckpt, device), device, folder.name)


def _packaged_sam2_config(name: str) -> Path:
    """The yaml of a config packaged with sam2, such as ``configs/sam2.1/sam2.1_hiera_s.yaml``."""
    try:
        import sam2
    except ImportError as exc:
        raise ModelError(f"SAM 2 models need the sam2 package ({exc})") from None
    root = Path(sam2.__file__).resolve().parent
    rel = name if name.endswith(".yaml") else name + ".yaml"
    for candidate in (root / rel, root / "configs" / rel):
        if candidate.is_file() and root in candidate.resolve().parents:
            return candidate
    raise ModelError(f"unknown SAM 2 config {name!r}: not a file in the model folder nor a config packaged with sam2")


def _registry_arch(variant: str) -> dict[str, Any]:
    archs = {
        "vit_b": (768, 12, 12, [2, 5, 8, 11]),
        "vit_l": (1024, 24, 16, [5, 11, 17, 23]),
        "vit_h": (1280, 32, 16, [7, 15, 23, 31]),
    }
    if variant not in archs:
        raise ModelError(f"unknown SAM variant {variant!r}: use vit_b, vit_l or vit_h")
    dim, depth, heads, glob = archs[variant]
    # Same as segment_anything.sam_model_registry[variant].
    return {
        "encoder_embed_dim": dim,
        "encoder_depth": depth,
        "encoder_num_heads": heads,
        "encoder_global_attn_indexes": glob,
    }


def _check_targets(node: Any, where: Path) -> None:
    """Only sam2 classes may be instantiated from a config: a yaml must not be able to run arbitrary code."""
    if isinstance(node, dict):
        target = node.get("_target_")
        if target is not None and not str(target).startswith("sam2."):
            raise ModelError(f"{where}: refusing to build {target!r}, which is not a sam2 class")
        for value in node.values():
            _check_targets(value, where)
    elif isinstance(node, list):
        for value in node:
            _check_targets(value, where)


def _load_state_dict(ckpt: Path, key: str | None) -> dict:
    import torch

    try:
        data = torch.load(ckpt, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - unpickling fails in many ways
        raise ModelError(f"cannot read the checkpoint {ckpt}: {_reason(exc)}") from None
    if key is not None:
        if not isinstance(data, dict) or key not in data:
            raise ModelError(f"the checkpoint {ckpt} has no {key!r} entry; is it a SAM 2 checkpoint?")
        data = data[key]
    if not isinstance(data, dict):
        raise ModelError(f"the checkpoint {ckpt} does not hold a state dict")
    return data


def _load_into(model: Any, state: dict, ckpt: Path, what: str) -> None:
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except Exception as exc:  # noqa: BLE001 - shape mismatches are RuntimeErrors with long messages
        raise ModelError(f"the checkpoint {ckpt} does not fit the {what} architecture: {_reason(exc)}") from None
    if missing or unexpected:
        raise ModelError(
            f"the checkpoint {ckpt} does not fit the {what} architecture: {len(missing)} missing and "
            f"{len(unexpected)} unexpected weights (e.g. {(list(missing) + list(unexpected))[0]})"
        )


def _build_sam2(config: Path, ckpt: Path, device: str):
    try:
        from hydra.utils import instantiate
        from omegaconf import DictConfig, OmegaConf
    except ImportError as exc:
        raise ModelError(f"SAM 2 models need the sam2 package and its dependencies ({exc})") from None
    try:
        cfg = OmegaConf.load(config)
    except Exception as exc:  # noqa: BLE001 - yaml and OmegaConf errors
        raise ModelError(f"cannot read the SAM 2 config {config}: {_reason(exc)}") from None
    if not isinstance(cfg, DictConfig) or "model" not in cfg:
        raise ModelError(f"{config} is not a SAM 2 model config (no 'model' section)")
    _check_targets(OmegaConf.to_container(cfg.model), config)
    state = _load_state_dict(ckpt, "model")
    try:
        extra = cfg.model.get("sam_mask_decoder_extra_args") or {}
        cfg.model.sam_mask_decoder_extra_args = {**extra, **_SAM2_POSTPROCESSING}
        OmegaConf.resolve(cfg)
        model = instantiate(cfg.model, _recursive_=True)
    except Exception as exc:  # noqa: BLE001 - hydra wraps constructor errors
        raise ModelError(f"cannot build a SAM 2 model from {config}: {_reason(exc)}") from None
    _load_into(model, state, ckpt, "SAM 2")
    return model.to(device).eval()


def _build_sam(arch: dict[str, Any], ckpt: Path, device: str):
    try:
        model = build_sam_from_arch(arch)
    except ImportError as exc:
        raise ModelError(f"SAM models need the segment-anything package ({exc})") from None
    except Exception as exc:  # noqa: BLE001 - bad arch values
        raise ModelError(f"cannot build a SAM model for {ckpt}: {_reason(exc)}") from None
    _load_into(model, _load_state_dict(ckpt, None), ckpt, "SAM")
    return model.to(device).eval()


def _reason(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0][:300]}" if lines else type(exc).__name__
