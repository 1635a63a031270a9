"""The tiny random models: built offline, loaded like real checkpoints, run through the real code paths."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from backend.errors import ModelError
from backend.models.batch import predict_masks
from backend.models.build_segmenter import load_segmenter
from backend.models.forcing import forced_answer_kwargs
from backend.models.prompter import Prompter, Think2SegPrompter, load_prompter
from backend.models.prompts import Instance
from backend.models.segmenter import Segmenter

pytest.importorskip("transformers")
pytest.importorskip("sam2")
pytest.importorskip("segment_anything")

ANSWER = (
    '<think>x</think><answer>[{"bbox_2d": [84, 168, 420, 840], "positive_points": [[200, 400], [210, 410]]}]</answer>'
)
EMPTY = "<think>nothing here</think><answer>[]</answer>"


def _image(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def prompter(tiny_models) -> Think2SegPrompter:
    return load_prompter(tiny_models["prompter"], device="cpu", max_new_tokens=96)


@pytest.fixture(params=["sam2", "sam"])
def segmenter(request, tiny_models) -> Segmenter:
    return load_segmenter(tiny_models[request.param], device="cpu")


def test_tiny_models_are_small_and_documented(tiny_models):
    assert set(tiny_models) == {"prompter", "sam2", "sam", "sam3"}
    assert tiny_models["prompter"].name == "tiny-think2seg"
    for folder in tiny_models.values():
        assert "random" in (folder / "README.txt").read_text().lower()
        size = sum(f.stat().st_size for f in folder.iterdir())
        assert size < 5 * 1024 * 1024, f"{folder.name} is {size} bytes"
    for family in ("sam2", "sam"):
        assert json.loads((tiny_models[family] / "think2map.json").read_text())["family"] == family


def test_tiny_prompter_loads(prompter):
    assert isinstance(prompter, Prompter)
    assert prompter.name == "tiny-think2seg"
    assert prompter.device == "cpu"
    assert prompter.tokenizer.padding_side == "left"


def test_forced_answers_scale_to_each_image(prompter):
    images = [_image(840, 840, 1), _image(420, 1680, 2), _image(100, 200, 3)]
    prompter.generate_kwargs = forced_answer_kwargs(prompter.processor, [ANSWER] * 3)
    try:
        results = prompter.prompt(images, "buildings")
    finally:
        prompter.generate_kwargs = {}
    assert len(results) == 3
    for image, result in zip(images, results):
        h, w = image.shape[:2]
        sx, sy = w / 840, h / 840
        assert result.status == "ok", result
        assert result.raw_text == ANSWER
        assert len(result.instances) == 1
        inst = result.instances[0]
        assert inst.box == pytest.approx((84 * sx, 168 * sy, 420 * sx, 840 * sy))
        assert [c for pt in inst.points for c in pt] == pytest.approx([200 * sx, 400 * sy, 210 * sx, 410 * sy])


def test_batches_are_split_and_answers_stay_in_order(tiny_models):
    # batch_size 2 with 3 images: two generate() calls; the forcing helper cycles through its texts per call.
    p = load_prompter(tiny_models["prompter"], device="cpu", max_new_tokens=96, batch_size=2)
    p.generate_kwargs = forced_answer_kwargs(p.tokenizer, [ANSWER, EMPTY])
    results = p.prompt([_image(64, 64), _image(80, 40), _image(30, 90)], "cars")
    assert [r.status for r in results] == ["ok", "no_target", "ok"]
    assert results[2].instances[0].box == pytest.approx((84 * 90 / 840, 168 * 30 / 840, 420 * 90 / 840, 30.0))


def test_empty_answer_is_no_target(prompter):
    prompter.generate_kwargs = forced_answer_kwargs(prompter.processor, [EMPTY])
    try:
        (result,) = prompter.prompt([_image(128, 96)], "a stadium")
    finally:
        prompter.generate_kwargs = {}
    assert result.status == "no_target"
    assert result.instances == []
    assert result.raw_text == EMPTY


def test_unforced_generation_never_raises(tiny_models):
    p = load_prompter(tiny_models["prompter"], device="cpu", max_new_tokens=12)
    results = p.prompt([_image(50, 70), _image(90, 60)], "trees")
    assert len(results) == 2
    assert all(r.status in ("ok", "no_target", "unparseable") for r in results)
    assert all(isinstance(r.raw_text, str) for r in results)
    assert p.prompt([], "trees") == []


def test_segmenters_give_a_bool_mask_and_a_score(segmenter):
    image = _image(120, 200, 4)
    segmenter.set_image(image)
    mask, score = segmenter.predict(Instance((20.0, 10.0, 150.0, 100.0), ((50.0, 40.0), (80.0, 60.0))))
    assert mask.dtype == bool and mask.shape == (120, 200)
    assert isinstance(score, float) and np.isfinite(score)
    mask, score = segmenter.predict(Instance(None, ((5.0, 5.0),)))
    assert mask.shape == (120, 200)


def test_predict_masks(segmenter):
    out = predict_masks(segmenter, _image(64, 96), [Instance((1, 1, 30, 40)), Instance((40, 10, 90, 60))])
    assert [m.shape for m, _ in out] == [(64, 96), (64, 96)]


def test_batched_masks_match_one_at_a_time(segmenter):
    """Instances of one prompt shape share a decoder call; each mask must be the one it gets alone."""
    segmenter.set_image(_image(120, 200, 5))
    instances = [
        Instance((20.0, 10.0, 150.0, 100.0), ((50.0, 40.0), (80.0, 60.0))),
        Instance((100.0, 50.0, 190.0, 115.0), ((120.0, 80.0), (150.0, 90.0))),
        Instance((5.0, 5.0, 60.0, 60.0)),
        Instance(None, ((30.0, 30.0),)),
        Instance((0.0, 0.0, 200.0, 120.0), ((10.0, 10.0), (20.0, 20.0))),
        Instance(None, ()),
        Instance((70.0, 20.0, 110.0, 70.0)),
    ]
    batched = segmenter.predict_many(instances)
    alone = [segmenter.predict(instance) for instance in instances]
    assert len(batched) == len(instances)
    for (mask_b, score_b), (mask_a, score_a) in zip(batched, alone):
        assert mask_b.shape == (120, 200) and mask_b.dtype == bool
        assert (mask_b != mask_a).mean() < 1e-3
        assert score_b == pytest.approx(score_a, abs=1e-4)
    assert not batched[5][0].any() and batched[5][1] == 0.0  # no prompt at all: an empty mask


def test_one_instance_matches_the_library_predictor(tiny_models):
    segmenter = load_segmenter(tiny_models["sam2"], device="cpu")
    image = _image(120, 200, 6)
    segmenter.set_image(image)
    mask, score = segmenter.predict(Instance((20.0, 10.0, 150.0, 100.0), ((50.0, 40.0), (80.0, 60.0))))
    masks, scores, _ = segmenter.predictor.predict(
        point_coords=np.array([[50.0, 40.0], [80.0, 60.0]]),
        point_labels=np.array([1, 1]),
        box=np.array([20.0, 10.0, 150.0, 100.0]),
        multimask_output=False,
    )
    assert np.array_equal(mask, masks[0] > 0.5)
    assert score == pytest.approx(float(scores[0]), abs=1e-6)


def test_segment_instances_without_instances_does_not_encode():
    class Spy(Segmenter):
        name = "spy"

        def set_image(self, image):
            raise AssertionError("set_image must not be called")

        def predict(self, instance):
            raise AssertionError("predict must not be called")

    assert predict_masks(Spy(), _image(10, 10), []) == []


def test_unknown_file_is_a_model_error(tmp_path):
    weird = tmp_path / "my_weights.bin"
    weird.write_bytes(b"\0" * 16)
    with pytest.raises(ModelError, match="not a recognised segmenter checkpoint.*sam2.1_hiera_small.pt"):
        load_segmenter(weird, device="cpu")
    with pytest.raises(ModelError, match="not found"):
        load_segmenter(tmp_path / "missing.pt", device="cpu")
    with pytest.raises(ModelError, match="no segmenter checkpoint"):
        load_segmenter(tmp_path, device="cpu")


@pytest.mark.parametrize("family", ["sam2", "sam"])
def test_corrupt_checkpoint_is_a_model_error(tiny_models, tmp_path, family):
    folder = tmp_path / family
    shutil.copytree(tiny_models[family], folder)
    ckpt = json.loads((folder / "think2map.json").read_text())["checkpoint"]
    (folder / ckpt).write_bytes(b"this is not a checkpoint")
    with pytest.raises(ModelError, match=f"cannot read the checkpoint .*{ckpt}"):
        load_segmenter(folder, device="cpu")


def test_official_name_with_wrong_weights_is_a_model_error(tiny_models, tmp_path):
    # The tiny SAM's weights under an official ViT-B name: the architecture does not fit.
    fake = tmp_path / "sam_vit_b_01ec64.pth"
    shutil.copy(tiny_models["sam"] / "model.pth", fake)
    with pytest.raises(ModelError, match="does not fit the SAM architecture"):
        load_segmenter(fake, device="cpu")


def test_folder_with_one_official_file_is_recognised(tiny_models, tmp_path):
    fake = tmp_path / "sam2.1_hiera_tiny.pt"
    shutil.copy(tiny_models["sam2"] / "model.pt", fake)
    with pytest.raises(ModelError, match="does not fit the SAM 2 architecture"):
        load_segmenter(tmp_path, device="cpu")


def test_corrupt_prompter_is_a_model_error(tiny_models, tmp_path):
    folder = tmp_path / "broken"
    shutil.copytree(tiny_models["prompter"], folder)
    (folder / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(ModelError, match="cannot load the prompter from .*broken"):
        load_prompter(folder, device="cpu")
    with pytest.raises(ModelError, match="no config.json"):
        load_prompter(tmp_path, device="cpu")


def test_tiny_models_are_deterministic(tiny_models, tmp_path):
    from backend.models.tiny import build_tiny_sam

    again = build_tiny_sam(tmp_path / "tiny-sam")
    import torch

    a = torch.load(tiny_models["sam"] / "model.pth", weights_only=True)
    b = torch.load(again / "model.pth", weights_only=True)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_devices():
    from backend.devices import autocast, resolve_device
    from backend.errors import UserError

    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") in ("cpu", "cuda")
    with pytest.raises(UserError, match="unknown device"):
        resolve_device("tpu")
    with autocast("cpu"):
        pass
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="no CUDA GPU"):
            resolve_device("cuda:0")


def test_prompter_path_errors(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        load_prompter(tmp_path / "nothing", device="cpu")


def test_loaders_accept_strings(tiny_models):
    assert load_segmenter(str(tiny_models["sam"]), device="cpu").name == "tiny-sam"
    assert load_prompter(str(tiny_models["prompter"]), device="cpu").name == "tiny-think2seg"


def test_a_sam2_config_cannot_instantiate_foreign_code_through_an_interpolation(tiny_models, tmp_path):
    """The allow-list sees the config after ``${...}`` interpolation: a node pulled in from elsewhere is checked."""
    folder = tmp_path / "evil-sam2"
    shutil.copytree(tiny_models["sam2"], folder)
    marker = tmp_path / "ran"
    config = folder / "tiny_sam2.yaml"
    text = config.read_text()
    text = text.replace("  memory_attention:", "  memory_attention: ${payload}\n  unused_attention:", 1)
    text += f"payload:\n  _target_: builtins.exec\n  _args_:\n  - open('{marker}', 'w').write('pwned')\n"
    config.write_text(text)
    with pytest.raises(ModelError, match="refusing to build 'builtins.exec'"):
        load_segmenter(folder, device="cpu")
    assert not marker.exists()
    # Without the interpolation the same target is refused too, and the untouched model still loads.
    config.write_text(text.replace("${payload}", "\n    _target_: os.system\n    command: 'true'"))
    with pytest.raises(ModelError, match="refusing to build 'os.system'"):
        load_segmenter(folder, device="cpu")
    assert load_segmenter(tiny_models["sam2"], device="cpu").name == "tiny-sam2"


class _Payload:
    """A pickle that runs code (it writes MARKER) when it is loaded with weights_only=False."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').write('pwned')",))


