"""The reference protocol's rules and the production parser's, each case computed by hand.

Every case shows the two protocols scoring the same answer differently. The FAKE segmenter fills each
instance's box as written (numpy slicing: a reversed box fills nothing), so masks can be counted by hand.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from backend.tools.metrics import ciou_think2seg, giou, precision_at, precision_at_reference, summarise
from backend.tools.protocols import disagree, read, read_reference, score

SIZE = 840


def _gt(box=None) -> np.ndarray:
    gt = np.zeros((SIZE, SIZE), dtype=bool)
    if box is not None:
        x1, y1, x2, y2 = box
        gt[y1:y2, x1:x2] = True
    return gt


def _fake_sam(instances) -> np.ndarray:
    """FAKE segmenter: each instance's box, filled as written."""
    mask = np.zeros((SIZE, SIZE), dtype=bool)
    for inst in instances:
        x1, y1, x2, y2 = (int(v) for v in inst.box)
        mask[y1:y2, x1:x2] = True
    return mask


def _scores(text: str, gt: np.ndarray) -> dict[str, float]:
    out = {}
    for protocol in ("reference", "lenient"):
        reading = read(protocol, text)
        out[protocol] = score(protocol, reading, _fake_sam(reading.instances), gt)
    return out


def _answer(items: str) -> str:
    return f"<think>t</think>\n<answer>```json{items}```</answer>"


TARGET = (100, 100, 300, 300)  # 200×200 = 40,000 pixels
GOOD = '{"bbox_2d": [100, 100, 300, 200], "positive_points": [[150, 150], [250, 150]]}'  # the top half


def test_an_answer_both_protocols_read_alike():
    s = _scores(_answer(f"[{GOOD}]"), _gt(TARGET))
    assert s["reference"].iou == s["lenient"].iou == pytest.approx(0.5)
    assert not disagree(read("reference", _answer(f"[{GOOD}]")), read("lenient", _answer(f"[{GOOD}]")))


def test_empty_target_unparseable_answer():
    # Reference: 1 only for an answer that parses to []. Lenient: no prediction is an empty mask, IoU 1.
    s = _scores("<think>no idea", _gt())
    assert s["reference"].iou == 0.0 and s["lenient"].iou == 1.0
    assert not s["reference"].predicted  # and it does not count in the reference's Precision@X


def test_empty_target_answer_whose_instances_are_all_dropped():
    # A zero-area box and no points: the production parser drops the instance (none left, an empty mask); the
    # reference reads an answer that is not [] and scores 0.
    text = _answer('[{"bbox_2d": [400, 400, 400, 400]}]')
    s = _scores(text, _gt())
    assert read("lenient", text).instances == () and s["lenient"].iou == 1.0
    assert len(read("reference", text).instances) == 1 and s["reference"].iou == 0.0


def test_empty_target_answered_empty_scores_one_in_both():
    s = _scores(_answer("[]"), _gt())
    assert s["reference"].iou == s["lenient"].iou == 1.0


def test_one_positive_point_rejects_the_whole_reference_answer():
    one_point = '{"bbox_2d": [100, 200, 300, 300], "positive_points": [[150, 250]]}'
    text = _answer(f"[{GOOD}, {one_point}]")
    s = _scores(text, _gt(TARGET))
    assert not read_reference(text).parsed and s["reference"].iou == 0.0
    assert s["lenient"].iou == pytest.approx(1.0)  # both halves kept: the whole target
    # A failure on a target adds the target's area to cIoU's union: 0 / 40,000.
    assert (s["reference"].intersection, s["reference"].union) == (0, 40_000)


def test_negative_points_reject_the_whole_reference_answer():
    with_negative = GOOD[:-1] + ', "negative_points": [[10, 10]]}'
    s = _scores(_answer(f"[{with_negative}]"), _gt(TARGET))
    assert s["reference"].iou == 0.0 and s["lenient"].iou == pytest.approx(0.5)
    # Even an empty list of negative points: the reference's rule counts zero points as invalid.
    assert not read_reference(_answer(f"[{GOOD[:-1]}, " + '"negative_points": []}]')).parsed
    # null passes the reference's parser, then len(None) raises before SAM: 0, with no prediction.
    null = _answer(f"[{GOOD[:-1]}, " + '"negative_points": null}]')
    s = _scores(null, _gt(TARGET))
    assert not read_reference(null).parsed and s["reference"].iou == 0.0 and not s["reference"].predicted
    assert s["lenient"].iou == pytest.approx(0.5)


