"""The Think2Seg-RS prompt and a parser for its answers that never raises.

Everything here follows ``think2seg-interface.md``: the released checkpoints were trained on this exact
text, on 840×840 images, with coordinates in absolute pixels of that image.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Literal

MODEL_IMAGE_SIZE = 840
REFERENCE_MAX_NEW_TOKENS = 2048  # the reference's generation limit, whatever the checkpoint says
# The instances one answer is read for (the first ones written): far above what the model writes for a tile,
# far below what would make duplicate removal (quadratic) or a report slow.
MAX_INSTANCES = 64

SYSTEM_PROMPT = (
    "You are a remote sensing analysis assistant. Your task is to generate spatial prompts for the "
    "Segment Anything Model (SAM) based on a user's request."
)

_USER_TEMPLATE = (
    'Please find "{Question}", identify the target. For each target instance, provide:\n'
    "1.  `bbox_2d`: A tight bounding box.\n"
    "2.  `positive_points`: Exactly two points, placed inside the target.\n"
    "Output your thinking process in <think> </think> tags.\n"
    "Output the final answer in <answer> </answer> tags with the specified JSON format. "
    "If no targets are found, output an empty list.\n"
    "i.e. <think> thinking process here </think> \n"
    '<answer>```json[{"bbox_2d": [310,360,567,586], "positive_points": [[434, 474], [450, 460]]}, '
    '{"bbox_2d": [10,200,100,320], "positive_points": [[50, 250], [90, 300]]}]```</answer>'
)

NMS_IOU = 0.5
CANCELLED = "cancelled"  # a PromptResult's error when the job was cancelled before the answer came
Status = Literal["ok", "no_target", "unparseable", "error"]
Box = tuple[float, float, float, float]
Point = tuple[float, float]


def user_text(query: str) -> str:
    """The user message's text for ``query``, exactly as the checkpoints were trained on."""
    return _USER_TEMPLATE.replace("{Question}", query)


def chat_messages(query: str) -> list[dict]:
    """Chat-format messages: the system prompt, then the image and the question."""
    return [
        {"role": "system", "content": [{"type": "text", "text": SYSTEM_PROMPT}]},
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": user_text(query)}]},
    ]


@dataclass(frozen=True)
class Instance:
    """One target: a box and/or points, in pixels of the image it refers to.

    ``labels`` gives each point's label (1 inside the target, 0 outside); empty means all inside, as the
    prompter writes them.
    """

    box: Box | None
    points: tuple[Point, ...] = ()
    labels: tuple[int, ...] = ()

    def scaled(self, sx: float, sy: float) -> Instance:
        box = None if self.box is None else (self.box[0] * sx, self.box[1] * sy, self.box[2] * sx, self.box[3] * sy)
        return Instance(box, tuple((x * sx, y * sy) for x, y in self.points), self.labels)

    def shifted(self, dx: float, dy: float) -> Instance:
        """The same prompts ``dx``, ``dy`` pixels further (from a window's pixels to the raster's)."""
        box = None if self.box is None else (self.box[0] + dx, self.box[1] + dy, self.box[2] + dx, self.box[3] + dy)
        return Instance(box, tuple((x + dx, y + dy) for x, y in self.points), self.labels)


@dataclass
class PromptResult:
    """What the prompter made of one image: instances, the raw text (its reasoning) and a status.

    ``error`` is set, with status ``error``, when the prompter failed on the image (see :meth:`failure`).
    """

    instances: list[Instance]
    raw_text: str
    status: Status
    warnings: list[str] = field(default_factory=list)
    error: str | None = None

    @classmethod
    def failure(cls, message: str) -> PromptResult:
        """The result of an image the prompter could not read (it raised, or the GPU ran out of memory)."""
        return cls([], "", "error", error=message)

    @classmethod
    def cancelled(cls) -> PromptResult:
        """The result of an image whose answer was abandoned because the job was cancelled."""
        return cls([], "", "error", error=CANCELLED)

    @property
    def was_cancelled(self) -> bool:
        return self.status == "error" and self.error == CANCELLED

    def scaled(self, sx: float, sy: float) -> PromptResult:
        return PromptResult(
            [i.scaled(sx, sy) for i in self.instances], self.raw_text, self.status, list(self.warnings), self.error
        )