@pytest.mark.parametrize("payload", ["load", "save", "partial"])
def test_hostile_sam2_configs_run_nothing_and_write_nothing(payload, tiny_models, tmp_path):
    """The sweep's payloads: targets under sam2.* that walk to torch.load / torch.save, and Hydra's own keys."""
    import pickle

    folder = tmp_path / "evil-sam2"
    shutil.copytree(tiny_models["sam2"], folder)
    marker, written = tmp_path / "ran", tmp_path / "written.pt"
    (folder / "payload.pkl").write_bytes(pickle.dumps(_Payload(marker)))
    config = folder / "tiny_sam2.yaml"
    text = config.read_text()
    node = {
        "load": f"    _target_: sam2.modeling.sam2_base.torch.load\n    f: {folder / 'payload.pkl'}\n"
        "    weights_only: false\n",
        "save": f"    _target_: sam2.modeling.sam2_base.torch.save\n    obj: 1\n    f: {written}\n",
        "partial": "    _target_: sam2.modeling.memory_attention.MemoryAttention\n    _partial_: true\n",
    }[payload]
    config.write_text(text.replace("  memory_attention:", "  memory_attention:\n" + node + "  unused_attention:", 1))
    with pytest.raises(ModelError, match="refusing"):
        load_segmenter(folder, device="cpu")
    assert not marker.exists() and not written.exists()


def test_a_sam2_config_may_not_name_a_file_in_an_argument(tiny_models, tmp_path):
    folder = tmp_path / "sam2-with-a-path"
    shutil.copytree(tiny_models["sam2"], folder)
    config = folder / "tiny_sam2.yaml"
    config.write_text(config.read_text().replace("activation: relu", "activation: /etc/passwd", 1))
    with pytest.raises(ModelError, match="refusing the text '/etc/passwd'"):
        load_segmenter(folder, device="cpu")
    assert load_segmenter(tiny_models["sam2"], device="cpu").name == "tiny-sam2"
