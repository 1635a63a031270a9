"""Two ways to score an answer: the reference's protocol, exactly, and the production parser's.

``reference`` follows Think2Seg-RS's evaluation (``GEO_Reward_Func_Ultra.parse_sam_json_test`` and
``sam_iou_reward_func_ultra_test``; see ``think2seg-interface.md``):

- the text between the first ``<answer>`` and the next ``</answer>`` when both are present, else the whole text;
  from its first ``[`` to its last ``]``; ``json.loads``, falling back to ``json_repair``;
- the whole answer is rejected if it is not a list of objects, or if any object has neither ``bbox_2d`` nor
  ``positive_points``, a ``bbox_2d`` that is not a list of four, ``positive_points`` that are not exactly two
  points, or any ``negative_points`` list; coordinates are used as written (no clipping, no reordering);
- an answer that parses but that SAM cannot take scores 0 with no prediction: ``negative_points: null`` (its
  parser lets it through; ``len(None)`` raises before SAM), coordinates written as strings or ``null`` (NumPy makes
  a text or object array, which SAM's transforms refuse). The reference catches that error around its whole
  batch, so it also zeroes the rest of that batch; here each sample is scored alone;
- duplicates are removed by box NMS at IoU > 0.5, keeping the larger box;
- an empty ground truth scores 1 only when the answer parses to ``[]`` (SAM is not run); any other answer
  scores 0, and only a parsed answer counts as a prediction.

``lenient`` is the production parser (:func:`backend.models.prompts.parse_answer`: it clips, reorders, drops
bad instances and recovers partial answers) with the usual rule: an empty ground truth scores 1 when the
predicted mask is empty.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import numpy as np

from ..errors import UserError
from ..models.prompts import NMS_IOU, Instance, parse_answer
from .metrics import SampleScore, score_masks

PROTOCOLS = ("reference", "lenient")
POSITIVE_POINTS = 2  # the reference's pos_point_num
_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)


@dataclass(frozen=True)
class Reading:
    """What one protocol's parser made of an answer: whether it was read, and its instances (840 frame)."""

    parsed: bool
    instances: tuple[Instance, ...] = ()
    reason: str = ""


def read(protocol: str, text: str) -> Reading:
    """The answer as ``protocol`` reads it."""
    return read_reference(text) if protocol == "reference" else read_lenient(text)


def read_lenient(text: str) -> Reading:
    result = parse_answer(text)
    if result.status in ("ok", "no_target"):
        return Reading(True, tuple(result.instances))
    return Reading(False, (), "; ".join(result.warnings))


def read_reference(text: str) -> Reading:
    """The reference parser's reading of ``text`` (see the module docstring)."""
    if not isinstance(text, str):
        return Reading(False, (), "no text")
    body = text
    if "<answer>" in body and "</answer>" in body:
        match = _ANSWER.search(body)
        if match:
            body = match.group(1).strip()
    if "[" in body and "]" in body:
        body = body[body.find("[") : body.rfind("]") + 1]
    try:
        try:
            data = json.loads(body)
        except json.JSONDecodeError:
            data = reference_repair().loads(body)
    except UserError:
        raise
    except Exception as exc:  # noqa: BLE001 - the reference turns any failure here into "unparseable"
        return Reading(False, (), f"not JSON: {type(exc).__name__}")
    if not isinstance(data, list):
        return Reading(False, (), "not a JSON list")
    for item in data:
        problem = _reference_problem(item)
        if problem:
            return Reading(False, (), problem)
    try:
        instances = [_instance(item) for item in data]
    except (TypeError, ValueError):
        # The reference hands such values to SAM, which raises: the sample scores 0 with no prediction.
        return Reading(False, (), "a box coordinate is not a number")
    return Reading(True, tuple(_reference_nms(instances)))


def reference_repair():
    """The ``json_repair`` module the reference falls back to; without it, repairable answers would silently score 0."""
    try:
        import json_repair
    except ImportError:
        raise UserError(
            "the reference protocol reads answers with json_repair, which is not installed: "
            "pip install json_repair (backend/requirements.txt has it)"
        ) from None
    return json_repair


