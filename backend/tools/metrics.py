"""Reasoning-segmentation metrics: per-sample IoU, gIoU and cIoU in the two conventions of the literature.

See ``think2seg-interface.md``:

- **gIoU**: the mean over samples of each sample's foreground IoU. An empty ground truth with an empty
  prediction scores 1; any prediction on an empty ground truth scores 0. Both conventions agree on it.
- **cIoU, LISA / SegEarth-R1**: the sum of intersections over the sum of unions, over every sample. An
  empty/empty sample adds nothing; a false positive on an empty ground truth adds its area to the union.
- **cIoU, Think2Seg-RS**: the same sum, but samples whose ground truth is empty are left out, so false
  positives on empty ground truths cost nothing. It is not strictly comparable with the LISA figure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SampleScore:
    """One sample's pixel counts: intersection and union of the prediction and the ground truth.

    ``rule_iou`` replaces the IoU the counts give where an evaluation protocol has its own rule (the
    reference's for empty targets, see :mod:`.protocols`). ``predicted``: the protocol counts the sample as
    having a prediction (the reference's Precision@X counts only those).
    """

    intersection: int
    union: int
    gt_area: int
    pred_area: int
    rule_iou: float | None = None
    predicted: bool = True

    @property
    def empty_gt(self) -> bool:
        return self.gt_area == 0

    @property
    def empty_pred(self) -> bool:
        return self.pred_area == 0

    @property
    def iou(self) -> float:
        """Foreground IoU; 1.0 when both masks are empty (a correct "no target"), unless a rule says otherwise."""
        if self.rule_iou is not None:
            return self.rule_iou
        return 1.0 if self.union == 0 else self.intersection / self.union


def score_masks(pred: np.ndarray, gt: np.ndarray, rule_iou: float | None = None, predicted: bool = True) -> SampleScore:
    """Compare two same-shaped masks (any non-zero value is foreground)."""
    pred, gt = np.asarray(pred) != 0, np.asarray(gt) != 0
    if pred.shape != gt.shape:
        raise ValueError(f"prediction {pred.shape} and ground truth {gt.shape} differ in shape")
    return SampleScore(
        intersection=int(np.count_nonzero(pred & gt)),
        union=int(np.count_nonzero(pred | gt)),
        gt_area=int(np.count_nonzero(gt)),
        pred_area=int(np.count_nonzero(pred)),
        rule_iou=rule_iou,
        predicted=predicted,
    )


def giou(scores: Iterable[SampleScore]) -> float:
    """Mean per-sample IoU (same in both conventions); NaN for no samples."""
    values = [s.iou for s in scores]
    return float(np.mean(values)) if values else float("nan")


def ciou_lisa(scores: Iterable[SampleScore]) -> float:
    """Sum of intersections / sum of unions over all samples (LISA / SegEarth-R1); NaN if every union is 0."""
    scores = list(scores)
    union = sum(s.union for s in scores)
    return sum(s.intersection for s in scores) / union if union else float("nan")


def ciou_think2seg(scores: Iterable[SampleScore]) -> float:
    """Like :func:`ciou_lisa` but over samples with a non-empty ground truth only (Think2Seg-RS)."""
    return ciou_lisa(s for s in scores if not s.empty_gt)


def no_target_accuracy(scores: Iterable[SampleScore]) -> float:
    """Among samples with an empty ground truth, the share answered correctly (IoU 1); NaN when there are none."""
    empty = [s for s in scores if s.empty_gt]
    return sum(s.iou == 1.0 for s in empty) / len(empty) if empty else float("nan")


def precision_at(scores: Iterable[SampleScore], threshold: float = 0.5) -> float:
    """The share of samples with IoU ≥ ``threshold``, over every sample; NaN for none."""
    scores = list(scores)
    return sum(s.iou >= threshold for s in scores) / len(scores) if scores else float("nan")


def precision_at_reference(scores: Iterable[SampleScore], threshold: float = 0.5) -> float:
    """Think2Seg-RS's Precision@X: the same share, but over the samples that have a prediction only."""
    return precision_at([s for s in scores if s.predicted], threshold)


def summarise(scores: Iterable[SampleScore]) -> dict[str, float | int]:
    """gIoU and cIoU in both conventions, no-target accuracy and sample counts."""
    scores = list(scores)
    g = giou(scores)
    return {
        "samples": len(scores),
        "empty_gt_samples": sum(s.empty_gt for s in scores),
        "giou_lisa": g,
        "ciou_lisa": ciou_lisa(scores),
        "giou_think2seg": g,
        "ciou_think2seg": ciou_think2seg(scores),
        "no_target_accuracy": no_target_accuracy(scores),
        "precision_at_0.5": precision_at(scores),
        "precision_at_0.5_reference": precision_at_reference(scores),
    }
