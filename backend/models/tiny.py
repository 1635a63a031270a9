"""Tiny, randomly initialised models in the real on-disk formats, for tests and demos without downloads.

They load through :func:`.prompter.load_prompter` and :func:`.build_segmenter.load_segmenter`
exactly as real checkpoints do, run in seconds on a CPU, and produce meaningless output.

Its length (about 500 lines) is one builder per real format (Qwen2.5-VL, SAM 2.1, SAM, SAM 3), each a config at
the smallest sizes the format allows, and the cache that builds them once per run.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

README = (
    "{title}\n\n"
    "This model was built by Think2Map's `models tiny` command with RANDOM weights.\n"
    "Its outputs are meaningless: it exists only to test the software end to end without downloads.\n"
    "Do not use it for real work.\n"
)

SEED = 1234

QWEN_SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
]

# A shortened Qwen2-VL chat template: system, then each message's images, videos and text.
QWEN_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}"
    "{% endfor %}<|im_end|>\n{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def build_tiny_models(out_dir: Path) -> dict[str, Path]:
    """Build the tiny prompter, the tiny SAM 2.1 and SAM segmenters and the tiny SAM 3 finder under ``out_dir``.

    Returns ``{"prompter": dir, "sam2": dir, "sam": dir, "sam3": dir}``. Deterministic: the same files every time.
    """
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a bar for a one-megabyte "shard" is noise
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = tiny_model_paths(out_dir)
    build_tiny_prompter(paths["prompter"])
    build_tiny_sam2(paths["sam2"])
    build_tiny_sam(paths["sam"])
    build_tiny_sam3(paths["sam3"])
    return paths


STAMP = "tiny-models.json"  # written last into a complete folder: what built it


def fingerprint() -> str:
    """What the tiny models depend on: this module's code and the library versions that write their files."""
    from importlib.metadata import version

    digest = hashlib.sha256(Path(__file__).read_bytes())
    for package in ("torch", "transformers", "sam2", "segment-anything", "tokenizers"):
        digest.update(f"{package}={version(package)}".encode())
    return digest.hexdigest()[:16]


def tiny_model_paths(out_dir: Path) -> dict[str, Path]:
    """Where :func:`build_tiny_models` puts each model under ``out_dir``."""
    out_dir = Path(out_dir)
    names = {"prompter": "tiny-think2seg", "sam2": "tiny-sam2", "sam": "tiny-sam", "sam3": "tiny-sam3"}
    return {kind: out_dir / name for kind, name in names.items()}


