"""The real-size SAM 3 (``Sam3Model(Sam3Config())``: 840 M parameters, 1008-pixel input) with random weights,
timed on one 840×840 tile: preprocessing, the forward pass (mostly the ViT), and the post-processing."""

from __future__ import annotations

import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from ...devices import resolve_device


def finder_bench(device: str = "auto", repeats: int = 1, tiny: bool = False) -> dict:
    import torch
    from tokenizers import pre_tokenizers
    from transformers import CLIPTokenizer, Sam3Config, Sam3ImageProcessor, Sam3Model, Sam3Processor

    device = resolve_device(device)
    torch.manual_seed(0)
    started = time.perf_counter()
    if tiny:  # the tiny SAM 3 of the tests, through its saved processor: a smoke test of this benchmark
        from ...models.tiny import build_tiny_sam3

        with tempfile.TemporaryDirectory(prefix="think2map-finder-") as tmp:
            folder = build_tiny_sam3(Path(tmp) / "sam3")
            model = Sam3Model.from_pretrained(folder, local_files_only=True).eval().to(device)  # nosec B615 - built here
            processor = Sam3Processor.from_pretrained(folder, local_files_only=True)  # nosec B615 - built here
    else:
        model = Sam3Model(Sam3Config()).eval().to(device)
        vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
        for suffix in ("", "</w>"):  # a byte-level CLIP vocabulary: the text encoder's cost does not depend on it
            for symbol in sorted(pre_tokenizers.ByteLevel.alphabet()):
                vocab[symbol + suffix] = len(vocab)
        processor = Sam3Processor(image_processor=Sam3ImageProcessor(), tokenizer=CLIPTokenizer(vocab=vocab, merges=[]))
    if device.startswith("cuda"):
        model = model.to(torch.bfloat16)
    built_s = time.perf_counter() - started
    tile = np.random.default_rng(0).integers(0, 256, (840, 840, 3), dtype=np.uint8)
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        inputs = processor(images=tile, text="buildings", return_tensors="pt").to(device)
        inputs["pixel_values"] = inputs["pixel_values"].to(model.dtype)
        t1 = time.perf_counter()
        with torch.inference_mode():
            outputs = model(**inputs)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        t2 = time.perf_counter()
        processor.post_process_instance_segmentation(
            outputs, threshold=0.5, mask_threshold=0.5, target_sizes=inputs["original_sizes"].tolist()
        )
        t3 = time.perf_counter()
        runs.append({"prep_s": t1 - t0, "forward_s": t2 - t1, "post_s": t3 - t2, "tile_s": t3 - t0})
    best = min(runs, key=lambda r: r["tile_s"])
    return {
        "device": device,
        "threads": torch.get_num_threads(),
        "parameters": sum(p.numel() for p in model.parameters()),
        "build_s": round(built_s, 1),
        "peak_host_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        **{k: round(v, 2) for k, v in best.items()},
    }
