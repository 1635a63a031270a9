"""The benchmark's models: real-size architectures with RANDOM weights, or the tiny ones.

Qwen2.5-VL-3B is built from its published configuration (environment-notes.md), with a local tokenizer whose
special tokens have Qwen's real ids; SAM 2.1-small and SAM ViT-B from their packages' own builders.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

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


def qwen_3b_config(text_layers: int = 36, vision_depth: int = 32, fullatt: Sequence[int] = (7, 15, 23, 31)):
    """Qwen2.5-VL-3B's configuration, optionally with fewer layers (same widths)."""
    from ...models.tiny import qwen_vl_config

    return qwen_vl_config(
        QWEN_SPECIAL_IDS,
        QWEN_VOCAB,
        hidden=2048,
        intermediate=11008,
        layers=text_layers,
        heads=16,
        kv_heads=2,
        mrope=(16, 24, 24),
        vision={
            "depth": vision_depth,
            "hidden_size": 1280,
            "intermediate_size": 3420,
            "num_heads": 16,
            "fullatt_block_indexes": list(fullatt),
        },
    )


def build_qwen_tokenizer():
    """A local byte-level BPE whose special tokens have Qwen2.5's real ids, in a vocabulary of Qwen's size.

    The BPE is trained on the prompt format (as the tiny models' is); unreachable filler entries take the ids
    up to Qwen's first special token, so every id the model reads or writes means what it does in Qwen.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    from ...models.tiny import QWEN_CHAT_TEMPLATE, build_tiny_tokenizer

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
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        padding_side="left",  # nosec B106 - tokenizer tokens
    )
    fast.chat_template = QWEN_CHAT_TEMPLATE
    for token, expected in QWEN_SPECIAL_IDS.items():
        if fast.convert_tokens_to_ids(token) != expected:
            raise RuntimeError(f"tokenizer: {token} got id {fast.convert_tokens_to_ids(token)}, not {expected}")
    return fast


def build_prompter(size: str, device: str, dtype_name: str, tiny_dir: Path | None = None):
    """A random-weight Qwen2.5-VL prompter: ``full`` (3B), ``quarter`` or ``tiny``; returns (prompter, info)."""
    import torch

    from ...models.prompter import Think2SegPrompter

    dtype = {"bf16": torch.bfloat16, "fp32": torch.float32, "fp16": torch.float16}[dtype_name]
    if size == "tiny":
        from ...models.prompter import load_prompter
        from ...models.tiny import build_tiny_prompter

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
        processor = Qwen2_5_VLProcessor(
            image_processor=Qwen2VLImageProcessor(),
            tokenizer=tokenizer,
            video_processor=Qwen2VLVideoProcessor(),
            chat_template=tokenizer.chat_template,
        )
        torch.manual_seed(0)
        with torch.device(device):
            model = Qwen2_5_VLForConditionalGeneration._from_config(config, dtype=dtype, attn_implementation="sdpa")
        model.eval()
        gc = model.generation_config
        gc.eos_token_id, gc.pad_token_id, gc.bos_token_id = (
            QWEN_SPECIAL_IDS["<|im_end|>"],
            QWEN_SPECIAL_IDS["<|endoftext|>"],
            QWEN_SPECIAL_IDS["<|endoftext|>"],
        )
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

    from ...models.segmenter import Sam2Segmenter, SamSegmenter

    if tiny_dir is not None:
        from ...models.build_segmenter import load_segmenter
        from ...models.tiny import build_tiny_sam, build_tiny_sam2

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