def _reference_problem(item: object) -> str:
    if not isinstance(item, dict):
        return "an instance is not an object"
    if "bbox_2d" not in item and "positive_points" not in item:
        return "an instance has neither bbox_2d nor positive_points"
    if "bbox_2d" in item and not (isinstance(item["bbox_2d"], list) and len(item["bbox_2d"]) == 4):
        return "a bbox_2d is not a list of four"
    if "positive_points" in item and not _points_ok(item["positive_points"], POSITIVE_POINTS):
        return "positive_points are not exactly two points"
    if "negative_points" in item:
        # A list is refused by the parser (no negative point is allowed); null passes it and fails before SAM.
        return "an instance has negative_points"
    return ""


def _points_ok(points: object, count: int) -> bool:
    if not isinstance(points, list) or len(points) != count:
        return False
    for point in points:
        if not isinstance(point, (list, tuple)) or len(point) != 2:
            return False
        try:
            float(point[0]), float(point[1])
        except (TypeError, ValueError):
            return False
    return True


def _coordinate(value: object) -> float:
    """A coordinate as SAM takes it: a JSON number (``"434"`` passes the reference's parser, not SAM)."""
    if not isinstance(value, (int, float)):
        raise TypeError(f"{value!r} is not a number")
    return float(value)


def _instance(item: dict) -> Instance:
    box = tuple(_coordinate(v) for v in item["bbox_2d"]) if "bbox_2d" in item else None
    points = tuple((_coordinate(x), _coordinate(y)) for x, y in item.get("positive_points") or ())
    return Instance(box, points)  # type: ignore[arg-type]


def _box_iou_as_written(a, b) -> float:
    """IoU of two boxes used as written: a box with x2 < x1 has a negative area, as in the reference."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _reference_nms(instances: list[Instance]) -> list[Instance]:
    boxed = [(k, inst) for k, inst in enumerate(instances) if inst.box is not None]
    if len(boxed) <= 1:
        return instances
    area = {k: (i.box[2] - i.box[0]) * (i.box[3] - i.box[1]) for k, i in boxed}  # type: ignore[index]
    order = sorted(boxed, key=lambda ki: area[ki[0]], reverse=True)  # stable: ties keep the written order
    removed: set[int] = set()
    for a in range(len(order)):
        if order[a][0] in removed:
            continue
        for b in range(a + 1, len(order)):
            if order[b][0] not in removed and _box_iou_as_written(order[a][1].box, order[b][1].box) > NMS_IOU:
                removed.add(order[b][0])
    return [inst for k, inst in enumerate(instances) if k not in removed]


def score(protocol: str, reading: Reading, pred: np.ndarray, gt: np.ndarray) -> SampleScore:
    """One sample's score under ``protocol``, from its reading and the OR of its instance masks."""
    if protocol == "reference":
        if not gt.any():
            correct = reading.parsed and not reading.instances
            # The reference scores this without SAM. The mask is kept for the LISA convention's cIoU only
            # (the Think2Seg-RS convention leaves empty targets out of cIoU).
            return score_masks(pred, gt, rule_iou=1.0 if correct else 0.0, predicted=reading.parsed)
        predicted = reading.parsed and bool(reading.instances)
        return score_masks(pred if predicted else np.zeros_like(gt), gt, predicted=predicted)
    return score_masks(pred, gt, predicted=reading.parsed)


def disagree(a: Reading, b: Reading) -> bool:
    """Whether two readings of one answer differ: one was read and not the other, or their prompts differ."""
    if a.parsed != b.parsed:
        return True
    return _rounded(a.instances) != _rounded(b.instances)


def _rounded(instances: tuple[Instance, ...]) -> list:
    return sorted(
        (
            tuple(round(v, 3) for v in inst.box) if inst.box else (),
            tuple((round(x, 3), round(y, 3)) for x, y in inst.points),
        )
        for inst in instances
    )
