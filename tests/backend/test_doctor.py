"""``doctor`` on this machine (CPU only), and the device choice it reports, decided for every platform."""

from __future__ import annotations

import json

import pytest

from backend.cli import main
from backend.devices import model_dtype_name, pick_auto_device
from backend.tools.doctor import Check, summary_line


def test_auto_prefers_cuda_then_mps_then_cpu():
    assert pick_auto_device(cuda=True, mps=True) == "cuda"
    assert pick_auto_device(cuda=False, mps=True) == "mps"  # Apple Silicon
    assert pick_auto_device(cuda=False, mps=False) == "cpu"


def test_each_device_runs_in_the_precision_it_supports():
    assert model_dtype_name("cuda") == "bfloat16"
    assert model_dtype_name("cuda:1", bf16=False) == "float16"  # a GPU without bf16 (pre-Ampere)
    assert model_dtype_name("mps") == "float16"
    assert model_dtype_name("cpu") == "float32"


def test_missing_default_models_are_named_with_their_pull_commands(tmp_path, capsys):
    rc = main(["doctor", "--models-dir", str(tmp_path / "empty"), "--offline"])
    out = capsys.readouterr().out
    assert rc == 1
    assert "python -m backend models pull think2seg-rs-3b" in out
    assert "python -m backend models pull sam2.1-s" in out
    assert "CPU only: queries will be slow" in out


def test_models_present_make_a_healthy_report(tiny_models, capsys):
    folder = tiny_models["prompter"].parent
    rc = main(
        [
            "doctor",
            "--models-dir",
            str(folder),
            "--prompter",
            str(tiny_models["prompter"]),
            "--segmenter",
            str(tiny_models["sam2"]),
            "--offline",
            "--json",
        ]  # fmt: skip
    )
    report = json.loads(capsys.readouterr().out)
    assert rc == 0 and report["ok"] is True
    by_name = {c["name"]: c for c in report["checks"]}
    assert by_name[f"prompter {tiny_models['prompter']}"]["ok"]
    assert "tiny-think2seg" in by_name["models folder"]["detail"]
    assert by_name["package torch"]["ok"] and by_name["package xgrammar"]["ok"]


def test_asking_for_a_gpu_that_is_absent_is_a_broken_part(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    rc = main(["doctor", "--device", "cuda", "--models-dir", str(tmp_path), "--offline"])
    assert rc == 1 and "[FAIL] gpu: CPU only" in capsys.readouterr().out


def test_the_summary_line_names_the_gpu():
    gpu = Check("gpu 0", True, "", data={"name": "NVIDIA H200", "memory_gib": 139.8}, required=False)
    assert summary_line([gpu]) == "GPU: NVIDIA H200, 139.8 GiB"
    assert summary_line([Check("gpu", False, "CPU only")]) == "CPU only: queries will be slow"