def parse_answer(text: str, width: float = MODEL_IMAGE_SIZE, height: float = MODEL_IMAGE_SIZE) -> PromptResult:
    """Parse a model's answer into clean instances in a ``width``×``height`` image.

    Takes the text inside ``<answer>``, slices from the first ``[`` to the last ``]`` and reads it as JSON,
    falling back to reading the complete ``{...}`` objects one by one (truncated or malformed output).
    Coordinates are clamped to the image and box corners reordered, degenerate instances dropped, only the first
    :data:`MAX_INSTANCES` kept, and duplicates removed by box NMS at IoU > 0.5, keeping the larger box. ``[]`` is
    "no target". It never raises.
    """
    warnings: list[str] = []
    if not isinstance(text, str):
        return PromptResult([], repr(text), "unparseable", ["the model returned no text"])
    answer = _answer_part(text, warnings)
    if answer is None:
        return PromptResult([], text, "unparseable", warnings)
    items = _read_items(answer, warnings)
    if items is None:
        return PromptResult([], text, "unparseable", warnings)
    if not items:
        return PromptResult([], text, "no_target", warnings)
    if len(items) > MAX_INSTANCES:
        warnings.append(f"only the first {MAX_INSTANCES} of {len(items)} instances were read")
        items = items[:MAX_INSTANCES]
    instances = []
    for item in items:
        inst = _clean_instance(item, width, height)
        if inst is None:
            warnings.append(f"dropped an invalid instance: {json.dumps(item, default=str)[:120]}")
        else:
            instances.append(inst)
    kept = _nms(instances)
    if len(kept) < len(instances):
        warnings.append(f"removed {len(instances) - len(kept)} duplicate instance(s)")
    return PromptResult(kept, text, "ok", warnings)


def _answer_part(text: str, warnings: list[str]) -> str | None:
    start = text.rfind("<answer>")
    if start < 0:
        warnings.append("no <answer> tag in the output")
        return None
    body = text[start + len("<answer>") :]
    end = body.find("</answer>")
    if end < 0:
        warnings.append("the answer is not closed (truncated output?)")
        return body
    return body[:end]


def _read_items(answer: str, warnings: list[str]) -> list | None:
    answer = answer.replace("```json", "").replace("```", "")
    first = answer.find("[")
    if first < 0:
        warnings.append("no JSON list in the answer")
        return None
    last = answer.rfind("]")
    if last > first:
        chunk = answer[first : last + 1]
        for candidate in (chunk, re.sub(r",\s*([\]}])", r"\1", chunk)):
            try:
                value = json.loads(candidate)
            except (ValueError, RecursionError):
                continue
            if isinstance(value, list):
                if value and all(isinstance(v, (int, float)) for v in value):
                    return [{"bbox_2d": value}]  # a bare box
                return value
            if isinstance(value, dict):
                return [value]
    objects = _complete_objects(answer[first:])
    if objects:
        warnings.append(f"malformed JSON; recovered {len(objects)} complete instance(s)")
        return objects
    warnings.append("the answer's JSON could not be read")
    return None


def _complete_objects(text: str) -> list[dict]:
    """Every balanced ``{...}`` that parses as a JSON object, outermost first."""
    found, depth, start = [], 0, -1
    for i, ch in enumerate(text):
        if ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}" and depth > 0:
            depth -= 1
            if depth == 0:
                try:
                    value = json.loads(re.sub(r",\s*([\]}])", r"\1", text[start : i + 1]))
                except ValueError:
                    continue
                if isinstance(value, dict):
                    found.append(value)
    return found


def _number(v: object) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        return None
    try:
        f = float(v)
    except ValueError:
        return None
    return f if math.isfinite(f) else None


def _clean_instance(item: object, width: float, height: float) -> Instance | None:
    if not isinstance(item, dict):
        return None
    box = None
    raw_box = item.get("bbox_2d", item.get("bbox"))
    if isinstance(raw_box, (list, tuple)) and len(raw_box) == 4:
        nums = [n for n in (_number(v) for v in raw_box) if n is not None]
        if len(nums) == 4:
            x1, x2 = sorted((min(max(nums[0], 0.0), width), min(max(nums[2], 0.0), width)))
            y1, y2 = sorted((min(max(nums[1], 0.0), height), min(max(nums[3], 0.0), height)))
            if x2 - x1 >= 1.0 and y2 - y1 >= 1.0:
                box = (x1, y1, x2, y2)
    points = []
    raw_points = item.get("positive_points", item.get("points"))
    if isinstance(raw_points, (list, tuple)):
        if len(raw_points) == 2 and all(_number(v) is not None for v in raw_points):
            raw_points = [raw_points]  # a single bare point
        for p in raw_points:
            if isinstance(p, (list, tuple)) and len(p) == 2:
                x, y = _number(p[0]), _number(p[1])
                if x is not None and y is not None:
                    points.append((min(max(x, 0.0), width), min(max(y, 0.0), height)))
    if box is None and not points:
        return None
    return Instance(box, tuple(points))


def box_iou(a: Box, b: Box) -> float:
    """Intersection over union of two ``(x1, y1, x2, y2)`` boxes."""
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _area(box: Box) -> float:
    return (box[2] - box[0]) * (box[3] - box[1])


def _nms(instances: list[Instance]) -> list[Instance]:
    """Drop instances whose box overlaps a larger kept box at IoU > 0.5, and exact duplicates."""
    boxed = sorted(((i.box, i) for i in instances if i.box is not None), key=lambda bi: _area(bi[0]), reverse=True)
    kept: list[Instance] = []
    kept_boxes: list[Box] = []
    for box, inst in boxed:
        if all(box_iou(box, k) <= NMS_IOU for k in kept_boxes):
            kept.append(inst)
            kept_boxes.append(box)
    for inst in instances:
        if inst.box is None and inst not in kept:
            kept.append(inst)
    return kept
