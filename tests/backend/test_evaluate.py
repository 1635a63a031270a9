"""``evaluate`` end to end on a small EarthReason-format set cut from the real Atlanta raster.

The FAKE models (``FakeEarthReasonOracle``) know each image's label; the expected metrics are recomputed
here with plain numpy from the files on disk, independently of ``backend.metrics`` and ``backend.evaluate``.
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from backend.cli import main
from backend.errors import UserError
from backend.models.forcing import forced_answer_kwargs
from backend.models.prompter import Prompter
from backend.tools.datasets import load_samples
from backend.tools.evaluate import CSV_COLUMNS, evaluate
from tests.backend.fixtures_earthreason import (
    CROPS,
    FALSE_POSITIVE_BOX,
    QUESTIONS,
    FakeEarthReasonOracle,
    build_earthreason_fixture,
)


@pytest.fixture(scope="module")
def dataset(shared_data, tmp_path_factory):
    return build_earthreason_fixture(shared_data, tmp_path_factory.mktemp("earthreason"))


def _views(dataset) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per sample: the 840×840 LANCZOS image and the 840×840 NEAREST ground truth, straight from PIL."""
    root = dataset / "val"
    views = {}
    for sid, (_, fmt, _) in CROPS.items():
        with Image.open(root / "images" / f"{sid}.{fmt}") as im:
            image = np.asarray(im.convert("RGB").resize((840, 840), Image.Resampling.LANCZOS))
        label = root / "labels" / f"{sid}.png"
        if label.exists():
            with Image.open(label) as im:
                gt = np.asarray(im.resize((840, 840), Image.Resampling.NEAREST)) > 0
        else:
            gt = np.zeros((840, 840), bool)
        views[sid] = (image, gt)
    return views


def _expected_prediction(sid: str, gt: np.ndarray) -> np.ndarray:
    pred = np.zeros_like(gt)
    behaviour = CROPS[sid][2]
    if behaviour == "oracle":  # each building's bounding box, filled
        labels, _ = ndimage.label(gt)
        for sl in ndimage.find_objects(labels):
            pred[sl] = True
    elif behaviour == "false_positive":
        x1, y1, x2, y2 = FALSE_POSITIVE_BOX
        pred[y1:y2, x1:x2] = True
    return pred


def test_fixture_layout(dataset):
    samples = load_samples("earthreason", dataset, "val", order="sorted")
    assert [s.id for s in samples] == sorted(CROPS)
    by_id = {s.id: s for s in samples}
    assert by_id["s01"].questions == QUESTIONS
    with pytest.raises(UserError):
        load_samples("earthreason", dataset, "test")


