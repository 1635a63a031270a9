"""``bench``: the real-size configuration and tokenizer (checked without building weights), and a tiny smoke run."""

from __future__ import annotations

import json

import numpy as np
import pytest

from backend.cli import main
from backend.tools.bench.models import QWEN_SPECIAL_IDS, QWEN_VOCAB, build_qwen_tokenizer, qwen_3b_config
from backend.tools.bench.run import KM2_PER_TILE
from backend.tools.bench.truth import make_raster


def test_qwen_3b_config_has_the_published_size():
    import torch
    from transformers import Qwen2_5_VLForConditionalGeneration

    config = qwen_3b_config()
    with torch.device("meta"):  # shapes only: no memory, no init cost
        model = Qwen2_5_VLForConditionalGeneration(config)
    params = sum(p.numel() for p in model.parameters())
    # Qwen2.5-VL-3B-Instruct is published as 3.75 B parameters (tied embeddings counted once).
    assert 3.70e9 < params < 3.80e9, params
    assert config.text_config.vocab_size == QWEN_VOCAB == 151936
    assert config.image_token_id == 151655 and config.vision_start_token_id == 151652


def test_tokenizer_has_qwens_ids_and_an_840_image_is_900_tokens():
    from transformers import Qwen2_5_VLProcessor
    from transformers.models.qwen2_vl.image_processing_qwen2_vl import Qwen2VLImageProcessor
    from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor

    from backend.models.prompter import to_model_image
    from backend.models.prompts import chat_messages

    tok = build_qwen_tokenizer()
    assert {t: tok.convert_tokens_to_ids(t) for t in QWEN_SPECIAL_IDS} == QWEN_SPECIAL_IDS
    assert len(tok) <= QWEN_VOCAB and tok.eos_token_id == 151645 and tok.pad_token_id == 151643
    text = '<answer>[{"bbox_2d": [1, 2, 3, 4]}]</answer>'
    assert tok.decode(tok.encode(text, add_special_tokens=False)) == text
    processor = Qwen2_5_VLProcessor(
        image_processor=Qwen2VLImageProcessor(),
        tokenizer=tok,
        video_processor=Qwen2VLVideoProcessor(),
        chat_template=tok.chat_template,
    )
    chat = processor.apply_chat_template(chat_messages("buildings"), tokenize=False, add_generation_prompt=True)
    image = to_model_image(np.zeros((300, 500, 3), np.uint8))
    ids = processor(text=[chat], images=[image], return_tensors="pt")["input_ids"][0]
    # 840 / 14 = 60 patches a side, merged 2×2: 30 × 30 = 900 image tokens.
    assert int((ids == 151655).sum()) == 900


def test_synthetic_raster_has_exactly_the_tiles_asked_for(tmp_path):
    import rasterio

    from backend.geo.raster import PixelWindow
    from backend.geo.tiling import tile_grid

    path, truth = make_raster(tmp_path, 6)
    with rasterio.open(path) as ds:
        assert (ds.height, ds.width) == (840 + 712, 840 + 2 * 712) == truth.shape  # 2 rows × 3 columns
        assert ds.res == (0.5, 0.5)
    assert (
        len(tile_grid(PixelWindow(0, 0, truth.shape[1], truth.shape[0]), truth.shape[1], truth.shape[0], 840, 128)) == 6
    )
    # About 215 buildings per km² at 0.5 m: (1552 × 2264 px × 0.25 m²) = 0.878 km² -> ~189 buildings
    # covering roughly 189 × ~500 m² (/0.25 m² per px) ≈ 4-8 % of the pixels.
    assert 0.02 < truth.mean() < 0.12
    assert KM2_PER_TILE == pytest.approx(0.126736)  # (712 px × 0.5 m)² = 356² m²


def test_tiny_bench_smoke(tmp_path, capsys):
    out = tmp_path / "bench.json"
    rc = main(
        [
            "bench",
            "--tiny",
            "--tiles",
            "2",
            "--batch-sizes",
            "1,2",
            "--tokens",
            "3",
            "--instances",
            "2",
            "--device",
            "cpu",
            "-o",
            str(out),
        ]
    )
    assert rc == 0
    report = json.loads(out.read_text())
    names = [r["name"] for r in report["runs"]]
    assert names == ["plain", "optimised-b1", "optimised-b2", "cache-cold-b2", "cache-warm-b2"]
    for r in report["runs"]:
        assert r["tiles"] == 2 and r["features"] > 0 and r["wall_s"] > 0
        assert r["generated_tokens"] == 3 * 2  # exactly --tokens per tile, EOS suppressed
        assert r["per_tile_s"]["prefill"] > 0 and r["per_tile_s"]["decode"] > 0
        assert r["km2_per_h"] == pytest.approx(r["tiles_per_s"] * 3600 * KM2_PER_TILE)
        assert r["first_polygon_s"] is not None and 0 < r["first_polygon_s"] <= r["wall_s"]
        assert 0 < r["cpu_side_share"] < 1 and r["peak_host_mb"] > 0
        assert 0 <= r["cpu_wait_share"] < 1
    assert set(report["warmup_s"]) == {"1", "2"} and all(v > 0 for v in report["warmup_s"].values())
    # Every run segments the same raster the same way: the optimisations change the speed, not the answer.
    assert len({r["features"] for r in report["runs"]}) == 1
    warm, cold = report["runs"][-1], report["runs"][-2]
    assert warm["encoder_cache_hits"] == 2 and cold["encoder_cache_hits"] == 0
    assert warm["per_tile_s"]["encode"] < cold["per_tile_s"]["encode"]
    assert report["geometry"]["cpu_s_per_tile"] > 0 and report["geometry"]["buildings_per_tile"] > 1
    assert set(report["sam_encode_s_per_tile"]) == {"set_image", "set_image_cpu", "batch_2", "batch_2_cpu"}
    assert "speed-up" in capsys.readouterr().out


@pytest.mark.live  # a real server on loopback (uvicorn in a thread)
def test_click_bench_measures_a_miss_then_hits(tmp_path, capsys):
    out = tmp_path / "clicks.json"
    assert main(["bench", "--clicks", "--tiny", "--device", "cpu", "-o", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["miss_s"] > 0 and report["hit_s_median"] > 0 and report["after_warm_up_cached"] is True
    assert report["cache"]["encoded"] == 3  # the warm-up tile, the first click's, and the warmed view's: no more
    assert "click latency" in capsys.readouterr().out


def test_spanning_object_bench_reports_the_slowest_tile(tmp_path):
    out = tmp_path / "spanning.json"
    assert main(["bench", "--spanning-object", "3", "-o", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["tiles"] == 9 and report["features"] == 1 and report["holes"] > 100
    assert report["slowest_tile_s"] > 0 and report["after_last_tile_s"] >= 0 and report["peak_host_mb"] > 0
