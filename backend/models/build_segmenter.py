"""Building segmenters from checkpoints: official SAM 2.1 and SAM files, or a folder with ``think2map.json``.

Kept apart from the predictors (:mod:`.segmenter`), as ``sam2/build_sam.py`` is. A config or checkpoint can
only build SAM 2 / SAM classes: a SAM 2 yaml is checked after interpolation, and checkpoints load as weights only.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ..devices import resolve_device
from ..errors import ModelError
from .segmenter import Sam2Segmenter, SamSegmenter, Segmenter

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
# The classes SAM 2.1's own configs (sam2.1_hiera_t/s/b+/l.yaml) build, exactly: a config may build these and
# nothing else. A prefix would let Hydra walk attributes (``sam2.modeling.sam2_base.torch.load``).
SAM2_CLASSES = frozenset(
    {
        "sam2.modeling.backbones.hieradet.Hiera",
        "sam2.modeling.backbones.image_encoder.FpnNeck",
        "sam2.modeling.backbones.image_encoder.ImageEncoder",
        "sam2.modeling.memory_attention.MemoryAttention",
        "sam2.modeling.memory_attention.MemoryAttentionLayer",
        "sam2.modeling.memory_encoder.CXBlock",
        "sam2.modeling.memory_encoder.Fuser",
        "sam2.modeling.memory_encoder.MaskDownSampler",
        "sam2.modeling.memory_encoder.MemoryEncoder",
        "sam2.modeling.position_encoding.PositionEmbeddingSine",
        "sam2.modeling.sam.transformer.RoPEAttention",
        "sam2.modeling.sam2_base.SAM2Base",
    }
)
# The only text those configs pass to a constructor, by argument: a word, never a path or code.
SAM2_TEXT_ARGUMENTS = {"activation": ("relu", "gelu"), "fpn_interp_model": ("nearest", "bilinear", "bicubic")}
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
    segmenter = _load(path, device)
    segmenter.cache_id = _checkpoint_identity(path, device)
    return segmenter


def _load(path: Path, device: str) -> Segmenter:
    if not path.exists():
        raise ModelError(f"segmenter checkpoint not found: {path}", "model_not_found", name=str(path))
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


def _checkpoint_identity(path: Path, device: str) -> str:
    """The embedding cache's key for a loaded checkpoint: its files (path, time, size) and the device.

    Two loads of one checkpoint share their embeddings (the click lane's and a job's); a rewritten file does not.
    """
    files = sorted(f for f in (path.rglob("*") if path.is_dir() else [path]) if f.is_file())
    parts = [f"{f.resolve()}:{f.stat().st_mtime_ns}:{f.stat().st_size}" for f in files]
    return f"{path.resolve()}|{device}|" + "|".join(parts)


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


def _check_targets(node: Any, where: Path, key: str = "") -> None:
    """Only SAM 2.1's own model classes may be built from a config, with numbers, flags and the few words their
    configs use as arguments: a yaml must not be able to run code, nor name a file."""
    if isinstance(node, dict):
        for name, value in node.items():
            if name == "_target_":
                if value not in SAM2_CLASSES:
                    raise ModelError(f"{where}: refusing to build {value!r}, which is not a SAM 2.1 model class")
            elif str(name).startswith("_"):
                raise ModelError(f"{where}: refusing the config key {name!r}: SAM 2.1's configs do not use it")
            else:
                _check_targets(value, where, str(name))
    elif isinstance(node, list):
        for value in node:
            _check_targets(value, where, key)
    elif isinstance(node, str) and node not in SAM2_TEXT_ARGUMENTS.get(key, ()):
        raise ModelError(f"{where}: refusing the text {node[:80]!r} for {key!r}: SAM 2.1's configs pass no such text")


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
    try:
        extra = cfg.model.get("sam_mask_decoder_extra_args") or {}
        cfg.model.sam_mask_decoder_extra_args = {**extra, **_SAM2_POSTPROCESSING}
        # Interpolations (${...}) are resolved before the check, so a node they pull in is checked too, and the
        # model is built from the plain, resolved dict: nothing is left to interpolate after the check.
        resolved = OmegaConf.to_container(cfg.model, resolve=True)
    except Exception as exc:  # noqa: BLE001 - interpolation errors
        raise ModelError(f"cannot read the SAM 2 config {config}: {_reason(exc)}") from None
    _check_targets(resolved, config)
    state = _load_state_dict(ckpt, "model")
    try:
        model = instantiate(resolved, _recursive_=True)
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