def test_the_reference_draws_one_question_per_sample_in_listdir_order(dataset, tmp_path):
    import os
    import random

    views = _views(dataset)
    fake = FakeEarthReasonOracle(views)
    metrics = evaluate(dataset, "val", fake, fake, tmp_path / "rows.csv", progress=False)
    with (tmp_path / "rows.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    listed = [name.split(".")[0] for name in os.listdir(dataset / "val" / "images")]
    rng = random.Random(0)
    assert [(r["id"], r["question"]) for r in rows] == [(sid, rng.choice(QUESTIONS)) for sid in listed]
    assert metrics["protocol"] == "reference" and metrics["question"] == "random" and metrics["seed"] == 0

    every = evaluate(dataset, "val", fake, fake, tmp_path / "all.csv", progress=False, question="all", order="sorted")
    with (tmp_path / "all.csv").open(newline="") as fh:
        ids = [r["id"] for r in csv.DictReader(fh)]
    assert every["samples"] == 3 * len(CROPS) and ids[:3] == ["s01#0", "s01#1", "s01#2"]


def test_metrics_match_an_independent_computation(dataset, tmp_path):
    views = _views(dataset)
    fake = FakeEarthReasonOracle(views)
    out = tmp_path / "rows.csv"
    metrics = evaluate(dataset, "val", fake, fake, out, progress=False, order="sorted", question="first")

    inter, union, ious, empty_gt = {}, {}, {}, {}
    for sid, (_, gt) in views.items():
        pred = _expected_prediction(sid, gt)
        inter[sid], union[sid] = int((pred & gt).sum()), int((pred | gt).sum())
        ious[sid] = 1.0 if union[sid] == 0 else inter[sid] / union[sid]
        empty_gt[sid] = not gt.any()
    assert [k for k, v in empty_gt.items() if v] == ["s03", "s05"]
    assert 0 < ious["s01"] < 1 and ious["s03"] == 1.0 and ious["s05"] == 0.0 and ious["s06"] == 0.0
    with_target = [k for k in views if not empty_gt[k]]

    assert metrics["samples"] == 6 and metrics["empty_gt_samples"] == 2
    assert metrics["giou_lisa"] == pytest.approx(np.mean(list(ious.values())))
    assert metrics["giou_think2seg"] == pytest.approx(metrics["giou_lisa"])
    assert metrics["ciou_lisa"] == pytest.approx(sum(inter.values()) / sum(union.values()))
    assert metrics["ciou_think2seg"] == pytest.approx(
        sum(inter[k] for k in with_target) / sum(union[k] for k in with_target)
    )
    # The false positive on s05 is in LISA's union only.
    assert metrics["ciou_think2seg"] > metrics["ciou_lisa"]
    assert metrics["no_target_accuracy"] == 0.5 and metrics["no_target_answer_rate"] == 0.5
    assert metrics["unparseable"] == 1 and metrics["parse_failure_rate"] == pytest.approx(1 / 6)
    assert metrics["errors"] == 0
    assert fake.encodes == 4  # s01, s02, s04 and s05 have instances; s03 ([]) and s06 (garbage) skip SAM

    with out.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == CSV_COLUMNS
    got = {r["id"]: r for r in rows}
    assert list(got) == sorted(CROPS)
    status = {k: r["status"] for k, r in got.items()}
    assert status == {"s01": "ok", "s02": "ok", "s03": "no_target", "s04": "ok", "s05": "ok", "s06": "unparseable"}
    for sid, r in got.items():
        assert (int(r["intersection"]), int(r["union"])) == (inter[sid], union[sid])
        assert float(r["iou"]) == pytest.approx(ious[sid], abs=1e-6)
        assert r["empty_gt"] == str(int(empty_gt[sid]))
        if CROPS[sid][2] == "oracle":
            assert int(r["n_instances"]) == ndimage.label(views[sid][1])[1]


def test_a_failing_sample_is_recorded_not_fatal(dataset, tmp_path):
    views = _views(dataset)
    fake = FakeEarthReasonOracle(views)

    class Flaky(Prompter):
        name = "flaky"

        def prompt(self, images, query, tiles=None):
            raise RuntimeError("boom")

    metrics = evaluate(dataset, "val", Flaky(), fake, tmp_path / "rows.csv", progress=False, limit=2)
    assert metrics["samples"] == 2 and metrics["errors"] == 2 and metrics["giou_lisa"] == 0.0


def test_real_tiny_models_flow(dataset, tiny_models, tmp_path):
    from backend.models.build_segmenter import load_segmenter
    from backend.models.prompter import load_prompter

    prompter = load_prompter(tiny_models["prompter"], device="cpu", max_new_tokens=96)
    answer = (
        '<think>x</think>\n<answer>```json[{"bbox_2d": [84, 168, 420, 840], '
        '"positive_points": [[200, 400], [210, 410]]}]```</answer>'
    )
    prompter.generate_kwargs = forced_answer_kwargs(prompter.processor, [answer])
    segmenter = load_segmenter(tiny_models["sam2"], device="cpu")
    out = tmp_path / "tiny.csv"
    metrics = evaluate(dataset, "val", prompter, segmenter, out, progress=False, limit=2, order="sorted")
    assert metrics["samples"] == 2 and metrics["errors"] == 0
    assert metrics["prompter"] == "tiny-think2seg"
    with out.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["id"] for r in rows] == ["s01", "s02"]
    assert all(r["status"] == "ok" and r["n_instances"] == "1" for r in rows)
    assert all(0.0 <= float(r["iou"]) <= 1.0 for r in rows)
    json.dumps(metrics)  # the summary is JSON-serialisable


def test_batches_give_the_same_rows(dataset, tmp_path):
    views = _views(dataset)
    one, three = tmp_path / "one.csv", tmp_path / "three.csv"
    m1 = evaluate(dataset, "val", FakeEarthReasonOracle(views), FakeEarthReasonOracle(views), one, progress=False)
    m3 = evaluate(
        dataset, "val", FakeEarthReasonOracle(views), FakeEarthReasonOracle(views), three, progress=False, batch_size=4
    )
    assert one.read_text() == three.read_text()
    assert {k: v for k, v in m1.items() if k not in ("seconds", "csv")} == {
        k: v for k, v in m3.items() if k not in ("seconds", "csv")
    }