@pytest.mark.parametrize(
    "instance",
    [
        '{"bbox_2d": ["100", "100", "300", "300"], "positive_points": [[150, 150], [250, 250]]}',
        '{"bbox_2d": [100, 100, 300, 300], "positive_points": [["150", "150"], [250, 250]]}',
        '{"bbox_2d": [100, 100, 300, null], "positive_points": [[150, 150], [250, 250]]}',
    ],
)
def test_coordinates_sam_cannot_take_score_zero_under_the_reference(instance):
    """The reference's parser accepts "150" (float() reads it); NumPy then makes a text array that SAM refuses."""
    reading = read_reference(_answer(f"[{instance}]"))
    assert not reading.parsed
    assert score("reference", reading, _fake_sam(reading.instances), _gt(TARGET)).iou == 0.0
    assert read("lenient", _answer(f"[{instance}]")).instances  # the production parser reads it


def test_no_answer_tags_the_reference_reads_the_whole_text():
    text = f"<think>t</think> I found it: [{GOOD}]"
    s = _scores(text, _gt(TARGET))
    assert s["reference"].iou == pytest.approx(0.5)
    assert not read("lenient", text).parsed and s["lenient"].iou == 0.0


def test_a_reversed_box_is_used_as_written_by_the_reference():
    reversed_box = '{"bbox_2d": [300, 300, 100, 100], "positive_points": [[150, 150], [250, 250]]}'
    s = _scores(_answer(f"[{reversed_box}]"), _gt(TARGET))
    assert s["reference"].iou == 0.0  # the box as written covers nothing
    assert s["lenient"].iou == 1.0  # its corners put in order: the target


def test_nms_keeps_the_larger_box_in_both():
    big = '{"bbox_2d": [100, 100, 300, 300], "positive_points": [[150, 150], [250, 250]]}'
    near = '{"bbox_2d": [100, 100, 300, 280], "positive_points": [[150, 150], [250, 250]]}'
    for protocol in ("reference", "lenient"):
        (kept,) = read(protocol, _answer(f"[{near}, {big}]")).instances
        assert kept.box == (100, 100, 300, 300)


def test_json_repair_is_the_references_fallback():
    # A trailing comma: json.loads refuses, json_repair reads it; the production parser strips it itself.
    text = _answer(f"[{GOOD},]")
    assert read_reference(text).parsed and read("lenient", text).parsed


def test_a_missing_json_repair_is_said_not_scored_as_unparseable(monkeypatch):
    from backend.errors import UserError

    monkeypatch.setitem(sys.modules, "json_repair", None)  # import json_repair raises ImportError
    assert read_reference(_answer(f"[{GOOD}]")).parsed  # plain JSON never needs it
    with pytest.raises(UserError, match="pip install json_repair"):
        read_reference(_answer(f"[{GOOD},]"))


def test_metrics_under_the_reference_rules():
    empty = _gt()
    cases = [
        (_answer(f"[{GOOD}]"), _gt(TARGET)),  # IoU 0.5, predicted
        ("garbage", _gt(TARGET)),  # 0, not predicted, union += 40,000
        (_answer("[]"), _gt(TARGET)),  # 0: [] on a target is no prediction
        (_answer("[]"), empty),  # 1, predicted
        (_answer(f"[{GOOD}]"), empty),  # 0, predicted (a parsed answer)
    ]
    ref = []
    for text, gt in cases:
        reading = read("reference", text)
        ref.append(score("reference", reading, _fake_sam(reading.instances), gt))
    assert giou(ref) == pytest.approx((0.5 + 0 + 0 + 1 + 0) / 5)
    assert ciou_think2seg(ref) == pytest.approx(20_000 / (40_000 + 40_000 + 40_000))
    assert precision_at(ref) == pytest.approx(2 / 5)  # 0.5 and 1.0 reach 0.5
    assert precision_at_reference(ref) == pytest.approx(2 / 3)  # over the three predicted samples
    summary = summarise(ref)
    assert summary["no_target_accuracy"] == 0.5
    # The LISA convention still sees the false positive on the empty target (20,000 pixels).
    assert summary["ciou_lisa"] == pytest.approx(20_000 / (120_000 + 20_000))