def ensure_tiny_models(out_dir: Path) -> dict[str, Path]:
    """The tiny models in ``out_dir``, built only when missing or stale (one folder shared by a whole test run).

    Safe when several processes ask at once (a lock beside the folder), and never leaves a half-built folder:
    the models are built beside it and moved into place, with the stamp written last.
    """
    out_dir = Path(out_dir).resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    stamp = out_dir / STAMP
    wanted = fingerprint()
    with open(out_dir.parent / f".{out_dir.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if json.loads(stamp.read_text()).get("fingerprint") == wanted:
                return tiny_model_paths(out_dir)
        except (OSError, ValueError):
            pass
        building = out_dir.parent / f".{out_dir.name}.building.{os.getpid()}"
        shutil.rmtree(building, ignore_errors=True)
        build_tiny_models(building)
        (building / STAMP).write_text(json.dumps({"fingerprint": wanted}))
        shutil.rmtree(out_dir, ignore_errors=True)
        building.rename(out_dir)
    return tiny_model_paths(out_dir)


def _write_readme(folder: Path, title: str) -> None:
    (folder / "README.txt").write_text(README.format(title=title), encoding="utf-8")


def _tokenizer_corpus() -> list[str]:
    from .prompts import SYSTEM_PROMPT, user_text

    instance = '{"bbox_2d": [84, 168, 420, 840], "positive_points": [[200, 400], [210, 410]]}'
    answer = f"<think>x</think>\n<answer>```json[{instance}]```</answer>"
    return [
        SYSTEM_PROMPT,
        user_text("buildings"),
        user_text("the river"),
        answer,
        "<think> </think> <answer> </answer> bbox_2d positive_points json [] [[ ]] {} , : \" ' ` .",
        "0123456789 " * 4,
        "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "system user assistant",
    ]


def build_tiny_tokenizer():
    """A byte-level BPE trained on the prompt and answer format, with Qwen's special tokens and chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=640,
        special_tokens=QWEN_SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_tokenizer_corpus(), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",  # nosec B106 - a tokenizer token, not a password
        pad_token="<|endoftext|>",
        bos_token=None,
        unk_token=None,
        padding_side="left",
    )
    fast.chat_template = QWEN_CHAT_TEMPLATE
    return fast


def qwen_vl_config(
    ids: dict[str, int],
    vocab: int,
    *,
    hidden: int,
    intermediate: int,
    layers: int,
    heads: int,
    kv_heads: int,
    mrope: Sequence[int],
    vision: dict,
    max_positions: int = 128000,
    rms_norm_eps: float = 1e-6,
):
    """A ``Qwen2_5_VLConfig`` of the given size, with Qwen2.5-VL's fixed vision geometry (14-pixel patches,
    2×2 merge, 112-pixel windows), tied embeddings and the special-token ids in ``ids``."""
    from transformers import Qwen2_5_VLConfig

    return Qwen2_5_VLConfig(
        text_config={
            "vocab_size": vocab,
            "hidden_size": hidden,
            "intermediate_size": intermediate,
            "num_hidden_layers": layers,
            "num_attention_heads": heads,
            "num_key_value_heads": kv_heads,
            "max_position_embeddings": max_positions,
            "rms_norm_eps": rms_norm_eps,
            "rope_parameters": {"rope_type": "default", "rope_theta": 1e6, "mrope_section": list(mrope)},
            "tie_word_embeddings": True,
            "bos_token_id": ids["<|endoftext|>"],
            "eos_token_id": ids["<|im_end|>"],
            "pad_token_id": ids["<|endoftext|>"],
        },
        vision_config={
            "out_hidden_size": hidden,
            "window_size": 112,
            "patch_size": 14,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "tokens_per_second": 2,
            **vision,
        },
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=True,
    )


def build_tiny_prompter(folder: Path) -> Path:
    """A ~2-layer Qwen2.5-VL with a local tokenizer, saved like a Hugging Face checkpoint."""
    import torch
    from transformers import Qwen2_5_VLForConditionalGeneration, Qwen2_5_VLProcessor
    from transformers.models.qwen2_vl.image_processing_qwen2_vl import Qwen2VLImageProcessor
    from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tiny_tokenizer()
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in QWEN_SPECIAL_TOKENS}
    heads, hidden = 4, 64
    # transformers 5: sum(mrope_section) must equal head_dim / 2 (here 64 / 4 / 2 = 8).
    config = qwen_vl_config(
        ids,
        len(tokenizer),
        hidden=hidden,
        intermediate=128,
        layers=2,
        heads=heads,
        kv_heads=2,
        mrope=(2, 3, 3),
        max_positions=4096,
        vision={"depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2, "fullatt_block_indexes": [1]},
    )
    torch.manual_seed(SEED)
    model = Qwen2_5_VLForConditionalGeneration(config).eval()
    model.generation_config.eos_token_id = ids["<|im_end|>"]
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    model.generation_config.bos_token_id = ids["<|endoftext|>"]
    model.generation_config.do_sample = False
    # Random weights never write EOS; a short limit keeps an unforced run over a few tiles to seconds.
    model.generation_config.max_new_tokens = 256
    model.save_pretrained(folder)

    # 840×840 inputs shrink to 112×112 pixels: 64 patches, 16 visual tokens.
    image_processor = Qwen2VLImageProcessor(min_pixels=56 * 56, max_pixels=112 * 112)
    video_processor = Qwen2VLVideoProcessor(min_pixels=56 * 56, max_pixels=112 * 112)
    processor = Qwen2_5_VLProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        video_processor=video_processor,
        chat_template=QWEN_CHAT_TEMPLATE,
    )
    processor.save_pretrained(folder)
    _write_readme(folder, "tiny-think2seg: a tiny Qwen2.5-VL prompter")
    return folder


# The packaged sam2.1_hiera_t.yaml with tiny dimensions and a 256-pixel input.
TINY_SAM2_IMAGE_SIZE = 256
_SAM2_DIM = 32  # SAM's hidden size; the mask decoder uses 8 heads, so a multiple of 8
_SAM2_MEM_DIM = 16


def tiny_sam2_config() -> dict:
    """The tiny SAM 2.1 model config, as the dict its yaml holds."""
    d, mem = _SAM2_DIM, _SAM2_MEM_DIM
    feat = TINY_SAM2_IMAGE_SIZE // 16

    def rope_attention(**extra) -> dict:
        return {
            "_target_": "sam2.modeling.sam.transformer.RoPEAttention",
            "rope_theta": 10000.0,
            "feat_sizes": [feat, feat],
            "embedding_dim": d,
            "num_heads": 1,
            "downsample_rate": 1,
            "dropout": 0.1,
            **extra,
        }

    def sine(n: int) -> dict:
        return {
            "_target_": "sam2.modeling.position_encoding.PositionEmbeddingSine",
            "num_pos_feats": n,
            "normalize": True,
            "scale": None,
            "temperature": 10000,
        }

    return {
        "model": {
            "_target_": "sam2.modeling.sam2_base.SAM2Base",
            "image_encoder": {
                "_target_": "sam2.modeling.backbones.image_encoder.ImageEncoder",
                "scalp": 1,
                "trunk": {
                    "_target_": "sam2.modeling.backbones.hieradet.Hiera",
                    "embed_dim": 8,
                    "num_heads": 1,
                    "stages": [1, 1, 2, 1],
                    "global_att_blocks": [3],  # a global block must not be the first of a stage (q-pooling)
                    "window_pos_embed_bkg_spatial_size": [7, 7],
                },
                "neck": {
                    "_target_": "sam2.modeling.backbones.image_encoder.FpnNeck",
                    "position_encoding": sine(d),
                    "d_model": d,
                    "backbone_channel_list": [64, 32, 16, 8],
                    "fpn_top_down_levels": [2, 3],
                    "fpn_interp_model": "nearest",
                },
            },
            "memory_attention": {
                "_target_": "sam2.modeling.memory_attention.MemoryAttention",
                "d_model": d,
                "pos_enc_at_input": True,
                "layer": {
                    "_target_": "sam2.modeling.memory_attention.MemoryAttentionLayer",
                    "activation": "relu",
                    "dim_feedforward": 64,
                    "dropout": 0.1,
                    "pos_enc_at_attn": False,
                    "self_attention": rope_attention(),
                    "d_model": d,
                    "pos_enc_at_cross_attn_keys": True,
                    "pos_enc_at_cross_attn_queries": False,
                    "cross_attention": rope_attention(rope_k_repeat=True, kv_in_dim=mem),
                },
                "num_layers": 1,
            },
            "memory_encoder": {
                "_target_": "sam2.modeling.memory_encoder.MemoryEncoder",
                "out_dim": mem,
                "in_dim": d,
                "position_encoding": sine(mem),
                "mask_downsampler": {
                    "_target_": "sam2.modeling.memory_encoder.MaskDownSampler",
                    "kernel_size": 3,
                    "stride": 2,
                    "padding": 1,
                    "embed_dim": d,
                },
                "fuser": {
                    "_target_": "sam2.modeling.memory_encoder.Fuser",
                    "layer": {
                        "_target_": "sam2.modeling.memory_encoder.CXBlock",
                        "dim": d,
                        "kernel_size": 7,
                        "padding": 3,
                        "layer_scale_init_value": 1e-6,
                        "use_dwconv": True,
                    },
                    "num_layers": 1,
                },
            },
            "num_maskmem": 7,
            "image_size": TINY_SAM2_IMAGE_SIZE,
            "sigmoid_scale_for_mem_enc": 20.0,
            "sigmoid_bias_for_mem_enc": -10.0,
            "use_mask_input_as_output_without_sam": True,
            "directly_add_no_mem_embed": True,
            "no_obj_embed_spatial": True,
            "use_high_res_features_in_sam": True,
            "multimask_output_in_sam": True,
            "iou_prediction_use_sigmoid": True,
            "use_obj_ptrs_in_encoder": True,
            "add_tpos_enc_to_obj_ptrs": True,
            "proj_tpos_enc_in_obj_ptrs": True,
            "use_signed_tpos_enc_to_obj_ptrs": True,
            "only_obj_ptrs_in_the_past_for_eval": True,
            "pred_obj_scores": True,
            "pred_obj_scores_mlp": True,
            "fixed_no_obj_ptr": True,
            "multimask_output_for_tracking": True,
            "use_multimask_token_for_obj_ptr": True,  # nosec B105 - a config flag, not a password
            "multimask_min_pt_num": 0,
            "multimask_max_pt_num": 1,
            "use_mlp_for_obj_ptr_proj": True,
            "compile_image_encoder": False,
        }
    }


def build_tiny_sam2(folder: Path) -> Path:
    """A tiny SAM 2.1 (hiera) model: ``tiny_sam2.yaml``, ``model.pt`` (state dict under "model"), ``think2map.json``."""
    import torch
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cfg = OmegaConf.create(tiny_sam2_config())
    (folder / "tiny_sam2.yaml").write_text("# @package _global_\n\n" + OmegaConf.to_yaml(cfg), encoding="utf-8")
    torch.manual_seed(SEED)
    model = instantiate(cfg.model, _recursive_=True)
    torch.save({"model": model.state_dict()}, folder / "model.pt")
    meta = {"family": "sam2", "checkpoint": "model.pt", "config": "tiny_sam2.yaml"}
    (folder / "think2map.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    _write_readme(folder, "tiny-sam2: a tiny SAM 2.1 (hiera) segmenter")
    return folder


TINY_SAM_ARCH = {
    "encoder_embed_dim": 32,
    "encoder_depth": 2,
    "encoder_num_heads": 2,
    "encoder_global_attn_indexes": [1],
    "encoder_window_size": 4,
    "image_size": 256,
    "vit_patch_size": 16,
    "prompt_embed_dim": 32,
    "decoder_mlp_dim": 64,
    "decoder_num_heads": 2,
    "iou_head_hidden_dim": 32,
}


def build_tiny_sam(folder: Path) -> Path:
    """A tiny segment-anything ``Sam``: ``model.pth`` (a plain state dict, like the official files) and its arch."""
    import torch

    from .build_segmenter import build_sam_from_arch

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(SEED)
    model = build_sam_from_arch(TINY_SAM_ARCH)
    torch.save(model.state_dict(), folder / "model.pth")
    meta = {"family": "sam", "checkpoint": "model.pth", "arch": TINY_SAM_ARCH}
    (folder / "think2map.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    _write_readme(folder, "tiny-sam: a tiny segment-anything (ViT) segmenter")
    return folder


def build_tiny_sam3(folder: Path) -> Path:
    """A tiny random SAM 3 concept model (``Sam3Model`` + ``Sam3Processor``, with a byte-level CLIP tokenizer)
    saved as transformers saves the real one, so it loads through :mod:`.finder` like ``facebook/sam3``.

    224-pixel input, 16 queries. Its scores are about 0.25 for everything (random weights): tests keep them
    with a low score threshold.
    """
    import torch
    from tokenizers import pre_tokenizers
    from transformers import (
        CLIPTokenizer,
        Sam3Config,
        Sam3DETRDecoderConfig,
        Sam3DETREncoderConfig,
        Sam3GeometryEncoderConfig,
        Sam3ImageProcessor,
        Sam3MaskDecoderConfig,
        Sam3Model,
        Sam3Processor,
        Sam3VisionConfig,
        Sam3ViTConfig,
    )

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    size, patch, width = 224, 14, 32
    grid = size // patch
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for suffix in ("", "</w>"):  # every byte, and every byte ending a word: no merges needed
        for symbol in sorted(pre_tokenizers.ByteLevel.alphabet()):
            vocab[symbol + suffix] = len(vocab)
    tokenizer = CLIPTokenizer(vocab=vocab, merges=[])
    small = {"num_attention_heads": 2, "intermediate_size": 64}
    backbone = Sam3ViTConfig(
        hidden_size=32, num_hidden_layers=2, image_size=size, patch_size=patch, window_size=grid // 2,
        global_attn_indexes=[1], pretrain_image_size=size, **small,
    )  # fmt: skip
    vision = Sam3VisionConfig(
        backbone_config=backbone, fpn_hidden_size=width, scale_factors=[4.0, 2.0, 1.0, 0.5],
        backbone_feature_sizes=[[4 * grid] * 2, [2 * grid] * 2, [grid] * 2],
    )  # fmt: skip
    text = {
        "vocab_size": len(tokenizer), "hidden_size": 32, "projection_dim": 32, "num_hidden_layers": 1,
        "max_position_embeddings": 32, "hidden_act": "gelu", "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id, "pad_token_id": tokenizer.pad_token_id, **small,
    }  # fmt: skip
    config = Sam3Config(
        vision_config=vision,
        text_config=text,
        geometry_encoder_config=Sam3GeometryEncoderConfig(hidden_size=width, num_layers=1, **small),
        detr_encoder_config=Sam3DETREncoderConfig(hidden_size=width, num_layers=1, **small),
        detr_decoder_config=Sam3DETRDecoderConfig(hidden_size=width, num_layers=1, num_queries=16, **small),
        mask_decoder_config=Sam3MaskDecoderConfig(hidden_size=width, num_upsampling_stages=3, num_attention_heads=2),
    )
    Sam3Model(config).eval().save_pretrained(folder)
    image_processor = Sam3ImageProcessor(
        size={"height": size, "width": size}, mask_size={"height": 4 * grid, "width": 4 * grid}
    )
    Sam3Processor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(folder)
    _write_readme(folder, "tiny random SAM 3 (concept segmentation)")
    return folder