def test_cli_with_tiny_models_and_a_forced_answer(dataset, tiny_models, tmp_path, capsys):
    # The forced box covers x 0-840, y 0-420 of the 840x840 frame: the top half of every image.
    answer = (
        '<think>x</think><answer>[{"bbox_2d": [0, 0, 840, 420], "positive_points": [[420, 200], [430, 210]]}]</answer>'
    )
    out, js = tmp_path / "rows.csv", tmp_path / "m.json"
    rc = main(
        [
            "evaluate",
            str(dataset),
            "--split",
            "val",
            "--prompter",
            str(tiny_models["prompter"]),
            "--segmenter",
            str(tiny_models["sam2"]),
            "--device",
            "cpu",
            "--batch-size",
            "2",
            "--max-new-tokens",
            "80",
            "--force-answer",
            answer,
            "--limit",
            "3",
            "--order",
            "sorted",
            "-o",
            str(out),
            "--json",
            str(js),
            "-q",
        ]
    )
    assert rc == 0
    with out.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["id"] for r in rows] == ["s01", "s02", "s03"]
    assert all(r["status"] == "ok" and r["n_instances"] == "1" for r in rows)
    metrics = json.loads(js.read_text())
    assert metrics["samples"] == 3 and metrics["errors"] == 0 and metrics["unparseable"] == 0
    # s03 has no target but the forced answer finds one: "no target" is never answered.
    assert metrics["empty_gt_samples"] == 1 and metrics["no_target_answer_rate"] == 0.0
    printed = capsys.readouterr().out
    assert "LISA / SegEarth-R1" in printed and "Think2Seg-RS" in printed


def test_batched_sam_encoding_on_gpus_matches_one_by_one(dataset, tiny_models, tmp_path):
    from backend.models.build_segmenter import load_segmenter
    from backend.models.prompter import load_prompter

    class OnGpu:
        """Delegates to a real CPU segmenter but reports a CUDA device, so that evaluate batches the encoder."""

        device = "cuda"

        def __init__(self, inner):
            self.inner, self.name, self.batches = inner, inner.name, []

        def encode(self, images):
            self.batches.append(len(images))
            return self.inner.encode(images)

        def __getattr__(self, attr):
            return getattr(self.inner, attr)

    answer = (
        '<think>x</think><answer>[{"bbox_2d": [100, 100, 700, 500], '
        '"positive_points": [[400, 300], [410, 310]]}]</answer>'
    )
    prompter = load_prompter(tiny_models["prompter"], device="cpu", max_new_tokens=80, batch_size=3)
    prompter.generate_kwargs = forced_answer_kwargs(prompter.processor, [answer])
    segmenter = load_segmenter(tiny_models["sam2"], device="cpu")
    gpu = OnGpu(segmenter)
    evaluate(dataset, "val", prompter, gpu, tmp_path / "b.csv", progress=False, limit=3, batch_size=3, order="sorted")
    evaluate(
        dataset, "val", prompter, segmenter, tmp_path / "s.csv", progress=False, limit=3, batch_size=1, order="sorted"
    )
    assert gpu.batches == [3]
    with (tmp_path / "b.csv").open(newline="") as fb, (tmp_path / "s.csv").open(newline="") as fs:
        batched, single = list(csv.DictReader(fb)), list(csv.DictReader(fs))
    assert [r["status"] for r in batched] == [r["status"] for r in single] == ["ok"] * 3
    for b, s in zip(batched, single):
        assert float(b["iou"]) == pytest.approx(float(s["iou"]), abs=0.02)


class _StopAtLoadError(Exception):
    """Raised by the stand-in loader: the config it was given is all these tests look at."""


@pytest.mark.parametrize(("protocol", "extra", "expected"), [
    ("reference", [], 2048),  # the reference's limit, not the checkpoint's own (the tiny one says 256)
    ("reference", ["--max-new-tokens", "80"], 80),
    ("lenient", [], None),  # the checkpoint's own
])  # fmt: skip
def test_the_reference_protocol_generates_up_to_2048_tokens(
    dataset, tiny_models, monkeypatch, protocol, extra, expected
):
    import backend.commands.evaluate as command

    seen = {}

    def loader(config, *_):
        seen["config"] = config
        raise _StopAtLoadError

    monkeypatch.setattr(command, "load_models", loader)
    models = ["--prompter", str(tiny_models["prompter"]), "--segmenter", str(tiny_models["sam2"])]
    main(["evaluate", str(dataset), *models, "--device", "cpu", "--protocol", protocol, "-q", *extra])  # stops at load
    assert seen["config"].max_new_tokens == expected


def test_evaluate_says_json_repair_is_missing_before_loading_models(dataset, monkeypatch, capsys):
    import sys

    import backend.commands.evaluate as command

    monkeypatch.setitem(sys.modules, "json_repair", None)
    monkeypatch.setattr(command, "load_models", lambda *a: pytest.fail("models loaded"))
    assert main(["evaluate", str(dataset), "--device", "cpu", "-q"]) == 2
    assert "pip install json_repair" in capsys.readouterr().err
