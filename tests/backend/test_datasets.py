"""The benchmark readers, on small fixtures that the tests write in each data set's public layout."""

from __future__ import annotations

import csv
import json
import pickle
import random

import numpy as np
import pytest
from PIL import Image

from backend.cli import main
from backend.errors import UserError
from backend.models.prompter import Prompter
from backend.models.prompts import PromptResult, parse_answer
from backend.tools.datasets import choose_questions, ground_truth, load_samples
from backend.tools.evaluate import evaluate
from tests.fakes import FakeBoxSegmenter

pytest.importorskip("pycocotools")


def _image(path, size=(60, 40), seed=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    rgb = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(rgb).save(path)


def _mask(path, box, size=(60, 40), channels=1):
    """A mask file with ``box`` (x1, y1, x2, y2) set; a 3-channel one has noise in channels 1-2 elsewhere."""
    path.parent.mkdir(parents=True, exist_ok=True)
    w, h = size
    array = np.zeros((h, w, channels), dtype=np.uint8)
    x1, y1, x2, y2 = box
    array[y1:y2, x1:x2, 0] = 255
    if channels == 3:
        array[:5, :5, 1:] = 255  # not channel 0: not the target, as RefSegRS's loader reads it
    Image.fromarray(array[..., 0] if channels == 1 else array).save(path)


def _expected(box, size=(60, 40)) -> np.ndarray:
    w, h = size
    native = np.zeros((h, w), dtype=np.uint8)
    x1, y1, x2, y2 = box
    native[y1:y2, x1:x2] = 1
    return np.asarray(Image.fromarray(native).resize((840, 840), Image.Resampling.NEAREST)) > 0


@pytest.fixture
def earthreason(tmp_path):
    root = tmp_path / "EarthReason"
    (root / "test" / "QAs").mkdir(parents=True)
    for k, (sid, fmt, box) in enumerate(
        (("a1", "png", (10, 5, 30, 25)), ("b2", "jpg", None), ("c3", "png", (0, 0, 60, 40)))
    ):
        _image(root / "test" / "images" / f"{sid}.{fmt}", seed=k)
        _mask(root / "test" / "labels" / f"{sid}.png", box or (0, 0, 0, 0))
        qa = {"questions": [f"q1 {sid}", f"q2 {sid}", f"q3 {sid}"], "answer": ["x"] if box else []}
        (root / "test" / "QAs" / f"{sid}.json").write_text(json.dumps(qa))
    _image(root / "test" / "images" / "d4.png")  # a QA file but no label: skipped, as the reference does
    (root / "test" / "QAs" / "d4.json").write_text(json.dumps({"questions": ["q"], "answer": []}))
    _image(root / "test" / "images" / "e5.png")  # no question: skipped
    _mask(root / "test" / "labels" / "e5.png", (0, 0, 1, 1))
    (root / "test" / "QAs" / "e5.json").write_text(json.dumps({"questions": [], "answer": []}))
    return root


def test_earthreason_reader(earthreason):
    import os

    samples = load_samples("earthreason", earthreason, "test")
    listed = [n.split(".")[0] for n in os.listdir(earthreason / "test" / "images")]
    assert [s.id for s in samples] == [i for i in listed if i in ("a1", "b2", "c3")]
    assert [s.id for s in load_samples("earthreason", earthreason, "test", order="sorted")] == ["a1", "b2", "c3"]
    by_id = {s.id: s for s in samples}
    assert np.array_equal(ground_truth(by_id["a1"]), _expected((10, 5, 30, 25)))
    assert not ground_truth(by_id["b2"]).any()
    rng = random.Random(0)
    assert [i.question for i in choose_questions(samples, "random", 0)] == [rng.choice(s.questions) for s in samples]
    assert [i.question for i in choose_questions(samples, "first")] == [s.questions[0] for s in samples]
    assert len(choose_questions(samples, "all")) == 9


@pytest.fixture
def rrsisd(tmp_path):
    root = tmp_path / "RRSIS-D"
    images = root / "images" / "rrsisd" / "JPEGImages"
    _image(images / "00001.jpg", size=(80, 80))
    _image(images / "00002.jpg", size=(80, 80), seed=1)
    square = [[10.0, 10.0, 50.0, 10.0, 50.0, 50.0, 10.0, 50.0]]  # a 40×40 polygon
    instances = {
        "images": [
            {"id": 1, "file_name": "00001.jpg", "height": 80, "width": 80},
            {"id": 2, "file_name": "00002.jpg", "height": 80, "width": 80},
        ],
        "annotations": [
            {"id": 11, "image_id": 1, "segmentation": square, "category_id": 1},
            {"id": 12, "image_id": 2, "segmentation": [[0.0, 0.0, 80.0, 0.0, 80.0, 20.0, 0.0, 20.0]], "category_id": 1},
        ],
        "categories": [{"id": 1, "name": "vehicle"}],
    }
    refs = [
        {
            "ref_id": 7,
            "image_id": 1,
            "ann_id": 11,
            "split": "test",
            "sentences": [{"sent": "the car on the left"}, {"sent": "a second wording"}],
        },
        {"ref_id": 8, "image_id": 2, "ann_id": 12, "split": "train", "sentences": [{"sent": "the strip at the top"}]},
        {"ref_id": 9, "image_id": 2, "ann_id": 12, "split": "testB", "sentences": [{"sent": "the top strip"}]},
    ]
    (root / "rrsisd").mkdir(parents=True)
    (root / "rrsisd" / "instances.json").write_text(json.dumps(instances))
    (root / "rrsisd" / "refs(unc).p").write_bytes(pickle.dumps(refs))
    return root


def test_rrsisd_reader(rrsisd):
    samples = load_samples("rrsisd", rrsisd, "test")
    assert [s.id for s in samples] == ["7", "9"]  # "test" takes every split containing it, in file order
    assert samples[0].questions == ("the car on the left.",)  # the first sentence, with a full stop
    gt = ground_truth(samples[0])
    assert gt.shape == (840, 840)
    # pycocotools fills the 40×40 square of an 80×80 image: about a quarter of the 840 frame.
    assert gt.mean() == pytest.approx(0.25, abs=0.02) and gt[420, 300] and not gt[700, 700]
    assert [s.id for s in load_samples("rrsisd", rrsisd, "train")] == ["8"]


def test_rrsisd_refs_pickle_is_read_as_plain_data(rrsisd):
    from collections import OrderedDict

    (rrsisd / "rrsisd" / "refs(unc).p").write_bytes(pickle.dumps([OrderedDict(ref_id=1)]))
    with pytest.raises(UserError, match="only plain lists and dicts"):
        load_samples("rrsisd", rrsisd, "test")


@pytest.fixture
def refsegrs(tmp_path):
    root = tmp_path / "RefSegRS"
    for k, (sid, box) in enumerate((("10", (5, 5, 25, 35)), ("11", (30, 0, 60, 40)))):
        _image(root / "images" / f"{sid}.tif", seed=k)
        _mask(root / "masks" / f"{sid}.tif", box, channels=3)
    (root / "output_phrase_test.txt").write_text(
        "10 road   on the left\n11 building\nlonely\n10 the vehicle\n99 a missing image\n"
    )
    return root


def test_refsegrs_reader(refsegrs):
    samples = load_samples("refsegrs", refsegrs, "test")
    assert [(s.id, s.questions) for s in samples] == [
        ("0:10", ("road on the left",)),  # split on whitespace, joined with one space
        ("1:11", ("building",)),
        ("2:10", ("the vehicle",)),
    ]
    assert np.array_equal(ground_truth(samples[0]), _expected((5, 5, 25, 35)))  # channel 0 only


@pytest.fixture
def risbench(tmp_path):
    root = tmp_path / "RISBench"
    for k, (name, box) in enumerate((("p1.png", (0, 0, 30, 20)), ("p2.png", (20, 10, 50, 30)))):
        _image(root / "img_rgb" / name, seed=k)
        _mask(root / "mask" / name, box)
    (root / "output_phrase_test.txt").write_text("p1.png the  pond near the road\np2.png a tennis court\n")
    return root


def test_risbench_reader(risbench):
    samples = load_samples("risbench", risbench, "test")
    assert [(s.id, s.questions) for s in samples] == [
        ("0:p1", ("the  pond near the road",)),  # split at the first space only: the rest as written
        ("1:p2", ("a tennis court",)),
    ]
    assert np.array_equal(ground_truth(samples[1]), _expected((20, 10, 50, 30)))


@pytest.mark.parametrize("name", ["earthreason", "rrsisd", "refsegrs", "risbench"])
def test_a_folder_in_another_layout_is_refused(name, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError):
        load_samples(name, tmp_path / "empty", "test")


class FakeBoxPrompter(Prompter):
    """FAKE prompter: answers the ground truth's bounding box (840 frame) of the image it is shown."""

    name = "fake-box"

    def __init__(self, truths: dict[bytes, np.ndarray]):
        self.truths = truths

    def prompt(self, images, query, tiles=None) -> list[PromptResult]:
        out = []
        for image in images:
            gt = self.truths[image.tobytes()[:4096]]
            if not gt.any():
                out.append(parse_answer("<think>none</think><answer>[]</answer>"))
                continue
            ys, xs = np.nonzero(gt)
            box = [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]
            cx, cy = (box[0] + box[2]) // 2, (box[1] + box[3]) // 2
            item = {"bbox_2d": box, "positive_points": [[cx, cy], [cx + 1, cy]]}
            out.append(parse_answer(f"<think>t</think><answer>{json.dumps([item])}</answer>"))
        return out


@pytest.mark.parametrize("name", ["earthreason", "rrsisd", "refsegrs", "risbench"])
def test_evaluate_reads_every_layout(name, request, tmp_path):
    from backend.tools.datasets import model_view

    root = request.getfixturevalue(name)
    samples = load_samples(name, root, "test")
    truths = {model_view(s.image).tobytes()[:4096]: ground_truth(s) for s in samples}
    metrics = evaluate(
        root, "test", FakeBoxPrompter(truths), FakeBoxSegmenter(), tmp_path / "rows.csv", progress=False, dataset=name
    )
    # Every target is a rectangle, answered with its own box: every IoU is 1.
    assert metrics["samples"] == len(samples) and metrics["giou_think2seg"] == 1.0
    assert metrics["precision_at_0.5"] == 1.0 and metrics["parse_failure_rate"] == 0.0
    with (tmp_path / "rows.csv").open(newline="") as fh:
        assert [r["question"] for r in csv.DictReader(fh)] == [
            i.question for i in choose_questions(samples, "random", 0)
        ]


def test_cli_constrained_tiny_models_parse_every_answer(risbench, tiny_models, tmp_path, capsys):
    out = tmp_path / "m.json"
    args = ["evaluate", str(risbench), "--dataset", "risbench", "--split", "test", "--prompter",
            str(tiny_models["prompter"]), "--segmenter", str(tiny_models["sam2"]), "--device", "cpu", "-q",
            "-o", str(tmp_path / "rows.csv"), "--json", str(out)]  # fmt: skip
    assert main([*args, "--max-new-tokens", "40"]) == 0
    free = json.loads(out.read_text())
    assert free["constrained"] is False and free["parse_failure_rate"] == 1.0
    assert main([*args, "--constrain-answers"]) == 0
    held = json.loads(out.read_text())
    assert held["constrained"] is True and held["parse_failure_rate"] == 0.0
    assert held["lenient"]["parse_failure_rate"] == 0.0
    assert "reference protocol" in capsys.readouterr().out


def test_an_interrupted_evaluation_keeps_the_earlier_csv_and_its_rows_so_far(risbench, tmp_path):
    from backend.tools.datasets import model_view

    samples = load_samples("risbench", risbench, "test")
    truths = {model_view(s.image).tobytes()[:4096]: ground_truth(s) for s in samples}
    out = tmp_path / "rows.csv"
    out.write_text("an earlier run's rows\n")

    class Stops(FakeBoxSegmenter):
        calls = 0

        def set_image(self, image):
            type(self).calls += 1
            if self.calls == 2:
                raise KeyboardInterrupt
            super().set_image(image)

    with pytest.raises(KeyboardInterrupt):
        evaluate(risbench, "test", FakeBoxPrompter(truths), Stops(), out, progress=False, dataset="risbench")
    assert out.read_text() == "an earlier run's rows\n"
    rows = (tmp_path / "rows.csv.partial").read_text().splitlines()
    assert rows[0].startswith("id,question") and len(rows) == 2  # the header and the first sample
